package engine

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
)

// s3Config returns how to reach a source's bucket: its WITH options, else the environment
// (CDC_S3_ENDPOINT, CDC_S3_ACCESS_KEY, CDC_S3_SECRET_KEY, CDC_S3_REGION).
func (src *objectSource) s3Config() sources.S3Config {
	opt := func(name, env string) string {
		if v, ok := src.options[name]; ok {
			return v
		}
		return os.Getenv(env)
	}
	return sources.S3Config{
		Endpoint:  opt("ENDPOINT", "CDC_S3_ENDPOINT"),
		AccessKey: opt("ACCESS_KEY", "CDC_S3_ACCESS_KEY"),
		SecretKey: opt("SECRET_KEY", "CDC_S3_SECRET_KEY"),
		Region:    opt("REGION", "CDC_S3_REGION"),
		Secure:    src.options["SECURE"] != "false",
		Bucket:    src.bucket,
		Prefix:    src.prefix,
	}
}

// bucket returns the connection to a source's bucket, opening it the first time.
func (e *Engine) bucket(ctx context.Context, t *table) (*sources.S3Bucket, error) {
	e.mu.Lock()
	b := e.buckets[t.source]
	e.mu.Unlock()
	if b != nil {
		return b, nil
	}
	b, err := sources.OpenS3(ctx, t.source.s3Config())
	if err != nil {
		return nil, sqlerr.New(sqlerr.WrongValue, "source %s: %v", t.schema.Name, err)
	}
	e.mu.Lock()
	e.buckets[t.source] = b
	e.mu.Unlock()
	return b, nil
}

// ReconcileResult is what one reconciliation of a source with its bucket found.
type ReconcileResult struct {
	Listed                     int // objects in the bucket under the prefix
	Inserted, Updated, Deleted int // differences applied
	LSN                        uint64
	Took                       time.Duration
}

// reconcileBatch is how many differences one transaction applies, and reconcileBytes how
// much object content it takes at most (a storage transaction is bounded).
const (
	reconcileBatch = 5000
	reconcileBytes = 4 << 20
)

// Reconcile lists a source's bucket and applies whatever differs from the source's rows:
// objects that notifications missed (while the engine was down, say) are inserted, updated
// or deleted. Changes made after the listing started are never undone by it: a row whose
// last_modified is newer than the listing is left alone.
func (e *Engine) Reconcile(ctx context.Context, source string) (res ReconcileResult, err error) {
	start := time.Now()
	e.mu.Lock()
	t, ok := e.tables[strings.ToLower(source)]
	e.mu.Unlock()
	if !ok || t.source == nil {
		return res, sqlerr.New(sqlerr.NoSuchTable, "Source '%s' doesn't exist", source)
	}
	t.source.mu.Lock() // one reconciliation of a source at a time
	defer t.source.mu.Unlock()
	defer func() {
		if err != nil {
			t.source.reconcileErrors.Add(1)
		}
	}()
	b, err := e.bucket(ctx, t)
	if err != nil {
		return res, err
	}
	if arn := t.source.notifyARN(); arn != "" && !t.source.notifying {
		// Retried by every reconciliation until it works: a MinIO that just started may not
		// know its targets yet. Without notifications the listings still follow the bucket.
		if set, err := b.EnsureNotification(ctx, arn); err != nil {
			e.log.Warn("source without bucket notifications for now: it follows the bucket by listing it", "source", source, "err", err)
		} else {
			t.source.notifying = true
			if set {
				e.log.Info("bucket notifications set", "source", source, "bucket", t.source.bucket, "target", arn)
			}
		}
	}
	listed := map[string]sources.ObjectInfo{}
	if err := b.List(ctx, func(o sources.ObjectInfo) error {
		listed[o.Key] = o
		return nil
	}); err != nil {
		return res, fmt.Errorf("reconcile source %s: %w", source, err)
	}
	res.Listed = len(listed)
	stored := map[string]dataflow.Row{}
	tx, err := e.store.Begin(false)
	if err != nil {
		return res, err
	}
	err = tx.Scan(t.schema, func(_ []byte, row dataflow.Row) error {
		stored[row[0].Str()] = row
		return nil
	})
	tx.Rollback()
	if err != nil {
		return res, fmt.Errorf("reconcile source %s: %w", source, err)
	}
	var changes []ObjectChange
	for _, key := range sortedKeys(listed) {
		o := listed[key]
		c := ObjectChange{Key: o.Key, Size: o.Size, ETag: o.ETag, ContentType: o.ContentType, LastModified: o.LastModified, UserMetadata: o.UserMetadata}
		old, ok := stored[key]
		switch {
		case !ok:
			res.Inserted++
		case sameObject(old, c.row(false)):
			continue // last_modified may differ in precision between listings and events
		case old[4].TimeMicros() > o.LastModified.UnixMicro():
			continue // changed by a notification after the listing saw it
		default:
			res.Updated++
		}
		changes = append(changes, c)
	}
	for _, key := range sortedKeys(stored) {
		if _, ok := listed[key]; ok {
			continue
		}
		if stored[key][4].TimeMicros() > start.UnixMicro() {
			continue // created after the listing started
		}
		res.Deleted++
		changes = append(changes, ObjectChange{Key: key, Deleted: true})
	}
	for len(changes) > 0 {
		// A transaction takes reconcileBatch changes, or content up to reconcileBytes.
		n, bytes := 0, int64(0)
		for n < len(changes) && n < reconcileBatch && (n == 0 || bytes < reconcileBytes) {
			if t.source.content && !changes[n].Deleted {
				bytes += min(changes[n].Size, t.source.maxContent)
			}
			n++
		}
		batch, err := e.fetchContent(ctx, t, b, slices.Clone(changes[:n]))
		if err != nil {
			return res, fmt.Errorf("reconcile source %s: %w", source, err)
		}
		changes = changes[n:]
		lsn, _, err := e.applyObjectChanges(ctx, source, batch)
		if err != nil {
			return res, err
		}
		res.LSN = max(res.LSN, lsn)
	}
	res.Took = time.Since(start)
	t.source.reconciles.Add(1)
	t.source.inserted.Add(uint64(res.Inserted))
	t.source.updated.Add(uint64(res.Updated))
	t.source.deleted.Add(uint64(res.Deleted))
	t.source.listed.Store(int64(res.Listed))
	e.log.Info("reconciled source with its bucket", "source", source, "listed", res.Listed,
		"inserted", res.Inserted, "updated", res.Updated, "deleted", res.Deleted, "took", res.Took)
	return res, nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// reconcileLoop reconciles every object source at start and then every interval, until ctx
// ends. Failures (an unreachable endpoint) are logged and retried at the next round.
func (e *Engine) reconcileLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		e.mu.Lock()
		var names []string
		for _, tb := range e.tables {
			if tb.source != nil {
				names = append(names, tb.schema.Name)
			}
		}
		e.mu.Unlock()
		for _, n := range names {
			if ctx.Err() != nil {
				return
			}
			if _, err := e.Reconcile(ctx, n); err != nil && ctx.Err() == nil {
				e.log.Warn("reconcile source", "source", n, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sameObject reports whether two source rows describe the same object version: key, size,
// etag, content type and user metadata are equal (last_modified may differ in precision, and
// the content follows the etag).
func sameObject(a, b dataflow.Row) bool {
	for i := range 6 {
		if i != 4 && dataflow.Compare(a[i], b[i]) != 0 {
			return false
		}
	}
	return true
}
