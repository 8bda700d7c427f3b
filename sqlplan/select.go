package sqlplan

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// Catalog resolves relation names for the planner.
type Catalog interface {
	// Relation returns the named table or view, or a sqlerr.NoSuchTable error.
	Relation(name string) (*Relation, error)
}

// Relation is a named collection the planner can read.
type Relation struct {
	Name    string
	Columns []ColumnInfo
	// Source is the dataflow input of a table or materialized view.
	Source string
	// Key lists the columns of a table's primary key: no two of its rows share them. Nil:
	// rows may repeat (a table without a primary key) or the catalog does not say.
	Key []int
	// Query is the definition of a plain (non-materialized) view, inlined where used.
	Query sqlparser.TableStatement
	// Order is a materialized view's ORDER BY over its columns: a query that reads the view
	// alone and has no ORDER BY of its own returns its rows in that order, as MySQL does.
	Order []SortKey
	// Rows counts the rows of a table or materialized view for ordering joins (see
	// joinOrderBySize), if the catalog can; nil counts as 0. The planner calls it only for
	// relations joined with others.
	Rows func() int64
}

// Query is a planned SELECT: a plan whose rows are the result, plus what only a one-shot
// read applies (ordering and limits).
type Query struct {
	Plan Plan
	// Visible is the number of leading plan columns the client sees; the rest are sort keys.
	Visible int
	OrderBy []SortKey
	Limit   int64 // -1 when there is none
	Offset  int64
}

// SortKey orders a result by one plan column.
type SortKey = dataflow.OrderKey

// Columns returns the columns the client sees.
func (q *Query) Columns() []ColumnInfo { return q.Plan.Columns()[:q.Visible] }

// PlanQuery plans a SELECT or UNION.
func PlanQuery(cat Catalog, stmt sqlparser.TableStatement) (*Query, error) {
	p := &planner{cat: cat}
	q, err := p.planStatement(stmt, nil)
	var ce *correlatedRef
	if errors.As(err, &ce) {
		return nil, sqlerr.New(sqlerr.NotSupported, "this correlated subquery is not supported yet (reference to %s)", ce.text)
	}
	return q, err
}

type planner struct {
	cat Catalog
	// viewDepth guards against views that (through a cycle) expand forever.
	viewDepth int
	// domain, when set, is the first FROM item of the next SELECT planned: the domain of
	// the correlated subquery being decorrelated.
	domain *fromItem
	// ctes are the common table expressions in scope, innermost WITH last.
	ctes []map[string]cteEntry
	// fromOrder is set by joinItems to the order of a FROM clause of one relation that has
	// one (see Relation.Order), else nil.
	fromOrder []SortKey
}

func (p *planner) planStatement(stmt sqlparser.TableStatement, outer *scope) (*Query, error) {
	switch s := stmt.(type) {
	case *sqlparser.Select:
		return p.planSelect(s, outer)
	case *sqlparser.Union:
		return p.planUnion(s, outer)
	}
	return nil, sqlerr.New(sqlerr.NotSupported, "statement not supported as a query: %s", sqlparser.String(stmt))
}

