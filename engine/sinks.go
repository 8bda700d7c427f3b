package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cdc-dev/cdc/sinks"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// kindSink is the catalog kind of a sink.
const kindSink = "sink"

// sink writes the changes of a materialized view into a bucket, one object per LSN.
type sink struct {
	name, view string
	sql        string
	conn       *objectSource // how to reach the bucket (the options a source would have)
	stop       context.CancelFunc
	done       chan struct{}
	written    atomic.Uint64 // the last LSN written, for Stats
}

// newSink returns the sink of a CREATE SINK statement, not yet running.
func newSink(st *sqlplan.CreateSink, sql string) (*sink, error) {
	if f, ok := st.Options["FORMAT"]; ok && !strings.EqualFold(f, "jsonl") {
		return nil, sqlerr.New(sqlerr.NotSupported, "sink format %q is not supported yet (jsonl is)", f)
	}
	if v, ok := st.Options["SECURE"]; ok && v != "true" && v != "false" {
		return nil, sqlerr.New(sqlerr.WrongValue, "SECURE takes true or false, not %q", v)
	}
	return &sink{name: st.Name, view: st.View, sql: sql,
		conn: &objectSource{bucket: st.Bucket, prefix: st.Prefix, options: st.Options}}, nil
}

// createSink runs CREATE SINK: the view must exist and the bucket be reachable; the sink
// starts at once with the view's contents.
func (s *Session) createSink(ctx context.Context, st *sqlplan.CreateSink, sql string) (*Result, error) {
	sk, err := newSink(st, strings.TrimSpace(sql))
	if err != nil {
		return nil, err
	}
	e := s.e
	e.mu.Lock()
	_, exists := e.sinks[strings.ToLower(st.Name)]
	_, isView := e.views[strings.ToLower(st.View)]
	e.mu.Unlock()
	if exists {
		if st.IfNotExists {
			return &Result{}, nil
		}
		return nil, sqlerr.New(sqlerr.TableExists, "Sink '%s' already exists", st.Name)
	}
	if !isView {
		return nil, sqlerr.New(sqlerr.NoSuchTable, "Materialized view '%s' doesn't exist", st.View)
	}
	if _, err := sources.OpenS3(ctx, sk.conn.s3Config()); err != nil {
		return nil, sqlerr.New(sqlerr.WrongValue, "cannot create sink %s: %v", st.Name, err)
	}
	return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) {
		if _, ok := e.sinks[strings.ToLower(st.Name)]; ok {
			return nil, nil, sqlerr.New(sqlerr.TableExists, "Sink '%s' already exists", st.Name)
		}
		seq := e.catSeq + 1
		if err := tx.PutCatalog("sink:"+strings.ToLower(st.Name), kindSink, sk.sql, seq); err != nil {
			return nil, nil, err
		}
		return &Result{}, func() {
			e.catSeq = seq
			e.sinks[strings.ToLower(st.Name)] = sk
			e.startSink(sk)
		}, nil
	})
}

// dropSink stops a sink and forgets it; the objects it wrote stay.
func (e *Engine) dropSink(tx *sources.Txn, st *sqlplan.DropSink) (*Result, func(), error) {
	key := strings.ToLower(st.Name)
	sk, ok := e.sinks[key]
	if !ok {
		if st.IfExists {
			return &Result{}, nil, nil
		}
		return nil, nil, sqlerr.New(sqlerr.BadTable, "Unknown sink '%s'", st.Name)
	}
	if err := tx.DeleteCatalog("sink:" + key); err != nil {
		return nil, nil, err
	}
	return &Result{}, func() {
		delete(e.sinks, key)
		if sk.stop != nil {
			sk.stop()
		}
	}, nil
}

// sinkOf names the sinks that write a view, for DROP MATERIALIZED VIEW.
func (e *Engine) sinksOf(view string) []string {
	var out []string
	for _, sk := range e.sinks {
		if strings.EqualFold(sk.view, view) {
			out = append(out, sk.name)
		}
	}
	return out
}

// startSink runs a sink in the background until it is dropped or the engine closes. Called
// with e.mu held, once the engine's background context exists.
func (e *Engine) startSink(sk *sink) {
	if e.bgCtx == nil {
		return // started by Open once recovery is done
	}
	ctx, stop := context.WithCancel(e.bgCtx)
	sk.stop, sk.done = stop, make(chan struct{})
	e.background.Go(func() {
		defer close(sk.done)
		for {
			err := e.runSink(ctx, sk)
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("sink stopped; retrying", "sink", sk.name, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(sinkRetry):
			}
		}
	})
}

// sinkRetry is how long a failed sink waits before it starts again.
const sinkRetry = time.Second

// runSink writes the view's changes after the last LSN the bucket has, one object per LSN,
// until an error or ctx ends. A sink with no object yet starts with the view's contents,
// written as the object of the view's frontier. Writes are idempotent: an object is named by
// its LSN, so a retried or repeated write replaces it with the same content.
func (e *Engine) runSink(ctx context.Context, sk *sink) error {
	b, err := sources.OpenS3(ctx, sk.conn.s3Config())
	if err != nil {
		return err
	}
	var last uint64
	if err := b.Keys(ctx, func(key string) error {
		if lsn, ok := sinks.ParseObjectName(sk.conn.prefix, key); ok {
			last = max(last, lsn)
		}
		return nil
	}); err != nil {
		return err
	}
	opts := SubscribeOptions{Snapshot: true}
	if last > 0 {
		opts = SubscribeOptions{AsOf: last, HasAsOf: true}
	}
	sk.written.Store(last)
	sub, err := e.Subscribe(ctx, sk.view, opts)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", sk.view, err)
	}
	defer sub.Close()
	var columns []string
	for _, c := range sub.Columns()[2:] {
		columns = append(columns, c.Name)
	}
	for {
		batch, err := sub.Next(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		if batch.Progress || (len(batch.Updates) == 0 && last > 0) {
			continue
		}
		data, err := sinks.EncodeJSONL(batch.LSN, columns, batch.Updates)
		if err != nil {
			return err
		}
		if err := b.Put(ctx, sinks.ObjectName(sk.conn.prefix, batch.LSN), data, "application/x-ndjson"); err != nil {
			return err
		}
		last = max(last, batch.LSN)
		sk.written.Store(last)
	}
}
