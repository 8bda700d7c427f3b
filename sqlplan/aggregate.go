package sqlplan

import (
	"strconv"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/sqltypes"
	"vitess.io/vitess/go/vt/sqlparser"
)

// aggregate plans GROUP BY and the aggregate calls: a projection computes the group
// expressions and the aggregates' arguments, a Reduce maintains them, and the returned scope
// resolves group expressions and aggregate calls to the Reduce's columns.
func (p *planner) aggregate(plan Plan, es *exprScope, sel *sqlparser.Select, aggs []sqlparser.AggrFunc) (Plan, *exprScope, error) {
	var groupExprs []sqlparser.Expr
	if sel.GroupBy != nil {
		if sel.GroupBy.WithRollup {
			return nil, nil, sqlerr.New(sqlerr.NotSupported, "WITH ROLLUP is not supported")
		}
		for _, g := range sel.GroupBy.Exprs {
			resolved, err := resolveGroupItem(g, sel.GetColumns(), es)
			if err != nil {
				return nil, nil, err
			}
			groupExprs = append(groupExprs, resolved)
		}
	}
	var exprs []dataflow.Expr
	var cols []ColumnInfo
	post := &exprScope{
		s: es.s, special: map[sqlparser.Expr]dataflow.Expr{}, grouped: true, pre: es.s,
		groupPos: map[int]int{}, groupText: map[string]int{},
	}
	for i, g := range groupExprs {
		e, err := ConvertScalar(es, g)
		if err != nil {
			return nil, nil, err
		}
		exprs = append(exprs, e)
		cols = append(cols, ColumnInfo{Name: sqlparser.String(g), Kind: e.Type()})
		if c, ok := g.(*sqlparser.ColName); ok {
			if sc, err := es.s.resolve(c); err == nil {
				if _, dup := post.groupPos[sc.pos]; !dup {
					post.groupPos[sc.pos] = i
				}
				continue
			}
		}
		post.groupText[sqlparser.String(g)] = i
	}
	k := len(groupExprs)
	// Columns named outside aggregates that are not grouped take one value of their group
	// (MySQL without ONLY_FULL_GROUP_BY): an implicit MAX keeps that value incremental.
	implicit := map[int]sqlparser.AggrFunc{}
	for _, n := range ungroupedColumns(sel, es.s, post.groupPos) {
		sc, _ := es.s.resolve(n)
		if _, ok := implicit[sc.pos]; !ok {
			implicit[sc.pos] = &sqlparser.Max{Arg: n}
			aggs = append(aggs, implicit[sc.pos])
		}
	}
	var specs []dataflow.Aggregate
	for _, a := range aggs {
		spec, args, order, err := aggregateSpec(a)
		if err != nil {
			return nil, nil, err
		}
		// column projects an argument or ORDER BY expression of the aggregate.
		column := func(x sqlparser.Expr) (int, dataflow.Kind, error) {
			e, err := ConvertScalar(es, x)
			if err != nil {
				return 0, 0, err
			}
			exprs = append(exprs, e)
			cols = append(cols, ColumnInfo{Name: sqlparser.String(x), Kind: e.Type()})
			return len(exprs) - 1, e.Type(), nil
		}
		var argCols []int
		for j, arg := range args {
			c, kind, err := column(arg)
			if err != nil {
				return nil, nil, err
			}
			if j == 0 {
				spec.Arg, spec.ArgKind = c, kind
			} else {
				spec.More = append(spec.More, c)
			}
			argCols = append(argCols, c)
		}
		for _, o := range order {
			c, err := groupConcatOrderColumn(o.Expr, args, argCols, !spec.Distinct, column)
			if err != nil {
				return nil, nil, err
			}
			spec.Order = append(spec.Order, dataflow.OrderKey{Col: c, Desc: o.Direction == sqlparser.DescOrder})
		}
		specs = append(specs, spec)
	}
	pre := &Project{Input: plan, Exprs: exprs, Cols: cols}
	groupBy := make([]int, k)
	for i := range groupBy {
		groupBy[i] = i
	}
	outCols := append([]ColumnInfo(nil), cols[:k]...)
	for i, a := range aggs {
		outCols = append(outCols, ColumnInfo{Name: sqlparser.String(a), Kind: specs[i].ResultKind()})
	}
	red := &Reduce{Input: pre, GroupBy: groupBy, Aggs: specs, Global: k == 0, Cols: outCols}
	post.groupCols = outCols
	post.anyValue = map[int]int{}
	for pos, a := range implicit {
		for i, b := range aggs {
			if a == b {
				post.anyValue[pos] = k + i
			}
		}
	}
	for i, a := range aggs {
		post.special[a] = dataflow.Col(k+i, specs[i].ResultKind(), sqlparser.String(a))
	}
	// The same aggregate written twice is one column.
	for _, n := range collectAllAggregates(sel) {
		if _, ok := post.special[n]; ok {
			continue
		}
		for i, a := range aggs {
			if sqlparser.String(a) == sqlparser.String(n) {
				post.special[n] = dataflow.Col(k+i, specs[i].ResultKind(), sqlparser.String(a))
			}
		}
	}
	// The post-aggregation scope has no named columns; names resolve through the groups.
	post.s = &scope{parent: es.s.parent}
	return red, post, nil
}