// planSelect plans FROM and WHERE (with join ordering), subqueries, aggregation, the select
// list, DISTINCT, ORDER BY and LIMIT, in that order.
func (p *planner) planSelect(sel *sqlparser.Select, outer *scope) (*Query, error) {
	pop, err := p.pushWith(sel.With)
	if err != nil {
		return nil, err
	}
	defer pop()
	if sel.Into != nil {
		return nil, sqlerr.New(sqlerr.NotSupported, "SELECT ... INTO is not supported")
	}
	var conjuncts []sqlparser.Expr
	if sel.Where != nil {
		conjuncts = SplitAnd(sel.Where.Expr, nil)
	}
	plan, sc, post, err := p.planFrom(sel.From, conjuncts, outer)
	if err != nil {
		return nil, err
	}
	inherited := p.fromOrder
	es := &exprScope{s: sc, special: map[sqlparser.Expr]dataflow.Expr{}}
	// WHERE conjuncts with subqueries or that could not be placed among the joins.
	if len(post) > 0 {
		// A top-level x IN (subquery) is a semi-join; other subqueries are attached.
		rest := post[:0:0]
		for _, c := range post {
			if x, sub, ok := isInSubquery(c); ok {
				next, err := p.semiJoin(plan, es, x, sub, sc)
				if isCorrelatedTo(err, sc) {
					rest = append(rest, c) // decorrelated by attachSubqueries
					continue
				}
				if err != nil {
					return nil, err
				}
				plan = next
				continue
			}
			rest = append(rest, c)
		}
		post = rest
		for _, c := range post {
			if plan, err = p.attachSubqueries(plan, es, c); err != nil {
				return nil, err
			}
		}
		for _, c := range post {
			pred, err := ConvertScalar(es, c)
			if err != nil {
				return nil, err
			}
			plan = &Filter{Input: plan, Pred: pred}
		}
	}
	selectExprs := sel.GetColumns()
	var orderExprs []sqlparser.Expr
	for _, o := range sel.OrderBy {
		orderExprs = append(orderExprs, o.Expr)
	}
	var having sqlparser.Expr
	if sel.Having != nil {
		having = sel.Having.Expr
	}
	aggs := distinctAggregates(collectAllAggregates(sel))
	if len(aggs) > 0 || sel.GroupBy != nil {
		plan, es, err = p.aggregate(plan, es, sel, aggs)
		if err != nil {
			return nil, err
		}
	}
	// Subqueries in the select list, HAVING and ORDER BY are attached to the current plan.
	for _, se := range selectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok {
			if plan, err = p.attachSubqueries(plan, es, ae.Expr); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range append(orderExprs, having) {
		if e != nil {
			if plan, err = p.attachSubqueries(plan, es, e); err != nil {
				return nil, err
			}
		}
	}
	if plan, err = p.attachWindows(plan, es, selectExprs, orderExprs); err != nil {
		return nil, err
	}
	exprs, cols, err := p.selectList(es, selectExprs)
	if err != nil {
		return nil, err
	}
	es.aliases = map[string]dataflow.Expr{}
	for i, se := range selectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok && !ae.As.IsEmpty() {
			if j := aliasIndex(selectExprs, i); j >= 0 {
				es.aliases[strings.ToLower(ae.As.String())] = exprs[j]
			}
		}
	}
	if having != nil {
		pred, err := ConvertScalar(es, having)
		if err != nil {
			return nil, err
		}
		plan = &Filter{Input: plan, Pred: pred}
	}
	q := &Query{Limit: -1}
	visible := len(exprs)
	for _, o := range sel.OrderBy {
		col, err := p.orderColumn(es, o.Expr, selectExprs, cols, &exprs, &cols)
		if err != nil {
			return nil, err
		}
		q.OrderBy = append(q.OrderBy, SortKey{Col: col, Desc: o.Direction == sqlparser.DescOrder})
	}
	if len(sel.OrderBy) == 0 && len(aggs) == 0 && sel.GroupBy == nil {
		q.OrderBy = inheritOrder(inherited, sc, sel.Distinct, &exprs, &cols, visible)
	}
	if sel.Distinct && len(exprs) > visible {
		return nil, sqlerr.New(sqlerr.OrderNotSelected, "Expression of ORDER BY clause is not in SELECT list; this is incompatible with DISTINCT")
	}
	plan = &Project{Input: plan, Exprs: exprs, Cols: cols}
	if sel.Distinct {
		plan = &Distinct{Input: plan}
	}
	q.Plan, q.Visible = plan, visible
	if err := setLimit(q, sel.Limit); err != nil {
		return nil, err
	}
	return q, nil
}

// aliasIndex maps the i-th select expression to its first output column (stars expand).
func aliasIndex(selectExprs []sqlparser.SelectExpr, i int) int {
	n := 0
	for j := 0; j < i; j++ {
		if _, ok := selectExprs[j].(*sqlparser.StarExpr); ok {
			return -1
		}
		n++
	}
	return n
}

// selectList converts the select expressions, expanding stars in FROM order.
func (p *planner) selectList(es *exprScope, selectExprs []sqlparser.SelectExpr) ([]dataflow.Expr, []ColumnInfo, error) {
	var exprs []dataflow.Expr
	var out []ColumnInfo
	for _, se := range selectExprs {
		switch s := se.(type) {
		case *sqlparser.StarExpr:
			table := s.TableName.Name.String()
			matched := false
			cols := es.s.cols
			if es.grouped {
				cols = es.pre.cols
			}
			for _, c := range cols {
				if (table != "" && !strings.EqualFold(c.table, table)) || (table == "" && c.table == domainAlias) {
					continue // the domain of a correlated subquery is not part of *
				}
				matched = true
				var e dataflow.Expr = dataflow.Col(c.pos, c.kind, c.name)
				if es.grouped {
					var err error
					if e, err = es.Column(sqlparser.NewColNameWithQualifier(c.name, sqlparser.NewTableName(c.table))); err != nil {
						return nil, nil, err
					}
				}
				exprs = append(exprs, e)
				out = append(out, ColumnInfo{Name: c.name, Kind: e.Type()})
			}
			if !matched && table != "" {
				return nil, nil, sqlerr.New(sqlerr.BadField, "Unknown table '%s'", table)
			}
		case *sqlparser.AliasedExpr:
			e, err := ConvertScalar(es, s.Expr)
			if err != nil {
				return nil, nil, err
			}
			name := s.As.String()
			if name == "" {
				if c, ok := s.Expr.(*sqlparser.ColName); ok {
					name = c.Name.String()
				} else {
					name = sqlparser.String(s.Expr)
				}
			}
			exprs = append(exprs, e)
			out = append(out, ColumnInfo{Name: name, Kind: e.Type()})
		default:
			return nil, nil, sqlerr.New(sqlerr.NotSupported, "select expression not supported: %s", sqlparser.String(se))
		}
	}
	return exprs, out, nil
}

