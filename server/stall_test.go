package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cdc-dev/cdc/engine"
)

// TestStalledSubscriberIsCutOff checks that a TAIL client that stops reading is disconnected
// with an error once its socket and its buffer of epochs are full, while a reading
// subscriber receives every change and the writer never waits for the stalled one.
func TestStalledSubscriberIsCutOff(t *testing.T) {
	ctx := testCtx(t)
	e, err := engine.Open(ctx, engine.Options{SubscriberBuffer: 64})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(e, Config{Addr: "127.0.0.1:0", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx) }()
	defer func() {
		stop()
		<-done
		e.Close()
	}()
	db := openDB(t, srv.Addr(), "root", "")
	mustExec(t, ctx, db, `CREATE TABLE t (k INT PRIMARY KEY, body TEXT)`, `CREATE MATERIALIZED VIEW v AS SELECT k, body FROM t`)

	stalledCtx, cancelStalled := context.WithCancel(ctx)
	defer cancelStalled()
	stalled, err := db.QueryContext(stalledCtx, `TAIL v WITH (SNAPSHOT = false)`)
	if err != nil {
		t.Fatal(err)
	}
	readerCtx, cancelReader := context.WithCancel(ctx)
	defer cancelReader()
	reader, err := db.QueryContext(readerCtx, `TAIL v WITH (SNAPSHOT = false)`)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 300
	received := make(chan int, rows)
	go func() {
		var lsn, diff, k int64
		var body string
		for reader.Next() {
			if err := reader.Scan(&lsn, &diff, &k, &body); err != nil {
				return
			}
			received <- int(k)
		}
	}()
	// 300 rows of 64 KiB: far more than the stalled client's socket buffers and 64 epochs
	// hold. Each write waits until the reading subscriber has its row, so the reader never
	// lags while the stalled one falls further behind with every row.
	body := strings.Repeat("x", 64<<10)
	start := time.Now()
	for i := 0; i < rows; i++ {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO t VALUES (%d, '%s')`, i, body)); err != nil {
			t.Fatal(err)
		}
		select {
		case k := <-received:
			if k != i {
				t.Fatalf("reading subscriber got row %d, want %d", k, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("reading subscriber got %d of %d rows", i, rows)
		}
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("writes took %v: the stalled subscriber held them back", took)
	}
	// The stalled client now reads: what was buffered, then the error that cut it off.
	var stalledErr error
	deadline := time.After(10 * time.Second)
	for stalledErr == nil {
		select {
		case <-deadline:
			t.Fatal("the stalled subscriber was never cut off")
		default:
		}
		if !stalled.Next() {
			stalledErr = stalled.Err()
			if stalledErr == nil {
				t.Fatal("the stalled TAIL ended without an error")
			}
		}
	}
	var me *mysql.MySQLError
	if !errors.As(stalledErr, &me) || !strings.Contains(me.Message, "fell more than") {
		t.Fatalf("stalled subscriber ended with %v", stalledErr)
	}
}
