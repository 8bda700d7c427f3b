package server

import (
	"context"
	"strings"

	"vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"
	"vitess.io/vitess/go/vt/sqlparser"
)

// KILL QUERY <id> cancels the statement running on connection id (a streaming TAIL ends
// with ER_QUERY_INTERRUPTED and the connection stays usable); KILL [CONNECTION] <id>
// closes connection id. The statement contexts are registered in conns by connection id.

// isKill reports whether query starts with the word KILL, without parsing it.
func isKill(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	return len(q) > 4 && strings.EqualFold(q[:4], "kill") && strings.ContainsRune(" \t\r\n", rune(q[4]))
}

// kill runs a KILL statement sent on connection c.
func (h *handler) kill(c *mysql.Conn, query string, callback func(*sqltypes.Result) error) error {
	stmt, err := h.env.Parser().Parse(query)
	if err != nil {
		return sqlerror.NewSQLErrorf(sqlerror.ERParseError, sqlerror.SSClientError, "%v", err)
	}
	k, ok := stmt.(*sqlparser.Kill)
	if !ok {
		return notSupported("statement " + sqlparser.String(stmt))
	}
	if k.ProcesslistID > uint64(^uint32(0)) {
		return errNoSuchThread(k.ProcesslistID)
	}
	id := uint32(k.ProcesslistID)
	target, cancel, ok := h.conns.lookup(id)
	if !ok {
		return errNoSuchThread(k.ProcesslistID)
	}
	switch {
	case k.Type == sqlparser.QueryType:
		// On its own connection nothing else runs: like MySQL, KILL QUERY is then a no-op.
		if target != c && cancel != nil {
			cancel()
		}
	case target == c:
		// KILL of the own connection: the client gets ER_QUERY_INTERRUPTED, if anything.
		h.log.Debug("connection killed itself", "conn", id)
		c.Close()
		return errInterrupted()
	default:
		h.log.Debug("connection killed", "conn", id, "by", c.ConnectionID)
		if cancel != nil {
			cancel()
		}
		target.Close()
	}
	return callback(&sqltypes.Result{})
}

// errNoSuchThread is ER_NO_SUCH_THREAD.
func errNoSuchThread(id uint64) error {
	return sqlerror.NewSQLErrorf(sqlerror.ERNoSuchThread, sqlerror.SSUnknownSQLState, "Unknown thread id: %d", id)
}

// errInterrupted is ER_QUERY_INTERRUPTED.
func errInterrupted() error {
	return sqlerror.NewSQLError(sqlerror.ERQueryInterrupted, sqlerror.SSQueryInterrupted, "Query execution was interrupted")
}

// statement registers a cancellable context for a statement on c, cancelled by KILL QUERY,
// by shutdown and when the client closes the connection; done unregisters it.
func (h *handler) statement(c *mysql.Conn) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(h.ctx)
	h.conns.running(c, cancel)
	stopWatch := watchPeer(c.GetRawConn(), cancel)
	return ctx, func() {
		stopWatch()
		h.conns.running(c, nil)
		cancel()
	}
}
