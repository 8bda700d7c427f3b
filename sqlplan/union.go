package sqlplan

import (
	"strconv"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// planUnion plans UNION [ALL]: both sides are converted to common column kinds, concatenated,
// and made distinct unless ALL; ORDER BY and LIMIT apply to the union's result.
func (p *planner) planUnion(u *sqlparser.Union, outer *scope) (*Query, error) {
	pop, err := p.pushWith(u.With)
	if err != nil {
		return nil, err
	}
	defer pop()
	setOp, right, marked := setOpOf(u.Right)
	if !marked {
		right = u.Right
	}
	lq, err := p.planStatement(u.Left, outer)
	if err != nil {
		return nil, err
	}
	rq, err := p.planStatement(right, outer)
	if err != nil {
		return nil, err
	}
	lp, lc := ViewPlan(lq)
	rp, rc := ViewPlan(rq)
	if len(lc) != len(rc) {
		return nil, sqlerr.New(sqlerr.UnionColumns, "The used SELECT statements have a different number of columns")
	}
	cols := make([]ColumnInfo, len(lc))
	for i := range lc {
		cols[i] = ColumnInfo{Name: lc[i].Name, Kind: dataflow.UnifyKinds(lc[i].Kind, rc[i].Kind)}
	}
	var plan Plan = &Union{Inputs: []Plan{conform(lp, cols), conform(rp, cols)}}
	switch {
	case marked:
		plan = setOpPlan(setOp, conform(lp, cols), conform(rp, cols))
	case u.Distinct:
		plan = &Distinct{Input: plan}
	}
	q := &Query{Plan: plan, Visible: len(cols), Limit: -1}
	for _, o := range u.OrderBy {
		col := -1
		switch e := o.Expr.(type) {
		case *sqlparser.Literal:
			if n, err := strconv.Atoi(e.Val); err == nil && n >= 1 && n <= len(cols) {
				col = n - 1
			}
		case *sqlparser.ColName:
			for i, c := range cols {
				if strings.EqualFold(c.Name, e.Name.String()) {
					col = i
					break
				}
			}
		}
		if col < 0 {
			return nil, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'order clause'", sqlparser.String(o.Expr))
		}
		q.OrderBy = append(q.OrderBy, SortKey{Col: col, Desc: o.Direction == sqlparser.DescOrder})
	}
	if err := setLimit(q, u.Limit); err != nil {
		return nil, err
	}
	return q, nil
}

// conform casts a plan's columns to the given kinds, keeping it as is when they match.
func conform(p Plan, cols []ColumnInfo) Plan {
	have := p.Columns()
	same := true
	for i := range cols {
		if have[i].Kind != cols[i].Kind {
			same = false
		}
	}
	if same {
		return p
	}
	exprs := make([]dataflow.Expr, len(cols))
	for i, c := range cols {
		exprs[i] = castTo(dataflow.Col(i, have[i].Kind, have[i].Name), c.Kind)
	}
	return &Project{Input: p, Exprs: exprs, Cols: cols}
}
