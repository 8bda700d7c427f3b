package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/replication"
	"vitess.io/vitess/go/sqltypes"
	"vitess.io/vitess/go/vt/vtenv"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// handler is the mysql.Handler: one engine session per connection.
type handler struct {
	mysql.UnimplementedHandler
	e      *engine.Engine
	env    *vtenv.Environment
	log    *slog.Logger
	ctx    context.Context // cancelled at shutdown: ends running statements and TAILs
	cancel context.CancelFunc
	conns  conns
	busy   atomic.Int64 // statements running in ComQuery
}

// newHandler returns a handler running SQL on e.
func newHandler(e *engine.Engine, env *vtenv.Environment, log *slog.Logger) *handler {
	ctx, cancel := context.WithCancel(context.Background())
	return &handler{e: e, env: env, log: log, ctx: ctx, cancel: cancel,
		conns: conns{open: map[*mysql.Conn]struct{}{}, empty: make(chan struct{})}}
}

// shutdown cancels running statements (a streaming TAIL gets ER_SERVER_SHUTDOWN), gives
// them a moment to answer, then closes every connection and waits for them.
func (h *handler) shutdown(timeout time.Duration) bool {
	h.cancel()
	for deadline := time.Now().Add(time.Second); h.busy.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	return h.conns.closeAll(timeout)
}

// NewConnection registers the connection, or closes it when the server is shutting down.
func (h *handler) NewConnection(c *mysql.Conn) {
	c.StatusFlags = mysql.ServerStatusAutocommit
	if !h.conns.add(c) {
		c.Close()
	}
}

// ConnectionReady gives an authenticated connection its engine session and clears the
// handshake deadline the listener set (GetRawConn is the listener's connection: the
// vitess listener is configured without read and write timeouts, which would wrap it).
func (h *handler) ConnectionReady(c *mysql.Conn) {
	if err := c.GetRawConn().SetDeadline(time.Time{}); err != nil {
		h.log.Debug("mysql: clear handshake deadline", "conn", c.ConnectionID, "err", err)
	}
	if pc := packetConn(c.GetRawConn()); pc != nil {
		pc.SetPrepared(func(id uint32) bool { _, ok := c.PrepareData[id]; return ok })
	}
	h.session(c)
	h.log.Debug("mysql connection ready", "conn", c.ConnectionID, "remote", c.RemoteAddr().String(), "user", c.User)
}

// ConnectionClosed closes the connection's session.
func (h *handler) ConnectionClosed(c *mysql.Conn) {
	if sess, ok := c.ClientData.(*engine.Session); ok {
		sess.Close()
		c.ClientData = nil
		h.log.Debug("mysql connection closed", "conn", c.ConnectionID)
	}
	h.conns.remove(c)
}

// ComQuery runs one statement: client probes are answered here, the rest by the engine.
func (h *handler) ComQuery(c *mysql.Conn, query string, callback func(*sqltypes.Result) error) error {
	h.busy.Add(1)
	defer h.busy.Add(-1)
	if h.isShutdown() {
		return errShutdown()
	}
	if err := h.splitError(c); err != nil {
		return err
	}
	if res, ok := fixedAnswer(query, h.fixedSession(c)); ok {
		return callback(res)
	}
	if isKill(query) {
		return h.kill(c, query, callback)
	}
	ctx, done := h.statement(c)
	defer done()
	sess := h.session(c)
	if ld, ok, err := sqlplan.ParseLoadData(query); ok {
		if err != nil {
			return h.toSQLError(err)
		}
		return h.loadData(ctx, c, sess, ld, callback)
	}
	res, err := sess.Exec(ctx, query)
	setStatus(c, sess)
	if err != nil {
		h.log.Debug("statement failed", "conn", c.ConnectionID, "err", err)
		return h.toSQLError(err)
	}
	if res.Tail != nil {
		return h.tail(ctx, c, res, callback)
	}
	return callback(toResult(res))
}

