// Package server exposes the engine to clients: SQL over the MySQL wire protocol.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	// Metrics, if set, counts rejected logins.
	Metrics *Metrics
}

// Server is a MySQL protocol listener that runs each connection's SQL on its own engine session.
type Server struct {
	e        *engine.Engine
	cfg      Config
	log      *slog.Logger
	listener *mysql.Listener
	h        *handler
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
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	env, err := vtenv.New(vtenv.Options{})
	if err != nil {
		return nil, fmt.Errorf("server: vitess environment: %w", err)
	}
	h := newHandler(e, env, log)
	l, err := mysql.NewListener("tcp", cfg.Addr, newAuth(cfg.User, cfg.Password, cfg.Metrics.authFailed), h, 0, 0, false, false, time.Minute, 0, false)
	if err != nil {
		h.cancel()
		return nil, fmt.Errorf("server: listen on %s: %w", cfg.Addr, err)
	}
	return &Server{e: e, cfg: cfg, log: log, listener: l, h: h}, nil
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
	}()
	<-ctx.Done()
	s.log.Info("mysql server shutting down", "addr", s.Addr())
	s.listener.Shutdown()
	<-accepting
	if !s.h.shutdown(s.cfg.ShutdownTimeout) {
		s.log.Warn("mysql server: connections still open after shutdown timeout", "timeout", s.cfg.ShutdownTimeout)
	}
	return nil
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
