package sqlplan

import (
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// aliases returns the relation aliases an item's columns belong to.
func (it fromItem) aliases() []string {
	if it.colTables == nil {
		if it.alias == "" {
			return nil
		}
		return []string{it.alias}
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range it.colTables {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// planOuterJoin plans a LEFT or RIGHT JOIN as one FROM item that holds the columns of both
// sides: the inner join on the ON condition (its equalities between the sides as join keys,
// the rest as a filter), plus the rows of the preserved side that matched nothing, padded
// with NULLs. Those are the preserved rows less the ones whose key(row) appears among the
// inner join's: a count per row, maintained like every other join.
func (p *planner) planOuterJoin(t *sqlparser.JoinTableExpr, outer *scope) (fromItem, error) {
	side := func(te sqlparser.TableExpr) (Plan, *scope, error) {
		var items []fromItem
		var preds []sqlparser.Expr
		if err := p.collectFrom(te, &items, &preds, outer); err != nil {
			return nil, nil, err
		}
		plan, sc, post, err := p.joinItems(items, preds, outer)
		if err != nil {
			return nil, nil, err
		}
		if len(post) > 0 {
			return nil, nil, sqlerr.New(sqlerr.NotSupported, "subqueries in a join condition are not supported yet")
		}
		return plan, sc, nil
	}
	lp, ls, err := side(t.LeftExpr)
	if err != nil {
		return fromItem{}, err
	}
	rp, rs, err := side(t.RightExpr)
	if err != nil {
		return fromItem{}, err
	}
	lw := len(lp.Columns())
	// The item's columns, by position: the left side's, then the right side's.
	cols := make([]ColumnInfo, 0, lw+len(rp.Columns()))
	tables := make([]string, 0, cap(cols))
	both := &scope{parent: outer}
	for _, s := range []struct {
		sc  *scope
		p   Plan
		off int
	}{{ls, lp, 0}, {rs, rp, lw}} {
		pc := s.p.Columns()
		at := make([]scopeCol, len(pc))
		for _, c := range s.sc.cols {
			at[c.pos] = c
		}
		for i, c := range at {
			cols = append(cols, ColumnInfo{Name: c.name, Kind: c.kind, SQLType: pc[i].SQLType})
			tables = append(tables, c.table)
			both.cols = append(both.cols, scopeCol{table: c.table, name: c.name, pos: s.off + i, kind: c.kind})
		}
	}
	var conds []sqlparser.Expr
	if t.Condition != nil && t.Condition.On != nil {
		if HasSubquery(t.Condition.On) {
			return fromItem{}, sqlerr.New(sqlerr.NotSupported, "subqueries in a join condition are not supported yet")
		}
		conds = SplitAnd(t.Condition.On, nil)
	}
	if t.Condition != nil {
		for _, col := range t.Condition.Using {
			l, lok := tableOf(ls, col.String())
			r, rok := tableOf(rs, col.String())
			if !lok || !rok {
				return fromItem{}, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'from clause'", col.String())
			}
			conds = append(conds, &sqlparser.ComparisonExpr{Operator: sqlparser.EqualOp,
				Left:  sqlparser.NewColNameWithQualifier(col.String(), sqlparser.NewTableName(l)),
				Right: sqlparser.NewColNameWithQualifier(col.String(), sqlparser.NewTableName(r))})
		}
	}
	// Equalities between the sides become join keys; the rest filters the inner join.
	own := func(s *scope) *scope { return &scope{cols: s.cols} }
	var lk, rk, residual []sqlparser.Expr
	for _, c := range conds {
		if cmp, ok := c.(*sqlparser.ComparisonExpr); ok && cmp.Operator == sqlparser.EqualOp {
			switch {
			case resolvesIn(own(ls), cmp.Left) && resolvesIn(own(rs), cmp.Right):
				lk, rk = append(lk, cmp.Left), append(rk, cmp.Right)
				continue
			case resolvesIn(own(rs), cmp.Left) && resolvesIn(own(ls), cmp.Right):
				lk, rk = append(lk, cmp.Right), append(rk, cmp.Left)
				continue
			}
		}
		residual = append(residual, c)
	}
	inner, err := joinOn(lp, ls, rp, rs, lk, rk)
	if err != nil {
		return fromItem{}, err
	}
	if len(residual) > 0 {
		pred, err := ConvertScalar(&exprScope{s: both}, andAll(residual))
		if err != nil {
			return fromItem{}, err
		}
		inner = &Filter{Input: inner, Pred: pred}
	}
	var plan Plan
	if t.Join == sqlparser.LeftJoinType && isFullJoinSide(t.RightExpr) {
		plan = &Union{Inputs: []Plan{inner, padUnmatched(lp, inner, 0, cols), padUnmatched(rp, inner, lw, cols)}}
	} else if t.Join == sqlparser.RightJoinType {
		plan = &Union{Inputs: []Plan{inner, padUnmatched(rp, inner, lw, cols)}}
	} else {
		plan = &Union{Inputs: []Plan{inner, padUnmatched(lp, inner, 0, cols)}}
	}
	return fromItem{plan: plan, cols: cols, colTables: tables}, nil
}

// padUnmatched returns the rows of the preserved side that are not among the inner join's
// (where the preserved columns start at off), padded with NULLs to the join's columns.
func padUnmatched(preserved, inner Plan, off int, cols []ColumnInfo) Plan {
	pc := preserved.Columns()
	pw := len(pc)
	innerKey := make([]dataflow.Expr, pw)
	rowKey := make([]dataflow.Expr, pw)
	keep := make([]dataflow.Expr, pw)
	for i, c := range pc {
		innerKey[i] = dataflow.Col(off+i, c.Kind, c.Name)
		rowKey[i] = dataflow.Col(i, c.Kind, c.Name)
		keep[i] = rowKey[i]
	}
	keyCol := []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}}
	matchedKeys := &Distinct{Input: &Project{Input: inner, Exprs: []dataflow.Expr{dataflow.KeyOf(innerKey...)}, Cols: keyCol}}
	matched := &Project{Input: &Join{Left: widen(preserved, []dataflow.Expr{dataflow.KeyOf(rowKey...)}), Right: matchedKeys,
		LeftKey: []int{pw}, RightKey: []int{0}}, Exprs: keep, Cols: pc}
	unmatched := &Union{Inputs: []Plan{preserved, &Negate{Input: matched}}}
	exprs := make([]dataflow.Expr, len(cols))
	for i, c := range cols {
		if i >= off && i < off+pw {
			exprs[i] = dataflow.Col(i-off, c.Kind, c.Name)
		} else {
			exprs[i] = castTo(dataflow.Lit(dataflow.Null), c.Kind)
		}
	}
	return &Project{Input: unmatched, Exprs: exprs, Cols: cols}
}

// isFullJoinSide reports whether a join's right side is the marked one of a FULL JOIN.
func isFullJoinSide(te sqlparser.TableExpr) bool {
	at, ok := te.(*sqlparser.AliasedTableExpr)
	if !ok {
		return false
	}
	dt, ok := at.Expr.(*sqlparser.DerivedTable)
	if !ok {
		return false
	}
	sel, ok := dt.Select.(*sqlparser.Select)
	if !ok || sel.Comments == nil {
		return false
	}
	for _, c := range sel.Comments.GetComments() {
		if c == fullJoinMarker {
			return true
		}
	}
	return false
}

// resolvesIn reports whether every column an expression names is in the scope (not an
// enclosing one).
func resolvesIn(s *scope, e sqlparser.Expr) bool {
	ok := true
	walkExpr(e, func(n sqlparser.SQLNode) bool {
		if c, is := n.(*sqlparser.ColName); is {
			if _, err := s.resolve(c); err != nil {
				ok = false
			}
		}
		return ok
	})
	return ok
}

// tableOf returns the alias of the first column of that name in a scope.
func tableOf(s *scope, name string) (string, bool) {
	for _, c := range s.cols {
		if strings.EqualFold(c.name, name) {
			return c.table, true
		}
	}
	return "", false
}

// andAll joins conjuncts with AND.
func andAll(es []sqlparser.Expr) sqlparser.Expr {
	out := es[0]
	for _, e := range es[1:] {
		out = &sqlparser.AndExpr{Left: out, Right: e}
	}
	return out
}
