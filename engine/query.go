package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// runQuery evaluates a query once: its dataflow runs a single hydration epoch over the
// current snapshot of its sources (the same operators a materialized view uses), then the
// result is sorted and limited. Called with e.mu held.
func (e *Engine) runQuery(ctx context.Context, q *sqlplan.Query, reader *sources.Txn) ([]dataflow.Row, error) {
	snap, err := e.readSnapshot(q, reader)
	if err != nil {
		return nil, err
	}
	defer snap.close()
	return evalQuery(ctx, q, snap, e.budget(ctx))
}

// querySnapshot is what a query reads, taken with e.mu held and read without it: the
// tables through a Genji transaction (a read transaction sees one committed state however
// long it runs), the materialized views through Pebble snapshots or, for views in memory,
// copies of their rows, all at the LSN lsn.
type querySnapshot struct {
	lsn    uint64
	reader *sources.Txn
	tables map[string]sources.TableSchema
	views  map[string]*arrangements.Snapshot
	copied map[string][]dataflow.Update
}

// readSnapshot takes the snapshot of every source of q. Called with e.mu held; reader must
// be a transaction only the caller uses.
func (e *Engine) readSnapshot(q *sqlplan.Query, reader *sources.Txn) (*querySnapshot, error) {
	snap := &querySnapshot{lsn: e.lsn, reader: reader, tables: map[string]sources.TableSchema{},
		views: map[string]*arrangements.Snapshot{}, copied: map[string][]dataflow.Update{}}
	for _, src := range sqlplan.Sources(q.Plan) {
		kind, name, _ := strings.Cut(src, ":")
		switch kind {
		case "table":
			t, ok := e.tables[name]
			if !ok {
				snap.close()
				return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
			}
			snap.tables[src] = t.schema
		case "view":
			v, ok := e.views[name]
			if !ok {
				snap.close()
				return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
			}
			if sn, err := arrangements.SnapshotOf(v.contents); err == nil {
				snap.views[src] = sn
				continue
			}
			us, err := e.snapshot(src, reader, nil) // in memory: a copy
			if err != nil {
				snap.close()
				return nil, err
			}
			snap.copied[src] = us
		default:
			snap.close()
			return nil, fmt.Errorf("unknown source %q", src)
		}
	}
	return snap, nil
}

// read returns the rows of one source as +count updates, charging them to budget.
func (snap *querySnapshot) read(ctx context.Context, src string, budget *dataflow.Budget) ([]dataflow.Update, error) {
	var out []dataflow.Update
	add := func(row dataflow.Row, c dataflow.Diff) error {
		u := dataflow.Update{Row: row, Time: snap.lsn, Diff: c}
		out = append(out, u)
		return budget.Charge(1, dataflow.UpdateBytes(u))
	}
	if ts, ok := snap.tables[src]; ok {
		err := snap.reader.Scan(ts, func(_ []byte, row dataflow.Row) error { return add(row, 1) })
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", ts.Name, err)
		}
		return out, nil
	}
	if sn, ok := snap.views[src]; ok {
		var addErr error
		err := sn.Scan(func(_ []byte, row dataflow.Row, c dataflow.Diff) bool {
			addErr = add(row, c)
			return addErr == nil
		})
		if addErr != nil {
			return nil, addErr
		}
		return out, err
	}
	us := snap.copied[src]
	return us, budget.Charge(len(us), dataflow.UpdatesBytes(us))
}

// close releases the Pebble snapshots.
func (snap *querySnapshot) close() {
	for _, sn := range snap.views {
		_ = sn.Close()
	}
}

// evalQuery evaluates q over a snapshot. It holds no engine lock and touches no engine
// state: other statements run meanwhile.
func evalQuery(ctx context.Context, q *sqlplan.Query, snap *querySnapshot, budget *dataflow.Budget) ([]dataflow.Row, error) {
	g, err := sqlplan.Lower(q.Plan, func(id string, _ sqlplan.ArrangementKind) dataflow.Arrangement { return arrangements.NewMem(id) })
	if err != nil {
		return nil, err
	}
	inputs := map[string][]dataflow.Update{}
	for _, src := range sqlplan.Sources(q.Plan) {
		if err := interrupted(ctx); err != nil {
			return nil, err
		}
		if inputs[src], err = snap.read(ctx, src, budget); err != nil {
			return nil, err
		}
	}
	ep := dataflow.NewEpoch(snap.lsn, inputs)
	ep.Hydrate = true
	ep.Budget = budget
	out, err := g.Step(ep)
	if err != nil {
		return nil, err
	}
	var rows []dataflow.Row
	for _, u := range out {
		if u.Diff < 0 {
			return nil, fmt.Errorf("internal error: query result has a row %d times", u.Diff)
		}
		for i := dataflow.Diff(0); i < u.Diff; i++ {
			rows = append(rows, u.Row)
		}
	}
	if len(q.OrderBy) > 0 {
		slices.SortStableFunc(rows, func(a, b dataflow.Row) int { return compareForOrder(a, b, q.OrderBy) })
	}
	if q.Offset > 0 {
		if q.Offset >= int64(len(rows)) {
			rows = nil
		} else {
			rows = rows[q.Offset:]
		}
	}
	if q.Limit >= 0 && q.Limit < int64(len(rows)) {
		rows = rows[:q.Limit]
	}
	if q.Visible < len(q.Plan.Columns()) {
		for i, r := range rows {
			rows[i] = r[:q.Visible:q.Visible]
		}
	}
	return rows, nil
}

// compareForOrder orders rows by sort keys with SQL semantics: NULL first ascending.
func compareForOrder(a, b dataflow.Row, keys []sqlplan.SortKey) int {
	return dataflow.CompareOrder(a, b, keys)
}