// orderColumn finds the output column an ORDER BY item sorts by, appending a hidden column
// when it is not in the select list.
func (p *planner) orderColumn(es *exprScope, e sqlparser.Expr, selectExprs []sqlparser.SelectExpr, visible []ColumnInfo, exprs *[]dataflow.Expr, cols *[]ColumnInfo) (int, error) {
	if lit, ok := e.(*sqlparser.Literal); ok && lit.Type == sqlparser.IntVal {
		n, err := strconv.Atoi(lit.Val)
		if err != nil || n < 1 || n > len(visible) {
			return 0, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'order clause'", lit.Val)
		}
		return n - 1, nil
	}
	if c, ok := e.(*sqlparser.ColName); ok && c.Qualifier.IsEmpty() {
		for i, se := range selectExprs {
			if ae, ok := se.(*sqlparser.AliasedExpr); ok && strings.EqualFold(ae.As.String(), c.Name.String()) {
				if j := aliasIndex(selectExprs, i); j >= 0 {
					return j, nil
				}
			}
		}
	}
	text := sqlparser.String(e)
	for i, se := range selectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok && sqlparser.String(ae.Expr) == text {
			if j := aliasIndex(selectExprs, i); j >= 0 {
				return j, nil
			}
		}
	}
	conv, err := ConvertScalar(es, e)
	if err != nil {
		return 0, err
	}
	*exprs = append(*exprs, conv)
	*cols = append(*cols, ColumnInfo{Name: text, Kind: conv.Type()})
	return len(*exprs) - 1, nil
}

// setLimit reads LIMIT and OFFSET, which must be integer literals.
func setLimit(q *Query, l *sqlparser.Limit) error {
	if l == nil {
		return nil
	}
	read := func(e sqlparser.Expr) (int64, error) {
		lit, ok := e.(*sqlparser.Literal)
		if !ok || lit.Type != sqlparser.IntVal {
			return 0, sqlerr.New(sqlerr.Parse, "LIMIT takes integer literals, got %s", sqlparser.String(e))
		}
		return strconv.ParseInt(lit.Val, 10, 64)
	}
	var err error
	if l.Rowcount != nil {
		if q.Limit, err = read(l.Rowcount); err != nil {
			return err
		}
	}
	if l.Offset != nil {
		if q.Offset, err = read(l.Offset); err != nil {
			return err
		}
	}
	return nil
}

// SplitAnd appends the conjuncts of e to out.
func SplitAnd(e sqlparser.Expr, out []sqlparser.Expr) []sqlparser.Expr {
	if a, ok := e.(*sqlparser.AndExpr); ok {
		out = SplitAnd(a.Left, out)
		return SplitAnd(a.Right, out)
	}
	return append(out, e)
}

// walkExpr visits the nodes of an expression, not descending into subqueries.
func walkExpr(e sqlparser.SQLNode, fn func(sqlparser.SQLNode) bool) {
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if !fn(n) {
			return false, nil
		}
		switch n.(type) {
		case *sqlparser.Subquery:
			return false, nil
		}
		return true, nil
	}, e)
}

// HasSubquery reports whether an expression contains a subquery or EXISTS.
func HasSubquery(e sqlparser.Expr) bool {
	found := false
	walkExpr(e, func(n sqlparser.SQLNode) bool {
		switch n.(type) {
		case *sqlparser.Subquery, *sqlparser.ExistsExpr:
			found = true
		}
		return !found
	})
	return found
}

// distinctAggregates drops aggregate calls written the same way as an earlier one.
func distinctAggregates(all []sqlparser.AggrFunc) []sqlparser.AggrFunc {
	var out []sqlparser.AggrFunc
	seen := map[string]bool{}
	for _, a := range all {
		if t := sqlparser.String(a); !seen[t] {
			seen[t] = true
			out = append(out, a)
		}
	}
	return out
}

// inheritOrder maps the order of the one relation a query reads (over the columns of sc)
// onto its output: a key selected as a plain column sorts by it, another becomes a hidden
// sort column, as an ORDER BY of an unselected column does (not with DISTINCT: then the
// query keeps no order).
func inheritOrder(order []SortKey, sc *scope, distinct bool, exprs *[]dataflow.Expr, cols *[]ColumnInfo, visible int) []SortKey {
	var out []SortKey
	for _, k := range order {
		j := -1
		for i, e := range (*exprs)[:visible] {
			if c, ok := dataflow.ColumnOf(e); ok && c == k.Col {
				j = i
				break
			}
		}
		if j < 0 {
			at := slices.IndexFunc(sc.cols, func(c scopeCol) bool { return c.pos == k.Col })
			if distinct || at < 0 {
				return nil
			}
			c := sc.cols[at]
			j = len(*exprs)
			*exprs = append(*exprs, dataflow.Col(c.pos, c.kind, c.name))
			*cols = append(*cols, ColumnInfo{Name: c.name, Kind: c.kind})
		}
		out = append(out, SortKey{Col: j, Desc: k.Desc})
	}
	return out
}
