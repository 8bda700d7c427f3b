package sqlplan

import (
	"fmt"

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
