package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// view is a materialized view: its dataflow, its contents and its subscribers.
type view struct {
	id       uint64 // catalog sequence number: names its stored state
	name     string
	sql      string
	refs     []string // relations its query names
	query    *sqlplan.Query
	graph    *dataflow.Graph
	sources  map[string]bool // dataflow inputs the graph reads
	contents dataflow.Arrangement
	shared   map[string]dataflow.Arrangement // the shared arrangements its graph reads, by id
	frontier uint64
	subs     map[*Subscription]struct{}
	// matches holds the subscribers restricted to rows with given values, by matched columns.
	matches  map[string]*matchIndex
	rows     int64  // rows in the contents, duplicates counted
	epochs   uint64 // epochs that changed the view's inputs
	rowsSent uint64 // rows delivered to subscribers
	// created is the LSN the view's history starts at: it was built (or rebuilt) there.
	created uint64
	// fingerprint identifies the layout of its stored state; owned names its own
	// arrangements (not the shared ones).
	fingerprint string
	owned       []string
	// joinRows are the row counts of the relations it reads as they were when it was
	// built, by lower-case name: its joins are ordered by them (sqlplan.Relation.Rows),
	// and the engine plans it with the same counts each time it opens.
	joinRows map[string]int64
}

// newView returns a view of a planned query, without its dataflow.
func newView(id uint64, name, sql string, q *sqlplan.Query) *view {
	return &view{id: id, name: name, sql: sql, query: q, sources: map[string]bool{},
		subs: map[*Subscription]struct{}{}, shared: map[string]dataflow.Arrangement{}}
}

// lowerRunning lowers a view's plan into the graph that maintains it, over the shared
// arrangements already maintained (else new ones) and, for everything else, the
// arrangements own(id) returns. It sets the view's graph, contents, owned names and
// fingerprint.
func (e *Engine) lowerRunning(v *view, plan sqlplan.Plan, own func(name string, kind sqlplan.ArrangementKind) dataflow.Arrangement) error {
	prefix := arrangementPrefix(v.id, v.name)
	var names []string
	g, err := sqlplan.Lower(plan, func(id string, kind sqlplan.ArrangementKind) dataflow.Arrangement {
		if kind.Use() != sqlplan.Shared {
			names = append(names, prefix+id)
			v.owned = append(v.owned, prefix+id)
			return own(prefix+id, kind)
		}
		names = append(names, id)
		a, ok := v.shared[id]
		if !ok {
			if s, ok := e.shared[id]; ok {
				a = s.arr
			} else {
				a = own(id, kind)
			}
			v.shared[id] = a
		}
		return a
	})
	if err != nil {
		return err
	}
	v.graph = g
	v.owned = append(v.owned, prefix+"contents")
	contents := sqlplan.Private
	if sqlplan.DistinctRows(plan) {
		contents |= sqlplan.SetOf // a retracted row is deleted without reading its count
	}
	v.contents = own(prefix+"contents", contents)
	for _, src := range sqlplan.Sources(plan) {
		v.sources[src] = true
	}
	v.fingerprint = fingerprint(v.sql, g.Explain(), names)
	return nil
}

// attachView brings back a view from the stored state of a data directory, without
// recomputing it, given its stored record (nil when there is none). It returns why not (""
// when attached) if the state is missing or was laid out differently.
func (e *Engine) attachView(v *view, rec *viewRecord) (string, error) {
	if !e.state.durable() {
		return "no stored state (in-memory engine)", nil
	}
	if rec == nil {
		return "its stored state is missing", nil
	}
	plan, _ := sqlplan.ViewPlan(v.query)
	if err := e.lowerRunning(v, plan, e.state.arrangement); err != nil {
		return "", err
	}
	if v.fingerprint != rec.fingerprint {
		v.graph, v.owned, v.shared = nil, nil, map[string]dataflow.Arrangement{}
		return "its stored state was laid out by a different plan", nil
	}
	v.rows, v.created, v.frontier = rec.rows, rec.created, e.state.frontier
	return "", nil
}

