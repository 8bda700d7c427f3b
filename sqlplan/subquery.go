package sqlplan

import (
	"fmt"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// attachSubqueries plans the uncorrelated subqueries in e and joins their results to plan,
// recording in es.special the expression that replaces each one. Every construction keeps
// the plan's existing columns at their positions and appends new ones.
//
//   - A scalar subquery becomes a global Reduce (row count and the value) cross-joined as one
//     extra row; more than one row is the MySQL error 1242 when evaluated.
//   - EXISTS becomes a global count cross-joined, tested > 0.
//   - x [NOT] IN (subquery) becomes a mark join: the rows whose x matches a distinct
//     subquery value get mark 1, the others (the input minus the matched rows) get 0, or
//     NULL when x is NULL or the subquery has a NULL, as SQL's three-valued IN requires.
func (p *planner) attachSubqueries(plan Plan, es *exprScope, e sqlparser.Expr) (Plan, error) {
	var err error
	outer := es.s
	if es.grouped {
		outer = groupedScope(es)
	}
	// decorrelated plans a subquery that reads outer's columns.
	decorrelated := func(stmt sqlparser.TableStatement) (*correlated, error) {
		return p.planCorrelated(stmt, plan, outer)
	}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if err != nil {
			return false, nil
		}
		switch node := n.(type) {
		case *sqlparser.ComparisonExpr:
			sub, ok := node.Right.(*sqlparser.Subquery)
			if !ok {
				return true, nil
			}
			if node.Modifier == sqlparser.Missing && node.Operator != sqlparser.InOp && node.Operator != sqlparser.NotInOp {
				return true, nil // a scalar subquery compared: attached below
			}
			// Subqueries inside the left operand come first: the mark is computed over it.
			if HasSubquery(node.Left) {
				if plan, err = p.attachSubqueries(plan, es, node.Left); err != nil {
					return false, nil
				}
			}
			negate := node.Operator == sqlparser.NotInOp
			if node.Operator != sqlparser.InOp && node.Operator != sqlparser.NotInOp {
				if node.Modifier == sqlparser.Missing {
					return true, nil
				}
				if _, done := es.special[node]; done {
					return false, nil
				}
				switch {
				case node.Operator == sqlparser.EqualOp && node.Modifier == sqlparser.Any:
					negate = false // = ANY is IN
				case node.Operator == sqlparser.NotEqualOp && node.Modifier == sqlparser.All:
					negate = true // <> ALL is NOT IN
				default:
					plan, es.special[node], err = p.quantified(plan, es, node, sub, outer, decorrelated)
					return false, nil
				}
			}
			if _, done := es.special[node]; done {
				return false, nil
			}
			next, mark, merr := p.markJoin(plan, es, node.Left, sub, outer)
			if isCorrelatedTo(merr, outer) {
				var c *correlated
				if c, err = decorrelated(sub.Select); err != nil {
					return false, nil
				}
				next, mark, merr = p.correlatedIn(plan, es, node.Left, c)
			}
			if err = merr; err != nil {
				return false, nil
			}
			plan = next
			if negate {
				mark = dataflow.Not(mark)
			}
			es.special[node] = mark
			return false, nil
		case *sqlparser.ExistsExpr:
			if _, done := es.special[node]; done {
				return false, nil
			}
			q, qerr := p.planStatement(node.Subquery.Select, outer)
			if isCorrelatedTo(qerr, outer) {
				var c *correlated
				if c, err = decorrelated(node.Subquery.Select); err != nil {
					return false, nil
				}
				plan, es.special[node], err = p.correlatedExists(plan, c)
				return false, nil
			}
			if qerr != nil {
				err = qerr
				return false, nil
			}
			body, _ := ViewPlan(q)
			w := len(plan.Columns())
			count := &Reduce{Input: body, Aggs: []dataflow.Aggregate{{Func: dataflow.AggCountStar}}, Global: true,
				Cols: []ColumnInfo{{Name: "count(*)", Kind: dataflow.KindInt}}}
			plan = &Join{Left: plan, Right: count}
			es.special[node], err = dataflow.NewCompare(">", dataflow.Col(w, dataflow.KindInt, "exists"), dataflow.Lit(dataflow.NewInt(0)))
			return false, nil
		case *sqlparser.Subquery:
			if _, done := es.special[node]; done {
				return false, nil
			}
			q, qerr := p.planStatement(node.Select, outer)
			if isCorrelatedTo(qerr, outer) {
				var c *correlated
				if c, err = decorrelated(node.Select); err != nil {
					return false, nil
				}
				plan, es.special[node], err = p.correlatedScalar(plan, c, sqlparser.String(node))
				return false, nil
			}
			if qerr != nil {
				err = qerr
				return false, nil
			}
			body, cols := ViewPlan(q)
			if len(cols) != 1 {
				err = sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
				return false, nil
			}
			w := len(plan.Columns())
			agg := &Reduce{Input: body, Global: true,
				Aggs: []dataflow.Aggregate{{Func: dataflow.AggCountStar}, {Func: dataflow.AggMax, Arg: 0, ArgKind: cols[0].Kind}},
				Cols: []ColumnInfo{{Name: "count(*)", Kind: dataflow.KindInt}, {Name: "value", Kind: cols[0].Kind}}}
			plan = &Join{Left: plan, Right: agg}
			es.special[node] = &scalarSubquery{
				count: dataflow.Col(w, dataflow.KindInt, "count"),
				value: dataflow.Col(w+1, cols[0].Kind, "value"),
				text:  sqlparser.String(node),
			}
			return false, nil
		}
		return true, nil
	}, e)
	return plan, err
}

