package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// bigTable creates big with n rows.
func bigTable(t *testing.T, s *engine.Session, n int) {
	t.Helper()
	mustExec(t, s, "CREATE TABLE big (id INT PRIMARY KEY, v INT)")
	for first := 0; first < n; first += 1000 {
		var b strings.Builder
		b.WriteString("INSERT INTO big VALUES ")
		for i := first; i < min(first+1000, n); i++ {
			if i > first {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, %d)", i, i%7)
		}
		mustExec(t, s, b.String())
	}
}

// TestRunawayStatementsBounded: a cross join that would hold more than the statement memory
// limit fails with ER_CAPACITY_EXCEEDED, as a query and as a view build, and changes
// nothing; the engine keeps serving.
func TestRunawayStatementsBounded(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, engine.Options{Dir: t.TempDir(), StatementMemoryLimit: 64 << 20})
	s := e.NewSession()
	bigTable(t, s, 3000)
	for _, q := range []string{
		"SELECT COUNT(*) FROM big a, big b WHERE a.id <> b.id",
		"CREATE MATERIALIZED VIEW x AS SELECT * FROM big a, big b",
		"INSERT INTO big SELECT a.id * 10000 + b.id, 0 FROM big a, big b",
	} {
		if _, err := s.Exec(ctx, q); sqlerr.As(err).Code != sqlerr.CapacityExceeded {
			t.Errorf("%s: %v, want error %d", q, err, sqlerr.CapacityExceeded)
		}
	}
	expectRows(t, rowsOf(t, s, "SHOW MATERIALIZED VIEWS"))
	expectRows(t, rowsOf(t, s, "SELECT COUNT(*) FROM big"), "3000")
	// A view over the cross join of a small part fits, and so does its maintenance.
	mustExec(t, s, "CREATE MATERIALIZED VIEW pairs AS SELECT COUNT(*) AS n FROM big a, big b WHERE a.id < 100 AND b.id < 100")
	expectRows(t, rowsOf(t, s, "SELECT n FROM pairs"), "10000")
	// A write whose view maintenance would pass the limit fails and is not applied.
	mustExec(t, s, "CREATE MATERIALIZED VIEW cross_all AS SELECT a.id, b.id AS id2 FROM big a, big b WHERE a.v = 100")
	if _, err := s.Exec(ctx, "UPDATE big SET v = 100"); sqlerr.As(err).Code != sqlerr.CapacityExceeded {
		t.Errorf("UPDATE whose view maintenance is a 3000 x 3000 cross join: %v", err)
	}
	expectRows(t, rowsOf(t, s, "SELECT COUNT(*) FROM big WHERE v = 100"), "0")
	expectRows(t, rowsOf(t, s, "VERIFY VIEWS"), "cross_all\t3\t0\t0\t0\tok", "pairs\t3\t1\t0\t0\tok")
}

// TestStatementCancelled: a long statement stops soon after its context is cancelled, with
// ER_QUERY_INTERRUPTED, and after max_execution_time (or a MAX_EXECUTION_TIME hint) with
// ER_QUERY_TIMEOUT.
func TestStatementCancelled(t *testing.T) {
	e := openEngine(t, engine.Options{StatementMemoryLimit: -1})
	s := e.NewSession()
	bigTable(t, s, 20000)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	if _, err := s.Exec(ctx, "SELECT COUNT(*) FROM big a, big b WHERE a.id <> b.id"); sqlerr.As(err).Code != sqlerr.QueryCanceled {
		t.Errorf("cancelled cross join: %v, want error %d", err, sqlerr.QueryCanceled)
	}
	ctx = context.Background()
	mustExec(t, s, "SET max_execution_time = 200")
	if _, err := s.Exec(ctx, "SELECT COUNT(*) FROM big a, big b WHERE a.id <> b.id"); sqlerr.As(err).Code != sqlerr.QueryTimeout {
		t.Errorf("cross join past max_execution_time: %v, want error %d", err, sqlerr.QueryTimeout)
	}
	mustExec(t, s, "SET SESSION max_execution_time = 0")
	if _, err := s.Exec(ctx, "SELECT /*+ MAX_EXECUTION_TIME(200) */ COUNT(*) FROM big a, big b WHERE a.id <> b.id"); sqlerr.As(err).Code != sqlerr.QueryTimeout {
		t.Errorf("cross join past its MAX_EXECUTION_TIME hint: %v, want error %d", err, sqlerr.QueryTimeout)
	}
	// Views are not bound by max_execution_time (as in MySQL, it applies to SELECT), but a
	// cancelled build stops and leaves nothing behind.
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	if _, err := s.Exec(ctx, "CREATE MATERIALIZED VIEW x AS SELECT COUNT(*) FROM big a, big b WHERE a.id <> b.id"); sqlerr.As(err).Code != sqlerr.QueryCanceled {
		t.Errorf("cancelled view build: %v, want error %d", err, sqlerr.QueryCanceled)
	}
	expectRows(t, rowsOf(t, s, "SHOW MATERIALIZED VIEWS"))
	expectRows(t, rowsOf(t, s, "SELECT COUNT(*) FROM big"), "20000")
}

