//go:build linux

package server

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestDescriptorExhaustion lowers the process's descriptor limit to a few above those open,
// fills it with client connections queued on the listener before Serve runs, so that every
// accept of the server fails with EMFILE: Healthy and /healthz report it, the failures are
// counted and logged once; once the clients close, a MySQL client is served again without
// a restart. The in-memory engine opens no files meanwhile.
func TestDescriptorExhaustion(t *testing.T) {
	m := NewMetrics()
	var logs syncBuffer
	srv := newTestServer(t, Config{Metrics: m, HandshakeTimeout: time.Minute, MaxConnections: 100000,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	srv.ln.unhealthyAfter = 100 * time.Millisecond
	m.AddHealthCheck("mysql", srv.Healthy)
	h := m.Handler()

	var clients []net.Conn
	t.Cleanup(func() {
		for _, c := range clients {
			c.Close()
		}
	})
	lowerFDLimit(t, 16)
	for {
		c, err := net.DialTimeout("tcp", srv.Addr(), 5*time.Second)
		if errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			t.Fatalf("dial %d: %v", len(clients), err)
		}
		if clients = append(clients, c); len(clients) > 5000 {
			t.Fatal("5000 connections under a lowered descriptor limit")
		}
	}
	if len(clients) == 0 {
		t.Fatal("no connection dialled under the lowered limit")
	}
	t.Logf("%d connections queued before the descriptor limit", len(clients))
	serveInTest(t, srv)

	var code int
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if code, body = healthz(h); code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz while descriptors are exhausted: %d %q", code, body)
		}
	}
	if !strings.HasPrefix(body, "mysql: accepting connections has failed") || !strings.Contains(body, "too many open files") {
		t.Errorf("healthz: %q", body)
	}
	for deadline := time.Now().Add(10 * time.Second); testutil.ToFloat64(m.acceptErrors) < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("cdc_mysql_accept_errors_total = %v", testutil.ToFloat64(m.acceptErrors))
		}
	}
	if n, failures := strings.Count(logs.String(), "accept failed"), testutil.ToFloat64(m.acceptErrors); n < 1 || float64(n) >= failures {
		t.Errorf("%d log lines for %v failed accepts:\n%s", n, failures, logs.String())
	}

	t.Logf("healthz while exhausted: %q after %v failed accepts", body, testutil.ToFloat64(m.acceptErrors))
	for _, c := range clients {
		c.Close()
	}
	clients = nil
	db := openDB(t, srv.Addr(), "root", "")
	db.SetMaxOpenConns(1)
	ctx := testCtx(t)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var one int
		err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		if err == nil && one == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SELECT 1 after the clients closed: %v", err)
		}
	}
	if err := srv.Healthy(); err != nil {
		t.Errorf("Healthy once serving again: %v", err)
	}
	if code, body := healthz(h); code != http.StatusOK || body != "ok\n" {
		t.Errorf("healthz once serving again: %d %q", code, body)
	}
}

// lowerFDLimit sets the soft RLIMIT_NOFILE of the process to headroom above the descriptors
// open now; cleanup restores it.
func lowerFDLimit(t *testing.T, headroom uint64) {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("count open descriptors: %v", err)
	}
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	limit := uint64(len(fds)) + headroom
	if limit >= orig.Cur {
		t.Skipf("descriptor limit %d already at most %d", orig.Cur, limit)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: limit, Max: orig.Max}); err != nil {
		t.Fatalf("lower RLIMIT_NOFILE to %d: %v", limit, err)
	}
	t.Cleanup(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
			t.Errorf("restore RLIMIT_NOFILE: %v", err)
		}
	})
}