// splitError is the syntax error of a command whose text the packet layer kept from
// vitess's statement splitter (packetLimitConn.guardSplit), nil for any other command.
func (h *handler) splitError(c *mysql.Conn) error {
	pc := packetConn(c.GetRawConn())
	if pc == nil {
		return nil
	}
	text, ok := pc.TakeSplitError()
	if !ok {
		return nil
	}
	_, err := engine.SplitStatements(text)
	if err == nil {
		err = sqlerr.New(sqlerr.Parse, "You have an error in your SQL syntax: unterminated string or comment")
	}
	return h.toSQLError(err)
}

// session is the connection's engine session, created on first use: vitess runs the USE of
// a database named at connect (mariadb -D cdc, a DSN's /cdc) before ConnectionReady.
func (h *handler) session(c *mysql.Conn) *engine.Session {
	if sess, ok := c.ClientData.(*engine.Session); ok {
		return sess
	}
	sess := h.e.NewSession()
	c.ClientData = sess
	return sess
}

// fixedSession describes the connection for the fixed answers.
func (h *handler) fixedSession(c *mysql.Conn) session {
	host := "localhost"
	if addr := c.RemoteAddr(); addr != nil {
		if hp, _, err := net.SplitHostPort(addr.String()); err == nil {
			host = hp
		}
	}
	fs := session{user: c.User, host: host, connID: c.ConnectionID, version: h.env.MySQLVersion(),
		autocommit: true, isolation: engine.DefaultIsolation}
	if sess, ok := c.ClientData.(*engine.Session); ok {
		fs.maxExecTime, fs.lockWait = sess.MaxExecutionTime(), sess.LockWaitTimeout()
		fs.autocommit, fs.isolation, fs.readOnly = sess.Autocommit(), sess.Isolation(), sess.TransactionReadOnly()
	}
	return fs
}

// ComQueryMulti is not used: the listener is created without multi-query support.
func (h *handler) ComQueryMulti(*mysql.Conn, string, func(sqltypes.QueryResponse, bool, bool) error) error {
	return notSupported("multi-query protocol")
}

// ComRegisterReplica rejects replication.
func (h *handler) ComRegisterReplica(*mysql.Conn, string, uint16, string, string) error {
	return notSupported("replication")
}

// ComBinlogDump rejects replication.
func (h *handler) ComBinlogDump(*mysql.Conn, string, uint32) error {
	return notSupported("replication")
}

// ComBinlogDumpGTID rejects replication.
func (h *handler) ComBinlogDumpGTID(*mysql.Conn, string, uint64, replication.GTIDSet, uint16) error {
	return notSupported("replication")
}

// WarningCount is always zero: the engine has no warnings.
func (h *handler) WarningCount(*mysql.Conn) uint16 { return 0 }

// Env is the vitess environment (parser, collations, server version).
func (h *handler) Env() *vtenv.Environment { return h.env }

// isShutdown reports whether the server is shutting down.
func (h *handler) isShutdown() bool { return errors.Is(h.ctx.Err(), context.Canceled) }

// setStatus sets the status flags of the connection's next OK and EOF packets from its
// session: SERVER_STATUS_AUTOCOMMIT and SERVER_STATUS_IN_TRANS (DB-API drivers decide by
// them whether commit() and rollback() have anything to do).
func setStatus(c *mysql.Conn, sess *engine.Session) {
	f := c.StatusFlags &^ (mysql.ServerStatusAutocommit | mysql.ServerStatusInTrans | mysql.ServerStatusInTransReadonly)
	if sess.Autocommit() {
		f |= mysql.ServerStatusAutocommit
	}
	if sess.InTransaction() {
		f |= mysql.ServerStatusInTrans
		if sess.TransactionReadOnly() {
			f |= mysql.ServerStatusInTransReadonly
		}
	}
	c.StatusFlags = f
}

// ComResetConnection gives the connection a fresh session (its transaction rolled back).
func (h *handler) ComResetConnection(c *mysql.Conn) {
	if sess, ok := c.ClientData.(*engine.Session); ok {
		sess.Close()
		c.ClientData = h.e.NewSession()
	}
	c.StatusFlags = mysql.ServerStatusAutocommit
}
