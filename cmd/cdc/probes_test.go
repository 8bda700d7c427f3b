//go:build linux

package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The reproductions of issue 12, each against a real `cdc serve` over the MySQL protocol:
// what a careless or hostile client did to the engine, and what it gets now.

// probeServer is `cdc serve` as a child process with extra flags.
type probeServer struct {
	t                   *testing.T
	bin, dir, logPath   string
	mysqlAddr, httpAddr string
	cmd                 *exec.Cmd
	done                chan struct{}
}

// probeBinary builds the cdc binary once per test binary run.
var probeBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cdc-probe-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cdc")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// startProbe starts a server on a fresh data directory (or dir, when restarting).
func startProbe(t *testing.T, dir string, shell string, flags ...string) *probeServer {
	t.Helper()
	bin, err := probeBinary()
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "data")
	}
	s := &probeServer{t: t, bin: bin, dir: dir, logPath: filepath.Join(filepath.Dir(dir), "server.log"),
		mysqlAddr: freeAddr(t), httpAddr: freeAddr(t)}
	s.start(shell, flags...)
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			b, _ := os.ReadFile(s.logPath)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("server log:\n%s", b)
		}
	})
	return s
}

// start runs the child (through sh -c when shell, e.g. "ulimit -n 200", is set) and waits
// until it answers a ping.
func (s *probeServer) start(shell string, flags ...string) {
	s.t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	args := append([]string{"serve", "--data", s.dir, "--mysql-addr", s.mysqlAddr, "--http-addr", s.httpAddr, "--grpc-addr", ""}, flags...)
	cmd := exec.Command(s.bin, args...)
	if shell != "" {
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = "'" + a + "'"
		}
		cmd = exec.Command("sh", "-c", shell+"; exec '"+s.bin+"' "+strings.Join(quoted, " "))
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
	db := s.db()
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("cdc serve exited while starting")
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("cdc serve did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the child with SIGKILL and waits for it.
func (s *probeServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// db is a client pool without read timeout.
func (s *probeServer) db() *sql.DB {
	db, err := sql.Open("mysql", "root:@tcp("+s.mysqlAddr+")/?timeout=5s")
	if err != nil {
		panic(err)
	}
	return db
}

// rssMiB is the server's resident memory.
func (s *probeServer) rssMiB() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb >> 10
		}
	}
	return -1
}

// metric reads one unlabelled metric of /metrics.
func (s *probeServer) metric(name string) float64 {
	resp, err := http.Get("http://" + s.httpAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// probeExec runs statements on one connection, failing the test on an error.
func probeExec(t *testing.T, conn interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
}

// probeCount is SELECT COUNT(*) on a connection.
func probeCount(t *testing.T, conn interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, from string) int {
	t.Helper()
	var n int
	if err := conn.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+from).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", from, err)
	}
	return n
}

// probeBig creates table big with n rows.
func probeBig(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	probeExec(t, db, "CREATE TABLE big (id INT PRIMARY KEY, v INT)")
	for first := 0; first < n; first += 2000 {
		var b strings.Builder
		b.WriteString("INSERT INTO big VALUES ")
		for i := first; i < min(first+2000, n); i++ {
			if i > first {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "(%d,%d)", i, i%10)
		}
		probeExec(t, db, b.String())
	}
}

// TestProbeTablesAfterCrash is reproduction 1: a table created after a SIGKILL gets its own
// storage, not that of the last table created before it.
func TestProbeTablesAfterCrash(t *testing.T) {
	s := startProbe(t, "", "")
	db := s.db()
	probeExec(t, db, "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(20), balance INT)",
		"INSERT INTO accounts VALUES (1,'alice',100),(2,'bob',50)",
		"CREATE MATERIALIZED VIEW total AS SELECT COUNT(*) AS n, SUM(balance) AS b FROM accounts")
	db.Close()
	s.kill()
	s.start("")
	db = s.db()
	defer db.Close()
	probeExec(t, db, "CREATE TABLE audit (id INT PRIMARY KEY, owner VARCHAR(20), balance INT)")
	if n := probeCount(t, db, "audit"); n != 0 {
		t.Fatalf("the new table audit has %d rows", n)
	}
	probeExec(t, db, "INSERT INTO audit VALUES (3,'mallory',1)")
	if n := probeCount(t, db, "accounts"); n != 2 {
		t.Errorf("after an INSERT into audit, accounts has %d rows", n)
	}
	probeExec(t, db, "DELETE FROM audit")
	if n := probeCount(t, db, "accounts"); n != 2 {
		t.Errorf("after DELETE FROM audit, accounts has %d rows", n)
	}
	rows, err := crashQuery(context.Background(), db, "VERIFY VIEWS")
	if err != nil || len(rows) != 1 || rows[0][5] != "ok" {
		t.Errorf("VERIFY VIEWS: %v %v", rows, err)
	}
}

