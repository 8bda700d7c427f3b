package engine

import (
	"context"
	"sort"
	"time"

	"github.com/cdc-dev/cdc/arrangements"
)

// Stats is a snapshot of the engine's counters, for metrics and introspection.
type Stats struct {
	LogHead  uint64 // LSN of the last committed transaction
	Commits  uint64 // committed write transactions since Open
	Sessions int64  // open sessions
	// SyncedLSN is the frontier of the last view store batch synced to disk: a crash
	// replays the log after it at most. HistoryFrom is the oldest LSN feeds may resume from
	// (retention). Both are 0 for an engine without a data directory.
	SyncedLSN   uint64
	HistoryFrom uint64
	Views       []ViewStats
	Build       *BuildStats // the materialized view being built, if any
	Sources     []SourceStats
	Sinks       []SinkStats
}

// SourceStats describes one object source.
type SourceStats struct {
	Name       string
	Objects    int64  // objects its last listing found
	Reconciles uint64 // listings since Open
	// Differences the listings applied since Open: changes notifications had missed.
	Inserted, Updated, Deleted uint64
	ReconcileErrors            uint64 // listings that failed (an unreachable endpoint, say)
}

// SinkStats describes one sink.
type SinkStats struct {
	Name    string
	View    string
	Written uint64 // the last LSN written to the bucket (0 before the first)
	Errors  uint64 // failed runs since Open, each retried
}

// ViewStats describes one materialized view.
type ViewStats struct {
	Name        string
	Frontier    uint64 // the LSN the view has fully processed
	Rows        int64  // rows in the view, duplicates counted
	Epochs      uint64 // epochs that changed the view's inputs since Open
	Subscribers int
	RowsSent    uint64 // rows delivered to subscribers since Open
}

// BuildStats describes the build of a materialized view.
type BuildStats struct {
	Name       string
	RowsRead   int64 // rows of its sources read so far
	RowsToRead int64 // rows of its sources when it began (estimated for large tables)
	Rows       int64 // rows of the view so far
}

// Stats returns the current counters; views are sorted by name.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := Stats{LogHead: e.lsn, Commits: e.commits, Sessions: e.sessions.Load()}
	if e.state.durable() {
		st.SyncedLSN, st.HistoryFrom = e.state.synced, e.state.historyFrom
	}
	for _, v := range e.order {
		st.Views = append(st.Views, ViewStats{
			Name: v.name, Frontier: v.frontier, Rows: v.rows, Epochs: v.epochs,
			Subscribers: v.subscribers(), RowsSent: v.rowsSent,
		})
	}
	sort.Slice(st.Views, func(i, j int) bool { return st.Views[i].Name < st.Views[j].Name })
	if p := e.building; p != nil {
		st.Build = &BuildStats{Name: p.name, RowsRead: p.read.Load(), RowsToRead: p.total, Rows: p.rows.Load()}
	}
	for _, t := range e.tables {
		if src := t.source; src != nil {
			st.Sources = append(st.Sources, SourceStats{Name: t.schema.Name, Objects: src.listed.Load(),
				Reconciles: src.reconciles.Load(), Inserted: src.inserted.Load(), Updated: src.updated.Load(), Deleted: src.deleted.Load(),
				ReconcileErrors: src.reconcileErrors.Load()})
		}
	}
	sort.Slice(st.Sources, func(i, j int) bool { return st.Sources[i].Name < st.Sources[j].Name })
	for _, sk := range e.sinks {
		st.Sinks = append(st.Sinks, SinkStats{Name: sk.name, View: sk.view, Written: sk.written.Load(), Errors: sk.errors.Load()})
	}
	sort.Slice(st.Sinks, func(i, j int) bool { return st.Sinks[i].Name < st.Sinks[j].Name })
	return st
}

// observeEpoch reports how long a view took to process an epoch.
func (e *Engine) observeEpoch(view string, d time.Duration) {
	if e.onEpoch != nil {
		e.onEpoch(view, d)
	}
}

// ArrangementSizes measures every arrangement and history of the view store (none for an
// engine whose views are in memory). compact first compacts the store so that the sizes
// are those of the state, not of its pending writes: slow on a large store, for
// measurement. It holds no engine lock while it measures; Close waits for it.
func (e *Engine) ArrangementSizes(ctx context.Context, compact bool) ([]arrangements.Size, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errEngineClosed
	}
	st := e.state.store
	if st == nil {
		e.mu.Unlock()
		return nil, nil
	}
	// Added before Close can start waiting: it sets e.closed under e.mu first.
	e.background.Add(1)
	e.mu.Unlock()
	defer e.background.Done()
	return st.Sizes(ctx, compact)
}