// collectAllAggregates lists every aggregate node of the select list, HAVING and ORDER BY,
// including repeated ones.
func collectAllAggregates(sel *sqlparser.Select) []sqlparser.AggrFunc {
	var out []sqlparser.AggrFunc
	for _, n := range selectClauses(sel) {
		walkExpr(n, func(n sqlparser.SQLNode) bool {
			if a, ok := n.(sqlparser.AggrFunc); ok {
				out = append(out, a)
				return false
			}
			return true
		})
	}
	return out
}

// selectClauses returns the parts of a SELECT evaluated after grouping: the select list
// (without stars), HAVING and ORDER BY.
func selectClauses(sel *sqlparser.Select) []sqlparser.SQLNode {
	var out []sqlparser.SQLNode
	for _, se := range sel.GetColumns() {
		if _, star := se.(*sqlparser.StarExpr); !star {
			out = append(out, se)
		}
	}
	if sel.Having != nil {
		out = append(out, sel.Having.Expr)
	}
	for _, o := range sel.OrderBy {
		out = append(out, o.Expr)
	}
	return out
}

// resolveGroupItem turns GROUP BY ordinals and select aliases into the expressions they name.
func resolveGroupItem(g sqlparser.Expr, selectExprs []sqlparser.SelectExpr, es *exprScope) (sqlparser.Expr, error) {
	if lit, ok := g.(*sqlparser.Literal); ok && lit.Type == sqlparser.IntVal {
		n, err := strconv.Atoi(lit.Val)
		if err != nil || n < 1 || n > len(selectExprs) {
			return nil, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'group statement'", lit.Val)
		}
		ae, ok := selectExprs[n-1].(*sqlparser.AliasedExpr)
		if !ok {
			return nil, sqlerr.New(sqlerr.NotSupported, "GROUP BY a star column")
		}
		return ae.Expr, nil
	}
	if c, ok := g.(*sqlparser.ColName); ok && c.Qualifier.IsEmpty() {
		if _, err := es.s.resolve(c); err != nil {
			for _, se := range selectExprs {
				if ae, ok := se.(*sqlparser.AliasedExpr); ok && strings.EqualFold(ae.As.String(), c.Name.String()) {
					return ae.Expr, nil
				}
			}
		}
	}
	return g, nil
}

