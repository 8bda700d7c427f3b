package server

import (
	"context"
	"errors"

	"vitess.io/vitess/go/mysql/sqlerror"

	"github.com/cdc-dev/cdc/sqlerr"
)

// toSQLError is toSQLError, but ER_SERVER_SHUTDOWN once the server is shutting down.
func (h *handler) toSQLError(err error) error {
	if h.isShutdown() {
		return errShutdown()
	}
	return toSQLError(err)
}

// errShutdown is ER_SERVER_SHUTDOWN.
func errShutdown() error {
	return sqlerror.NewSQLError(sqlerror.ERServerShutdown, sqlerror.SSNetError, "Server shutdown in progress")
}

// toSQLError converts an engine error to a MySQL error with the same code and SQLSTATE.
func toSQLError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return sqlerror.NewSQLError(sqlerror.ERQueryInterrupted, sqlerror.SSQueryInterrupted, "Query execution was interrupted")
	}
	e := sqlerr.As(err)
	return sqlerror.NewSQLError(sqlerror.ErrorCode(e.Code), e.State, e.Msg)
}

// notSupported is ER_NOT_SUPPORTED_YET for a protocol feature.
func notSupported(what string) error {
	return sqlerror.NewSQLErrorf(sqlerror.ERNotSupportedYet, sqlerror.SSClientError, "not supported: %s", what)
}