// buildView plans, lowers and hydrates a materialized view at the current LSN without
// buildView plans a new view and hydrates it from the current contents of its sources.
// The hydration runs inside unlocked, which the DDL statement gives to let other
// statements use the engine meanwhile (it still holds the writer slot, so the LSN and the
// catalog stay as they are): it stages its arrangements in a batch of its own and reads
// the sources through reader. Once hydrated, a view on Pebble is lowered again over the
// epoch batch, whose epochs maintain it from then on.
func (e *Engine) buildView(ctx context.Context, id uint64, name, sql string, q *sqlplan.Query, joinRows map[string]int64, reader *sources.Txn, limited bool, unlocked func(func() error) error) (_ *view, err error) {
	plan, _ := sqlplan.ViewPlan(q)
	v := newView(id, name, sql, q)
	v.frontier, v.created, v.joinRows = e.lsn, e.lsn, joinRows
	hb := e.state.hydrationBatch()
	// Hydrate into the view's own arrangements and new shared ones; shared arrangements
	// that other views already maintain are hydrated into temporary copies instead, so
	// that they are not read while the new view's snapshot flows in.
	fresh := map[string]dataflow.Arrangement{}
	if err := e.lowerRunning(v, plan, func(name string, kind sqlplan.ArrangementKind) dataflow.Arrangement {
		a := e.state.arrangementIn(hb, name, kind)
		fresh[name] = a
		return a
	}); err != nil {
		return nil, err
	}
	progress := e.startBuild(name, v.sources, reader)
	defer func() { e.endBuild(progress, err) }()
	// The build's own arrangements take their entries in bulk until they are read.
	var bulk *arrangements.Bulk
	if hb != nil {
		bulk = e.state.store.NewBulk(hb, slices.Collect(maps.Keys(fresh)))
	}
	prefix := arrangementPrefix(id, name)
	var temps []string
	hydrating, err := sqlplan.Lower(plan, func(id string, kind sqlplan.ArrangementKind) dataflow.Arrangement {
		if kind.Use() != sqlplan.Shared {
			return fresh[prefix+id]
		}
		if a, ok := fresh[id]; ok {
			return a
		}
		temp := "hydrate:" + prefix + id
		temps = append(temps, temp)
		a := e.state.arrangementIn(hb, temp, kind)
		fresh[id] = a // a self-join reads one collection by one key on both sides
		return a
	})
	if err != nil {
		return nil, err
	}
	err = unlocked(func() error {
		if err := e.hydrate(ctx, v, hydrating, reader, limited, hb, progress); err != nil {
			return err
		}
		if bulk != nil {
			return bulk.Finish(ctx)
		}
		return nil
	})
	if err == nil && e.closed {
		err = errEngineClosed
	}
	if err != nil {
		if hb != nil {
			bulk.Discard()
			hb.Close()
		}
		// Chunks already written must not stay behind.
		var drop []string
		for n := range fresh {
			if _, shared := e.shared[n]; !shared {
				drop = append(drop, n)
			}
		}
		e.state.deleteArrangements(append(drop, temps...))
		return nil, err
	}
	e.state.deleteArrangements(temps)
	if hb == nil {
		return v, nil // in memory: the hydrated arrangements are the view's
	}
	built := newView(id, name, sql, q)
	built.frontier, built.created, built.rows, built.joinRows = v.frontier, v.created, v.rows, v.joinRows
	if err := e.lowerRunning(built, plan, e.state.arrangement); err != nil {
		return nil, err
	}
	return built, nil
}

