package server

import (
	"context"
	"sync"
	"time"

	"vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"

	"github.com/cdc-dev/cdc/engine"
)

// tail streams a TAIL subscription: the fields first, then one callback per batch, until the
// client goes away, the subscription ends, or the server shuts down.
func (h *handler) tail(stmtCtx context.Context, c *mysql.Conn, res *engine.Result, callback func(*sqltypes.Result) error) error {
	sub := res.Tail
	defer sub.Close()
	ctx, cancel := context.WithCancel(stmtCtx)
	defer cancel()
	stop := watchClient(c, cancel)
	defer stop()
	fields := toFields(sub.Columns())
	if err := callback(&sqltypes.Result{Fields: fields}); err != nil {
		return err
	}
	if err := c.FlushWriteBuffer(); err != nil {
		return err
	}
	h.log.Debug("tail started", "conn", c.ConnectionID)
	// Batches already waiting go out in one write with the one before (an epoch's changes
	// and its progress row reach the client together), at most maxUnflushed of them.
	const maxUnflushed = 64
	unflushed := 0
	for {
		b, err := sub.Next(ctx)
		if ctx.Err() != nil {
			// Cancelling the statement (KILL QUERY, shutdown) also closes the subscription,
			// which may report that first: the cancellation is why the TAIL ended.
			err = ctx.Err()
		}
		if err != nil {
			h.log.Debug("tail ended", "conn", c.ConnectionID, "err", err)
			return h.toSQLError(err)
		}
		if rows := sub.Rows(b); len(rows) > 0 {
			if err := callback(&sqltypes.Result{Fields: fields, Rows: toRows(fields, rows)}); err != nil {
				return err
			}
			unflushed++
		}
		if unflushed == 0 || sub.Buffered() && unflushed < maxUnflushed {
			continue
		}
		if err := c.FlushWriteBuffer(); err != nil {
			return err
		}
		unflushed = 0
	}
}

// watchClient calls cancel when the client closes the connection (or sends anything, which a
// client reading a streamed result does not) while a TAIL streams. The returned stop ends
// the watch; if the watcher consumed client bytes, stop closes the connection, whose
// protocol state is then lost.
func watchClient(c *mysql.Conn, cancel context.CancelFunc) (stop func()) {
	raw := c.GetRawConn()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		stopping bool
		consumed bool
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var buf [1]byte
		n, _ := raw.Read(buf[:])
		mu.Lock()
		defer mu.Unlock()
		consumed = n > 0
		if !stopping || consumed {
			cancel()
		}
	}()
	return func() {
		mu.Lock()
		stopping = true
		mu.Unlock()
		_ = raw.SetReadDeadline(time.Now())
		wg.Wait()
		_ = raw.SetReadDeadline(time.Time{})
		if consumed {
			c.Close()
		}
	}
}
