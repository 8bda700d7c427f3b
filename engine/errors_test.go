package engine_test

import (
	"context"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// TestBadInput checks that every kind of bad statement gets its MySQL error, changes nothing,
// and leaves the engine serving.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (k INT PRIMARY KEY, name VARCHAR(5) NOT NULL, n BIGINT)`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW total AS SELECT COUNT(*) AS c, SUM(n) AS s FROM t`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW doubled AS SELECT k, n * 2 AS d FROM t`)
	mustExec(t, s, `INSERT INTO t VALUES (1, 'a', 10)`)

	cases := []struct {
		sql  string
		code uint16
	}{
		{`SELEC 1`, sqlerr.Parse},
		{`SELECT * FROM missing`, sqlerr.NoSuchTable},
		{`SELECT nope FROM t`, sqlerr.BadField},
		{`INSERT INTO t VALUES (2, 'b', 1), (1, 'dup', 2)`, sqlerr.DupEntry},
		{`INSERT INTO t VALUES (3, NULL, 1)`, sqlerr.BadNull},
		{`INSERT INTO t (k) VALUES (3)`, sqlerr.NoDefault},
		{`INSERT INTO t VALUES ('x', 'c', 1)`, sqlerr.WrongValue},
		{`INSERT INTO t VALUES (4, 'toolong', 1)`, sqlerr.DataTooLong},
		{`INSERT INTO t VALUES (4, 'a')`, sqlerr.WrongValueCnt},
		{`UPDATE t SET k = 1 WHERE k = 1 + 0 AND 0 = 1`, 0},
		{`CREATE TABLE t (x INT)`, sqlerr.TableExists},
		{`DROP TABLE t`, sqlerr.Dependent},
		{`INSERT INTO total VALUES (1, 2)`, sqlerr.NonUpdatable},
		{`SELECT k FROM t, t`, sqlerr.NonUniqTable},
		{`SELECT COUNT(*) FROM t WHERE COUNT(*) > 1`, sqlerr.InvalidGroup},
		{`SELECT (SELECT k FROM t UNION ALL SELECT k FROM t)`, sqlerr.SubqueryRows},
		// The view doubled cannot hold 2 * 2^62: the write is refused and nothing is applied.
		{`INSERT INTO t VALUES (5, 'big', 4611686018427387904)`, sqlerr.DataOutOfRange},
	}
	for _, c := range cases {
		_, err := s.Exec(ctx, c.sql)
		if c.code == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.sql, err)
			}
			continue
		}
		if got := sqlerr.As(err); err == nil || got.Code != c.code {
			t.Errorf("%s: got %v, want error %d", c.sql, err, c.code)
		}
	}
	expectRows(t, rowsOf(t, s, `SELECT * FROM t`), "1\ta\t10")
	expectRows(t, rowsOf(t, s, `SELECT * FROM total`), "1\t10")
	expectRows(t, rowsOf(t, s, `SELECT * FROM doubled`), "1\t20")

	// Inside a transaction a failed statement is undone alone; the rest commits.
	mustExec(t, s, `BEGIN`)
	mustExec(t, s, `INSERT INTO t VALUES (2, 'b', 5)`)
	if _, err := s.Exec(ctx, `INSERT INTO t VALUES (3, 'c', 1), (2, 'dup', 1)`); sqlerr.As(err).Code != sqlerr.DupEntry {
		t.Fatalf("duplicate inside a transaction: %v", err)
	}
	if _, err := s.Exec(ctx, `UPDATE t SET name = NULL WHERE k = 2`); sqlerr.As(err).Code != sqlerr.BadNull {
		t.Fatalf("NOT NULL inside a transaction: %v", err)
	}
	mustExec(t, s, `COMMIT`)
	expectRows(t, rowsOf(t, s, `SELECT * FROM t`), "1\ta\t10", "2\tb\t5")
	expectRows(t, rowsOf(t, s, `SELECT * FROM total`), "2\t15")

	// Another session is not blocked by the failures.
	s2 := e.NewSession()
	expectRows(t, rowsOf(t, s2, `SELECT c FROM total`), "2")
}

// TestReadWhileAnotherSessionWrites checks that reads do not wait for an open transaction of
// another session and do not see its uncommitted rows.
func TestReadWhileAnotherSessionWrites(t *testing.T) {
	e := openEngine(t, engine.Options{Dir: t.TempDir()})
	w, r := e.NewSession(), e.NewSession()
	mustExec(t, w, `CREATE TABLE t (k INT PRIMARY KEY)`)
	mustExec(t, w, `INSERT INTO t VALUES (1)`)
	mustExec(t, w, `BEGIN`)
	mustExec(t, w, `INSERT INTO t VALUES (2)`)
	expectRows(t, rowsOf(t, w, `SELECT * FROM t`), "1", "2")
	expectRows(t, rowsOf(t, r, `SELECT * FROM t`), "1")
	mustExec(t, w, `COMMIT`)
	expectRows(t, rowsOf(t, r, `SELECT * FROM t`), "1", "2")
}
