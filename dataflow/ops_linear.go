package dataflow

import (
	"fmt"
	"strings"
)

// Input emits the epoch's changes of one source collection.
//
// Keep, when set, lists the columns (ascending) the dataflow reads: the others are NULL in
// its output rows, so they take no room in any arrangement, and changes that differ only in
// them cancel out.
type Input struct {
	Source string
	Keep   []int
}

// Step returns the source's changes, with the columns outside Keep set to NULL.
func (o *Input) Step(ep *Epoch, _ [][]Update) ([]Update, error) {
	in := ep.Inputs[o.Source]
	if o.Keep == nil || len(in) == 0 {
		return in, nil
	}
	out := make([]Update, len(in))
	w := len(in[0].Row) // a source's rows all have its width
	cells := make([]Datum, len(in)*w)
	for i, u := range in {
		r := Row(cells[i*w : (i+1)*w : (i+1)*w])
		for _, c := range o.Keep {
			if c < w && c < len(u.Row) {
				r[c] = u.Row[c]
			}
		}
		out[i] = Update{Row: r, Time: u.Time, Diff: u.Diff}
	}
	if len(out) == 1 {
		return out, nil
	}
	return Consolidate(out), nil
}

// Explain names the source and the columns it keeps.
func (o *Input) Explain() string {
	if o.Keep == nil {
		return "Input " + o.Source
	}
	return fmt.Sprintf("Input %s columns=%v", o.Source, o.Keep)
}

// Filter keeps the updates whose row satisfies Predicate.
type Filter struct {
	Predicate Expr
}

// Step evaluates the predicate on every row; NULL and false drop it.
func (o *Filter) Step(_ *Epoch, in [][]Update) ([]Update, error) {
	var out []Update
	for _, u := range in[0] {
		v, err := o.Predicate.Eval(u.Row)
		if err != nil {
			return nil, err
		}
		if IsTrue(v) {
			out = append(out, u)
		}
	}
	return out, nil
}

// Explain prints the predicate.
func (o *Filter) Explain() string { return "Filter " + o.Predicate.String() }

// Map replaces every row by the values of Exprs evaluated on it.
type Map struct {
	Exprs []Expr
}

// Step evaluates the expressions for every update; the diffs are kept.
func (o *Map) Step(_ *Epoch, in [][]Update) ([]Update, error) {
	if len(in[0]) == 0 {
		return nil, nil
	}
	out := make([]Update, len(in[0]))
	// One backing array for all output rows of the step.
	cells := make([]Datum, len(in[0])*len(o.Exprs))
	for i, u := range in[0] {
		row := Row(cells[i*len(o.Exprs) : (i+1)*len(o.Exprs) : (i+1)*len(o.Exprs)])
		for j, e := range o.Exprs {
			v, err := e.Eval(u.Row)
			if err != nil {
				return nil, err
			}
			row[j] = v
		}
		out[i] = Update{Row: row, Time: u.Time, Diff: u.Diff}
	}
	return out, nil
}

// Explain lists the expressions.
func (o *Map) Explain() string { return "Map " + exprList(o.Exprs) }

func exprList(es []Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

// Union concatenates its inputs (UNION ALL); Distinct on top makes it a set union.
type Union struct{}

// Step returns all inputs' updates together.
func (o *Union) Step(_ *Epoch, in [][]Update) ([]Update, error) {
	n := 0
	for _, b := range in {
		n += len(b)
	}
	out := make([]Update, 0, n)
	for _, b := range in {
		out = append(out, b...)
	}
	return out, nil
}

// Explain names the operator.
func (o *Union) Explain() string { return "Union" }

// Negate flips the sign of every diff; with Union it subtracts collections.
type Negate struct{}

// Step returns the input with negated diffs.
func (o *Negate) Step(_ *Epoch, in [][]Update) ([]Update, error) {
	out := make([]Update, len(in[0]))
	for i, u := range in[0] {
		out[i] = Update{Row: u.Row, Time: u.Time, Diff: -u.Diff}
	}
	return out, nil
}

// Explain names the operator.
func (o *Negate) Explain() string { return "Negate" }

// Constant is a fixed collection: it emits its rows once, when the graph is hydrated.
type Constant struct {
	Rows []Row
}

// Step emits the rows at hydration and nothing afterwards.
func (o *Constant) Step(ep *Epoch, _ [][]Update) ([]Update, error) {
	if !ep.Hydrate {
		return nil, nil
	}
	out := make([]Update, len(o.Rows))
	for i, r := range o.Rows {
		out[i] = Update{Row: r, Time: ep.Time, Diff: 1}
	}
	return out, nil
}

// Explain prints the number of rows.
func (o *Constant) Explain() string { return fmt.Sprintf("Constant (%d rows)", len(o.Rows)) }

// Consolidated sums equal rows of its input and drops zeros.
type Consolidated struct{}

// Step consolidates a copy of the input.
func (o *Consolidated) Step(_ *Epoch, in [][]Update) ([]Update, error) {
	return Consolidate(append([]Update(nil), in[0]...)), nil
}

// Explain names the operator.
func (o *Consolidated) Explain() string { return "Consolidate" }
