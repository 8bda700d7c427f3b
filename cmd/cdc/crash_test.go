//go:build linux

package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
)

var (
	crashKills = flag.Int("crash-kills", 20, "TestCrash: how many times the server is killed with SIGKILL")
	crashSeed  = flag.Int64("crash-seed", 1, "TestCrash: random seed")
	crashDir   = flag.String("crash-dir", "", "TestCrash: work in this new directory (binary, data, server.log) and keep it, instead of a temporary one")
)

// crashViews are the materialized views of TestCrash and their defining queries.
var crashViews = []struct{ name, query string }{
	{"acct_by_owner", "SELECT owner, COUNT(*) AS n, SUM(balance) AS total FROM acct GROUP BY owner"},
	{"ev_join", "SELECT e.id, e.acct, e.amount, a.owner, a.balance FROM events e JOIN acct a ON a.id = e.acct"},
	{"feed", "SELECT id, acct, amount FROM events"},
}

// crashWriters is how many sessions write concurrently, each a stream of explicit
// multi-statement transactions, committed in groups.
const crashWriters = 8

// crashLedger is what the writers know about their transactions.
type crashLedger struct {
	mu                    sync.Mutex
	acked, failed, doubt  map[int64]bool
	commitErrors          int      // COMMITs the server answered with an SQL error (counted as failed)
	unexpected            []string // SQL errors other than duplicate keys
	reported              int      // how many of unexpected were reported
	diagnosis             string   // crashDiagnose at the first unexpected error
	dupKeys, brokenBefore int
	// conflicts are COMMITs refused because a concurrent transaction committed first (1213)
	// or inserted one of its keys (1062): failed, as expected under concurrency.
	conflicts    int
	noConn       int // transactions that found no connection
	noConnSample []string
}

func (l *crashLedger) record(id int64, outcome string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch outcome {
	case "acked":
		l.acked[id] = true
	case "failed":
		l.failed[id] = true
	case "doubt":
		l.doubt[id] = true
	default:
		panic("unknown outcome " + outcome)
	}
}

// crashStatement is one random write on acct or events.
func crashStatement(rng *rand.Rand) string {
	a := 1 + rng.Intn(20)
	ev := 1 + rng.Intn(40)
	switch rng.Intn(10) {
	case 0, 1:
		return fmt.Sprintf("INSERT INTO acct VALUES (%d, %d, %d)", a, 1+rng.Intn(5), rng.Intn(201)-100)
	case 2:
		return fmt.Sprintf("UPDATE acct SET balance = balance + %d WHERE id = %d", rng.Intn(21)-10, a)
	case 3:
		return fmt.Sprintf("UPDATE acct SET owner = %d WHERE id = %d", 1+rng.Intn(5), a)
	case 4:
		return fmt.Sprintf("DELETE FROM acct WHERE id = %d", a)
	case 5, 6:
		return fmt.Sprintf("INSERT INTO events VALUES (%d, %d, %d)", ev, a, rng.Intn(1000))
	case 7:
		return fmt.Sprintf("UPDATE events SET amount = amount + %d WHERE id = %d", 1+rng.Intn(9), ev)
	case 8:
		return fmt.Sprintf("UPDATE events SET acct = %d WHERE id = %d", a, ev)
	default:
		return fmt.Sprintf("DELETE FROM events WHERE id >= %d AND id <= %d", ev, ev+2)
	}
}

