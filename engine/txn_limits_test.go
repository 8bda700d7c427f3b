package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// bulkInsert is one INSERT of n rows of about 150 bytes, ids from first.
func bulkInsert(table string, first, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s VALUES ", table)
	pad := strings.Repeat("x", 120)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, 'owner-%d', '%s')", first+i, first+i, pad)
	}
	return b.String()
}

// count is SELECT COUNT(*) of a table, in the session (its open transaction included).
func count(t *testing.T, s *engine.Session, table string) string {
	t.Helper()
	return rowsOf(t, s, "SELECT COUNT(*) FROM "+table)[0]
}

// TestTransactionTooLargeKeepsTransaction: the statement that would take a transaction past
// its size bound fails with 1197 and is undone alone; the transaction keeps every earlier
// statement, later ones stay in it, and COMMIT commits exactly those (issue 12: the
// transaction used to be wiped, later INSERTs autocommitted and COMMIT answered OK).
func TestTransactionTooLargeKeepsTransaction(t *testing.T) {
	for _, end := range []string{"COMMIT", "ROLLBACK"} {
		t.Run(end, func(t *testing.T) {
			ctx := context.Background()
			e := openEngine(t, engine.Options{Dir: t.TempDir()})
			s := e.NewSession()
			mustExec(t, s, "CREATE TABLE big (id INT PRIMARY KEY, owner VARCHAR(20), pad TEXT)")
			mustExec(t, s, "CREATE MATERIALIZED VIEW n AS SELECT COUNT(*) AS c FROM big")
			other := e.NewSession()
			mustExec(t, s, "BEGIN")
			inTxn, failures := 0, 0
			for i := range 60 {
				_, err := s.Exec(ctx, bulkInsert("big", i*1000, 1000))
				switch {
				case err == nil:
					inTxn += 1000
				case sqlerr.As(err).Code == 1197:
					failures++
				default:
					t.Fatalf("INSERT %d: %v", i+1, err)
				}
				if got := count(t, s, "big"); got != fmt.Sprint(inTxn) {
					t.Fatalf("after INSERT %d (%d refused): COUNT(*) in the transaction = %s, want %d", i+1, failures, got, inTxn)
				}
				if got := count(t, other, "big"); got != "0" {
					t.Fatalf("after INSERT %d: another session sees %s uncommitted rows", i+1, got)
				}
			}
			if failures == 0 {
				t.Fatal("no INSERT passed the transaction's bound: the test needs more rows")
			}
			if !s.InTransaction() {
				t.Fatal("the session left its transaction")
			}
			// An UPDATE found too large row by row, after it wrote some rows, is undone alone.
			if _, err := s.Exec(ctx, "UPDATE big SET pad = CONCAT(pad, pad, pad)"); sqlerr.As(err).Code != 1197 {
				t.Fatalf("UPDATE of every row: %v, want 1197", err)
			}
			expectRows(t, rowsOf(t, s, "SELECT COUNT(*) FROM big WHERE LENGTH(pad) <> 120"), "0")
			// A small write still fits and stays in the transaction.
			mustExec(t, s, "DELETE FROM big WHERE id = 0")
			inTxn--
			mustExec(t, s, end)
			want := fmt.Sprint(inTxn)
			if end == "ROLLBACK" {
				want = "0"
			}
			if got := count(t, other, "big"); got != want {
				t.Errorf("after %s: %s rows, want %s", end, got, want)
			}
			expectRows(t, rowsOf(t, other, "SELECT c FROM n"), want)
			t.Logf("%d rows in the transaction, %d INSERTs of 1000 refused", inTxn, failures)
		})
	}
}

// TestDuplicateKeyInTransaction: a duplicate key in the middle of a transaction fails that
// statement alone (none of its rows stay), and COMMIT commits the others.
func TestDuplicateKeyInTransaction(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, "CREATE TABLE big (id INT PRIMARY KEY, owner VARCHAR(20), pad TEXT)")
	mustExec(t, s, "BEGIN")
	mustExec(t, s, bulkInsert("big", 0, 1000))
	// Rows 1000..1499 are new, 999 is taken: the statement fails after writing 500 rows.
	if _, err := s.Exec(ctx, bulkInsert("big", 1000, 500)+", (999, 'dup', 'x')"); sqlerr.As(err).Code != sqlerr.DupEntry {
		t.Fatalf("duplicate key: %v", err)
	}
	if got := count(t, s, "big"); got != "1000" {
		t.Fatalf("after the duplicate key: %s rows in the transaction, want 1000", got)
	}
	mustExec(t, s, bulkInsert("big", 2000, 10))
	mustExec(t, s, "UPDATE big SET owner = 'changed' WHERE id < 5")
	if _, err := s.Exec(ctx, "UPDATE big SET id = 2000 WHERE id = 1"); sqlerr.As(err).Code != sqlerr.DupEntry {
		t.Fatalf("update onto a taken key: %v", err)
	}
	mustExec(t, s, "COMMIT")
	other := e.NewSession()
	if got := count(t, other, "big"); got != "1010" {
		t.Errorf("after COMMIT: %s rows, want 1010", got)
	}
	expectRows(t, rowsOf(t, other, "SELECT COUNT(*) FROM big WHERE owner = 'changed'"), "5")
	expectRows(t, rowsOf(t, other, "SELECT id FROM big WHERE id IN (1, 2000)"), "1", "2000")
}

// TestSplitUnterminatedString: a script that vitess's splitter panics on (found by FuzzExec)
// is a syntax error.
func TestSplitUnterminatedString(t *testing.T) {
	for _, script := range []string{";'''0", "SELECT 1;'''0"} {
		if _, err := engine.SplitStatements(script); err == nil || sqlerr.As(err).Code != sqlerr.Parse {
			t.Errorf("%q: %v, want a syntax error", script, err)
		}
	}
}
