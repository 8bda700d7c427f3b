package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlplan"
)

// runQuery evaluates a query once: its dataflow runs a single hydration epoch over the
// current snapshot of its sources (the same operators a materialized view uses), then the
// result is sorted and limited. Called with e.mu held.
func (e *Engine) runQuery(ctx context.Context, q *sqlplan.Query, reader *sources.Txn) ([]dataflow.Row, error) {
	g, err := sqlplan.Lower(q.Plan, func(id string, _ bool) dataflow.Arrangement { return arrangements.NewMem(id) })
	if err != nil {
		return nil, err
	}
	budget := e.budget(ctx)
	inputs := map[string][]dataflow.Update{}
	for _, src := range sqlplan.Sources(q.Plan) {
		if err := interrupted(ctx); err != nil {
			return nil, err
		}
		if inputs[src], err = e.snapshot(src, reader, budget); err != nil {
			return nil, err
		}
	}
	ep := dataflow.NewEpoch(e.lsn, inputs)
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
