package sqlplan

import (
	"errors"
	"fmt"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// Correlated subqueries are decorrelated with their domain (Neumann and Kemper, "Unnesting
// Arbitrary Queries"): the distinct values of the enclosing query's columns the subquery
// reads become a relation D, the subquery is planned once over D joined into its FROM (its
// references to the enclosing query read D's columns, so equalities become join keys) and
// returns D's columns beside its own, grouped by them if it aggregates. Its result R then
// holds, for every value of D, what the subquery returns for it, and is joined back to the
// enclosing query's rows on D's columns (null-safely: key() of the columns). Rows whose
// domain value has no rows in R get what the subquery returns for no rows. Everything is
// made of joins, reductions, unions and negations, so it is maintained incrementally.

// domainAlias names the domain of a correlated subquery among its FROM items.
const domainAlias = "__d"

// correlated is a subquery planned over its domain.
type correlated struct {
	body Plan         // R: the subquery's visible columns, then one column per reference
	cols []ColumnInfo // the subquery's own visible columns
	refs []scopeCol   // the enclosing query's columns it reads
	// agg is set for an aggregate without GROUP BY: R has one row per domain value that
	// has rows, and the others' value is the aggregate over no rows.
	agg bool
	sel *sqlparser.Select
}

// isCorrelatedTo reports whether err is a reference into the scope outer.
func isCorrelatedTo(err error, outer *scope) bool {
	var ce *correlatedRef
	return errors.As(err, &ce) && ce.scope == outer
}

// planCorrelated plans a subquery whose names reach into outer, the scope of plan's rows.
func (p *planner) planCorrelated(stmt sqlparser.TableStatement, plan Plan, outer *scope) (*correlated, error) {
	sel, ok := stmt.(*sqlparser.Select)
	if !ok {
		return nil, sqlerr.New(sqlerr.NotSupported, "correlated UNION subqueries are not supported yet")
	}
	aggregated := len(collectAllAggregates(sel)) > 0 || sel.GroupBy != nil
	var refs []scopeCol
	for {
		if len(refs) > len(outer.cols) {
			return nil, fmt.Errorf("decorrelate %s: references do not converge", sqlparser.String(sel))
		}
		exprs := make([]dataflow.Expr, len(refs))
		cols := make([]ColumnInfo, len(refs))
		at := make([]int, len(refs))
		for i, r := range refs {
			exprs[i] = dataflow.Col(r.pos, r.kind, r.name)
			cols[i] = ColumnInfo{Name: domainColumn(i), Kind: r.kind}
			at[i] = r.pos
		}
		if len(refs) > 0 {
			p.domain = &fromItem{alias: domainAlias, cols: cols, domainOf: at,
				plan: &Distinct{Input: &Project{Input: plan, Exprs: exprs, Cols: cols}}}
		}
		q, err := p.planSelect(withDomainColumns(sel, len(refs), aggregated), outer)
		p.domain = nil
		var ce *correlatedRef
		if errors.As(err, &ce) && ce.scope == outer {
			for _, r := range refs {
				if r.pos == ce.col.pos {
					return nil, fmt.Errorf("decorrelate %s: %s resolved twice", sqlparser.String(sel), ce.text)
				}
			}
			refs = append(refs, ce.col)
			continue
		}
		if err != nil {
			return nil, err
		}
		// With LIMIT, the top-k of each domain value: the domain columns are the last ones.
		group := make([]int, len(refs))
		for i := range group {
			group[i] = q.Visible - len(refs) + i
		}
		body, all := ViewPlan(q, group...)
		return &correlated{body: body, cols: all[:len(all)-len(refs)], refs: refs, sel: sel,
			agg: aggregated && sel.GroupBy == nil}, nil
	}
}

func domainColumn(i int) string { return fmt.Sprintf("__d%d", i) }

// withDomainColumns returns sel that also selects the first n domain columns, and groups by
// them if it aggregates. ORDER BY is dropped unless LIMIT makes it matter (a top-k per
// domain value).
func withDomainColumns(sel *sqlparser.Select, n int, aggregated bool) *sqlparser.Select {
	if n == 0 {
		return sel
	}
	out := *sel
	if sel.Limit == nil {
		out.OrderBy = nil
	}
	exprs := append([]sqlparser.SelectExpr(nil), sel.GetColumns()...)
	var group []sqlparser.Expr
	if sel.GroupBy != nil {
		group = append(group, sel.GroupBy.Exprs...)
	}
	for i := 0; i < n; i++ {
		col := sqlparser.NewColNameWithQualifier(domainColumn(i), sqlparser.NewTableName(domainAlias))
		exprs = append(exprs, &sqlparser.AliasedExpr{Expr: col})
		group = append(group, col)
	}
	out.SelectExprs = &sqlparser.SelectExprs{Exprs: exprs}
	if aggregated {
		out.GroupBy = &sqlparser.GroupBy{Exprs: group}
	}
	return &out
}

// keys returns the domain key of the enclosing query's rows and of the subquery's rows.
func (c *correlated) keys() (outer, inner dataflow.Expr) {
	oe := make([]dataflow.Expr, len(c.refs))
	ie := make([]dataflow.Expr, len(c.refs))
	for i, r := range c.refs {
		oe[i] = dataflow.Col(r.pos, r.kind, r.name)
		ie[i] = dataflow.Col(len(c.cols)+i, r.kind, r.name)
	}
	return dataflow.KeyOf(oe...), dataflow.KeyOf(ie...)
}

// attachByKey appends to plan's rows the columns vals of the row of s whose key columns
// equal leftKeys (evaluated over plan's rows), or fill where s has none. s must have at
// most one row per key. Rows of plan keep their columns and their multiplicity.
func attachByKey(plan Plan, leftKeys []dataflow.Expr, s Plan, rightKey, vals []int, fill []dataflow.Expr) Plan {
	cols := plan.Columns()
	w := len(cols)
	sc := s.Columns()
	left := widen(plan, leftKeys)
	lk := make([]int, len(leftKeys))
	for i := range lk {
		lk[i] = w + i
	}
	j := &Join{Left: left, Right: s, LeftKey: lk, RightKey: rightKey}
	keep := make([]dataflow.Expr, w)
	for i, c := range cols {
		keep[i] = dataflow.Col(i, c.Kind, c.Name)
	}
	matchedRows := &Project{Input: j, Exprs: keep, Cols: cols}
	exprs := append([]dataflow.Expr(nil), keep...)
	out := append([]ColumnInfo(nil), cols...)
	filled := append([]dataflow.Expr(nil), keep...)
	for i, v := range vals {
		exprs = append(exprs, dataflow.Col(w+len(leftKeys)+v, sc[v].Kind, sc[v].Name))
		out = append(out, sc[v])
		filled = append(filled, castTo(fill[i], sc[v].Kind))
	}
	matched := &Project{Input: j, Exprs: exprs, Cols: out}
	unmatched := &Union{Inputs: []Plan{plan, &Negate{Input: matchedRows}}}
	return &Union{Inputs: []Plan{matched, &Project{Input: unmatched, Exprs: filled, Cols: out}}}
}

// correlatedExists appends EXISTS (subquery) to plan's rows as a 1/0 column.
func (p *planner) correlatedExists(plan Plan, c *correlated) (Plan, dataflow.Expr, error) {
	w := len(plan.Columns())
	if c.agg {
		if c.sel.Having != nil {
			return nil, nil, sqlerr.New(sqlerr.NotSupported, "EXISTS of a correlated aggregate with HAVING is not supported yet")
		}
		return plan, dataflow.Lit(dataflow.NewInt(1)), nil // an aggregate always has its row
	}
	ok, ik := c.keys()
	keys := &Distinct{Input: &Project{Input: c.body, Exprs: []dataflow.Expr{ik}, Cols: []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}}}}
	marks := &Project{Input: keys, Exprs: []dataflow.Expr{dataflow.Col(0, dataflow.KindBytes, "key"), dataflow.Lit(dataflow.NewInt(1))},
		Cols: []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}, {Name: "exists", Kind: dataflow.KindInt}}}
	plan = attachByKey(plan, []dataflow.Expr{ok}, marks, []int{0}, []int{1}, []dataflow.Expr{dataflow.Lit(dataflow.NewInt(0))})
	return plan, dataflow.Col(w, dataflow.KindInt, "exists"), nil
}

