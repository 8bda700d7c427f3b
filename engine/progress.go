package engine

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cdc-dev/cdc/sources"
)

// buildProgress is what SHOW MATERIALIZED VIEWS, the metrics and the log tell of the view
// being built: the rows of its sources read so far, of how many. The engine holds at most
// one (builds take the writer slot); its counters are written by the build and read by
// anyone.
type buildProgress struct {
	name    string
	total   int64 // rows of its sources when the build began (estimated past a few thousand)
	started time.Time
	read    atomic.Int64 // rows of its sources handed to its dataflow
	rows    atomic.Int64 // rows of the view so far
	logged  time.Time    // when the build last wrote to the log (the build's goroutine only)
}

// buildLogRows is the size of the sources from which a build logs its start, its progress
// (every buildLogEvery) and its end; a smaller build logs only if it takes buildLogEvery.
var (
	buildLogRows  int64 = 100_000 // variables for tests
	buildLogEvery       = 5 * time.Second
)

// startBuild records the build of a view over sources, read through reader, counting their
// rows; called with e.mu held.
func (e *Engine) startBuild(name string, srcs map[string]bool, reader *sources.Txn) *buildProgress {
	p := &buildProgress{name: name, started: time.Now()}
	for src := range srcs {
		kind, n, _ := strings.Cut(src, ":")
		switch kind {
		case "table":
			if t, ok := e.tables[n]; ok && reader != nil {
				if c, err := reader.CountRows(t.schema, 1<<40); err == nil {
					p.total += c
				}
			}
		case "view":
			if v, ok := e.views[n]; ok {
				p.total += v.rows
			}
		}
	}
	if p.total >= buildLogRows {
		p.logged = p.started
		e.log.Info("building materialized view", "view", name, "rows_to_read", p.total)
	}
	e.building = p
	return p
}

// stepped counts a step of the build; it logs the progress every buildLogEvery.
func (p *buildProgress) stepped(log *slog.Logger, read int, rows int64) {
	p.read.Add(int64(read))
	p.rows.Store(rows)
	if now := time.Now(); now.Sub(p.started) >= buildLogEvery && now.Sub(p.logged) >= buildLogEvery {
		p.logged = now
		log.Info("building materialized view", "view", p.name, "rows_read", p.read.Load(), "rows_to_read", p.total,
			"rows", rows, "took", now.Sub(p.started).Round(time.Millisecond))
	}
}

// endBuild forgets the build; called with e.mu held.
func (e *Engine) endBuild(p *buildProgress, err error) {
	if e.building == p {
		e.building = nil
	}
	if p.logged.IsZero() {
		return
	}
	took := time.Since(p.started).Round(time.Millisecond)
	if err != nil {
		e.log.Info("materialized view not built", "view", p.name, "rows_read", p.read.Load(), "took", took, "err", err)
		return
	}
	e.log.Info("built materialized view", "view", p.name, "rows_read", p.read.Load(), "rows", p.rows.Load(), "took", took)
}
