package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

// TestCloseWithOpenTransaction checks that Close does not hang on a session that left a
// transaction open, and that the abandoned transaction is rolled back.
func TestCloseWithOpenTransaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := engine.Open(ctx, engine.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (a INT)`)
	mustExec(t, s, `BEGIN`)
	mustExec(t, s, `INSERT INTO t VALUES (1)`)
	done := make(chan error, 1)
	go func() { done <- e.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung on an open transaction")
	}
	e, err = engine.Open(ctx, engine.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	expectRows(t, rowsOf(t, e.NewSession(), `SELECT COUNT(*) FROM t`), "0")
}