// correlatedScalar appends the value of a scalar subquery to plan's rows.
func (p *planner) correlatedScalar(plan Plan, c *correlated, text string) (Plan, dataflow.Expr, error) {
	if len(c.cols) != 1 {
		return nil, nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
	}
	w := len(plan.Columns())
	kind := c.cols[0].Kind
	ok, ik := c.keys()
	keyed := &Project{Input: c.body, Exprs: []dataflow.Expr{ik, dataflow.Col(0, kind, c.cols[0].Name)},
		Cols: []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}, c.cols[0]}}
	if c.agg {
		if c.sel.Having != nil {
			return nil, nil, sqlerr.New(sqlerr.NotSupported, "a correlated scalar aggregate with HAVING is not supported yet")
		}
		empty, err := c.emptyValue()
		if err != nil {
			return nil, nil, err
		}
		plan = attachByKey(plan, []dataflow.Expr{ok}, keyed, []int{0}, []int{1}, []dataflow.Expr{empty})
		return plan, dataflow.Col(w, kind, text), nil
	}
	stats := &Reduce{Input: keyed, GroupBy: []int{0},
		Aggs: []dataflow.Aggregate{{Func: dataflow.AggCountStar}, {Func: dataflow.AggMax, Arg: 1, ArgKind: kind}},
		Cols: []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}, {Name: "count(*)", Kind: dataflow.KindInt}, {Name: "value", Kind: kind}}}
	plan = attachByKey(plan, []dataflow.Expr{ok}, stats, []int{0}, []int{1, 2}, []dataflow.Expr{dataflow.Lit(dataflow.NewInt(0)), dataflow.Lit(dataflow.Null)})
	return plan, &scalarSubquery{count: dataflow.Col(w, dataflow.KindInt, "count"), value: dataflow.Col(w+1, kind, "value"), text: text}, nil
}