// semiJoin keeps the rows of plan whose x is IN (sub): the plan of a top-level WHERE
// conjunct x IN (subquery), where rows whose membership is false or NULL are dropped alike.
func (p *planner) semiJoin(plan Plan, es *exprScope, left sqlparser.Expr, sub *sqlparser.Subquery, outer *scope) (Plan, error) {
	if _, ok := left.(sqlparser.ValTuple); ok {
		return nil, sqlerr.New(sqlerr.NotSupported, "row constructors with IN subqueries are not supported yet")
	}
	q, err := p.planStatement(sub.Select, outer)
	if err != nil {
		return nil, err
	}
	if err := requireNoLimit(q, "an IN subquery"); err != nil {
		return nil, err
	}
	body, cols := VisiblePlan(q)
	if len(cols) != 1 {
		return nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
	}
	x, err := ConvertScalar(es, left)
	if err != nil {
		return nil, err
	}
	inCols := plan.Columns()
	w := len(inCols)
	kind := comparisonKind(x.Type(), cols[0].Kind)
	values := &Distinct{Input: &Project{Input: body, Exprs: []dataflow.Expr{castTo(dataflow.Col(0, cols[0].Kind, cols[0].Name), kind)},
		Cols: []ColumnInfo{{Name: cols[0].Name, Kind: kind}}}}
	joined := &Join{Left: widen(plan, []dataflow.Expr{castTo(x, kind)}), Right: values, LeftKey: []int{w}, RightKey: []int{0}}
	exprs := make([]dataflow.Expr, w)
	for i, c := range inCols {
		exprs[i] = dataflow.Col(i, c.Kind, c.Name)
	}
	return &Project{Input: joined, Exprs: exprs, Cols: inCols}, nil
}

// isInSubquery returns the parts of a conjunct x IN (subquery).
func isInSubquery(e sqlparser.Expr) (sqlparser.Expr, *sqlparser.Subquery, bool) {
	c, ok := e.(*sqlparser.ComparisonExpr)
	if !ok || c.Operator != sqlparser.InOp {
		return nil, nil, false
	}
	sub, ok := c.Right.(*sqlparser.Subquery)
	if !ok || HasSubquery(c.Left) {
		return nil, nil, false
	}
	return c.Left, sub, true
}