// crashTxn runs one random transaction ending with the ledger row id and says how it ended:
// acked (COMMIT answered OK), failed (it cannot have committed), doubt (the connection
// broke during COMMIT) or "no connection" (nothing was sent).
func crashTxn(ctx context.Context, db *sql.DB, rng *rand.Rand, id int64, led *crashLedger) string {
	conn, err := db.Conn(ctx)
	if err != nil {
		led.mu.Lock()
		led.noConn++
		if len(led.noConnSample) < 3 {
			led.noConnSample = append(led.noConnSample, err.Error())
		}
		led.mu.Unlock()
		return "no connection"
	}
	defer conn.Close()
	exec := func(q string) error {
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		_, err := conn.ExecContext(sctx, q)
		return err
	}
	stmts := []string{"BEGIN"}
	for n := 1 + rng.Intn(4); n > 0; n-- {
		stmts = append(stmts, crashStatement(rng))
	}
	stmts = append(stmts, fmt.Sprintf("INSERT INTO ledger VALUES (%d)", id))
	for _, q := range stmts {
		err := exec(q)
		if err == nil {
			continue
		}
		if num, ok := isMySQLError(err); ok {
			led.mu.Lock()
			if num == 1062 {
				led.dupKeys++
			} else {
				led.unexpected = append(led.unexpected, fmt.Sprintf("txn %d: %s: %v", id, q, err))
				if led.diagnosis == "" {
					led.diagnosis = "(being written)"
					led.mu.Unlock()
					d := crashDiagnose(ctx, db)
					led.mu.Lock()
					led.diagnosis = d
				}
			}
			led.mu.Unlock()
			_ = exec("ROLLBACK")
		} else {
			led.mu.Lock()
			led.brokenBefore++
			led.mu.Unlock()
		}
		return "failed"
	}
	err = exec("COMMIT")
	if err == nil {
		return "acked"
	}
	if num, ok := isMySQLError(err); ok {
		led.mu.Lock()
		if num == 1213 || num == 1062 {
			led.conflicts++
		} else {
			led.commitErrors++
			led.unexpected = append(led.unexpected, fmt.Sprintf("txn %d: COMMIT: %v", id, err))
		}
		led.mu.Unlock()
		return "failed"
	}
	return "doubt"
}

// crashTail follows `feed` across restarts, keeping only the data rows of LSNs whose
// progress row arrived.
type crashTail struct {
	mu          sync.Mutex
	started     bool
	start, last uint64
	batches     []crashBatch
	problems    []string
	resumes     int
}

type crashBatch struct {
	lsn  uint64
	rows map[string]int64 // "id|acct|amount" -> diff
}

func (c *crashTail) lastLSN() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.started
}