// TestProbeTransactionTooLarge is reproduction 2: a transaction that reaches its size
// bound keeps every statement before it, and COMMIT commits exactly those.
func TestProbeTransactionTooLarge(t *testing.T) {
	s := startProbe(t, "", "")
	db := s.db()
	defer db.Close()
	probeExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, owner VARCHAR(20), pad TEXT)")
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	probeExec(t, conn, "BEGIN")
	inTxn, refused := 0, 0
	pad := strings.Repeat("x", 120)
	for i := range 60 {
		var b strings.Builder
		b.WriteString("INSERT INTO t VALUES ")
		for j := range 1000 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "(%d,'o%d','%s')", i*1000+j, j, pad)
		}
		_, err := conn.ExecContext(ctx, b.String())
		if code, ok := isMySQLError(err); ok && code == 1197 {
			refused++
		} else if err != nil {
			t.Fatalf("INSERT %d: %v", i+1, err)
		} else {
			inTxn += 1000
		}
		if n := probeCount(t, conn, "t"); n != inTxn {
			t.Fatalf("after INSERT %d (%d refused): COUNT(*) = %d in the transaction, want %d", i+1, refused, n, inTxn)
		}
	}
	if refused == 0 {
		t.Fatal("no INSERT was refused: the transaction bound was not reached")
	}
	probeExec(t, conn, "COMMIT")
	if n := probeCount(t, db, "t"); n != inTxn {
		t.Errorf("after COMMIT: %d rows, want %d", n, inTxn)
	}
	t.Logf("%d rows committed in one transaction, %d INSERTs of 1000 rows refused with 1197", inTxn, refused)
}

// TestProbeAbandonedStatements is reproduction 3: statements of clients that gave up
// waiting behind an open transaction are never applied. Since transactions are staged
// (issue 13) a write beside an open transaction does not wait at all; DDL on a table the
// transaction uses waits for it, as MySQL's metadata locks make it.
func TestProbeAbandonedStatements(t *testing.T) {
	s := startProbe(t, "", "")
	db := s.db()
	defer db.Close()
	ctx := context.Background()
	probeExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	probeExec(t, holder, "BEGIN", "INSERT INTO t VALUES (1)")
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = db.ExecContext(wctx, "INSERT INTO t VALUES (99)")
	cancel()
	if err != nil {
		t.Fatalf("an INSERT beside an idle open transaction: %v", err)
	}
	for _, q := range []string{"DROP TABLE t", "CREATE INDEX late ON t (id)"} {
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := db.ExecContext(cctx, q)
		cancel()
		if err == nil {
			t.Fatalf("%s did not wait for the open transaction", q)
		}
	}
	// The server notices the clients are gone; their statements must not run later.
	for deadline := time.Now().Add(10 * time.Second); s.metric("cdc_mysql_statements_running") != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned statements still run: cdc_mysql_statements_running = %v", s.metric("cdc_mysql_statements_running"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	probeExec(t, holder, "ROLLBACK")
	time.Sleep(200 * time.Millisecond)
	if n := probeCount(t, db, "t"); n != 1 {
		t.Errorf("t has %d rows, want the one committed beside the transaction (an abandoned DROP TABLE was applied?)", n)
	}
	if _, err := db.ExecContext(ctx, "CREATE INDEX late ON t (id)"); err != nil {
		t.Errorf("CREATE INDEX late after the ROLLBACK: %v (an abandoned CREATE INDEX was applied?)", err)
	}
}

