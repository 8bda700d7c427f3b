package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// wantCode fails the test unless q fails with MySQL error code.
func wantCode(t *testing.T, s *engine.Session, q string, code uint16) {
	t.Helper()
	if got := execCode(s, q); got != code {
		t.Fatalf("%s: error code %d, want %d", q, got, code)
	}
}

// TestConcurrentTransactions: transactions are open at once and see their snapshot and their
// own writes; the first to commit a row wins and the other's COMMIT fails with 1213 having
// changed nothing (also for the crossed updates that deadlock under locking); two inserts of
// one key end in 1062 for the second; DDL on a table waits for the transactions that use it.
func TestConcurrentTransactions(t *testing.T) {
	e := openEngine(t, engine.Options{})
	a, b, c := e.NewSession(), e.NewSession(), e.NewSession()
	mustExec(t, c, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	mustExec(t, c, "CREATE MATERIALIZED VIEW total AS SELECT COUNT(*) AS n, SUM(v) AS s FROM t")
	mustExec(t, c, "INSERT INTO t VALUES (1, 10), (2, 20)")

	// Both open; each sees its snapshot and its own writes only.
	mustExec(t, a, "BEGIN")
	mustExec(t, b, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (3, 30)")
	mustExec(t, b, "INSERT INTO t VALUES (4, 40)")
	expectRows(t, rowsOf(t, a, "SELECT id FROM t"), "1", "2", "3")
	expectRows(t, rowsOf(t, b, "SELECT id FROM t"), "1", "2", "4")
	mustExec(t, a, "COMMIT")
	expectRows(t, rowsOf(t, b, "SELECT id FROM t"), "1", "2", "4") // repeatable read
	mustExec(t, b, "COMMIT")
	expectRows(t, rowsOf(t, c, "SELECT n, s FROM total"), "4\t100")

	// First committer wins on a row.
	mustExec(t, a, "BEGIN")
	mustExec(t, b, "BEGIN")
	mustExec(t, a, "UPDATE t SET v = v + 1 WHERE id = 1")
	mustExec(t, b, "UPDATE t SET v = v + 100 WHERE id = 1")
	mustExec(t, b, "UPDATE t SET v = v + 100 WHERE id = 2")
	mustExec(t, a, "COMMIT")
	wantCode(t, b, "COMMIT", sqlerr.Deadlock)
	expectRows(t, rowsOf(t, c, "SELECT id, v FROM t WHERE id < 3"), "1\t11", "2\t20")

	// Crossed updates, which deadlock under row locks: one commits, the other gets 1213.
	mustExec(t, a, "BEGIN")
	mustExec(t, b, "BEGIN")
	mustExec(t, a, "UPDATE t SET v = 0 WHERE id = 1")
	mustExec(t, b, "UPDATE t SET v = 0 WHERE id = 2")
	mustExec(t, a, "UPDATE t SET v = 1 WHERE id = 2")
	mustExec(t, b, "UPDATE t SET v = 1 WHERE id = 1")
	mustExec(t, a, "COMMIT")
	wantCode(t, b, "COMMIT", sqlerr.Deadlock)
	expectRows(t, rowsOf(t, c, "SELECT id, v FROM t WHERE id < 3"), "1\t0", "2\t1")

	// The same new key from two transactions.
	mustExec(t, a, "BEGIN")
	mustExec(t, b, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (5, 1)")
	mustExec(t, b, "INSERT INTO t VALUES (5, 2)")
	mustExec(t, a, "COMMIT")
	wantCode(t, b, "COMMIT", sqlerr.DupEntry)
	expectRows(t, rowsOf(t, c, "SELECT v FROM t WHERE id = 5"), "1")

	// DDL on a table an open transaction uses waits for it, as MySQL's metadata locks: at
	// most the lock wait timeout, and reads and other writers go on meanwhile.
	mustExec(t, c, "CREATE TABLE w (id INT PRIMARY KEY)")
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (6, 6)")
	mustExec(t, a, "INSERT INTO w VALUES (1)")
	mustExec(t, c, "SET innodb_lock_wait_timeout = 1")
	wantCode(t, c, "DROP TABLE w", sqlerr.LockWaitTimeout)
	mustExec(t, b, "INSERT INTO t VALUES (7, 7)")
	mustExec(t, c, "SET innodb_lock_wait_timeout = 50")
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(context.Background(), "CREATE INDEX tv ON t (v)")
		done <- err
	}()
	mustExec(t, a, "COMMIT")
	if err := <-done; err != nil {
		t.Fatalf("CREATE INDEX after the transaction ended: %v", err)
	}
	mustExec(t, c, "DROP TABLE w")
	expectRows(t, rowsOf(t, c, "SELECT n, s FROM total"), "7\t85")
	for _, r := range rowsOf(t, c, "VERIFY VIEWS") {
		if !strings.HasSuffix(r, "\tok") {
			t.Errorf("VERIFY VIEWS: %s", r)
		}
	}
}

// TestIsolationLevels: REPEATABLE READ (snapshot isolation) lets two transactions that read
// what the other writes both commit (write skew); SERIALIZABLE fails the second; READ
// COMMITTED sees each statement's last commit.
func TestIsolationLevels(t *testing.T) {
	for _, level := range []string{"REPEATABLE READ", "SERIALIZABLE"} {
		t.Run(level, func(t *testing.T) {
			e := openEngine(t, engine.Options{})
			a, b, c := e.NewSession(), e.NewSession(), e.NewSession()
			mustExec(t, c, "CREATE TABLE oncall (id INT PRIMARY KEY, on_duty INT)")
			mustExec(t, c, "INSERT INTO oncall VALUES (1, 1), (2, 1)")
			for _, s := range []*engine.Session{a, b} {
				mustExec(t, s, "SET SESSION TRANSACTION ISOLATION LEVEL "+level)
				mustExec(t, s, "BEGIN")
				expectRows(t, rowsOf(t, s, "SELECT COUNT(*) FROM oncall WHERE on_duty = 1"), "2")
			}
			mustExec(t, a, "UPDATE oncall SET on_duty = 0 WHERE id = 1")
			mustExec(t, b, "UPDATE oncall SET on_duty = 0 WHERE id = 2")
			mustExec(t, a, "COMMIT")
			if level == "SERIALIZABLE" {
				wantCode(t, b, "COMMIT", sqlerr.Deadlock)
				expectRows(t, rowsOf(t, c, "SELECT COUNT(*) FROM oncall WHERE on_duty = 1"), "1")
			} else {
				mustExec(t, b, "COMMIT") // snapshot isolation allows the skew
				expectRows(t, rowsOf(t, c, "SELECT COUNT(*) FROM oncall WHERE on_duty = 1"), "0")
			}
		})
	}
	t.Run("READ COMMITTED", func(t *testing.T) {
		e := openEngine(t, engine.Options{})
		a, c := e.NewSession(), e.NewSession()
		mustExec(t, c, "CREATE TABLE t (id INT PRIMARY KEY)")
		mustExec(t, a, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
		mustExec(t, a, "BEGIN")
		mustExec(t, a, "INSERT INTO t VALUES (1)")
		mustExec(t, c, "INSERT INTO t VALUES (2)")
		expectRows(t, rowsOf(t, a, "SELECT id FROM t"), "1", "2")
		mustExec(t, a, "COMMIT")
	})
}

// TestAutocommitRetries: autocommit increments of one row from several sessions lose none:
// a statement that loses to a concurrent commit is run again.
func TestAutocommitRetries(t *testing.T) {
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, "CREATE TABLE c (id INT PRIMARY KEY, n INT)")
	mustExec(t, s, "CREATE MATERIALIZED VIEW cv AS SELECT SUM(n) AS n FROM c")
	mustExec(t, s, "INSERT INTO c VALUES (1, 0)")
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			w := e.NewSession()
			defer w.Close()
			for range each {
				if _, err := w.Exec(context.Background(), "UPDATE c SET n = n + 1 WHERE id = 1"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := fmt.Sprint(writers * each)
	expectRows(t, rowsOf(t, s, "SELECT n FROM c"), want)
	expectRows(t, rowsOf(t, s, "SELECT n FROM cv"), want)
}

// TestReadCommittedConflictOutlivesPruning: a READ COMMITTED transaction's snapshot moves on
// at each statement, but a row it wrote earlier was read at the older one: a concurrent
// change of that row still fails its COMMIT after the committer has pruned its memory of
// older commits (every 1024 commits).
func TestReadCommittedConflictOutlivesPruning(t *testing.T) {
	e := openEngine(t, engine.Options{})
	a, b := e.NewSession(), e.NewSession()
	mustExec(t, b, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	mustExec(t, b, "CREATE TABLE filler (id INT PRIMARY KEY)")
	mustExec(t, b, "INSERT INTO t VALUES (1, 0)")
	mustExec(t, a, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "UPDATE t SET v = v + 1 WHERE id = 1")
	mustExec(t, b, "UPDATE t SET v = v + 10 WHERE id = 1")
	mustExec(t, a, "SELECT * FROM filler") // a's snapshot moves past b's commit
	for i := range 1100 {
		mustExec(t, b, fmt.Sprintf("INSERT INTO filler VALUES (%d)", i))
	}
	wantCode(t, a, "COMMIT", sqlerr.Deadlock)
	expectRows(t, rowsOf(t, b, "SELECT v FROM t"), "10")
}

// TestWritesBesideDDLOnAnotherTable: inserts into one table run while DDL creates and
// drops indexes and tables beside it. A staged insert reads the table's indexes from Genji's
// catalog, which DDL on the other table changes: unguarded, that was a concurrent map
// iteration and write that stopped the process (found by TestCrash; -race reports it).
func TestWritesBesideDDLOnAnotherTable(t *testing.T) {
	e := openEngine(t, engine.Options{Dir: t.TempDir()})
	setup := e.NewSession()
	mustExec(t, setup, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	mustExec(t, setup, "CREATE INDEX t_v ON t (v)")
	mustExec(t, setup, "CREATE TABLE other (id INT PRIMARY KEY, w INT)")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const writers = 4
	counts := make([]int, writers)
	for w := range writers {
		wg.Go(func() {
			s := e.NewSession()
			defer s.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Exec(context.Background(), fmt.Sprintf("INSERT INTO t VALUES (%d, %d)", w*1_000_000+i, i)); err != nil {
					t.Errorf("insert: %v", err)
					return
				}
				counts[w]++
			}
		})
	}
	for i := range 30 {
		mustExec(t, setup, fmt.Sprintf("CREATE INDEX o_%d ON other (w)", i))
		mustExec(t, setup, fmt.Sprintf("CREATE TABLE x_%d (id INT PRIMARY KEY)", i))
		mustExec(t, setup, fmt.Sprintf("DROP INDEX o_%d ON other", i))
		mustExec(t, setup, fmt.Sprintf("DROP TABLE x_%d", i))
	}
	close(stop)
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	expectRows(t, rowsOf(t, setup, "SELECT COUNT(*) FROM t"), fmt.Sprint(total))
}
