package sqlplan

import (
	"fmt"

	"github.com/cdc-dev/cdc/dataflow"
)

// Arranger hands out the arrangements of a graph being lowered. A Shared request names a
// collection by source and key ("table:chat by [0]") and may return an arrangement that
// other graphs already maintain; a Private or Unique one is the operator's own.
type Arranger func(id string, kind ArrangementKind) dataflow.Arrangement

// ArrangementKind says how an arrangement is used, so that a store may lay it out for it.
type ArrangementKind uint8

const (
	// Private is an operator's own arrangement, any number of rows per key.
	Private ArrangementKind = iota
	// Shared is a source's collection by a key, which several operators and views may read.
	Shared
	// Unique is an operator's own arrangement that holds at most one row per key, and
	// whose updates of a key within an epoch retract the key's current row (if any) and add
	// at most one new one: a reduce's accumulators, replaced at every change of their group.
	Unique

	// SetOf, or-ed into Private or Shared, says that the arrangement's entries are a set:
	// no (key, row) is ever there twice (keys.go), so a store may delete a retracted entry
	// without reading its count.
	SetOf ArrangementKind = 1 << 7
)

// Use is the kind without SetOf: Private, Shared or Unique.
func (k ArrangementKind) Use() ArrangementKind { return k &^ SetOf }

// IsSet reports whether the arrangement's entries are a set (SetOf).
func (k ArrangementKind) IsSet() bool { return k&SetOf != 0 }

// setIf is SetOf when set holds, else 0.
func setIf(set bool) ArrangementKind {
	if set {
		return SetOf
	}
	return 0
}

// Lower builds the dataflow graph of a plan. A plan node reachable along several paths is
// lowered once, so the graph is a DAG that computes every subplan once per epoch.
func Lower(p Plan, arrange Arranger) (*dataflow.Graph, error) {
	l := &lowerer{g: &dataflow.Graph{}, arrange: arrange, done: make(map[Plan]int), need: neededColumns(p), parents: parentCounts(p)}
	if _, err := l.lower(p); err != nil {
		return nil, err
	}
	return l.g, nil
}

type lowerer struct {
	g       *dataflow.Graph
	arrange Arranger
	done    map[Plan]int
	need    map[Plan][]bool // the output columns of each node the plan reads
	parents map[Plan]int    // how many plan nodes read each node
	private int
	keyMemo map[Plan][][]int // keys (keys.go)
}

// parentCounts counts, for every node of the plan, the nodes that read it.
func parentCounts(root Plan) map[Plan]int {
	n := map[Plan]int{}
	for _, p := range topoOrder(root) {
		for _, c := range p.Children() {
			n[c]++
		}
	}
	return n
}

// kept returns the output columns of p the plan reads (nil: all of them).
func (l *lowerer) kept(p Plan) []int { return keptColumns(l.need[p]) }

func (l *lowerer) privateArrangement(kind string) dataflow.Arrangement {
	return l.privateArrangementOf(kind, 0)
}

// privateArrangementOf is privateArrangement with set (SetOf or 0) or-ed into its kind.
func (l *lowerer) privateArrangementOf(kind string, set ArrangementKind) dataflow.Arrangement {
	l.private++
	return l.arrange(fmt.Sprintf("%s%d", kind, l.private), Private|set)
}

// uniqueArrangement is privateArrangement for an operator that keeps one row per key.
func (l *lowerer) uniqueArrangement(kind string) dataflow.Arrangement {
	l.private++
	return l.arrange(fmt.Sprintf("%s%d", kind, l.private), Unique)
}

// arrangementFor returns the arrangement of a join input: shared when the input is a plain
// scan of a source (among the plans that keep the same columns of it), private otherwise.
func (l *lowerer) arrangementFor(p Plan, key []int) dataflow.Arrangement {
	// A join input's arrangement holds its rows (under the join key): a set if they are.
	set := setIf(len(l.keys(p)) > 0)
	if s, ok := p.(*Scan); ok {
		if keep := l.kept(s); keep != nil {
			return l.arrange(fmt.Sprintf("%s%v by %v", s.Source, keep, key), Shared|set)
		}
		return l.arrange(fmt.Sprintf("%s by %v", s.Source, key), Shared|set)
	}
	return l.privateArrangementOf("join", set)
}

