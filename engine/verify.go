package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// VerifyResult is how a materialized view compares with its query evaluated from scratch.
type VerifyResult struct {
	View string
	LSN  uint64 // the view's frontier, which the evaluation is at too
	Rows int64  // rows in the view, duplicates counted
	// Missing counts rows the query has and the view lacks, Unexpected rows the view has
	// and the query does not (duplicates counted). Both zero means the view is right.
	Missing, Unexpected int64
	// Differences lists up to maxDifferences of them: Diff > 0 is missing from the view,
	// Diff < 0 unexpected in it.
	Differences []dataflow.Update
}

// OK reports whether the view equals its query.
func (r VerifyResult) OK() bool { return r.Missing == 0 && r.Unexpected == 0 }

const maxDifferences = 20

// Verify recomputes the materialized view name (every one, in creation order, for "") from
// its tables and compares the result with the view's contents: the check to run after a
// scare. It takes a consistent snapshot of the tables and of every view's contents with the
// engine's lock held, and recomputes without it: other statements go on meanwhile.
func (e *Engine) Verify(ctx context.Context, name string) ([]VerifyResult, error) {
	type check struct {
		v        *view
		q        sqlplan.Query
		frontier uint64
		snap     *querySnapshot
		contents *arrangements.Snapshot // a Pebble view's contents
		copied   []dataflow.Update      // a view's contents in memory
	}
	var checks []*check
	defer func() {
		for _, c := range checks {
			if c.snap != nil {
				c.snap.close()
			}
			if c.contents != nil {
				_ = c.contents.Close()
			}
		}
	}()
	e.mu.Lock()
	if err := e.verifyable(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	views := e.order
	if name != "" {
		v, ok := e.views[strings.ToLower(name)]
		if !ok {
			e.mu.Unlock()
			return nil, sqlerr.New(sqlerr.NoSuchTable, "Materialized view '%s' doesn't exist", name)
		}
		views = []*view{v}
	}
	tx, err := e.store.Begin(false)
	if err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	for _, v := range views {
		c := &check{v: v, q: *v.query, frontier: v.frontier}
		c.q.OrderBy, c.q.Limit, c.q.Offset = nil, -1, 0
		checks = append(checks, c)
		if c.snap, err = e.readSnapshot(&c.q, tx); err != nil {
			e.mu.Unlock()
			return nil, fmt.Errorf("verify %s: %w", v.name, err)
		}
		if c.contents, err = arrangements.SnapshotOf(v.contents); err != nil {
			c.contents = nil
			err = v.contents.Scan(func(_ []byte, row dataflow.Row, n dataflow.Diff) bool {
				c.copied = append(c.copied, dataflow.Update{Row: row, Diff: n})
				return true
			})
			if err != nil {
				e.mu.Unlock()
				return nil, fmt.Errorf("verify %s: read contents: %w", v.name, err)
			}
		}
	}
	e.mu.Unlock()

	var out []VerifyResult
	for _, c := range checks {
		want, err := evalQuery(ctx, &c.q, c.snap, e.budget(ctx))
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", c.v.name, err)
		}
		res := VerifyResult{View: c.v.name, LSN: c.frontier}
		counts := map[string]*dataflow.Update{}
		var keys []string
		add := func(row dataflow.Row, d dataflow.Diff) {
			k := string(dataflow.AppendRowKey(nil, row))
			u, ok := counts[k]
			if !ok {
				u = &dataflow.Update{Row: row}
				counts[k] = u
				keys = append(keys, k)
			}
			u.Diff += d
		}
		for _, r := range want {
			add(r, 1)
		}
		read := func(row dataflow.Row, n dataflow.Diff) {
			res.Rows += n
			add(row, -n)
		}
		if c.contents != nil {
			err = c.contents.Scan(func(_ []byte, row dataflow.Row, n dataflow.Diff) bool {
				read(row, n)
				return interrupted(ctx) == nil
			})
			if err == nil {
				err = interrupted(ctx)
			}
		} else {
			for _, u := range c.copied {
				read(u.Row, u.Diff)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("verify %s: read contents: %w", c.v.name, err)
		}
		slices.Sort(keys)
		for _, k := range keys {
			u := counts[k]
			switch {
			case u.Diff > 0:
				res.Missing += u.Diff
			case u.Diff < 0:
				res.Unexpected -= u.Diff
			default:
				continue
			}
			if len(res.Differences) < maxDifferences {
				res.Differences = append(res.Differences, *u)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// verifyable is why views cannot be verified now (closed, failed), or nil. Called with e.mu
// held.
func (e *Engine) verifyable() error {
	if e.closed {
		return errEngineClosed
	}
	return e.failed
}

// verify runs VERIFY VIEW: one row per view.
func (e *Engine) verify(ctx context.Context, st *sqlplan.Verify) (*Result, error) {
	results, err := e.Verify(ctx, st.View)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []Column{
		{Name: "view", Kind: dataflow.KindString, SQLType: "TEXT"},
		{Name: "lsn", Kind: dataflow.KindInt, SQLType: "BIGINT UNSIGNED"},
		{Name: "rows", Kind: dataflow.KindInt, SQLType: "BIGINT"},
		{Name: "missing", Kind: dataflow.KindInt, SQLType: "BIGINT"},
		{Name: "unexpected", Kind: dataflow.KindInt, SQLType: "BIGINT"},
		{Name: "status", Kind: dataflow.KindString, SQLType: "TEXT"},
	}}
	for _, r := range results {
		status := "ok"
		if !r.OK() {
			status = "DIFFERS from its query: run cdc verify for the rows"
		}
		res.Rows = append(res.Rows, dataflow.Row{dataflow.NewString(r.View), dataflow.NewInt(int64(r.LSN)),
			dataflow.NewInt(r.Rows), dataflow.NewInt(r.Missing), dataflow.NewInt(r.Unexpected), dataflow.NewString(status)})
	}
	return res, nil
}
