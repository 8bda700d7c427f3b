package server

import (
	"testing"
)

// TestTransactions runs database/sql transactions over the wire: a rollback leaves nothing,
// a commit applies every statement at once, and another connection sees only committed rows.
func TestTransactions(t *testing.T) {
	ctx := testCtx(t)
	db := openDB(t, startServer(t, ""), "root", "")
	mustExec(t, ctx, db, `CREATE TABLE t (k INT PRIMARY KEY, v TEXT)`,
		`CREATE MATERIALIZED VIEW n AS SELECT COUNT(*) AS c FROM t`)

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (1, 'a')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "after rollback", queryStrings(t, ctx, db, `SELECT c FROM n`), [][]string{{"0"}})

	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`INSERT INTO t VALUES (1, 'a')`, `INSERT INTO t VALUES (2, 'b')`, `UPDATE t SET v = 'c' WHERE k = 1`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Another connection sees neither the rows nor the view change before COMMIT.
	sameRows(t, "before commit", queryStrings(t, ctx, db, `SELECT c FROM n`), [][]string{{"0"}})
	sameRows(t, "rows before commit", queryStrings(t, ctx, db, `SELECT COUNT(*) FROM t`), [][]string{{"0"}})
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "after commit", queryStrings(t, ctx, db, `SELECT k, v FROM t ORDER BY k`), [][]string{{"1", "c"}, {"2", "b"}})
	sameRows(t, "view after commit", queryStrings(t, ctx, db, `SELECT c FROM n`), [][]string{{"2"}})
}