// maskedExprs returns a projection's expressions with the ones the plan does not read
// replaced by NULL.
func (l *lowerer) maskedExprs(p *Project) []dataflow.Expr {
	keep := l.kept(p)
	if keep == nil {
		return p.Exprs
	}
	out := make([]dataflow.Expr, len(p.Exprs))
	for i := range out {
		out[i] = dataflow.Lit(dataflow.Null)
	}
	for _, i := range keep {
		out[i] = p.Exprs[i]
	}
	return out
}

func (l *lowerer) lower(p Plan) (int, error) {
	if i, ok := l.done[p]; ok {
		return i, nil
	}
	if f, ok := p.(*Filter); ok {
		if j, ok := f.Input.(*Join); ok && l.parents[j] == 1 {
			// The filter is evaluated inside the join as it produces, so a join whose
			// filter keeps little never holds its whole product (a cross join above all).
			i, err := l.lowerJoin(j, f.Pred)
			if err != nil {
				return 0, err
			}
			l.done[p] = i
			return i, nil
		}
	}
	if j, ok := p.(*Join); ok {
		return l.lowerJoin(j, nil)
	}
	inputs, err := l.lowerChildren(p)
	if err != nil {
		return 0, err
	}
	var op dataflow.Operator
	switch n := p.(type) {
	case *Scan:
		op = &dataflow.Input{Source: n.Source, Keep: l.kept(n)}
	case *Filter:
		op = &dataflow.Filter{Predicate: n.Pred}
	case *Project:
		op = &dataflow.Map{Exprs: l.maskedExprs(n)}
	case *Reduce:
		r := &dataflow.Reduce{GroupBy: n.GroupBy, Aggs: n.Aggs, Global: n.Global, State: l.uniqueArrangement("reduce")}
		r.Values = make([]dataflow.Arrangement, len(n.Aggs))
		for i, a := range n.Aggs {
			if a.NeedsValues() {
				r.Values[i] = l.privateArrangement("values")
			}
		}
		op = r
	case *Distinct:
		op = &dataflow.Distinct{State: l.privateArrangement("distinct")}
	case *Rank:
		op = &dataflow.Rank{GroupBy: n.Partition, Order: n.Order, Func: n.Func,
			State: l.privateArrangement("rank"), Out: l.privateArrangement("rank_out")}
	case *Threshold:
		op = &dataflow.Threshold{State: l.privateArrangement("threshold")}
	case *TopK:
		op = &dataflow.TopK{GroupBy: n.GroupBy, Order: n.Order, Limit: n.Limit, Offset: n.Offset,
			State: l.privateArrangement("topk"), Out: l.privateArrangement("topk_out")}
	case *Union:
		op = &dataflow.Union{}
	case *Negate:
		op = &dataflow.Negate{}
	case *Values:
		op = &dataflow.Constant{Rows: n.Rows}
	default:
		return 0, fmt.Errorf("lower: unknown plan node %T", p)
	}
	i := l.g.Add(op, inputs...)
	l.done[p] = i
	return i, nil
}

// lowerChildren lowers p's inputs and returns their nodes.
func (l *lowerer) lowerChildren(p Plan) ([]int, error) {
	var inputs []int
	for _, c := range p.Children() {
		i, err := l.lower(c)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, i)
	}
	return inputs, nil
}

// lowerJoin lowers a join and its inputs, with where (nil: none) as the filter the join
// applies to the rows it produces.
func (l *lowerer) lowerJoin(n *Join, where dataflow.Expr) (int, error) {
	inputs, err := l.lowerChildren(n)
	if err != nil {
		return 0, err
	}
	op := &dataflow.Join{
		LeftKey: n.LeftKey, RightKey: n.RightKey,
		Left: l.arrangementFor(n.Left, n.LeftKey), Right: l.arrangementFor(n.Right, n.RightKey),
		Keep: l.kept(n), Where: where,
	}
	i := l.g.Add(op, inputs...)
	l.done[n] = i
	return i, nil
}

// Sources lists the source names a plan reads, each once, in first-seen order.
func Sources(p Plan) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(Plan)
	walk = func(p Plan) {
		if s, ok := p.(*Scan); ok && !seen[s.Source] {
			seen[s.Source] = true
			out = append(out, s.Source)
		}
		for _, c := range p.Children() {
			walk(c)
		}
	}
	walk(p)
	return out
}
