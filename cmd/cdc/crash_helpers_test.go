//go:build linux

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// crashServer is `cdc serve` as a child process on fixed ports and a fixed data directory,
// so that it can be killed and restarted where it was.
type crashServer struct {
	bin, dir, logPath   string
	mysqlAddr, httpAddr string
	token               int64 // in table crash_marker: tells this test's server from another
	cmd                 *exec.Cmd
	done                chan struct{} // closed when the child has exited
	waitErr             error         // the child's exit status, once done is closed
}

// freeAddrs is the state of freeAddr: one generator for the process (two generators seeded
// from a coarse clock gave two servers' listeners the same port) and the addresses it gave.
var freeAddrs struct {
	mu    sync.Mutex
	rng   *rand.Rand
	given map[string]bool
}

// freeAddr finds a free TCP port on 127.0.0.1 below the kernel's ephemeral range: the
// server is restarted on the same port many times, and while it is down a port from the
// ephemeral range can be handed to any other process that listens on port 0 (other tests
// running at the same time), whose server the clients would then talk to.
func freeAddr(t *testing.T) string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	if low > 11000 {
		freeAddrs.mu.Lock()
		defer freeAddrs.mu.Unlock()
		if freeAddrs.rng == nil {
			freeAddrs.rng = rand.New(rand.NewSource(time.Now().UnixNano() + int64(os.Getpid())))
			freeAddrs.given = map[string]bool{}
		}
		for range 100 {
			addr := fmt.Sprintf("127.0.0.1:%d", 10000+freeAddrs.rng.Intn(low-10000))
			if freeAddrs.given[addr] {
				continue
			}
			if l, err := net.Listen("tcp", addr); err == nil {
				l.Close()
				freeAddrs.given[addr] = true
				return addr
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the child and waits until it answers /healthz and a MySQL ping.
func (s *crashServer) start(ctx context.Context) error {
	logf, err := os.OpenFile(s.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s: starting cdc serve\n", time.Now().Format(time.RFC3339Nano))
	// No gRPC: its default port is fixed, and another server may hold it.
	cmd := exec.Command(s.bin, "serve", "--data", s.dir, "--mysql-addr", s.mysqlAddr,
		"--http-addr", s.httpAddr, "--grpc-addr", "", "--log-retention", "1000000")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test binary itself be killed (a go test timeout), the child goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.done, s.waitErr = cmd, make(chan struct{}), nil
	go func(done chan struct{}) {
		s.waitErr = cmd.Wait()
		close(done)
	}(s.done)

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	db := crashOpenDB(s.mysqlAddr, true)
	defer db.Close()
	healthy := false
	for {
		select {
		case <-s.done:
			return fmt.Errorf("cdc serve exited while starting: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("cdc serve did not come up (healthz ok: %v): %w", healthy, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
		if !healthy {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.httpAddr+"/healthz", nil)
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			resp.Body.Close()
			healthy = resp.StatusCode == http.StatusOK
			if !healthy {
				continue
			}
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		err := db.PingContext(pctx)
		pcancel()
		if err == nil {
			// A child that could not listen exits at once: make sure the ping was ours.
			select {
			case <-s.done:
				return fmt.Errorf("cdc serve exited while starting: %v", s.waitErr)
			case <-time.After(20 * time.Millisecond):
			}
			return nil
		}
	}
}

// running reports whether a child is alive.
func (s *crashServer) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the child to be gone; it is an error if the child had
// exited by itself.
func (s *crashServer) kill() error {
	if s.cmd == nil {
		return nil
	}
	if !s.running() {
		return fmt.Errorf("cdc serve had exited by itself: %v", s.waitErr)
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the killed child did not exit")
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *crashServer) stop() error {
	if !s.running() {
		return errors.New("the server is not running")
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.waitErr
	case <-time.After(30 * time.Second):
		_ = s.kill()
		return errors.New("cdc serve did not stop within 30s of SIGTERM")
	}
}

// logTail returns the end of the child's log file.
func (s *crashServer) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// crashOpenDB opens a database/sql handle on the server; stream (for TAIL) has no read
// timeout, the caller's context ends it.
func crashOpenDB(addr string, withReadTimeout bool) *sql.DB {
	dsn := fmt.Sprintf("root:@tcp(%s)/?timeout=2s&writeTimeout=5s", addr)
	if withReadTimeout {
		dsn += "&readTimeout=15s"
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		panic(err) // only a malformed DSN fails here
	}
	return db
}

// isMySQLError reports whether err is an error the server answered with, and its number.
func isMySQLError(err error) (uint16, bool) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number, true
	}
	return 0, false
}

// crashQuery runs a query and returns its rows as strings ("NULL" for NULL).
func crashQuery(ctx context.Context, db *sql.DB, q string) ([][]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		r, err := crashScan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	return out, nil
}

// crashScan scans the current row as strings.
func crashScan(rows *sql.Rows) ([]string, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make([]string, len(cols))
	for i, v := range vals {
		out[i] = "NULL"
		if v.Valid {
			out[i] = v.String
		}
	}
	return out, nil
}

// sortedRows renders rows as sorted "a|b|c" strings.
func sortedRows(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "|")
	}
	slices.Sort(out)
	return out
}

// diffRows describes how two sorted row lists differ (up to a few rows each way).
func diffRows(got, want []string) string {
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var missing, extra []string
	for r, c := range count {
		for ; c > 0; c-- {
			missing = append(missing, r)
		}
		for ; c < 0; c++ {
			extra = append(extra, r)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	clip := func(s []string) []string {
		if len(s) > 10 {
			return append(s[:10:10], fmt.Sprintf("... %d more", len(s)-10))
		}
		return s
	}
	return fmt.Sprintf("%d rows missing %v, %d rows unexpected %v", len(missing), clip(missing), len(extra), clip(extra))
}