// TestReadsDoNotWaitBehindAQuery: while one session's long query runs, other sessions read
// (SELECT 1, a view, a table) and write (their commits maintain views) without waiting
// for it: they all finish before it does. The long query is cancelled afterwards.
func TestReadsDoNotWaitBehindAQuery(t *testing.T) {
	e := openEngine(t, engine.Options{Dir: t.TempDir(), StatementMemoryLimit: -1})
	s := e.NewSession()
	bigTable(t, s, 20000)
	mustExec(t, s, "CREATE MATERIALIZED VIEW per_v AS SELECT v, COUNT(*) AS n FROM big GROUP BY v")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	done := make(chan error, 1)
	long := e.NewSession()
	go func() {
		close(started)
		_, err := long.Exec(ctx, "SELECT COUNT(*) FROM big a, big b WHERE a.id <> b.id")
		done <- err
	}()
	<-started
	time.Sleep(50 * time.Millisecond) // let it take its snapshot and start joining
	other := e.NewSession()
	for i := range 20 {
		expectRows(t, rowsOf(t, other, "SELECT 1"), "1")
		mustExec(t, other, fmt.Sprintf("INSERT INTO big VALUES (%d, 100)", 100000+i))
		expectRows(t, rowsOf(t, other, "SELECT n FROM per_v WHERE v = 100"), fmt.Sprint(i+1))
		expectRows(t, rowsOf(t, other, "SELECT COUNT(*) FROM big"), fmt.Sprint(20001+i))
	}
	select {
	case err := <-done:
		t.Fatalf("the long query ended (%v) before the other session's statements: they waited for it, or it was too short", err)
	default:
	}
	cancel()
	if err := <-done; sqlerr.As(err).Code != sqlerr.QueryCanceled {
		t.Errorf("the long query: %v, want error %d", err, sqlerr.QueryCanceled)
	}
}

// TestReadsDuringViewBuild: while a materialized view hydrates, other sessions' queries
// (of tables and of other views) run; a cancelled build leaves nothing behind, and a
// build that completes beside concurrent reads is correct.
func TestReadsDuringViewBuild(t *testing.T) {
	for _, dir := range []string{"pebble", "memory"} {
		t.Run(dir, func(t *testing.T) {
			opts := engine.Options{StatementMemoryLimit: -1}
			if dir == "pebble" {
				opts.Dir = t.TempDir()
			}
			e := openEngine(t, opts)
			s := e.NewSession()
			bigTable(t, s, 6000)
			mustExec(t, s, "CREATE MATERIALIZED VIEW per_v AS SELECT v, COUNT(*) AS n FROM big GROUP BY v")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			builder := e.NewSession()
			go func() {
				_, err := builder.Exec(ctx, "CREATE MATERIALIZED VIEW slow AS SELECT a.v, COUNT(*) AS n FROM big a, big b WHERE a.id <> b.id GROUP BY a.v")
				done <- err
			}()
			time.Sleep(50 * time.Millisecond)
			other := e.NewSession()
			for range 10 {
				expectRows(t, rowsOf(t, other, "SELECT 1"), "1")
				expectRows(t, rowsOf(t, other, "SELECT SUM(n) FROM per_v"), "6000")
				expectRows(t, rowsOf(t, other, "SELECT COUNT(*) FROM big WHERE v = 3"), "857")
			}
			// The build is listed with its progress: its one step (6,000 rows of big) has not
			// finished.
			expectRows(t, rowsOf(t, other, "SHOW MATERIALIZED VIEWS"), "per_v\tready\t7\tNULL\tNULL", "slow\tbuilding\t0\t0\t6000")
			if b := e.Stats().Build; b == nil || b.Name != "slow" || b.RowsToRead != 6000 {
				t.Errorf("Stats().Build during the build: %+v", b)
			}
			select {
			case err := <-done:
				t.Fatalf("the view build ended (%v) before the other session's reads", err)
			default:
			}
			cancel()
			if err := <-done; sqlerr.As(err).Code != sqlerr.QueryCanceled {
				t.Fatalf("cancelled build: %v", err)
			}
			expectRows(t, rowsOf(t, other, "SHOW MATERIALIZED VIEWS"), "per_v\tready\t7\tNULL\tNULL")
			if b := e.Stats().Build; b != nil {
				t.Errorf("Stats().Build after a cancelled build: %+v", b)
			}
			// A build that completes while another session reads is correct.
			go func() {
				_, err := builder.Exec(context.Background(), "CREATE MATERIALIZED VIEW pairs AS SELECT a.v, COUNT(*) AS n FROM big a JOIN big b ON a.v = b.v WHERE a.id < 2000 GROUP BY a.v")
				done <- err
			}()
			for range 20 {
				expectRows(t, rowsOf(t, other, "SELECT SUM(n) FROM per_v"), "6000")
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			mustExec(t, other, "INSERT INTO big VALUES (100000, 3)")
			for _, r := range rowsOf(t, other, "VERIFY VIEWS") {
				if !strings.HasSuffix(r, "\tok") {
					t.Errorf("VERIFY VIEWS: %s", r)
				}
			}
		})
	}
}

// TestIdleTransactionDelaysNoWriter: a transaction left open delays no other writer, and
// a cancelled DDL statement does not run.
func TestIdleTransactionDelaysNoWriter(t *testing.T) {
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, "CREATE TABLE t (id INT PRIMARY KEY)")
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "INSERT INTO t VALUES (1)")
	other := e.NewSession()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := other.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("write beside an open transaction: %v", err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err := other.Exec(cctx, "CREATE TABLE u (id INT)"); err == nil {
		t.Error("a cancelled DDL ran")
	}
	mustExec(t, s, "ROLLBACK")
	expectRows(t, rowsOf(t, other, "SELECT id FROM t"), "2")
	expectRows(t, rowsOf(t, other, "SHOW TABLES"), "t")
}