// hydrate feeds the current contents of a new view's sources through its hydrating graph,
// in steps of at most e.hydrationStep rows, each an ordinary incremental epoch at the current
// LSN (the first marked Hydrate). Steps are committed as they go (in hb, nil in memory), so a
// view store never holds a whole snapshot in memory. Each step's dataflow is bounded by the
// statement memory limit when limited is set, and every step stops when ctx is done or the
// engine closes. It runs without the engine's lock: it touches only the new view, its
// batch and reader.
func (e *Engine) hydrate(ctx context.Context, v *view, g *dataflow.Graph, reader *sources.Txn, limited bool, hb *arrangements.Batch, progress *buildProgress) error {
	stop := func() error {
		if e.bgCtx != nil && e.bgCtx.Err() != nil {
			return errEngineClosed
		}
		return interrupted(ctx)
	}
	first := true
	step := func(src string, rows []dataflow.Update) error {
		if err := stop(); err != nil {
			return err
		}
		inputs := map[string][]dataflow.Update{}
		if src != "" {
			inputs[src] = rows
		}
		ep := dataflow.NewEpoch(e.lsn, inputs)
		ep.Hydrate, first = first, false
		ep.Budget = &dataflow.Budget{Interrupt: stop}
		if limited {
			ep.Budget = &dataflow.Budget{Limit: e.stmtMemLimit, Interrupt: stop}
		}
		out, err := g.Step(ep)
		if err != nil {
			return err
		}
		ep.Stage(v.contents, keyedByRow(out))
		if err := ep.Commit(); err != nil {
			return err
		}
		v.rows += sumDiffs(out)
		if err := e.state.commitStep(hb); err != nil {
			return err
		}
		progress.stepped(e.log, len(rows), v.rows)
		return nil
	}
	srcs := make([]string, 0, len(v.sources))
	for src := range v.sources {
		srcs = append(srcs, src)
	}
	// Smallest first: the rows of the largest source (the messages of a chat) then flow
	// through joins whose other sides are complete and small, the order the planner joins
	// them in (sqlplan.Relation.Rows), instead of meeting the largest arrangement again
	// from each smaller source after it.
	slices.SortFunc(srcs, func(a, b string) int {
		_, an, _ := strings.Cut(a, ":")
		_, bn, _ := strings.Cut(b, ":")
		return cmp.Or(cmp.Compare(v.joinRows[an], v.joinRows[bn]), strings.Compare(a, b))
	})
	for _, src := range srcs {
		if err := e.pipeSource(src, reader, func(rows []dataflow.Update) error { return step(src, rows) }); err != nil {
			return err
		}
	}
	if first {
		return step("", nil) // no rows anywhere: constants and global aggregates still emit
	}
	return nil
}

// pipeSource scans a source on a goroutine of its own and hands its rows to step in chunks
// of e.hydrationStep, so that reading and decoding the table overlaps the dataflow of the
// chunk before (each took about half of a build). At most two chunks are in flight besides
// the one step holds. When step fails the scan stops; pipeSource returns once the scanning
// goroutine has, so the reader is not in use after it.
func (e *Engine) pipeSource(src string, reader *sources.Txn, step func([]dataflow.Update) error) error {
	chunks := make(chan []dataflow.Update, 1)
	free := make(chan []dataflow.Update, 2)
	stop := make(chan struct{})
	var scanErr error
	go func() {
		defer close(chunks)
		chunk := make([]dataflow.Update, 0, e.hydrationStep)
		send := func() error {
			select {
			case chunks <- chunk:
			case <-stop:
				return errStopped
			}
			select {
			case chunk = <-free:
			default:
				chunk = make([]dataflow.Update, 0, e.hydrationStep)
			}
			return nil
		}
		scanErr = e.scanSource(src, reader, func(u dataflow.Update) error {
			if chunk = append(chunk, u); len(chunk) < e.hydrationStep {
				return nil
			}
			return send()
		})
		if scanErr == nil && len(chunk) > 0 {
			_ = send()
		}
	}()
	var err error
	for c := range chunks {
		if err != nil {
			continue // draining: the scan is stopping
		}
		if err = step(c); err != nil {
			close(stop)
			continue
		}
		clear(c) // the rows are the dataflow's now; keep only the slice
		select {
		case free <- c[:0]:
		default:
		}
	}
	if err != nil {
		return err
	}
	if errors.Is(scanErr, errStopped) {
		return nil
	}
	return scanErr
}