// aggregateSpec maps a vitess aggregate call to a Reduce aggregate, its arguments and, for
// GROUP_CONCAT, its ORDER BY.
func aggregateSpec(a sqlparser.AggrFunc) (dataflow.Aggregate, []sqlparser.Expr, sqlparser.OrderBy, error) {
	one := func(f dataflow.AggFunc, arg sqlparser.Expr, over *sqlparser.OverClause) (dataflow.Aggregate, []sqlparser.Expr, sqlparser.OrderBy, error) {
		if over != nil {
			return dataflow.Aggregate{}, nil, nil, sqlerr.New(sqlerr.NotSupported, "window functions are not supported: %s", sqlparser.String(a))
		}
		return dataflow.Aggregate{Func: f}, []sqlparser.Expr{arg}, nil, nil
	}
	switch f := a.(type) {
	case *sqlparser.CountStar:
		return dataflow.Aggregate{Func: dataflow.AggCountStar}, nil, nil, nil
	case *sqlparser.Count:
		if len(f.Args) != 1 && !f.Distinct {
			return dataflow.Aggregate{}, nil, nil, sqlerr.New(sqlerr.NotSupported, "COUNT with %d arguments is not supported", len(f.Args))
		}
		// COUNT(DISTINCT a, b, ...) counts the distinct tuples without a NULL component.
		return dataflow.Aggregate{Func: dataflow.AggCount, Distinct: f.Distinct}, f.Args, nil, nil
	case *sqlparser.Sum:
		return dataflow.Aggregate{Func: dataflow.AggSum, Distinct: f.Distinct}, []sqlparser.Expr{f.Arg}, nil, nil
	case *sqlparser.Avg:
		return dataflow.Aggregate{Func: dataflow.AggAvg, Distinct: f.Distinct}, []sqlparser.Expr{f.Arg}, nil, nil
	case *sqlparser.Min:
		return dataflow.Aggregate{Func: dataflow.AggMin}, []sqlparser.Expr{f.Arg}, nil, nil
	case *sqlparser.Max:
		return dataflow.Aggregate{Func: dataflow.AggMax}, []sqlparser.Expr{f.Arg}, nil, nil
	case *sqlparser.GroupConcatExpr:
		if f.Limit != nil {
			return dataflow.Aggregate{}, nil, nil, sqlerr.New(sqlerr.NotSupported, "GROUP_CONCAT with LIMIT is not supported yet")
		}
		spec := dataflow.Aggregate{Func: dataflow.AggGroupConcat, Distinct: f.Distinct,
			Separator: groupConcatSeparator(f.Separator)}
		return spec, f.Exprs, f.OrderBy, nil
	case *sqlparser.BitAnd:
		return one(dataflow.AggBitAnd, f.Arg, f.OverClause)
	case *sqlparser.BitOr:
		return one(dataflow.AggBitOr, f.Arg, f.OverClause)
	case *sqlparser.BitXor:
		return one(dataflow.AggBitXor, f.Arg, f.OverClause)
	case *sqlparser.Std:
		return one(dataflow.AggStddevPop, f.Arg, f.OverClause)
	case *sqlparser.StdDev:
		return one(dataflow.AggStddevPop, f.Arg, f.OverClause)
	case *sqlparser.StdPop:
		return one(dataflow.AggStddevPop, f.Arg, f.OverClause)
	case *sqlparser.StdSamp:
		return one(dataflow.AggStddevSamp, f.Arg, f.OverClause)
	case *sqlparser.Variance:
		return one(dataflow.AggVarPop, f.Arg, f.OverClause)
	case *sqlparser.VarPop:
		return one(dataflow.AggVarPop, f.Arg, f.OverClause)
	case *sqlparser.VarSamp:
		return one(dataflow.AggVarSamp, f.Arg, f.OverClause)
	}
	return dataflow.Aggregate{}, nil, nil, sqlerr.New(sqlerr.NotSupported, "aggregate not supported yet: %s", sqlparser.String(a))
}

// groupConcatSeparator decodes GROUP_CONCAT's SEPARATOR: vitess keeps it as an SQL string
// literal ('x', with backslash escapes), or "" when there is none, which means ",".
func groupConcatSeparator(lit string) string {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		if lit == "" {
			return ","
		}
		return lit
	}
	body := lit[1 : len(lit)-1]
	var sb strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			if d := sqltypes.SQLDecodeMap[body[i]]; d != sqltypes.DontEscape {
				sb.WriteByte(d)
			} else {
				sb.WriteByte(body[i])
			}
		case c == '\'' && i+1 < len(body) && body[i+1] == '\'':
			i++
			sb.WriteByte('\'')
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// groupConcatOrderColumn returns the input column of a GROUP_CONCAT ORDER BY expression: an
// argument's own column when the expression is one of the arguments or its position (as
// MySQL resolves GROUP_CONCAT(a ORDER BY 1)), a new column otherwise. With DISTINCT the
// keys must be arguments, so that distinct values are distinct argument tuples.
func groupConcatOrderColumn(x sqlparser.Expr, args []sqlparser.Expr, argCols []int, all bool,
	column func(sqlparser.Expr) (int, dataflow.Kind, error)) (int, error) {
	if lit, ok := x.(*sqlparser.Literal); ok && lit.Type == sqlparser.IntVal {
		n, err := strconv.Atoi(lit.Val)
		if err != nil || n < 1 || n > len(args) {
			return 0, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'order clause'", lit.Val)
		}
		return argCols[n-1], nil
	}
	text := sqlparser.String(x)
	for j, arg := range args {
		if sqlparser.String(arg) == text {
			return argCols[j], nil
		}
	}
	if !all {
		return 0, sqlerr.New(sqlerr.NotSupported, "GROUP_CONCAT(DISTINCT ...) ORDER BY an expression that is not an argument is not supported: %s", text)
	}
	c, _, err := column(x)
	return c, err
}

// ungroupedColumns lists the column references of the select list, HAVING and ORDER BY that
// are outside aggregates and subqueries and resolve to columns that are not grouped.
func ungroupedColumns(sel *sqlparser.Select, s *scope, grouped map[int]int) []*sqlparser.ColName {
	var out []*sqlparser.ColName
	for _, n := range selectClauses(sel) {
		walkExpr(n, func(n sqlparser.SQLNode) bool {
			switch c := n.(type) {
			case sqlparser.AggrFunc:
				return false
			case *sqlparser.ColName:
				if sc, err := s.resolve(c); err == nil {
					if _, ok := grouped[sc.pos]; !ok {
						out = append(out, c)
					}
				}
			}
			return true
		})
	}
	return out
}
