package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/cdc-dev/cdc/sqlerr"
)

// TestAbortedTransaction: once the engine rolls back an explicit transaction, the session
// refuses every statement with 1402 until ROLLBACK (or COMMIT, which fails: nothing was
// committed), so that no statement runs as if the transaction were still open.
func TestAbortedTransaction(t *testing.T) {
	ctx := context.Background()
	s := memSession(t)
	exec := func(q string) error {
		_, err := s.Exec(ctx, q)
		return err
	}
	for _, q := range []string{"CREATE TABLE t (k INT PRIMARY KEY)", "BEGIN", "INSERT INTO t VALUES (1)"} {
		if err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	err := s.abort(errors.New("undoing the statement failed"))
	if sqlerr.As(err).Code != sqlerr.TxnRolledBack {
		t.Fatalf("abort: %v", err)
	}
	for _, end := range []string{"COMMIT", "ROLLBACK"} {
		for _, q := range []string{"INSERT INTO t VALUES (2)", "SELECT * FROM t", "CREATE TABLE u (k INT)", "BEGIN"} {
			if err := exec(q); sqlerr.As(err).Code != sqlerr.TxnRolledBack {
				t.Errorf("%s in an aborted transaction: %v, want error %d", q, err, sqlerr.TxnRolledBack)
			}
		}
		err := exec(end)
		if end == "COMMIT" && sqlerr.As(err).Code != sqlerr.TxnRolledBack {
			t.Errorf("COMMIT of an aborted transaction: %v, want error %d", err, sqlerr.TxnRolledBack)
		}
		if end == "ROLLBACK" && err != nil {
			t.Errorf("ROLLBACK of an aborted transaction: %v", err)
		}
		// The session is usable again, in autocommit; nothing of the transaction stayed.
		res, err := s.Exec(ctx, "SELECT COUNT(*) FROM t")
		if err != nil || res.Rows[0].String() != "0" {
			t.Fatalf("after %s: %v %v", end, res, err)
		}
		if s.InTransaction() {
			t.Fatalf("after %s the session is still in a transaction", end)
		}
		for _, q := range []string{"BEGIN", "INSERT INTO t VALUES (1)"} {
			if err := exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.abort(errors.New("again"))
	}
}

// execAll runs statements in a session, failing the test at the first error.
func execAll(t *testing.T, s *Session, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := s.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// memSession is a session of a new in-memory engine, both closed when the test ends.
func memSession(t *testing.T) *Session {
	t.Helper()
	e, err := Open(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewSession()
	t.Cleanup(func() {
		s.Close()
		e.Close()
	})
	return s
}
