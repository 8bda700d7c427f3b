package server

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scriptedListener is a net.Listener whose Accept returns what the test sends on next.
type scriptedListener struct {
	next      chan acceptResult
	closed    chan struct{}
	closeOnce sync.Once
}

// acceptResult is what one Accept of a scriptedListener returns.
type acceptResult struct {
	c   net.Conn
	err error
}

func newScriptedListener() *scriptedListener {
	return &scriptedListener{next: make(chan acceptResult), closed: make(chan struct{})}
}

func (s *scriptedListener) Accept() (net.Conn, error) {
	select {
	case r := <-s.next:
		return r.c, r.err
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

func (s *scriptedListener) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

func (s *scriptedListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// errEMFILE is the error a TCP listener's Accept returns when descriptors are exhausted.
var errEMFILE = &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}

// syncBuffer is a goroutine-safe log destination.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestListenerSurvivesAcceptErrors checks that Accept retries failed accepts (counted,
// logged once, reported by health while they last) until a connection comes, counts that
// connection open until its first Close, and returns net.ErrClosed once closed, even while
// backing off.
func TestListenerSurvivesAcceptErrors(t *testing.T) {
	inner := newScriptedListener()
	m := NewMetrics()
	var logs syncBuffer
	l := newListener(inner, 10, time.Minute, slog.New(slog.NewTextHandler(&logs, nil)), m)
	l.unhealthyAfter = 0
	type accepted struct {
		c   net.Conn
		err error
	}
	accept := func() <-chan accepted {
		ch := make(chan accepted, 1)
		go func() {
			c, err := l.Accept()
			ch <- accepted{c, err}
		}()
		return ch
	}

	got := accept()
	for range 4 {
		inner.next <- acceptResult{err: errEMFILE}
	}
	if err := l.health(time.Now()); err == nil || !strings.Contains(err.Error(), "too many open files") {
		t.Errorf("health while accepts fail: %v", err)
	}
	server, client := net.Pipe()
	defer client.Close()
	inner.next <- acceptResult{c: server}
	var a accepted
	select {
	case a = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return the connection after the errors")
	}
	if a.err != nil {
		t.Fatalf("Accept: %v", a.err)
	}
	if err := l.health(time.Now()); err != nil {
		t.Errorf("health after an accept: %v", err)
	}
	if n := testutil.ToFloat64(m.acceptErrors); n != 4 {
		t.Errorf("cdc_mysql_accept_errors_total = %v, want 4", n)
	}
	if n := strings.Count(logs.String(), "accept failed"); n != 1 {
		t.Errorf("%d log lines for 4 failed accepts, want 1:\n%s", n, logs.String())
	}
	if n := l.open.Load(); n != 1 {
		t.Errorf("open = %d, want 1", n)
	}
	a.c.Close()
	a.c.Close()
	if n := l.open.Load(); n != 0 {
		t.Errorf("open after two Closes = %d, want 0", n)
	}

	// Closing ends the backoff of a failing Accept.
	got = accept()
	inner.next <- acceptResult{err: errEMFILE}
	l.Close()
	select {
	case a = <-got:
		if !errors.Is(a.err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, %v", a.c, a.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
}

// TestMaxConnections checks that a connection above MaxConnections gets ERROR 1040 while
// the allowed ones stay usable, and that a slot freed by a closed connection is reused.
func TestMaxConnections(t *testing.T) {
	m := NewMetrics()
	srv := newTestServer(t, Config{MaxConnections: 3, Metrics: m})
	serveInTest(t, srv)
	ctx := testCtx(t)
	db := openDB(t, srv.Addr(), "root", "")
	db.SetMaxIdleConns(0) // a released connection is closed, not pooled
	var conns []*sql.Conn
	for range 3 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.PingContext(ctx); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}

	extra := openDB(t, srv.Addr(), "root", "")
	err := extra.PingContext(ctx)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1040 || me.Message != "Too many connections" {
		t.Fatalf("fourth connection: %v, want ERROR 1040 Too many connections", err)
	}
	if n := testutil.ToFloat64(m.connsRefused); n < 1 {
		t.Errorf("cdc_mysql_connections_refused_total = %v", n)
	}
	for _, c := range conns {
		var one int
		if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatalf("allowed connection after a refusal: %v", err)
		}
	}

	conns[0].Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := extra.PingContext(ctx)
		if err == nil {
			break
		}
		if !errors.As(err, &me) || me.Number != 1040 || time.Now().After(deadline) {
			t.Fatalf("connection after one closed: %v", err)
		}
	}
}

// TestHandshakeTimeout checks that a client that sends nothing after the greeting is
// disconnected after HandshakeTimeout, and that a logged-in connection idle for longer
// than that stays usable.
func TestHandshakeTimeout(t *testing.T) {
	srv := newTestServer(t, Config{HandshakeTimeout: 300 * time.Millisecond})
	serveInTest(t, srv)
	ctx := testCtx(t)

	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var header [4]byte
	if _, err := io.ReadFull(c, header[:]); err != nil {
		t.Fatalf("read greeting: %v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, int(header[0])|int(header[1])<<8|int(header[2])<<16)); err != nil {
		t.Fatalf("read greeting: %v", err)
	}
	n, err := c.Read(make([]byte, 1))
	switch {
	case err == nil:
		t.Fatalf("read %d bytes after the greeting, want the connection closed", n)
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatal("the server did not close a silent connection within 10s")
	}
	for deadline := time.Now().Add(10 * time.Second); srv.ln.open.Load() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still counted open", srv.ln.open.Load())
		}
	}

	db := openDB(t, srv.Addr(), "root", "")
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var before, after int64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&before); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * 300 * time.Millisecond)
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&after); err != nil {
		t.Fatalf("logged-in connection after idling past the handshake timeout: %v", err)
	}
	if before != after {
		t.Errorf("connection id %d became %d", before, after)
	}
}

// TestServerHealthy checks that Healthy reports an accept loop that ended without a
// shutdown, and nothing once a shutdown has begun.
func TestServerHealthy(t *testing.T) {
	srv := newTestServer(t, Config{})
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	if err := srv.Healthy(); err != nil {
		t.Fatalf("Healthy while serving: %v", err)
	}
	srv.ln.Close() // not a shutdown: the accept loop ends under Serve
	for deadline := time.Now().Add(10 * time.Second); srv.Healthy() == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Healthy still nil after the accept loop ended")
		}
	}
	if err := srv.Healthy(); !strings.Contains(err.Error(), "accept loop ended") {
		t.Errorf("Healthy: %v", err)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if err := srv.Healthy(); err != nil {
		t.Errorf("Healthy after shutdown: %v", err)
	}
}
