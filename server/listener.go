package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"vitess.io/vitess/go/mysql/sqlerror"
)

// Accept retries: a failed accept waits minAcceptDelay, doubling up to maxAcceptDelay, like
// net/http's Server.
const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = time.Second
	// acceptLogEvery bounds the logging of failed accepts and refused connections: one line
	// when they start, then at most one per interval.
	acceptLogEvery = 10 * time.Second
	// acceptUnhealthyAfter is how long accepts must fail before Healthy reports it.
	acceptUnhealthyAfter = 3 * time.Second
	// refuseWriteTimeout bounds the write of ER_CON_COUNT_ERROR to a refused connection.
	refuseWriteTimeout = 200 * time.Millisecond
)

// listener is the MySQL port's net.Listener, handed to vitess's accept loop. Its Accept
// survives accept errors (it logs, counts and retries them until the listener is closed),
// refuses connections above max with ER_CON_COUNT_ERROR without returning them, and returns
// the others with a handshake deadline set (the handler clears it once authenticated).
type listener struct {
	net.Listener
	log       *slog.Logger
	metrics   *Metrics // nil: nothing counted
	maxConns  int64    // open connections allowed
	handshake time.Duration

	open      atomic.Int64  // connections returned by Accept and not yet closed
	closed    chan struct{} // closed by Close
	closeOnce sync.Once

	mu             sync.Mutex
	unhealthyAfter time.Duration // acceptUnhealthyAfter; tests shorten it
	failSince      time.Time     // first failure of the current run of failed accepts; zero when accepting
	lastFail       time.Time
	lastErr        error
	failures       int  // in the current run
	runLogged      bool // a line logged the current run: its end is logged too
	failLog        logLimiter
	refuseLog      logLimiter
}

// newListener wraps l; maxConns is the number of open connections allowed, handshake the
// time a connection has to authenticate.
func newListener(l net.Listener, maxConns int, handshake time.Duration, log *slog.Logger, m *Metrics) *listener {
	return &listener{Listener: l, log: log, metrics: m, maxConns: int64(maxConns), handshake: handshake,
		closed: make(chan struct{}), unhealthyAfter: acceptUnhealthyAfter}
}

// Accept returns the next connection allowed in. It returns an error only once the
// listener is closed, which ends vitess's accept loop.
func (l *listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			delay = min(max(2*delay, minAcceptDelay), maxAcceptDelay)
			l.failed(err, delay)
			if !l.sleep(delay) {
				return nil, fmt.Errorf("mysql listener: %w", net.ErrClosed)
			}
			continue
		}
		delay = 0
		l.accepted()
		if n := l.open.Add(1); n > l.maxConns {
			l.open.Add(-1)
			l.refuse(c)
			continue
		}
		if err := c.SetDeadline(time.Now().Add(l.handshake)); err != nil {
			l.log.Debug("mysql: set handshake deadline", "remote", c.RemoteAddr().String(), "err", err)
		}
		return &countedConn{Conn: &packetLimitConn{Conn: c, limit: maxAllowedPacket}, release: func() { l.open.Add(-1) }}, nil
	}
}

// sleep waits d, or reports false as soon as the listener is closed.
func (l *listener) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.closed:
		return false
	}
}

// Close closes the listener: a pending or later Accept returns an error.
func (l *listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// isClosed reports whether Close was called.
func (l *listener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// failed records, counts and (rate-limited) logs a failed accept retried after delay.
func (l *listener) failed(err error, delay time.Duration) {
	l.metrics.acceptFailed()
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failSince.IsZero() || now.Sub(l.lastFail) > 2*maxAcceptDelay {
		l.failSince, l.failures, l.runLogged = now, 0, false
	}
	l.lastFail, l.lastErr = now, err
	l.failures++
	if n, ok := l.failLog.allow(now); ok {
		l.runLogged = true
		l.log.Warn("mysql: accept failed, retrying", "err", err, "retry_in", delay,
			"failing_for", now.Sub(l.failSince).Round(time.Millisecond), "failures_since_last_log", n)
	}
}

// accepted ends a run of failed accepts, logging its end if its start was logged (runs
// that come and go while descriptors stay scarce share one line per acceptLogEvery).
func (l *listener) accepted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failSince.IsZero() {
		return
	}
	if l.runLogged {
		l.log.Info("mysql: accepting connections again", "failed_for", time.Since(l.failSince).Round(time.Millisecond),
			"failures", l.failures)
	}
	l.failSince, l.lastErr, l.failures, l.runLogged = time.Time{}, nil, 0, false
}

// health reports an error while accepts have been failing for longer than unhealthyAfter
// (a run ends at a successful accept, or when no accept has failed for a while: Accept
// then waits for clients rather than failing).
func (l *listener) health(now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failSince.IsZero() || now.Sub(l.lastFail) > 2*maxAcceptDelay {
		return nil
	}
	if d := now.Sub(l.failSince); d >= l.unhealthyAfter {
		return fmt.Errorf("accepting connections has failed for %s (%d failures): %w",
			d.Round(time.Millisecond), l.failures, l.lastErr)
	}
	return nil
}

// refuse writes ER_CON_COUNT_ERROR to c, which vitess never sees, and closes it.
func (l *listener) refuse(c net.Conn) {
	l.metrics.connRefused()
	l.mu.Lock()
	n, ok := l.refuseLog.allow(time.Now())
	l.mu.Unlock()
	if ok {
		l.log.Warn("mysql: too many connections, refusing", "max_connections", l.maxConns,
			"remote", c.RemoteAddr().String(), "refused_since_last_log", n)
	}
	_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
	_, _ = c.Write(tooManyConnections)
	_ = c.Close()
}

// tooManyConnections is the packet MySQL sends instead of its greeting above
// max_connections: an error packet, sequence 0, without the SQL state marker that only
// follows the handshake (clients read ERROR 1040 (HY000): Too many connections).
var tooManyConnections = func() []byte {
	payload := append([]byte{0xff, 0, 0}, "Too many connections"...)
	binary.LittleEndian.PutUint16(payload[1:], uint16(sqlerror.ERConCount))
	header := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}
	return append(header, payload...)
}()

// countedConn is a connection counted as open until its first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and, the first time, stops counting it.
func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// Unwrap is the connection counted.
func (c *countedConn) Unwrap() net.Conn { return c.Conn }

// logLimiter lets one log line through per acceptLogEvery.
type logLimiter struct {
	last       time.Time
	suppressed int
}

// allow reports whether to log now and how many events were not logged since the last line.
func (ll *logLimiter) allow(now time.Time) (suppressed int, ok bool) {
	if !ll.last.IsZero() && now.Sub(ll.last) < acceptLogEvery {
		ll.suppressed++
		return 0, false
	}
	suppressed, ll.last, ll.suppressed = ll.suppressed, now, 0
	return suppressed, true
}
