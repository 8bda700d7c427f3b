package sqlplan

import (
	"fmt"
	"strconv"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// Rank appends to each row its ROW_NUMBER(), RANK() or DENSE_RANK() within its partition.
type Rank struct {
	Input     Plan
	Partition []int
	Order     []SortKey
	Func      dataflow.RankFunc
	Name      string
}

// Columns returns the input's columns and the number.
func (p *Rank) Columns() []ColumnInfo {
	return append(append([]ColumnInfo(nil), p.Input.Columns()...), ColumnInfo{Name: p.Name, Kind: dataflow.KindInt})
}

// Children returns the input.
func (p *Rank) Children() []Plan { return []Plan{p.Input} }

// Describe prints the numbering.
func (p *Rank) Describe() string {
	return fmt.Sprintf("Rank %s partition=%v order=%v", p.Name, p.Partition, p.Order)
}

// attachWindows appends a column for each ranking window function of the select list and
// ORDER BY, after grouping (as SQL evaluates them), and records it in es.special.
func (p *planner) attachWindows(plan Plan, es *exprScope, selectExprs []sqlparser.SelectExpr, orderExprs []sqlparser.Expr) (Plan, error) {
	var nodes []sqlparser.SQLNode
	for _, se := range selectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok {
			nodes = append(nodes, ae.Expr)
		}
	}
	for _, e := range orderExprs {
		nodes = append(nodes, e)
	}
	var err error
	for _, n := range nodes {
		walkExpr(n, func(n sqlparser.SQLNode) bool {
			if err != nil {
				return false
			}
			w, ok := n.(*sqlparser.ArgumentLessWindowExpr)
			if !ok {
				if _, isWindow := n.(*sqlparser.OverClause); isWindow {
					err = sqlerr.New(sqlerr.NotSupported, "this window function is not supported yet: only ROW_NUMBER(), RANK() and DENSE_RANK()")
				}
				return true
			}
			if _, done := es.special[w]; done {
				return false
			}
			plan, err = p.rankColumn(plan, es, w)
			return false
		})
		if err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// rankColumn appends one ranking window function's column.
func (p *planner) rankColumn(plan Plan, es *exprScope, w *sqlparser.ArgumentLessWindowExpr) (Plan, error) {
	var fn dataflow.RankFunc
	switch w.Type {
	case sqlparser.RowNumberExprType:
		fn = dataflow.RowNumber
	case sqlparser.RankExprType:
		fn = dataflow.RankTies
	case sqlparser.DenseRankExprType:
		fn = dataflow.DenseRank
	default:
		return nil, sqlerr.New(sqlerr.NotSupported, "window function %s is not supported yet", sqlparser.String(w))
	}
	if w.OverClause == nil || w.OverClause.WindowSpec == nil || !w.OverClause.WindowName.IsEmpty() {
		return nil, sqlerr.New(sqlerr.NotSupported, "named windows are not supported yet: %s", sqlparser.String(w))
	}
	spec := w.OverClause.WindowSpec
	if spec.FrameClause != nil {
		return nil, sqlerr.New(sqlerr.NotSupported, "window frames are not supported yet: %s", sqlparser.String(w))
	}
	width := len(plan.Columns())
	var extra []dataflow.Expr
	var partition []int
	for _, e := range spec.PartitionClause {
		x, err := ConvertScalar(es, e)
		if err != nil {
			return nil, err
		}
		partition = append(partition, width+len(extra))
		extra = append(extra, x)
	}
	var order []SortKey
	for _, o := range spec.OrderClause {
		x, err := ConvertScalar(es, o.Expr)
		if err != nil {
			return nil, err
		}
		order = append(order, SortKey{Col: width + len(extra), Desc: o.Direction == sqlparser.DescOrder})
		extra = append(extra, x)
	}
	r := &Rank{Input: widen(plan, extra), Partition: partition, Order: order, Func: fn, Name: sqlparser.String(w)}
	es.special[w] = dataflow.Col(width+len(extra), dataflow.KindInt, r.Name)
	return r, nil
}

// rankBound recognizes a conjunct that keeps the rows of a column up to k: col <= k,
// col < k+1, col = k, k >= col, col BETWEEN a AND k.
func rankBound(sc *scope, e sqlparser.Expr) (int, int64, bool) {
	colPos := func(x sqlparser.Expr) (int, bool) {
		c, ok := x.(*sqlparser.ColName)
		if !ok {
			return 0, false
		}
		sc, err := sc.resolve(c)
		return sc.pos, err == nil
	}
	intLit := func(x sqlparser.Expr) (int64, bool) {
		l, ok := x.(*sqlparser.Literal)
		if !ok || l.Type != sqlparser.IntVal {
			return 0, false
		}
		n, err := strconv.ParseInt(l.Val, 10, 64)
		return n, err == nil && n >= 0
	}
	switch c := e.(type) {
	case *sqlparser.ComparisonExpr:
		op, left, right := c.Operator, c.Left, c.Right
		if _, isCol := left.(*sqlparser.ColName); !isCol {
			left, right = right, left
			switch op {
			case sqlparser.GreaterEqualOp:
				op = sqlparser.LessEqualOp
			case sqlparser.GreaterThanOp:
				op = sqlparser.LessThanOp
			}
		}
		pos, ok := colPos(left)
		k, kok := intLit(right)
		if !ok || !kok {
			return 0, 0, false
		}
		switch op {
		case sqlparser.LessEqualOp, sqlparser.EqualOp:
			return pos, k, true
		case sqlparser.LessThanOp:
			return pos, k - 1, k > 0
		}
	case *sqlparser.BetweenExpr:
		pos, ok := colPos(c.Left)
		k, kok := intLit(c.To)
		if ok && kok && c.IsBetween {
			return pos, k, true
		}
	}
	return 0, 0, false
}

// limitRanked bounds, under a filter that keeps row numbers up to k of column pos, the
// ROW_NUMBER() that computes the column: only a partition's first k rows in its order need a
// number, so a top-k goes under the numbering, which then touches k rows per partition
// instead of all of them. It reports whether it found one.
func limitRanked(p Plan, pos int, k int64) (Plan, bool) {
	switch n := p.(type) {
	case *Project:
		c, ok := dataflow.ColumnOf(n.Exprs[pos])
		if !ok {
			return p, false
		}
		in, ok := limitRanked(n.Input, c, k)
		if !ok {
			return p, false
		}
		return &Project{Input: in, Exprs: n.Exprs, Cols: n.Cols}, true
	case *Filter:
		in, ok := limitRanked(n.Input, pos, k)
		if !ok {
			return p, false
		}
		return &Filter{Input: in, Pred: n.Pred}, true
	case *Rank:
		if n.Func != dataflow.RowNumber || pos != len(n.Input.Columns()) {
			return p, false
		}
		if _, bounded := n.Input.(*TopK); bounded {
			return p, false
		}
		top := &TopK{Input: n.Input, GroupBy: n.Partition, Order: n.Order, Limit: k}
		return &Rank{Input: top, Partition: n.Partition, Order: n.Order, Func: n.Func, Name: n.Name}, true
	}
	return p, false
}
