package engine

import (
	"fmt"
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
	rows     int64  // rows in the contents, duplicates counted
	epochs   uint64 // epochs that changed the view's inputs
	rowsSent uint64 // rows delivered to subscribers
}

// newArrangement makes the arrangement of an id; the one constructor to swap for Pebble.
func newArrangement(id string) dataflow.Arrangement { return arrangements.NewMem(id) }

// buildView plans, lowers and hydrates a materialized view at the current LSN without
// registering it. reader reads the snapshot of tables.
func (e *Engine) buildView(name, sql string, q *sqlplan.Query, reader *sources.Txn) (*view, error) {
	if q.Limit >= 0 || q.Offset > 0 {
		return nil, sqlerr.New(sqlerr.NotSupported, "LIMIT in a materialized view (top-k) is not supported yet")
	}
	plan, _ := sqlplan.VisiblePlan(q)
	// Hydrate with fresh arrangements for every id, so that shared arrangements that other
	// views already maintain are not read while the new view's snapshot flows in.
	fresh := map[string]dataflow.Arrangement{}
	prefix := "view:" + strings.ToLower(name) + "/"
	hydrating, err := sqlplan.Lower(plan, func(id string, shared bool) dataflow.Arrangement {
		if !shared {
			id = prefix + id
		} else if a, ok := fresh[id]; ok {
			return a // a self-join reads one collection by one key on both sides
		}
		a := newArrangement(id)
		fresh[id] = a
		return a
	})
	if err != nil {
		return nil, err
	}
	v := &view{name: name, sql: sql, query: q, sources: map[string]bool{}, subs: map[*Subscription]struct{}{},
		contents: newArrangement(prefix + "contents"), frontier: e.lsn, shared: map[string]dataflow.Arrangement{}}
	inputs := map[string][]dataflow.Update{}
	for _, src := range sqlplan.Sources(plan) {
		v.sources[src] = true
		rows, err := e.snapshot(src, reader)
		if err != nil {
			return nil, err
		}
		inputs[src] = rows
	}
	ep := dataflow.NewEpoch(e.lsn, inputs)
	ep.Hydrate = true
	out, err := hydrating.Step(ep)
	if err != nil {
		return nil, err
	}
	if err := checkNonNegative(name, out); err != nil {
		return nil, err
	}
	ep.Stage(v.contents, keyedByRow(out))
	if err := ep.Commit(); err != nil {
		return nil, err
	}
	v.rows = sumDiffs(out)
	// The graph that runs from now on uses the shared arrangements already maintained and
	// the hydrated ones for everything else.
	v.graph, err = sqlplan.Lower(plan, func(id string, shared bool) dataflow.Arrangement {
		if !shared {
			return fresh[prefix+id]
		}
		a := fresh[id]
		if s, ok := e.shared[id]; ok {
			a = s.arr
		}
		v.shared[id] = a
		return a
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// register adds a built view to the engine and takes its shared arrangement references.
func (e *Engine) register(v *view) {
	for id, a := range v.shared {
		s, ok := e.shared[id]
		if !ok {
			s = &sharedArrangement{arr: a}
			e.shared[id] = s
		}
		s.refs++
	}
	e.views[strings.ToLower(v.name)] = v
	e.order = append(e.order, v)
}

// unregister removes a view and releases its shared arrangements.
func (e *Engine) unregister(v *view) {
	delete(e.views, strings.ToLower(v.name))
	for i, o := range e.order {
		if o == v {
			e.order = append(e.order[:i:i], e.order[i+1:]...)
			break
		}
	}
	for id := range v.shared {
		if s, ok := e.shared[id]; ok {
			s.refs--
			if s.refs <= 0 {
				delete(e.shared, id)
			}
		}
	}
	v.closeSubscribers(fmt.Errorf("materialized view %s was dropped", v.name))
}

// keyedByRow lays updates out as a view's contents: ordered by row, with an empty key.
func keyedByRow(us []dataflow.Update) []dataflow.KeyedUpdate {
	out := make([]dataflow.KeyedUpdate, len(us))
	for i, u := range us {
		out[i] = dataflow.KeyedUpdate{Row: u.Row, Diff: u.Diff}
	}
	return out
}

// checkNonNegative guards the invariant that a collection never has negative counts.
func checkNonNegative(name string, us []dataflow.Update) error {
	for _, u := range us {
		if u.Diff < 0 {
			return fmt.Errorf("internal error: view %s would hold a row %d times", name, u.Diff)
		}
	}
	return nil
}

// snapshot returns the current contents of a source as +count updates at the current LSN.
func (e *Engine) snapshot(src string, reader *sources.Txn) ([]dataflow.Update, error) {
	kind, name, _ := strings.Cut(src, ":")
	var out []dataflow.Update
	switch kind {
	case "table":
		t, ok := e.tables[name]
		if !ok {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
		}
		err := reader.Scan(t.schema, func(_ []byte, row dataflow.Row) error {
			out = append(out, dataflow.Update{Row: row, Time: e.lsn, Diff: 1})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", name, err)
		}
	case "view":
		v, ok := e.views[name]
		if !ok {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
		}
		err := v.contents.Scan(func(_ []byte, row dataflow.Row, c dataflow.Diff) bool {
			out = append(out, dataflow.Update{Row: row, Time: e.lsn, Diff: c})
			return true
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown source %q", src)
	}
	return out, nil
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
func (e *Engine) runEpoch(lsn uint64, inputs map[string][]dataflow.Update) (*epochResult, error) {
	ep := dataflow.NewEpoch(lsn, inputs)
	res := &epochResult{ep: ep, changes: map[*view][]dataflow.Update{}}
	for _, v := range e.order {
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

// applyEpoch makes a computed epoch visible: arrangements, frontiers and subscribers.
func (e *Engine) applyEpoch(lsn uint64, res *epochResult) error {
	if err := res.ep.Commit(); err != nil {
		return err
	}
	e.lsn = lsn
	e.commits++
	for _, t := range res.touched {
		t.v.epochs++
		e.observeEpoch(t.v.name, t.took)
	}
	for _, v := range e.order {
		v.frontier = lsn
		v.rows += sumDiffs(res.changes[v])
		v.publish(lsn, res.changes[v])
	}
	return nil
}

// sumDiffs adds up the diffs of updates: the change in a collection's row count.
func sumDiffs(us []dataflow.Update) int64 {
	var n int64
	for _, u := range us {
		n += u.Diff
	}
	return n
}