func (c *crashTail) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// run streams one TAIL until the connection ends; ready is closed once the TAIL has
// delivered its first row.
func (c *crashTail) run(ctx context.Context, db *sql.DB, ready chan<- struct{}) error {
	readyOnce := sync.OnceFunc(func() { close(ready) })
	defer readyOnce()
	c.mu.Lock()
	q := "TAIL feed WITH (SNAPSHOT = false, PROGRESS = true)"
	resuming := c.started
	if resuming {
		q = fmt.Sprintf("TAIL feed AS OF %d WITH (SNAPSHOT = false, PROGRESS = true)", c.last)
		c.resumes++
	}
	c.mu.Unlock()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	if cols, _ := rows.Columns(); strings.Join(cols, ",") != "lsn,diff,progressed,id,acct,amount" {
		return fmt.Errorf("%s: columns %v", q, cols)
	}
	type pendingRow struct {
		lsn  uint64
		key  string
		diff int64
	}
	var pending []pendingRow
	first := true
	for rows.Next() {
		r, err := crashScan(rows)
		if err != nil {
			return err
		}
		readyOnce()
		lsn, err1 := strconv.ParseUint(r[0], 10, 64)
		diff, err2 := strconv.ParseInt(r[1], 10, 64)
		if err1 != nil || (r[2] != "1" && err2 != nil) {
			return fmt.Errorf("bad TAIL row %v", r)
		}
		c.mu.Lock()
		switch {
		case r[2] == "1" && !c.started:
			if len(pending) > 0 {
				c.problem("first TAIL delivered data rows %v before its first progress row", pending)
			}
			c.started, c.start, c.last = true, lsn, lsn
			pending = nil
		case r[2] == "1":
			if first && resuming && lsn != c.last {
				c.problem("TAIL AS OF %d started with progress %d", c.last, lsn)
			}
			if lsn < c.last {
				c.problem("progress went back from %d to %d", c.last, lsn)
			}
			if len(pending) > 0 {
				if lsn <= c.last {
					c.problem("data rows at LSN %d delivered again (last progress %d): %v", lsn, c.last, pending)
				}
				b := crashBatch{lsn: lsn, rows: map[string]int64{}}
				for _, p := range pending {
					if p.lsn != lsn {
						c.problem("data row at LSN %d completed by progress row %d", p.lsn, lsn)
					}
					b.rows[p.key] += p.diff
				}
				c.batches = append(c.batches, b)
			}
			c.last = max(c.last, lsn)
			pending = nil
		default:
			if r[2] != "0" {
				c.problem("TAIL row with progressed = %q: %v", r[2], r)
			}
			pending = append(pending, pendingRow{lsn: lsn, key: strings.Join(r[3:], "|"), diff: diff})
		}
		first = false
		c.mu.Unlock()
	}
	return rows.Err()
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	seed, kills := *crashSeed, *crashKills
	began := time.Now()
	rng := rand.New(rand.NewSource(seed))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("TestCrash failed with -crash-seed %d -crash-kills %d", seed, kills)
		}
	})
	// A cycle takes about a second; the bound is generous.
	ctx, cancel := context.WithTimeout(context.Background(), max(10*time.Minute, time.Duration(kills)*15*time.Second))
	defer cancel()

	tmp := t.TempDir()
	if *crashDir != "" {
		tmp = *crashDir
		if err := os.Mkdir(tmp, 0o755); err != nil {
			t.Fatalf("-crash-dir: %v", err)
		}
		t.Logf("working in %s (kept)", tmp)
	}
	bin := filepath.Join(tmp, "cdc")
	bctx, bcancel := context.WithTimeout(ctx, 5*time.Minute)
	out, err := exec.CommandContext(bctx, "go", "build", "-o", bin, ".").CombinedOutput()
	bcancel()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := &crashServer{bin: bin, dir: filepath.Join(tmp, "data"), logPath: filepath.Join(tmp, "server.log"),
		mysqlAddr: freeAddr(t), httpAddr: freeAddr(t)}
	t.Cleanup(func() {
		if srv.running() {
			_ = srv.kill()
		}
		if t.Failed() {
			t.Logf("server log (%s), last lines:\n%s", srv.logPath, srv.logTail(6000))
		}
	})
	srv.token = rand.New(rand.NewSource(time.Now().UnixNano())).Int63n(1 << 40)
	if err := srv.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("built and started in %v", time.Since(began).Round(time.Millisecond))

	db := crashOpenDB(srv.mysqlAddr, true)
	for _, q := range []string{
		"CREATE TABLE acct (id INT PRIMARY KEY, owner INT, balance INT)",
		"CREATE TABLE events (id INT PRIMARY KEY, acct INT, amount INT)",
		"CREATE TABLE ledger (txn INT PRIMARY KEY)",
		"CREATE TABLE crash_marker (token BIGINT PRIMARY KEY)",
		fmt.Sprintf("INSERT INTO crash_marker VALUES (%d)", srv.token),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, v := range crashViews {
		q := fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS %s", v.name, v.query)
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	// The view store is synced only every second or at a clean stop: stop and restart, so
	// that the first kill finds the views' state (and they are never recomputed).
	if err := srv.stop(); err != nil {
		t.Fatalf("stopping the server after the setup: %v", err)
	}
	if err := srv.start(ctx); err != nil {
		t.Fatal(err)
	}

	led := &crashLedger{acked: map[int64]bool{}, failed: map[int64]bool{}, doubt: map[int64]bool{}}
	ddl := newCrashDDL()
	t.Cleanup(func() {
		if t.Failed() {
			p := filepath.Join(tmp, "ddl-ledger.txt")
			if err := ddl.writeLedger(p); err != nil {
				t.Log(err)
			} else {
				t.Logf("the DDL ledger is in %s", p)
			}
		}
	})
	tail := &crashTail{}
	var nextID atomic.Int64

	// startTail runs the TAIL client until the connection ends; wait cancels and waits for it.
	startTail := func() (wait func() error) {
		tdb := crashOpenDB(srv.mysqlAddr, false)
		tctx, tcancel := context.WithCancel(ctx)
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() { done <- tail.run(tctx, tdb, ready) }()
		select {
		case <-ready:
		case <-time.After(20 * time.Second):
			t.Errorf("the TAIL delivered nothing within 20s")
		}
		return func() error {
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				tcancel()
				err = <-done
			}
			tcancel()
			tdb.Close()
			return err
		}
	}

	killed, aimed, midDDL := 0, 0, 0
	var logOffset int64
	for cycle := 0; cycle < kills; cycle++ {
		if t.Failed() {
			break
		}
		// DDL with nothing else running, first creating a table or an index: the first
		// storage namespace allocated since the restart (it used to be the last one
		// allocated before the crash, so two tables shared rows).
		ddb := crashOpenDB(srv.mysqlAddr, true)
		err := ddl.batch(ctx, ddb, rand.New(rand.NewSource(seed*1000+int64(cycle)*10+7)), cycle)
		ddb.Close()
		if err != nil {
			t.Error(err)
		}
		ddl.reportUnexpected(t, fmt.Sprintf("cycle %d (DDL before the load)", cycle))
		crashCheck(t, ctx, srv, led, ddl, fmt.Sprintf("after the DDL of cycle %d", cycle))
		if t.Failed() {
			break
		}

		waitTail := startTail()
		wdb := crashOpenDB(srv.mysqlAddr, true)
		wctx, wcancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		// Random DDL during the load, so that kills land in the middle of DDL too.
		wg.Add(1)
		go func() {
			defer wg.Done()
			ddl.run(wctx, wdb, rand.New(rand.NewSource(seed*1000+int64(cycle)*10+8)), cycle)
		}()
		for w := range crashWriters {
			wrng := rand.New(rand.NewSource(seed*1000 + int64(cycle)*100 + int64(w)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for wctx.Err() == nil {
					id := nextID.Add(1)
					switch outcome := crashTxn(wctx, wdb, wrng, id, led); outcome {
					case "no connection": // nothing was sent: the server is down
						time.Sleep(5 * time.Millisecond)
					default:
						led.record(id, outcome)
					}
				}
			}()
		}
		time.Sleep(time.Duration(100+rng.Intn(601)) * time.Millisecond)
		// Every other kill (on average) comes just after a DDL statement was sent, to land in
		// the middle of it.
		if aim, delay := rng.Intn(2) == 0, time.Duration(rng.Intn(3000))*time.Microsecond; aim && ddl.awaitStatement() {
			time.Sleep(delay)
			aimed++
		}
		if err := srv.kill(); err != nil {
			t.Fatal(err)
		}
		killed++
		wcancel()
		wg.Wait()
		if len(ddl.doubtAt(cycle)) > 0 {
			midDDL++
		}
		wdb.Close()
		if err := waitTail(); err == nil {
			t.Errorf("cycle %d: the TAIL ended without an error when the server was killed", cycle)
		} else if _, ok := isMySQLError(err); ok {
			t.Errorf("cycle %d: the TAIL ended with an SQL error: %v", cycle, err)
		}
		if err := srv.start(ctx); err != nil {
			t.Fatalf("restart %d (DDL in doubt at the kill: %v): %v", cycle+1, ddl.doubtAt(cycle), err)
		}
		recs, off, err := crashRecomputed(srv.logPath, logOffset)
		if err != nil {
			t.Fatal(err)
		}
		ddl.noteRecomputes(t, recs, cycle, srv.logTail(3000))
		logOffset = off
		crashReportUnexpected(t, led, fmt.Sprintf("cycle %d (load before kill %d)", cycle, cycle+1))
		ddl.reportUnexpected(t, fmt.Sprintf("cycle %d (DDL before kill %d)", cycle, cycle+1))
		crashCheck(t, ctx, srv, led, ddl, fmt.Sprintf("after restart %d", cycle+1))
	}

	// Let the TAIL catch up with the log head, then stop the server cleanly.
	frontier := crashCheck(t, ctx, srv, led, ddl, "final")
	waitTail := startTail()
	deadline := time.Now().Add(20 * time.Second)
	for {
		last, _ := tail.lastLSN()
		if last >= frontier {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the TAIL did not reach the frontier %d (last progress %d)", frontier, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.stop(); err != nil {
		t.Errorf("stopping the server with SIGTERM: %v", err)
	}
	_ = waitTail()
	// crashViews existed before the first kill: every restart must have resumed them from
	// their stored state, replaying the log, never recomputing them. A view of the DDL may
	// have been recomputed (a kill in the middle of its CREATE, or before its state was
	// synced).
	if recs, _, err := crashRecomputed(srv.logPath, 0); err != nil {
		t.Error(err)
	} else {
		var original, others []string
		for _, r := range recs {
			if crashIsOriginalView(r.view) {
				original = append(original, r.view+" ("+r.why+")")
			} else {
				others = append(others, r.view)
			}
		}
		logs, _ := os.ReadFile(srv.logPath)
		if len(original) > 0 {
			t.Errorf("restarts recomputed the views of TestCrash %d times instead of resuming them from their stored state: %v", len(original), original)
		} else {
			t.Logf("restarts replayed the log %d times, recomputed none of the views of TestCrash (and %d times a view of the DDL)",
				strings.Count(string(logs), "replayed the change log"), len(others))
		}
	}

	// Open the data directory in-process: the change log is the truth the TAIL must match.
	e, err := engine.Open(ctx, engine.Options{Dir: srv.dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("engine.Open: %v", err)
	}
	defer e.Close()
	results, err := e.Verify(ctx, "")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, r := range results {
		if !r.OK() {
			t.Errorf("final Verify: view %s at LSN %d: %d missing, %d unexpected: %v", r.View, r.LSN, r.Missing, r.Unexpected, r.Differences)
		}
	}
	checked := crashCompareTail(t, e, tail)
	led.mu.Lock()
	t.Logf("seed %d: %d kills survived; transactions: %d acknowledged, %d failed (%d duplicate keys, %d broken connections, %d COMMIT errors, %d lost to concurrent commits), %d in doubt, %d not started (no connection: %v); TAIL: %d resumes, %d LSNs with changes, %d row changes checked, LSNs %d..%d; took %v",
		seed, killed, len(led.acked), len(led.failed), led.dupKeys, led.brokenBefore, led.commitErrors, led.conflicts, len(led.doubt), led.noConn, led.noConnSample,
		tail.resumes, len(tail.batches), checked, tail.start, tail.last, time.Since(began).Round(time.Millisecond))
	led.mu.Unlock()
	t.Logf("seed %d: %d kills aimed at a DDL statement, %d with DDL in doubt; %s", seed, aimed, midDDL, ddl.stats())
}

// crashCheck checks, with nothing else running, the catalog, every view (verified, equal to its query), every table's rows and the ledger; it returns feed's frontier.
func crashCheck(t *testing.T, ctx context.Context, srv *crashServer, led *crashLedger, ddl *crashDDL, when string) uint64 {
	t.Helper()
	db := crashOpenDB(srv.mysqlAddr, true)
	defer db.Close()
	// The server must be ours (see freeAddr); that crash_marker holds nothing else is
	// checked by checkOriginal.
	if tok, err := crashQuery(ctx, db, "SELECT token FROM crash_marker"); err != nil || !slices.ContainsFunc(tok, func(r []string) bool { return r[0] == strconv.FormatInt(srv.token, 10) }) {
		t.Fatalf("%s: the server at %s is not this test's (marker %v, %v)", when, srv.mysqlAddr, tok, err)
	}
	views := ddl.checkCatalog(t, ctx, db, when)
	ver, err := crashQuery(ctx, db, "VERIFY VIEWS")
	if err != nil {
		t.Fatalf("%s: %v\n%s", when, err, crashDiagnose(ctx, db))
	}
	var frontier uint64
	seen := map[string]bool{}
	for _, r := range ver {
		// view, lsn, rows, missing, unexpected, status
		if len(r) != 6 {
			t.Fatalf("%s: VERIFY VIEWS row %v", when, r)
		}
		if seen[r[0]] {
			t.Errorf("%s: VERIFY VIEWS has %s twice", when, r[0])
		}
		seen[r[0]] = true
		if _, ok := views[r[0]]; !ok {
			t.Errorf("%s: VERIFY VIEWS has a row for %s, which is not a view: %v", when, r[0], r)
		}
		if r[5] != "ok" {
			t.Errorf("%s: VERIFY VIEWS: %v", when, r)
		}
		if r[0] == "feed" {
			frontier, _ = strconv.ParseUint(r[1], 10, 64)
		}
	}
	for _, name := range sortedNames(views) {
		if !seen[name] {
			t.Errorf("%s: VERIFY VIEWS has no row for %s: %v", when, name, ver)
		}
		got, err := crashQuery(ctx, db, "SELECT * FROM "+name)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		want, err := crashQuery(ctx, db, views[name])
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if g, w := sortedRows(got), sortedRows(want); !slices.Equal(g, w) {
			t.Errorf("%s: view %s differs from its query: %s", when, name, diffRows(g, w))
		}
	}
	checkOriginal(t, ctx, db, srv.token, when)
	ddl.checkTables(t, ctx, db, when)
	ledger, err := crashQuery(ctx, db, "SELECT txn FROM ledger")
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	present := map[int64]bool{}
	for _, r := range ledger {
		id, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatalf("%s: ledger row %v", when, r)
		}
		if present[id] {
			t.Errorf("%s: ledger has transaction %d twice", when, id)
		}
		present[id] = true
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	var lost, phantom []int64
	for id := range led.acked {
		if !present[id] {
			lost = append(lost, id)
		}
	}
	for id := range led.failed {
		if present[id] {
			phantom = append(phantom, id)
		}
	}
	for id := range present {
		if !led.acked[id] && !led.failed[id] && !led.doubt[id] {
			phantom = append(phantom, id)
		}
	}
	slices.Sort(lost)
	slices.Sort(phantom)
	if len(lost) > 0 {
		t.Errorf("%s: %d acknowledged transactions lost: %v", when, len(lost), lost)
	}
	if len(phantom) > 0 {
		t.Errorf("%s: %d failed (or unknown) transactions present: %v", when, len(phantom), phantom)
	}
	// Last: the probes of the indexes are statements (changing nothing if all is well).
	ddl.probeIndexes(t, ctx, db, when)
	return frontier
}

// crashCompareTail compares the TAIL's stream with the changes of events in the change log
// after the TAIL's start: the same LSNs, each with the same consolidated (row, diff)
// multiset, nothing missing, nothing twice. It returns the number of row changes checked.
func crashCompareTail(t *testing.T, e *engine.Engine, tail *crashTail) int {
	t.Helper()
	tail.mu.Lock()
	defer tail.mu.Unlock()
	for _, p := range tail.problems {
		t.Errorf("TAIL: %s", p)
	}
	if !tail.started {
		t.Fatal("the TAIL never started")
	}
	if head := e.LSN(); tail.last != head {
		t.Errorf("the TAIL's last progress is %d, the log head %d", tail.last, head)
	}
	// The log's changes of events per LSN, after the TAIL's start.
	type logTxn struct {
		lsn  uint64
		rows map[string]int64
	}
	var txns []logTxn
	err := e.ReadLog(tail.start, func(tx *changelogpb.Transaction) error {
		if tx.Lsn <= tail.start || tx.Lsn > tail.last {
			return nil
		}
		lt := logTxn{lsn: tx.Lsn, rows: map[string]int64{}}
		for _, ev := range tx.Events {
			if !strings.EqualFold(ev.Table, "events") {
				continue
			}
			for _, img := range []struct {
				row  *changelogpb.Row
				diff int64
			}{{ev.Before, -1}, {ev.After, 1}} {
				if img.row == nil {
					continue
				}
				r, err := sources.DecodeRow(img.row)
				if err != nil {
					return fmt.Errorf("LSN %d: %w", tx.Lsn, err)
				}
				parts := make([]string, len(r))
				for i, d := range r {
					parts[i] = "NULL"
					if !d.IsNull() {
						parts[i] = d.String()
					}
				}
				lt.rows[strings.Join(parts, "|")] += img.diff
			}
		}
		txns = append(txns, lt)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadLog: %v", err)
	}
	for i := 1; i < len(txns); i++ {
		if txns[i].lsn <= txns[i-1].lsn {
			t.Fatalf("the change log is out of order: LSN %d after %d", txns[i].lsn, txns[i-1].lsn)
		}
	}
	// One transaction is one epoch: the TAIL must show, at each LSN, exactly that
	// transaction's consolidated changes of events, and nothing at LSNs without any.
	want := map[uint64]map[string]int64{}
	for _, lt := range txns {
		for k, d := range lt.rows {
			if d == 0 {
				delete(lt.rows, k)
			}
		}
		if len(lt.rows) > 0 {
			want[lt.lsn] = lt.rows
		}
	}
	got := map[uint64]map[string]int64{}
	for i, b := range tail.batches {
		if i > 0 && b.lsn <= tail.batches[i-1].lsn {
			t.Errorf("TAIL batch LSN %d after %d", b.lsn, tail.batches[i-1].lsn)
		}
		if _, dup := got[b.lsn]; dup {
			t.Errorf("TAIL delivered LSN %d twice", b.lsn)
		}
		got[b.lsn] = b.rows
	}
	var lsns []uint64
	for l := range want {
		lsns = append(lsns, l)
	}
	for l := range got {
		if _, ok := want[l]; !ok {
			lsns = append(lsns, l)
		}
	}
	slices.Sort(lsns)
	checked, bad := 0, 0
	for _, l := range lsns {
		w, g := want[l], got[l]
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		var problems []string
		for k := range keys {
			if w[k] != g[k] {
				problems = append(problems, fmt.Sprintf("%s: TAIL %+d, log %+d", k, g[k], w[k]))
			}
		}
		if _, ok := got[l]; !ok {
			problems = append(problems, "missing from the TAIL")
		} else if _, ok := want[l]; !ok {
			problems = append(problems, "no changes of events in the log")
		}
		checked += len(w)
		if len(problems) > 0 {
			bad++
			if bad <= 20 {
				slices.Sort(problems)
				t.Errorf("TAIL at LSN %d differs from the change log: %v", l, problems)
			}
		}
	}
	if bad > 20 {
		t.Errorf("... %d LSNs differ in all", bad)
	}
	return checked
}

func init() {
	// The driver logs every broken connection; the test breaks hundreds on purpose.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
}

// crashDiagnose describes the server's catalog after a check failed (quoted: a damaged
// name shows its bytes).
func crashDiagnose(ctx context.Context, db *sql.DB) string {
	var b strings.Builder
	for _, q := range []string{"SHOW TABLES", "SHOW MATERIALIZED VIEWS", "SELECT COUNT(*) FROM acct", "VERIFY VIEWS"} {
		rows, err := crashQuery(ctx, db, q)
		fmt.Fprintf(&b, "  %s: %q %v\n", q, rows, err)
	}
	return b.String()
}

// crashReportUnexpected fails the test with the SQL errors other than duplicate keys the
// writers got since the last report (a few of them, and the count).
func crashReportUnexpected(t *testing.T, led *crashLedger, when string) {
	t.Helper()
	led.mu.Lock()
	defer led.mu.Unlock()
	news := led.unexpected[led.reported:]
	led.reported = len(led.unexpected)
	if len(news) == 0 {
		return
	}
	t.Errorf("%s: %d unexpected SQL errors, the first: %v\nserver state at the first one:\n%s", when, len(news), news[:min(len(news), 5)], led.diagnosis)
}
