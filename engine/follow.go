package engine

import (
	"context"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
)

// WaitLSN blocks until a transaction after the given LSN has committed and returns the log
// head; it fails when ctx ends or the engine closes. With ReadLog it follows the change log.
func (e *Engine) WaitLSN(ctx context.Context, after uint64) (uint64, error) {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return 0, errEngineClosed
		}
		if e.lsn > after {
			lsn := e.lsn
			e.mu.Unlock()
			return lsn, nil
		}
		if e.lsnWake == nil {
			e.lsnWake = make(chan struct{})
		}
		wake := e.lsnWake
		e.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// wakeWaiters wakes the callers of WaitLSN. Called with e.mu held.
func (e *Engine) wakeWaiters() {
	if e.lsnWake != nil {
		close(e.lsnWake)
		e.lsnWake = nil
	}
}

// EncodeRow encodes a row as the change log does.
func EncodeRow(r dataflow.Row) *changelogpb.Row { return sources.EncodeRow(r) }
