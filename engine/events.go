package engine

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/cdc-dev/cdc/sources"
)

// ObjectEvent is one bucket notification: an object created (or overwritten) or removed.
type ObjectEvent struct {
	Bucket       string
	Key          string // decoded
	Removed      bool
	Size         int64
	ETag         string
	ContentType  string
	UserMetadata map[string]string // as notified: x-amz-meta-* and system entries
	Time         time.Time         // when the change happened
	Sequencer    string            // orders the events of one key (hex, fixed width per server)
}

// EventResult counts what ApplyObjectEvents did with a delivery.
type EventResult struct {
	Applied   int // changed a source's rows
	Dropped   int // duplicates, or older than what the source already holds
	Unmatched int // for no source (another bucket or prefix)
	LSN       uint64
}

// ApplyObjectEvents applies bucket notifications to the sources that cover their objects,
// one transaction per source. Redelivered events change nothing and events older than what a
// source holds (a late delivery after a newer listing or event) are dropped, so that
// delivery order and duplicates do not matter; per key, events apply in sequencer order.
func (e *Engine) ApplyObjectEvents(ctx context.Context, events []ObjectEvent) (EventResult, error) {
	var res EventResult
	e.mu.Lock()
	bySource := map[*table][]ObjectEvent{}
	for _, ev := range events {
		matched := false
		for _, t := range e.tables {
			if t.source != nil && t.source.bucket == ev.Bucket && strings.HasPrefix(ev.Key, t.source.prefix) {
				bySource[t] = append(bySource[t], ev)
				matched = true
			}
		}
		if !matched {
			res.Unmatched++
		}
	}
	e.mu.Unlock()
	tables := make([]*table, 0, len(bySource))
	for t := range bySource {
		tables = append(tables, t)
	}
	slices.SortFunc(tables, func(a, b *table) int { return strings.Compare(a.schema.Name, b.schema.Name) })
	for _, t := range tables {
		applied, lsn, err := e.applyEvents(ctx, t, bySource[t])
		if err != nil {
			return res, err
		}
		res.Applied += applied
		res.Dropped += len(bySource[t]) - applied
		res.LSN = max(res.LSN, lsn)
	}
	return res, nil
}

// applyEvents applies the events of one source.
func (e *Engine) applyEvents(ctx context.Context, t *table, events []ObjectEvent) (int, uint64, error) {
	t.source.mu.Lock() // not interleaved with a reconciliation
	defer t.source.mu.Unlock()
	slices.SortStableFunc(events, func(a, b ObjectEvent) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.Sequencer), len(b.Sequencer)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Sequencer, b.Sequencer); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	changes := make([]ObjectChange, 0, len(events))
	for _, ev := range events {
		// At makes the write skip an event older than what the source holds.
		if ev.Removed {
			changes = append(changes, ObjectChange{Key: ev.Key, Deleted: true, At: ev.Time})
			continue
		}
		changes = append(changes, ObjectChange{Key: ev.Key, Size: ev.Size, ETag: ev.ETag, ContentType: ev.ContentType,
			LastModified: ev.Time, At: ev.Time, UserMetadata: sources.NormalizeUserMetadata(ev.UserMetadata)})
	}
	if t.source.content {
		b, err := e.bucket(ctx, t)
		if err != nil {
			return 0, 0, err
		}
		if changes, err = e.fetchContent(ctx, t, b, changes); err != nil {
			return 0, 0, err
		}
	}
	lsn, n, err := e.applyObjectChanges(ctx, t.schema.Name, changes)
	return int(n), lsn, err
}