// emptyValue is the value of an aggregate subquery without GROUP BY over no rows, over the
// enclosing query's rows: COUNT is 0, other aggregates NULL.
func (c *correlated) emptyValue() (dataflow.Expr, error) {
	ae, ok := c.sel.GetColumns()[0].(*sqlparser.AliasedExpr)
	if !ok {
		return nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
	}
	special := map[sqlparser.Expr]dataflow.Expr{}
	walkExpr(ae.Expr, func(n sqlparser.SQLNode) bool {
		a, ok := n.(sqlparser.AggrFunc)
		if !ok {
			return true
		}
		switch a.(type) {
		case *sqlparser.CountStar, *sqlparser.Count:
			special[a] = dataflow.Lit(dataflow.NewInt(0))
		default:
			special[a] = dataflow.Lit(dataflow.Null)
		}
		return false
	})
	e, err := ConvertScalar(&exprScope{s: &scope{cols: c.refs}, special: special}, ae.Expr)
	if err != nil {
		return nil, sqlerr.New(sqlerr.NotSupported, "this correlated aggregate subquery is not supported yet: %v", err)
	}
	return e, nil
}

// correlatedIn appends x IN (subquery) to plan's rows, with SQL's NULL semantics.
func (p *planner) correlatedIn(plan Plan, es *exprScope, left sqlparser.Expr, c *correlated) (Plan, dataflow.Expr, error) {
	if _, ok := left.(sqlparser.ValTuple); ok {
		return nil, nil, sqlerr.New(sqlerr.NotSupported, "row constructors with IN subqueries are not supported yet")
	}
	if len(c.cols) != 1 {
		return nil, nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
	}
	x, err := ConvertScalar(es, left)
	if err != nil {
		return nil, nil, err
	}
	w := len(plan.Columns())
	kind := comparisonKind(x.Type(), c.cols[0].Kind)
	ok, ik := c.keys()
	v := castTo(dataflow.Col(0, c.cols[0].Kind, c.cols[0].Name), kind)
	values := &Distinct{Input: &Project{Input: c.body, Exprs: []dataflow.Expr{v, ik},
		Cols: []ColumnInfo{{Name: "value", Kind: kind}, {Name: "key", Kind: dataflow.KindBytes}}}}
	hits := &Project{Input: values, Exprs: []dataflow.Expr{dataflow.Col(0, kind, "value"), dataflow.Col(1, dataflow.KindBytes, "key"), dataflow.Lit(dataflow.NewInt(1))},
		Cols: []ColumnInfo{{Name: "value", Kind: kind}, {Name: "key", Kind: dataflow.KindBytes}, {Name: "hit", Kind: dataflow.KindInt}}}
	plan = attachByKey(plan, []dataflow.Expr{castTo(x, kind), ok}, hits, []int{0, 1}, []int{2}, []dataflow.Expr{dataflow.Lit(dataflow.NewInt(0))})
	keyed := &Project{Input: c.body, Exprs: []dataflow.Expr{ik, dataflow.Col(0, c.cols[0].Kind, c.cols[0].Name)},
		Cols: []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}, c.cols[0]}}
	stats := &Reduce{Input: keyed, GroupBy: []int{0},
		Aggs: []dataflow.Aggregate{{Func: dataflow.AggCountStar}, {Func: dataflow.AggCount, Arg: 1, ArgKind: c.cols[0].Kind}},
		Cols: []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}, {Name: "rows", Kind: dataflow.KindInt}, {Name: "non_null", Kind: dataflow.KindInt}}}
	zero := dataflow.Lit(dataflow.NewInt(0))
	plan = attachByKey(plan, []dataflow.Expr{ok}, stats, []int{0}, []int{1, 2}, []dataflow.Expr{zero, zero})
	return plan, &inMark{hit: dataflow.Col(w, dataflow.KindInt, "hit"),
		miss: &notInMark{x: x, rows: dataflow.Col(w+1, dataflow.KindInt, "rows"), nonNull: dataflow.Col(w+2, dataflow.KindInt, "non_null")}}, nil
}

// inMark is x IN (subquery) from whether x matched a value (hit) and, if not, the rule for
// a miss.
type inMark struct {
	hit  dataflow.Expr
	miss *notInMark
}

// Operands returns the hit test and the miss's operands.
func (m *inMark) Operands() []dataflow.Expr {
	return append([]dataflow.Expr{m.hit}, m.miss.Operands()...)
}

// Eval is 1 for a hit, else the miss's 0 or NULL.
func (m *inMark) Eval(row dataflow.Row) (dataflow.Datum, error) {
	h, err := m.hit.Eval(row)
	if err != nil {
		return dataflow.Null, err
	}
	if h.Int() == 1 {
		return dataflow.NewInt(1), nil
	}
	return m.miss.Eval(row)
}

// Type is an integer truth value.
func (m *inMark) Type() dataflow.Kind { return dataflow.KindInt }

// String prints the mark's rule.
func (m *inMark) String() string { return fmt.Sprintf("in_mark(%s, %s)", m.hit, m.miss) }