// markJoin appends to plan a column that is x IN (sub) with SQL's NULL semantics.
func (p *planner) markJoin(plan Plan, es *exprScope, left sqlparser.Expr, sub *sqlparser.Subquery, outer *scope) (Plan, dataflow.Expr, error) {
	if _, ok := left.(sqlparser.ValTuple); ok {
		return nil, nil, sqlerr.New(sqlerr.NotSupported, "row constructors with IN subqueries are not supported yet")
	}
	q, err := p.planStatement(sub.Select, outer)
	if err != nil {
		return nil, nil, err
	}
	if err := requireNoLimit(q, "an IN subquery"); err != nil {
		return nil, nil, err
	}
	body, cols := VisiblePlan(q)
	if len(cols) != 1 {
		return nil, nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
	}
	x, err := ConvertScalar(es, left)
	if err != nil {
		return nil, nil, err
	}
	inCols := plan.Columns()
	w := len(inCols)
	kind := comparisonKind(x.Type(), cols[0].Kind)
	keyed := widen(plan, []dataflow.Expr{castTo(x, kind)})
	values := &Distinct{Input: &Project{Input: body, Exprs: []dataflow.Expr{castTo(dataflow.Col(0, cols[0].Kind, cols[0].Name), kind)},
		Cols: []ColumnInfo{{Name: cols[0].Name, Kind: kind}}}}
	joined := &Join{Left: keyed, Right: values, LeftKey: []int{w}, RightKey: []int{0}}
	passthrough := func(extra dataflow.Expr) ([]dataflow.Expr, []ColumnInfo) {
		exprs := make([]dataflow.Expr, 0, w+1)
		out := make([]ColumnInfo, 0, w+1)
		for i, c := range inCols {
			exprs, out = append(exprs, dataflow.Col(i, c.Kind, c.Name)), append(out, c)
		}
		if extra != nil {
			exprs, out = append(exprs, extra), append(out, ColumnInfo{Name: "in", Kind: dataflow.KindInt})
		}
		return exprs, out
	}
	ex, ec := passthrough(nil)
	matched := &Project{Input: joined, Exprs: ex, Cols: ec}
	unmatched := &Union{Inputs: []Plan{plan, &Negate{Input: matched}}}
	stats := &Reduce{Input: body, Global: true,
		Aggs: []dataflow.Aggregate{{Func: dataflow.AggCountStar}, {Func: dataflow.AggCount, Arg: 0, ArgKind: cols[0].Kind}},
		Cols: []ColumnInfo{{Name: "rows", Kind: dataflow.KindInt}, {Name: "non_null", Kind: dataflow.KindInt}}}
	withStats := &Join{Left: unmatched, Right: stats}
	ex, ec = passthrough(&notInMark{x: x, rows: dataflow.Col(w, dataflow.KindInt, "rows"), nonNull: dataflow.Col(w+1, dataflow.KindInt, "non_null")})
	miss := &Project{Input: withStats, Exprs: ex, Cols: ec}
	ex, ec = passthrough(dataflow.Lit(dataflow.NewInt(1)))
	hit := &Project{Input: matched, Exprs: ex, Cols: ec}
	return &Union{Inputs: []Plan{hit, miss}}, dataflow.Col(w, dataflow.KindInt, "in"), nil
}

// scalarSubquery is the value of a scalar subquery from its row count and its value.
type scalarSubquery struct {
	count, value dataflow.Expr
	text         string
}

// Operands returns the count and the value.
func (s *scalarSubquery) Operands() []dataflow.Expr { return []dataflow.Expr{s.count, s.value} }

// Eval returns NULL for no row, the value for one, and error 1242 for more.
func (s *scalarSubquery) Eval(row dataflow.Row) (dataflow.Datum, error) {
	n, err := s.count.Eval(row)
	if err != nil {
		return dataflow.Null, err
	}
	switch {
	case n.Int() > 1:
		return dataflow.Null, sqlerr.New(sqlerr.SubqueryRows, "Subquery returns more than 1 row")
	case n.Int() == 0:
		return dataflow.Null, nil
	}
	return s.value.Eval(row)
}

// Type is the subquery column's kind.
func (s *scalarSubquery) Type() dataflow.Kind { return s.value.Type() }

// String prints the subquery.
func (s *scalarSubquery) String() string { return s.text }

// notInMark is the value of x IN (subquery) for a row whose x matched no subquery value.
type notInMark struct {
	x, rows, nonNull dataflow.Expr
}

// Operands returns the tested value and the subquery's counts.
func (m *notInMark) Operands() []dataflow.Expr { return []dataflow.Expr{m.x, m.rows, m.nonNull} }

// Eval is 0 for an empty subquery, NULL when x is NULL or the subquery has a NULL, else 0.
func (m *notInMark) Eval(row dataflow.Row) (dataflow.Datum, error) {
	rows, err := m.rows.Eval(row)
	if err != nil {
		return dataflow.Null, err
	}
	if rows.Int() == 0 {
		return dataflow.NewInt(0), nil
	}
	x, err := m.x.Eval(row)
	if err != nil {
		return dataflow.Null, err
	}
	nonNull, err := m.nonNull.Eval(row)
	if err != nil {
		return dataflow.Null, err
	}
	if x.IsNull() || nonNull.Int() < rows.Int() {
		return dataflow.Null, nil
	}
	return dataflow.NewInt(0), nil
}

