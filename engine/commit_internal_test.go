package engine

import (
	"context"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/sqlerr"
)

// TestCommitsBehindTheWriterSlot: while the writer slot is held (a DDL statement, a view's
// build), a COMMIT waits at most its lock wait timeout (1205) and one whose client gives
// up fails; neither is committed when the slot is free again.
func TestCommitsBehindTheWriterSlot(t *testing.T) {
	s := memSession(t)
	ctx := context.Background()
	if _, err := s.Exec(ctx, "CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, "SET innodb_lock_wait_timeout = 1"); err != nil {
		t.Fatal(err)
	}
	s.e.writer <- struct{}{} // held, as by a long DDL statement
	if _, err := s.Exec(ctx, "INSERT INTO t VALUES (1)"); sqlerr.As(err).Code != sqlerr.LockWaitTimeout {
		t.Errorf("INSERT behind the writer slot: %v, want %d", err, sqlerr.LockWaitTimeout)
	}
	gone, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if _, err := s.Exec(gone, "INSERT INTO t VALUES (2)"); err == nil {
		t.Error("INSERT of a client that gave up succeeded")
	}
	cancel()
	<-s.e.writer
	if _, err := s.Exec(ctx, "INSERT INTO t VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Exec(ctx, "SELECT id FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0].String() != "3" {
		t.Fatalf("rows after the slot was freed: %v, want only 3", res.Rows)
	}
}