// errStopped ends a scan whose consumer stopped.
var errStopped = errors.New("scan stopped")

// abandonDDL drops the view state a failed DDL statement staged or wrote.
func (e *Engine) abandonDDL() {
	e.state.discard()
	v := e.pendingView
	if v == nil {
		return
	}
	e.pendingView = nil
	names := slices.Clone(v.owned)
	for id := range v.shared {
		if _, ok := e.shared[id]; !ok {
			names = append(names, id)
		}
	}
	e.state.deleteArrangements(names)
}

// register adds a view to the engine and takes its shared arrangement references.
func (e *Engine) register(v *view) {
	e.views[strings.ToLower(v.name)] = v
	e.order = append(e.order, v)
	e.acquireShared(v)
}

// acquireShared takes the view's references to shared arrangements.
func (e *Engine) acquireShared(v *view) {
	for id, a := range v.shared {
		s, ok := e.shared[id]
		if !ok {
			s = &sharedArrangement{arr: a}
			e.shared[id] = s
		}
		s.refs++
	}
}

// unregister removes a view, releases its shared arrangements and returns the names of
// those nobody uses any more.
func (e *Engine) unregister(v *view) []string {
	delete(e.views, strings.ToLower(v.name))
	for i, o := range e.order {
		if o == v {
			e.order = append(e.order[:i:i], e.order[i+1:]...)
			break
		}
	}
	var unused []string
	for id := range v.shared {
		if s, ok := e.shared[id]; ok {
			s.refs--
			if s.refs <= 0 {
				delete(e.shared, id)
				unused = append(unused, id)
			}
		}
	}
	v.closeSubscribers(fmt.Errorf("materialized view %s was dropped", v.name))
	return unused
}

// keyedByRow lays updates out as a view's contents: ordered by row, with an empty key.
func keyedByRow(us []dataflow.Update) []dataflow.KeyedUpdate {
	out := make([]dataflow.KeyedUpdate, len(us))
	for i, u := range us {
		out[i] = dataflow.KeyedUpdate{Row: u.Row, Diff: u.Diff}
	}
	return out
}

// snapshot returns the current contents of a source as +count updates at the current LSN.
func (e *Engine) snapshot(src string, reader *sources.Txn, budget *dataflow.Budget) ([]dataflow.Update, error) {
	var out []dataflow.Update
	err := e.scanSource(src, reader, func(u dataflow.Update) error {
		out = append(out, u)
		return budget.Charge(1, dataflow.UpdateBytes(u))
	})
	return out, err
}

// scanSource calls fn with each row of a source as a +count update at the current LSN.
func (e *Engine) scanSource(src string, reader *sources.Txn, fn func(dataflow.Update) error) error {
	kind, name, _ := strings.Cut(src, ":")
	switch kind {
	case "table":
		t, ok := e.tables[name]
		if !ok {
			return sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
		}
		err := reader.Scan(t.schema, func(_ []byte, row dataflow.Row) error {
			return fn(dataflow.Update{Row: row, Time: e.lsn, Diff: 1})
		})
		if err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		return nil
	case "view":
		v, ok := e.views[name]
		if !ok {
			return sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
		}
		var fnErr error
		err := v.contents.Scan(func(_ []byte, row dataflow.Row, c dataflow.Diff) bool {
			fnErr = fn(dataflow.Update{Row: row, Time: e.lsn, Diff: c})
			return fnErr == nil
		})
		if fnErr != nil {
			return fnErr
		}
		return err
	}
	return fmt.Errorf("unknown source %q", src)
}

