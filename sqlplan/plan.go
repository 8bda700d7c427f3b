// Package sqlplan parses SQL (vitess's MySQL parser plus the engine's own statements),
// binds names against a catalog, builds an immutable logical plan and lowers it to a
// dataflow graph. Errors are returned, never panicked.
package sqlplan

import (
	"fmt"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
)

// ColumnInfo names and types one column of a plan's rows.
type ColumnInfo struct {
	Name    string
	Kind    dataflow.Kind
	SQLType string // declared type of a table column, else empty
}

// Plan is an immutable logical plan node.
type Plan interface {
	// Columns describes the node's output rows.
	Columns() []ColumnInfo
	// Children returns the inputs of the node.
	Children() []Plan
	// Describe is the node's one-line description in EXPLAIN.
	Describe() string
}

// Scan reads a source collection: a table's or a materialized view's changes.
type Scan struct {
	Source string // dataflow input name
	Label  string // table or view name for EXPLAIN
	Cols   []ColumnInfo
	Key    []int // the columns of the source's primary key; nil: its rows may repeat
}

// Filter keeps the rows for which Pred is true.
type Filter struct {
	Input Plan
	Pred  dataflow.Expr
}

// Project computes Exprs over each input row.
type Project struct {
	Input Plan
	Exprs []dataflow.Expr
	Cols  []ColumnInfo
}

// Join is the inner equi-join of Left and Right on LeftKey = RightKey (a cross join when
// the keys are empty); rows are the left columns followed by the right columns.
type Join struct {
	Left, Right       Plan
	LeftKey, RightKey []int
}

// Reduce groups by GroupBy and computes Aggs; rows are the group columns then the aggregates.
type Reduce struct {
	Input   Plan
	GroupBy []int
	Aggs    []dataflow.Aggregate
	Global  bool
	Cols    []ColumnInfo
}

// Distinct removes duplicate rows.
type Distinct struct {
	Input Plan
}

// Union is the bag union of its inputs (UNION ALL).
type Union struct {
	Inputs []Plan
}

// Negate flips the multiplicity of every row; with Union it subtracts.
type Negate struct {
	Input Plan
}

// TopK keeps, per group of GroupBy, the rows at positions [Offset, Offset+Limit) in Order
// (Limit < 0: no limit): ORDER BY ... LIMIT maintained.
type TopK struct {
	Input         Plan
	GroupBy       []int
	Order         []SortKey
	Limit, Offset int64
}

// Columns returns the input's columns.
func (p *TopK) Columns() []ColumnInfo { return p.Input.Columns() }

// Children returns the input.
func (p *TopK) Children() []Plan { return []Plan{p.Input} }

// Describe prints the grouping, order and window.
func (p *TopK) Describe() string {
	return fmt.Sprintf("TopK group=%v order=%v limit=%d offset=%d", p.GroupBy, p.Order, p.Limit, p.Offset)
}

// Values is a constant collection.
type Values struct {
	Rows []dataflow.Row
	Cols []ColumnInfo
}

// Columns returns the scanned relation's columns.
func (p *Scan) Columns() []ColumnInfo { return p.Cols }

// Columns returns the input's columns.
func (p *Filter) Columns() []ColumnInfo { return p.Input.Columns() }

// Columns returns the projected columns.
func (p *Project) Columns() []ColumnInfo { return p.Cols }

// Columns returns the left then the right columns.
func (p *Join) Columns() []ColumnInfo {
	return append(append([]ColumnInfo(nil), p.Left.Columns()...), p.Right.Columns()...)
}

// Columns returns the group columns then the aggregates.
func (p *Reduce) Columns() []ColumnInfo { return p.Cols }

// Columns returns the input's columns.
func (p *Distinct) Columns() []ColumnInfo { return p.Input.Columns() }

// Columns returns the first input's columns.
func (p *Union) Columns() []ColumnInfo { return p.Inputs[0].Columns() }

// Columns returns the input's columns.
func (p *Negate) Columns() []ColumnInfo { return p.Input.Columns() }

// Columns returns the constant's columns.
func (p *Values) Columns() []ColumnInfo { return p.Cols }

// Children returns no inputs.
func (p *Scan) Children() []Plan { return nil }

// Children returns the input.
func (p *Filter) Children() []Plan { return []Plan{p.Input} }

// Children returns the input.
func (p *Project) Children() []Plan { return []Plan{p.Input} }

// Children returns both sides.
func (p *Join) Children() []Plan { return []Plan{p.Left, p.Right} }

// Children returns the input.
func (p *Reduce) Children() []Plan { return []Plan{p.Input} }

// Children returns the input.
func (p *Distinct) Children() []Plan { return []Plan{p.Input} }

// Children returns the inputs.
func (p *Union) Children() []Plan { return p.Inputs }

// Children returns the input.
func (p *Negate) Children() []Plan { return []Plan{p.Input} }

// Children returns no inputs.
func (p *Values) Children() []Plan { return nil }

// Describe prints the scanned relation.
func (p *Scan) Describe() string { return "Scan " + p.Label }

// Describe prints the predicate.
func (p *Filter) Describe() string { return "Filter " + p.Pred.String() }

// Describe prints the expressions.
func (p *Project) Describe() string {
	parts := make([]string, len(p.Exprs))
	for i, e := range p.Exprs {
		parts[i] = e.String()
	}
	return "Project " + strings.Join(parts, ", ")
}

// Describe prints the join keys.
func (p *Join) Describe() string {
	if len(p.LeftKey) == 0 {
		return "CrossJoin"
	}
	parts := make([]string, len(p.LeftKey))
	lc, rc := p.Left.Columns(), p.Right.Columns()
	for i := range p.LeftKey {
		parts[i] = fmt.Sprintf("%s = %s", colLabel(lc, p.LeftKey[i]), colLabel(rc, p.RightKey[i]))
	}
	return "Join on " + strings.Join(parts, " AND ")
}

func colLabel(cols []ColumnInfo, i int) string {
	if cols[i].Name != "" {
		return fmt.Sprintf("%s#%d", cols[i].Name, i)
	}
	return fmt.Sprintf("#%d", i)
}

// Describe prints the grouping and the aggregates.
func (p *Reduce) Describe() string {
	name := "Reduce"
	if p.Global {
		name = "Reduce global"
	}
	return fmt.Sprintf("%s group=%v aggs=[%s]", name, p.GroupBy, dataflow.AggregatesString(p.Aggs))
}

// Describe names the node.
func (p *Distinct) Describe() string { return "Distinct" }

// Describe names the node.
func (p *Union) Describe() string { return "UnionAll" }

// Describe names the node.
func (p *Negate) Describe() string { return "Negate" }

// Describe prints the number of rows.
func (p *Values) Describe() string { return fmt.Sprintf("Values (%d rows)", len(p.Rows)) }

// ExplainPlan prints a plan as an indented tree.
func ExplainPlan(p Plan) string {
	var b strings.Builder
	explain(&b, p, 0)
	return b.String()
}

func explain(b *strings.Builder, p Plan, depth int) {
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString(p.Describe())
	b.WriteByte('\n')
	for _, c := range p.Children() {
		explain(b, c, depth+1)
	}
}