// Type is an integer truth value.
func (m *notInMark) Type() dataflow.Kind { return dataflow.KindInt }

// String prints the mark's rule.
func (m *notInMark) String() string {
	return fmt.Sprintf("in_miss(%s, %s, %s)", m.x, m.rows, m.nonNull)
}

// quantified appends x op ANY|ALL (subquery) to plan's rows: from the subquery's row count,
// non-NULL count, minimum and maximum (per domain value when it is correlated), which decide
// every comparison with SQL's three-valued logic.
func (p *planner) quantified(plan Plan, es *exprScope, node *sqlparser.ComparisonExpr, sub *sqlparser.Subquery, outer *scope,
	decorrelated func(sqlparser.TableStatement) (*correlated, error)) (Plan, dataflow.Expr, error) {
	op := node.Operator.ToString()
	switch node.Operator {
	case sqlparser.EqualOp, sqlparser.NotEqualOp, sqlparser.LessThanOp, sqlparser.LessEqualOp, sqlparser.GreaterThanOp, sqlparser.GreaterEqualOp:
	default:
		return nil, nil, sqlerr.New(sqlerr.NotSupported, "%s with ANY/ALL is not supported", op)
	}
	x, err := ConvertScalar(es, node.Left)
	if err != nil {
		return nil, nil, err
	}
	w := len(plan.Columns())
	stats := func(input Plan, arg int, kind dataflow.Kind, group []int, cols []ColumnInfo) *Reduce {
		return &Reduce{Input: input, GroupBy: group, Global: len(group) == 0,
			Aggs: []dataflow.Aggregate{{Func: dataflow.AggCountStar}, {Func: dataflow.AggCount, Arg: arg, ArgKind: kind},
				{Func: dataflow.AggMin, Arg: arg, ArgKind: kind}, {Func: dataflow.AggMax, Arg: arg, ArgKind: kind}},
			Cols: append(cols, ColumnInfo{Name: "rows", Kind: dataflow.KindInt}, ColumnInfo{Name: "non_null", Kind: dataflow.KindInt},
				ColumnInfo{Name: "min", Kind: kind}, ColumnInfo{Name: "max", Kind: kind})}
	}
	var kind dataflow.Kind
	q, qerr := p.planStatement(sub.Select, outer)
	if isCorrelatedTo(qerr, outer) {
		c, err := decorrelated(sub.Select)
		if err != nil {
			return nil, nil, err
		}
		if len(c.cols) != 1 {
			return nil, nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
		}
		kind = c.cols[0].Kind
		ok, ik := c.keys()
		keyed := &Project{Input: c.body, Exprs: []dataflow.Expr{ik, dataflow.Col(0, kind, c.cols[0].Name)},
			Cols: []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}, c.cols[0]}}
		s := stats(keyed, 1, kind, []int{0}, []ColumnInfo{{Name: "key", Kind: dataflow.KindBytes}})
		zero, null := dataflow.Lit(dataflow.NewInt(0)), dataflow.Lit(dataflow.Null)
		plan = attachByKey(plan, []dataflow.Expr{ok}, s, []int{0}, []int{1, 2, 3, 4}, []dataflow.Expr{zero, zero, null, null})
	} else {
		if qerr != nil {
			return nil, nil, qerr
		}
		body, cols := ViewPlan(q)
		if len(cols) != 1 {
			return nil, nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
		}
		kind = cols[0].Kind
		plan = &Join{Left: plan, Right: stats(body, 0, kind, nil, nil)}
	}
	m := &quantifiedMark{op: node.Operator, all: node.Modifier == sqlparser.All, x: x,
		rows: dataflow.Col(w, dataflow.KindInt, "rows"), nonNull: dataflow.Col(w+1, dataflow.KindInt, "non_null"), text: sqlparser.String(node)}
	mn, mx := dataflow.Col(w+2, kind, "min"), dataflow.Col(w+3, kind, "max")
	if m.vsMin, err = dataflow.NewCompare(op, x, mn); err != nil {
		return nil, nil, err
	}
	if m.vsMax, err = dataflow.NewCompare(op, x, mx); err != nil {
		return nil, nil, err
	}
	if m.eqMin, err = dataflow.NewCompare("=", x, mn); err != nil {
		return nil, nil, err
	}
	if m.eqMax, err = dataflow.NewCompare("=", x, mx); err != nil {
		return nil, nil, err
	}
	return plan, m, nil
}

