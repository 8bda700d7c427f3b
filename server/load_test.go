package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestLoadWritersAndTails runs 50 writer connections against 50 TAIL subscribers of one
// view, plus one subscriber that never reads: every reading subscriber gets every row
// exactly once in LSN order, and the stalled one does not hold up the writers.
func TestLoadWritersAndTails(t *testing.T) {
	const (
		writers     = 50
		perWriter   = 20
		subscribers = 50
		total       = writers * perWriter
		bound       = 25 * time.Second // everything, on a loaded machine
	)
	start := time.Now()
	srv := startServerFull(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	db := openDB(t, srv.Addr(), "root", "")
	mustExec(t, ctx, db,
		"CREATE TABLE t (k INT PRIMARY KEY, w INT)",
		"CREATE MATERIALIZED VIEW v AS SELECT k, w FROM t",
	)

	// Subscribers, each on its own connection; QueryContext returns once the TAIL is
	// subscribed (the server sends the columns after subscribing).
	subDB := openDB(t, srv.Addr(), "root", "")
	subDB.SetMaxIdleConns(subscribers + 1)
	type stream struct {
		rows interface {
			Next() bool
			Scan(...any) error
			Err() error
			Close() error
		}
		cancel context.CancelFunc
	}
	open := func() stream {
		sctx, scancel := context.WithCancel(ctx)
		rows, err := subDB.QueryContext(sctx, "TAIL v WITH (SNAPSHOT = false)")
		if err != nil {
			scancel()
			t.Fatalf("TAIL: %v", err)
		}
		return stream{rows, scancel}
	}
	streams := make([]stream, subscribers)
	for i := range streams {
		streams[i] = open()
	}
	stalled := open() // never read
	defer func() {
		stalled.cancel() // the driver closes the connection; Close then returns at once
		stalled.rows.Close()
	}()

	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { s.cancel(); s.rows.Close() }()
			seen := make(map[int64]bool, total)
			var last int64
			// Read up to the sentinel row k = total, written after all the others: a
			// duplicate of an earlier row would come before it.
			for !seen[total] && s.rows.Next() {
				var lsn, diff, k, w int64
				if err := s.rows.Scan(&lsn, &diff, &k, &w); err != nil {
					t.Errorf("subscriber %d: scan: %v", i, err)
					return
				}
				if lsn < last {
					t.Errorf("subscriber %d: lsn %d after %d", i, lsn, last)
				}
				last = lsn
				if diff != 1 || w != k*10 || seen[k] {
					t.Errorf("subscriber %d: row k=%d w=%d diff=%d (seen before: %v)", i, k, w, diff, seen[k])
					return
				}
				seen[k] = true
			}
			if len(seen) != total+1 {
				t.Errorf("subscriber %d: got %d of %d rows: %v", i, len(seen), total+1, s.rows.Err())
			}
		}()
	}

	// Writers, each on its own connection.
	wdb := openDB(t, srv.Addr(), "root", "")
	wdb.SetMaxIdleConns(writers)
	writeStart := time.Now()
	var wwg sync.WaitGroup
	for i := range writers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			conn, err := wdb.Conn(ctx)
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
				return
			}
			defer conn.Close()
			for j := range perWriter {
				k := i*perWriter + j
				if _, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO t VALUES (%d, %d)", k, k*10)); err != nil {
					t.Errorf("writer %d: %v", i, err)
					return
				}
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wwg.Wait(); close(writersDone) }()
	select {
	case <-writersDone:
	case <-ctx.Done():
		t.Fatalf("writers did not finish within %v", bound)
	}
	writeTime := time.Since(writeStart)
	mustExec(t, ctx, db, fmt.Sprintf("INSERT INTO t VALUES (%d, %d)", total, total*10))

	subsDone := make(chan struct{})
	go func() { wg.Wait(); close(subsDone) }()
	select {
	case <-subsDone:
	case <-ctx.Done():
		t.Fatalf("subscribers did not receive every row within %v", bound)
	}
	t.Logf("%d rows by %d writers in %v; %d subscribers done after %v (total %v)",
		total, writers, writeTime.Round(time.Millisecond), subscribers,
		time.Since(writeStart).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	sameRows(t, "count", queryStrings(t, ctx, db, "SELECT COUNT(*) FROM v"), [][]string{{fmt.Sprint(total + 1)}})
}
