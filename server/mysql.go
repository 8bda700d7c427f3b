// Package server exposes the engine to clients: SQL over the MySQL wire protocol.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/vt/vtenv"

	"github.com/cdc-dev/cdc/engine"
)

// Config configures the MySQL protocol listener.
type Config struct {
	// Addr is the TCP address to listen on, e.g. 127.0.0.1:3306 (port 0 picks a free one).
	Addr string
	// User and Password are the one account clients log in with (mysql_native_password).
	User     string
	Password string
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds how long Serve waits for connections to end (default 10s).
	ShutdownTimeout time.Duration
	// MaxConnections bounds the open connections, authenticated or not (default 1000): one
	// more is answered ER_CON_COUNT_ERROR (1040, Too many connections) and closed.
	MaxConnections int
	// HandshakeTimeout is how long a connection has to log in before it is closed (default 10s).
	HandshakeTimeout time.Duration
	// Metrics, if set, counts rejected logins, failed accepts and refused connections.
	Metrics *Metrics
}

// Server is a MySQL protocol listener that runs each connection's SQL on its own engine session.
type Server struct {
	e        *engine.Engine
	cfg      Config
	log      *slog.Logger
	listener *mysql.Listener
	ln       *listener // the net.Listener under vitess's accept loop
	h        *handler
	// stopping is set when Serve begins its shutdown; acceptEnded when vitess's accept loop
	// has returned.
	stopping, acceptEnded atomic.Bool
}

// New listens on cfg.Addr; call Serve to accept connections.
func New(e *engine.Engine, cfg Config) (*Server, error) {
	if e == nil {
		return nil, errors.New("server: nil engine")
	}
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 1000
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	env, err := vtenv.New(vtenv.Options{})
	if err != nil {
		return nil, fmt.Errorf("server: vitess environment: %w", err)
	}
	// vitess sets keep-alive only on a *net.TCPConn, which it no longer sees: the accepted
	// connections get it from the ListenConfig.
	tcp, err := (&net.ListenConfig{KeepAlive: time.Minute}).Listen(context.Background(), "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("server: listen on %s: %w", cfg.Addr, err)
	}
	ln := newListener(tcp, cfg.MaxConnections, cfg.HandshakeTimeout, log, cfg.Metrics)
	h := newHandler(e, env, log)
	// No read or write timeouts: vitess would wrap each connection, and the handler clears
	// the handshake deadline on the connection GetRawConn returns.
	l, err := mysql.NewFromListener(ln, newAuth(cfg.User, cfg.Password, cfg.Metrics.authFailed), h, 0, 0, false, false, 0, mysql.DefaultFlushDelay, false)
	if err != nil {
		h.cancel()
		_ = ln.Close()
		return nil, fmt.Errorf("server: mysql listener on %s: %w", cfg.Addr, err)
	}
	cfg.Metrics.gaugeMySQL(func() float64 { return float64(ln.open.Load()) }, func() float64 { return float64(h.busy.Load()) })
	return &Server{e: e, cfg: cfg, log: log, listener: l, ln: ln, h: h}, nil
}

// Addr is the address the server listens on (with the real port when Addr asked for port 0).
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Serve accepts connections until ctx is done, then stops accepting, closes every connection
// and its session, and returns. It does not close the engine.
func (s *Server) Serve(ctx context.Context) error {
	s.log.Info("mysql server listening", "addr", s.Addr(), "user", s.cfg.User)
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		s.listener.Accept()
		s.acceptEnded.Store(true)
		if !s.stopping.Load() {
			s.log.Error("mysql server: accept loop ended without a shutdown; no new connections are served", "addr", s.Addr())
		}
	}()
	<-ctx.Done()
	s.log.Info("mysql server shutting down", "addr", s.Addr())
	s.stopping.Store(true)
	s.listener.Shutdown()
	<-accepting
	if !s.h.shutdown(s.cfg.ShutdownTimeout) {
		s.log.Warn("mysql server: connections still open after shutdown timeout", "timeout", s.cfg.ShutdownTimeout)
	}
	return nil
}

// Healthy reports why the MySQL port does not serve new connections: its accept loop ended
// without a shutdown, or accepts have been failing for seconds (descriptors exhausted); nil
// otherwise, and from the start of a shutdown. It is a check for Metrics.AddHealthCheck.
func (s *Server) Healthy() error {
	if s.stopping.Load() {
		return nil
	}
	if s.acceptEnded.Load() {
		return errors.New("the accept loop ended")
	}
	return s.ln.health(time.Now())
}

// conns tracks open connections so that shutdown can close them and wait for them.
type conns struct {
	mu     sync.Mutex
	open   map[*mysql.Conn]struct{}
	byID   map[uint32]*mysql.Conn
	cancel map[uint32]context.CancelFunc // the running statement of each connection
	closed bool
	empty  chan struct{} // closed once closed is set and open is empty
}

// add registers c, or reports false when the server is shutting down.
func (cs *conns) add(c *mysql.Conn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	cs.open[c] = struct{}{}
	if cs.byID == nil {
		cs.byID = map[uint32]*mysql.Conn{}
		cs.cancel = map[uint32]context.CancelFunc{}
	}
	cs.byID[c.ConnectionID] = c
	return true
}

// running records cancel as the cancel function of the statement running on c; nil when
// the statement is done.
func (cs *conns) running(c *mysql.Conn, cancel context.CancelFunc) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cancel == nil {
		delete(cs.cancel, c.ConnectionID)
		return
	}
	if cs.byID[c.ConnectionID] == c {
		cs.cancel[c.ConnectionID] = cancel
	}
}

// lookup returns the open connection with id and the cancel function of its running
// statement (nil when idle).
func (cs *conns) lookup(id uint32) (*mysql.Conn, context.CancelFunc, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	return c, cs.cancel[id], ok
}

// remove forgets c.
func (cs *conns) remove(c *mysql.Conn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.open, c)
	if cs.byID[c.ConnectionID] == c {
		delete(cs.byID, c.ConnectionID)
		delete(cs.cancel, c.ConnectionID)
	}
	if cs.closed && len(cs.open) == 0 {
		select {
		case <-cs.empty:
		default:
			close(cs.empty)
		}
	}
}

// closeAll marks the set closed, closes every open connection and waits up to timeout for
// them to be removed.
func (cs *conns) closeAll(timeout time.Duration) bool {
	cs.mu.Lock()
	cs.closed = true
	for c := range cs.open {
		c.Close()
	}
	if len(cs.open) == 0 {
		select {
		case <-cs.empty:
		default:
			close(cs.empty)
		}
	}
	cs.mu.Unlock()
	select {
	case <-cs.empty:
		return true
	case <-time.After(timeout):
		return false
	}
}