// quantifiedMark is x op ANY|ALL (subquery) from the subquery's statistics.
type quantifiedMark struct {
	op                         sqlparser.ComparisonExprOperator
	all                        bool
	x, rows, nonNull           dataflow.Expr
	vsMin, vsMax, eqMin, eqMax dataflow.Expr // x op min, x op max, x = min, x = max
	text                       string
}

// Operands returns the tested value, the subquery's counts and the comparisons.
func (m *quantifiedMark) Operands() []dataflow.Expr {
	return []dataflow.Expr{m.x, m.rows, m.nonNull, m.vsMin, m.vsMax, m.eqMin, m.eqMax}
}

// Eval decides the comparison: ALL is false as soon as one value fails it, ANY true as soon
// as one passes it, and otherwise a NULL on either side makes it NULL.
func (m *quantifiedMark) Eval(row dataflow.Row) (dataflow.Datum, error) {
	get := func(e dataflow.Expr) (dataflow.Datum, error) { return e.Eval(row) }
	rows, err := get(m.rows)
	if err != nil {
		return dataflow.Null, err
	}
	if rows.Int() == 0 {
		return dataflow.NewBool(m.all), nil // ALL of nothing holds, ANY of nothing does not
	}
	x, err := get(m.x)
	if err != nil {
		return dataflow.Null, err
	}
	nonNull, err := get(m.nonNull)
	if err != nil {
		return dataflow.Null, err
	}
	if x.IsNull() || nonNull.Int() == 0 {
		return dataflow.Null, nil
	}
	truth := func(e dataflow.Expr) (bool, error) {
		d, err := get(e)
		return !d.IsNull() && d.Int() != 0, err
	}
	// decided is the answer the extreme values give, if they give one.
	var decided, known bool
	switch m.op {
	case sqlparser.EqualOp, sqlparser.NotEqualOp:
		lo, err := truth(m.eqMin)
		if err != nil {
			return dataflow.Null, err
		}
		hi, err := truth(m.eqMax)
		if err != nil {
			return dataflow.Null, err
		}
		same := lo && hi // every non-NULL value equals x
		if m.op == sqlparser.EqualOp {
			decided, known = false, !same // = ALL: a different value makes it false
		} else {
			decided, known = true, !same // <> ANY: a different value makes it true
		}
	default:
		// The value that decides: for ALL the one x is least likely to pass, for ANY the
		// one it is most likely to pass.
		lower := m.op == sqlparser.GreaterThanOp || m.op == sqlparser.GreaterEqualOp // x > v passes small v
		var e dataflow.Expr
		switch {
		case m.all && lower, !m.all && !lower:
			e = m.vsMax
		default:
			e = m.vsMin
		}
		pass, err := truth(e)
		if err != nil {
			return dataflow.Null, err
		}
		if m.all {
			decided, known = false, !pass
		} else {
			decided, known = true, pass
		}
	}
	if known {
		return dataflow.NewBool(decided), nil
	}
	if nonNull.Int() < rows.Int() {
		return dataflow.Null, nil // a NULL value could go either way
	}
	return dataflow.NewBool(!decided), nil
}

// Type is an integer truth value.
func (m *quantifiedMark) Type() dataflow.Kind { return dataflow.KindInt }

// String prints the comparison.
func (m *quantifiedMark) String() string { return m.text }

// groupedScope is the scope a subquery sees after GROUP BY: the grouped columns (and those
// with one value per group) of the query, at their positions in the grouped rows.
func groupedScope(es *exprScope) *scope {
	sc := &scope{parent: es.pre.parent}
	for _, c := range es.pre.cols {
		g, ok := es.groupPos[c.pos]
		if !ok {
			if g, ok = es.anyValue[c.pos]; !ok {
				continue
			}
		}
		sc.cols = append(sc.cols, scopeCol{table: c.table, name: c.name, pos: g, kind: es.groupCols[g].Kind})
	}
	return sc
}