// viewRows returns a view's rows, each repeated by its count.
func viewRows(v *view) ([]dataflow.Row, error) {
	var rows []dataflow.Row
	err := v.contents.Scan(func(_ []byte, row dataflow.Row, c dataflow.Diff) bool {
		for i := dataflow.Diff(0); i < c; i++ {
			rows = append(rows, row)
		}
		return true
	})
	return rows, err
}

// epochResult is what applying an epoch to the views produced, before it is committed.
type epochResult struct {
	ep      *dataflow.Epoch
	changes map[*view][]dataflow.Update
	touched []touchedView
}

// touchedView is a view that processed an epoch and how long it took.
type touchedView struct {
	v    *view
	took time.Duration
}

// runEpoch computes every affected view's changes for the given source changes, staging
// (not applying) all arrangement changes. Views run in dependency order; a view's changes
// are the input of the views that read it.
func (e *Engine) runEpoch(lsn uint64, inputs map[string][]dataflow.Update, budget *dataflow.Budget) (*epochResult, error) {
	ep := dataflow.NewEpoch(lsn, inputs)
	ep.Budget = budget
	res := &epochResult{ep: ep, changes: map[*view][]dataflow.Update{}}
	for _, v := range e.order {
		if v.graph == nil {
			continue // waiting to be rebuilt (recover)
		}
		touched := false
		for src := range v.sources {
			if len(ep.Inputs[src]) > 0 {
				touched = true
				break
			}
		}
		if !touched {
			continue
		}
		start := time.Now()
		out, err := v.graph.Step(ep)
		if err != nil {
			return nil, fmt.Errorf("maintain materialized view %s: %w", v.name, err)
		}
		res.touched = append(res.touched, touchedView{v, time.Since(start)})
		if len(out) == 0 {
			continue
		}
		res.changes[v] = out
		ep.Inputs[viewSource(v.name)] = out
		ep.Stage(v.contents, keyedByRow(out))
	}
	return res, nil
}

// applyEpoch makes a computed epoch visible: arrangements, frontiers and subscribers. An
// error here means the view store could not be written after the change log was: the engine
// stops serving (see fail) and a restart replays the log into the views.
func (e *Engine) applyEpoch(lsn uint64, res *epochResult) error {
	if err := e.stageEpoch(lsn, res); err != nil {
		return err
	}
	e.publishEpoch(lsn, res)
	return nil
}

// stageEpoch applies a computed epoch to the arrangements and the view store, where the next
// epoch reads it; nothing else shows it (the LSN, frontiers, subscribers) before
// publishEpoch, and readers, who take their snapshots under e.mu, do not see it as long as
// e.mu stays held until then. Called with e.mu held.
func (e *Engine) stageEpoch(lsn uint64, res *epochResult) error {
	if err := res.ep.Commit(); err != nil {
		return e.fail(err)
	}
	for v, us := range res.changes {
		v.rows += sumDiffs(us)
	}
	if err := e.state.commitEpoch(lsn, e.order, res.changes); err != nil {
		return e.fail(err)
	}
	return nil
}

// publishEpoch makes a staged epoch visible: the engine's LSN, every view's frontier, the
// views' subscribers and WaitLSN. Called with e.mu held, in LSN order.
func (e *Engine) publishEpoch(lsn uint64, res *epochResult) {
	e.setLSN(lsn)
	e.commits++
	for _, t := range res.touched {
		t.v.epochs++
		e.observeEpoch(t.v.name, t.took)
	}
	for _, v := range e.order {
		v.frontier = lsn
		v.publish(lsn, res.changes[v])
	}
	e.wakeWaiters()
}

// setLSN makes lsn the last committed LSN, for the paths that take mu and for those that
// read published. Called with e.mu held, once lsn is durable.
func (e *Engine) setLSN(lsn uint64) {
	e.lsn = lsn
	e.published.Store(lsn)
}

// sumDiffs adds up the diffs of updates: the change in a collection's row count.
func sumDiffs(us []dataflow.Update) int64 {
	var n int64
	for _, u := range us {
		n += u.Diff
	}
	return n
}