// TestProbeRunawayStatements is reproductions 4 and 5: a cross join is stopped by the
// memory limit, by KILL QUERY, by max_execution_time and by its client's disconnect,
// with the server's memory bounded and other clients served meanwhile; a query past
// max_allowed_packet is refused.
func TestProbeRunawayStatements(t *testing.T) {
	s := startProbe(t, "", "", "--statement-memory-limit", "512")
	db := s.db()
	defer db.Close()
	ctx := context.Background()
	probeBig(t, db, 20000)
	cross := "SELECT COUNT(*) FROM big a, big b WHERE a.id <> b.id"
	maxRSS := int64(0)
	sample := func() {
		if r := s.rssMiB(); r > maxRSS {
			maxRSS = r
		}
	}

	// The memory limit.
	if _, err := db.ExecContext(ctx, cross); !isCode(err, 3170) {
		t.Errorf("cross join past the memory limit: %v, want 3170", err)
	}
	sample()
	if _, err := db.ExecContext(ctx, "CREATE MATERIALIZED VIEW x AS SELECT * FROM big a, big b"); !isCode(err, 3170) {
		t.Errorf("cross join view past the memory limit: %v, want 3170", err)
	}
	sample()

	// KILL QUERY, with SELECT 1 served from another connection meanwhile.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id int
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	// A slow cross join that holds little: the filter, evaluated inside the join, keeps
	// nothing of its 10^8 pairs (several seconds of work).
	slow := "SELECT COUNT(*) FROM big a, big b WHERE a.v < 5 AND b.v < 5 AND a.id + b.id < 0"
	go func() {
		_, err := conn.ExecContext(ctx, slow+" UNION ALL "+slow+" UNION ALL "+slow)
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	var worst time.Duration
	for range 10 {
		start := time.Now()
		probeExec(t, db, "SELECT 1")
		worst = max(worst, time.Since(start))
	}
	select {
	case err := <-errc:
		t.Fatalf("the slow query ended before SELECT 1 was measured beside it: %v", err)
	default:
	}
	killed := time.Now()
	probeExec(t, db, fmt.Sprintf("KILL QUERY %d", id))
	err = <-errc
	stopped := time.Since(killed)
	if !isCode(err, 1317) {
		t.Errorf("killed query: %v, want 1317", err)
	}
	sample()
	conn.Close()

	// max_execution_time, and the hint.
	conn, err = db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	probeExec(t, conn, "SET max_execution_time = 300")
	if _, err := conn.ExecContext(ctx, slow); !isCode(err, 3024) {
		t.Errorf("query past max_execution_time: %v, want 3024", err)
	}
	var v int
	if err := conn.QueryRowContext(ctx, "SELECT @@max_execution_time").Scan(&v); err != nil || v != 300 {
		t.Errorf("@@max_execution_time = %d, %v", v, err)
	}
	conn.Close()
	if _, err := db.ExecContext(ctx, strings.Replace(slow, "SELECT", "SELECT /*+ MAX_EXECUTION_TIME(300) */", 1)); !isCode(err, 3024) {
		t.Errorf("query past its MAX_EXECUTION_TIME hint: %v, want 3024", err)
	}

	// A client that disconnects: its statement stops.
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = db.ExecContext(cctx, slow)
	cancel()
	if err == nil {
		t.Fatal("the slow query finished within 300 ms")
	}
	for deadline := time.Now().Add(10 * time.Second); s.metric("cdc_mysql_statements_running") != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the statement of a client that disconnected still runs")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sample()

	// max_allowed_packet: a 70 MiB query is refused, the server keeps serving.
	big := "SELECT '" + strings.Repeat("a", 70<<20) + "'"
	if _, err := db.ExecContext(ctx, big); err == nil {
		t.Error("a 70 MiB query was accepted, past max_allowed_packet")
	}
	sample()
	probeExec(t, db, "SELECT 1")
	t.Logf("KILL QUERY stopped the query in %v; SELECT 1 beside it took at most %v; peak server RSS %d MiB", stopped, worst, maxRSS)
	if maxRSS > 3000 {
		t.Errorf("the server's RSS reached %d MiB with a 512 MiB statement limit", maxRSS)
	}
}

// isCode reports whether err is the MySQL error code.
func isCode(err error, code uint16) bool {
	c, ok := isMySQLError(err)
	return ok && c == code
}

// TestProbeDescriptorExhaustion is reproduction 6: a flood of connections that exhausts
// the server's file descriptors does not take the MySQL port down for good.
func TestProbeDescriptorExhaustion(t *testing.T) {
	s := startProbe(t, "", "ulimit -n 128")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 400 {
		c, err := net.DialTimeout("tcp", s.mysqlAddr, time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond) // the server's accepts fail meanwhile
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	db := s.db()
	defer db.Close()
	var err error
	for deadline := time.Now().Add(15 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = db.ExecContext(ctx, "SELECT 1")
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the MySQL port does not serve again after the flood: %v", err)
	}
	if n := s.metric("cdc_mysql_accept_errors_total"); n <= 0 {
		t.Logf("no accept failed (cdc_mysql_accept_errors_total = %v): the flood did not exhaust descriptors", n)
	}
}

// TestProbeBadIdentifiers is reproduction 7: names that are not valid UTF-8 or hold a NUL
// are refused.
func TestProbeBadIdentifiers(t *testing.T) {
	s := startProbe(t, "", "")
	db := s.db()
	defer db.Close()
	for _, q := range []string{"CREATE TABLE `\xff\xfe` (id INT)", "CREATE TABLE `a\x00b` (id INT)"} {
		if _, err := db.ExecContext(context.Background(), q); !isCode(err, 1103) {
			t.Errorf("%q: %v, want 1103", q, err)
		}
	}
	rows, err := crashQuery(context.Background(), db, "SHOW TABLES")
	if err != nil || len(rows) != 0 {
		t.Errorf("SHOW TABLES: %v %v", rows, err)
	}
}
