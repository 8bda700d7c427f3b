package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
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

// sink writes the changes of a materialized view into a bucket: one object of JSON lines per
// LSN (format jsonl), or one object per row holding its content column (format objects).
type sink struct {
	name, view string
	sql        string
	format     string // "jsonl" or "objects"
	// keyCol and contentCol name the columns of format objects.
	keyCol, contentCol string
	conn               *objectSource // how to reach the bucket (the options a source would have)
	stop               context.CancelFunc
	done               chan struct{}
	written            atomic.Uint64 // the last LSN written, for Stats
	errors             atomic.Uint64 // runs that failed (and were retried), for Stats
}

// newSink returns the sink of a CREATE SINK statement, not yet running.
func newSink(st *sqlplan.CreateSink, sql string) (*sink, error) {
	format := strings.ToLower(st.Options["FORMAT"])
	switch format {
	case "":
		format = "jsonl"
	case "jsonl", "objects":
	default:
		return nil, sqlerr.New(sqlerr.NotSupported, "sink format %q is not supported (jsonl and objects are)", st.Options["FORMAT"])
	}
	if format == "objects" && (st.Options["KEY"] == "" || st.Options["CONTENT"] == "") {
		return nil, sqlerr.New(sqlerr.WrongValue, "a sink of FORMAT = 'objects' needs KEY (the column naming each object) and CONTENT (the column of its bytes)")
	}
	if v, ok := st.Options["SECURE"]; ok && v != "true" && v != "false" {
		return nil, sqlerr.New(sqlerr.WrongValue, "SECURE takes true or false, not %q", v)
	}
	return &sink{name: st.Name, view: st.View, sql: sql, format: format, keyCol: st.Options["KEY"], contentCol: st.Options["CONTENT"],
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
	v, isView := e.views[strings.ToLower(st.View)]
	var colErr error
	if isView && sk.format == "objects" {
		cols := v.query.Columns()
		for _, c := range []string{sk.keyCol, sk.contentCol} {
			if !slices.ContainsFunc(cols, func(ci sqlplan.ColumnInfo) bool { return strings.EqualFold(ci.Name, c) }) {
				colErr = sqlerr.New(sqlerr.BadField, "Unknown column '%s' in materialized view %s", c, v.name)
			}
		}
	}
	e.mu.Unlock()
	if colErr != nil {
		return nil, colErr
	}
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

// sinksOf names the sinks that write a view, for DROP MATERIALIZED VIEW.
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
			sk.errors.Add(1)
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
	if sk.format == "objects" {
		return e.runObjectsSink(ctx, sk, b)
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
	sk.written.Store(last)
	return e.followView(ctx, sk, last, func(columns []Column, batch Batch) error {
		if len(batch.Updates) == 0 && last > 0 {
			return nil
		}
		names := make([]string, len(columns))
		for i, c := range columns {
			names[i] = c.Name
		}
		data, err := sinks.EncodeJSONL(batch.LSN, names, batch.Updates)
		if err != nil {
			return err
		}
		if err := b.Put(ctx, sinks.ObjectName(sk.conn.prefix, batch.LSN), data, "application/x-ndjson"); err != nil {
			return err
		}
		last = max(last, batch.LSN)
		return nil
	})
}

// followView subscribes to a sink's view, after the LSN resume (or, for 0, from a snapshot
// of it), and calls write with the view's columns for each batch of changes, in LSN order,
// until write or the subscription fails or ctx ends. It records each LSN written.
func (e *Engine) followView(ctx context.Context, sk *sink, resume uint64, write func([]Column, Batch) error) error {
	opts := SubscribeOptions{Snapshot: true}
	if resume > 0 {
		opts = SubscribeOptions{AsOf: resume, HasAsOf: true}
	}
	sub, err := e.Subscribe(ctx, sk.view, opts)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", sk.view, err)
	}
	defer sub.Close()
	columns := sub.Columns()[2:]
	for {
		batch, err := sub.Next(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		if batch.Progress {
			continue
		}
		if err := write(columns, batch); err != nil {
			return err
		}
		sk.written.Store(max(sk.written.Load(), batch.LSN))
	}
}

// runObjectsSink keeps one object per row of the view (format objects): a row inserted puts
// the object named by its key column with its content column, a row deleted deletes it. The
// last LSN written is kept in a marker object, written after each LSN's objects, so that a
// restart resumes after it; redoing an LSN's writes is harmless.
func (e *Engine) runObjectsSink(ctx context.Context, sk *sink, b *sources.S3Bucket) error {
	marker := sinks.MarkerName(sk.conn.prefix)
	var resume uint64
	data, found, err := b.Get(ctx, marker, 64)
	if err != nil {
		return err
	}
	if found {
		if resume, err = strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64); err != nil {
			return fmt.Errorf("sink %s: marker %s holds %q, not an LSN", sk.name, marker, data)
		}
	}
	sk.written.Store(resume)
	return e.followView(ctx, sk, resume, func(columns []Column, batch Batch) error {
		keyCol, contentCol := -1, -1
		for i, c := range columns {
			if strings.EqualFold(c.Name, sk.keyCol) {
				keyCol = i
			}
			if strings.EqualFold(c.Name, sk.contentCol) {
				contentCol = i
			}
		}
		if keyCol < 0 || contentCol < 0 {
			return fmt.Errorf("sink %s: view %s has no column %s or %s", sk.name, sk.view, sk.keyCol, sk.contentCol)
		}
		for _, w := range sinks.RowObjects(sk.conn.prefix, batch.Updates, keyCol, contentCol) {
			var err error
			if w.Delete {
				err = b.Remove(ctx, w.Key)
			} else {
				err = b.Put(ctx, w.Key, w.Data, http.DetectContentType(w.Data))
			}
			if err != nil {
				return err
			}
		}
		return b.Put(ctx, marker, []byte(strconv.FormatUint(batch.LSN, 10)), "text/plain")
	})
}