// TestSnapshotsConsistentUnderWrites: while writers commit (their epochs computed without
// the engine's lock), every query sees a table and a view over it at the same LSN, and
// TAILs receive every change: reads never see half of a commit.
func TestSnapshotsConsistentUnderWrites(t *testing.T) {
	for _, mode := range []string{"pebble", "memory"} {
		t.Run(mode, func(t *testing.T) {
			opts := engine.Options{}
			if mode == "pebble" {
				opts.Dir = t.TempDir()
			}
			e := openEngine(t, opts)
			s := e.NewSession()
			mustExec(t, s, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
			mustExec(t, s, "CREATE MATERIALIZED VIEW cnt AS SELECT COUNT(*) AS n, SUM(v) AS total FROM t")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sub, err := e.Subscribe(ctx, "cnt", engine.SubscribeOptions{Snapshot: true})
			if err != nil {
				t.Fatal(err)
			}
			const writes = 200
			errs := make(chan error, 8)
			go func() {
				w := e.NewSession()
				for i := range writes {
					q := fmt.Sprintf("INSERT INTO t VALUES (%d, %d), (%d, %d)", 2*i, i, 2*i+1, i)
					if _, err := w.Exec(context.Background(), q); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
			for r := range 3 {
				go func() {
					rs := e.NewSession()
					for range 100 {
						res, err := rs.Exec(context.Background(),
							"SELECT (SELECT COUNT(*) FROM t) = (SELECT n FROM cnt), (SELECT COALESCE(SUM(v), 0) FROM t) = (SELECT COALESCE(total, 0) FROM cnt)")
						if err != nil {
							errs <- err
							return
						}
						if got := res.Rows[0].String(); got != "1\t1" {
							errs <- fmt.Errorf("reader %d: the table and its view were at different LSNs: %s", r, got)
							return
						}
					}
					errs <- nil
				}()
			}
			for range 4 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			// The TAIL got the snapshot and then every commit, in order.
			var last dataflow.Row
			var snapshotLSN uint64
			for seen := -1; seen < writes; seen++ { // the snapshot, then one batch a commit
				nctx, ncancel := context.WithTimeout(ctx, 30*time.Second)
				b, err := sub.Next(nctx)
				ncancel()
				if err != nil {
					t.Fatalf("after %d batches: %v", seen+1, err)
				}
				if seen == -1 {
					snapshotLSN = b.LSN
				} else if b.LSN <= snapshotLSN {
					t.Fatalf("batch at LSN %d after the snapshot at %d", b.LSN, snapshotLSN)
				}
				for _, u := range b.Updates {
					if u.Diff > 0 {
						last = u.Row
					}
				}
			}
			if last.String() != fmt.Sprintf("%d\t%d", 2*writes, writes*(writes-1)) {
				t.Errorf("the TAIL ended at %s", last)
			}
		})
	}
}
