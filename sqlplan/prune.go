package sqlplan

import (
	"github.com/cdc-dev/cdc/dataflow"
)

// neededColumns computes, for every node of a plan, which of its output columns the plan
// reads: the root's every column, then each node's needs passed down to its inputs. The
// other columns can be set to NULL where rows are made (see Lower: as they enter the
// dataflow, and in the output of joins and projections), which keeps them out of every
// arrangement and intermediate row. Positions stay as they are, so no expression has to be
// rewritten.
//
// Nodes that compare whole rows (DISTINCT, EXCEPT/INTERSECT counts, ORDER BY ... LIMIT
// ties, window numbering) need every column of their input; a node kind it does not know
// needs every column too.
func neededColumns(root Plan) map[Plan][]bool {
	order := topoOrder(root)
	need := map[Plan][]bool{root: all(len(root.Columns()))}
	for _, p := range order {
		s := need[p]
		for i, c := range p.Children() {
			childNeed(p, i, c, s, need)
		}
	}
	return need
}

// childNeed adds to need[c] the columns of c, input i of p, that p reads when its own
// output columns s are needed.
func childNeed(p Plan, i int, c Plan, s []bool, need map[Plan][]bool) {
	w := len(c.Columns())
	cs := need[c]
	if cs == nil {
		cs = make([]bool, w)
		need[c] = cs
	}
	mark := func(col int) {
		if col >= 0 && col < w {
			cs[col] = true
		}
	}
	every := func() {
		for j := range cs {
			cs[j] = true
		}
	}
	expr := func(e dataflow.Expr) {
		if !dataflow.ExprColumns(e, mark) {
			every()
		}
	}
	switch n := p.(type) {
	case *Filter:
		passThrough(cs, s)
		expr(n.Pred)
	case *Project:
		for j, e := range n.Exprs {
			if j < len(s) && s[j] {
				expr(e)
			}
		}
	case *Join:
		off := 0
		key := n.LeftKey
		if i == 1 {
			off, key = len(n.Left.Columns()), n.RightKey
		}
		for j := 0; j < w && off+j < len(s); j++ {
			if s[off+j] {
				cs[j] = true
			}
		}
		for _, k := range key {
			mark(k)
		}
	case *Reduce:
		for _, g := range n.GroupBy {
			mark(g)
		}
		for _, a := range n.Aggs {
			if a.Func != dataflow.AggCountStar {
				mark(a.Arg)
			}
			for _, m := range a.More {
				mark(m)
			}
			for _, o := range a.Order {
				mark(o.Col)
			}
		}
	case *Union, *Negate:
		passThrough(cs, s)
	default: // Distinct, Threshold, TopK, Rank and any other
		every()
	}
}

// passThrough marks in cs the needed columns s of a node whose rows are its input's.
func passThrough(cs, s []bool) {
	for j := range cs {
		if j < len(s) && s[j] {
			cs[j] = true
		}
	}
}

func all(n int) []bool {
	s := make([]bool, n)
	for i := range s {
		s[i] = true
	}
	return s
}

// topoOrder lists the nodes of a plan DAG with every node before its inputs.
func topoOrder(root Plan) []Plan {
	var post []Plan
	seen := map[Plan]bool{}
	var visit func(Plan)
	visit = func(p Plan) {
		if seen[p] {
			return
		}
		seen[p] = true
		for _, c := range p.Children() {
			visit(c)
		}
		post = append(post, p)
	}
	visit(root)
	for i, j := 0, len(post)-1; i < j; i, j = i+1, j-1 {
		post[i], post[j] = post[j], post[i]
	}
	return post
}

// keptColumns returns the positions of a node's output the plan reads, or nil when it reads
// them all (an empty list when it reads none: a COUNT(*) reads no column of its scan).
func keptColumns(need []bool) []int {
	keep := []int{}
	for i, n := range need {
		if n {
			keep = append(keep, i)
		}
	}
	if len(keep) == len(need) {
		return nil
	}
	return keep
}
