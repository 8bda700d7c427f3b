package dataflow

import (
	"fmt"
	"strings"
)

// Operator computes one node's output changes for an epoch from its inputs' changes.
//
// Step must not modify its inputs or retain them past the call, reads arrangements only at
// their state before the epoch, and stages its own arrangement changes on the epoch. Its
// inputs need not be consolidated: a row may come more than once, and an operator whose
// result depends on a row's total (Distinct, Threshold, TopK, Rank) consolidates them first.
type Operator interface {
	Step(ep *Epoch, inputs [][]Update) ([]Update, error)
	// Explain describes the operator in one line for EXPLAIN.
	Explain() string
}

// Node is an operator and the indexes of the nodes feeding it.
type Node struct {
	Op     Operator
	Inputs []int
}

// Graph is a dataflow: nodes in topological order, the last one producing the output.
type Graph struct {
	Nodes []Node
}

// Add appends a node and returns its index.
func (g *Graph) Add(op Operator, inputs ...int) int {
	for _, in := range inputs {
		if in < 0 || in >= len(g.Nodes) {
			panic(fmt.Sprintf("dataflow: node input %d out of range", in))
		}
	}
	g.Nodes = append(g.Nodes, Node{Op: op, Inputs: inputs})
	return len(g.Nodes) - 1
}

// Step runs every node for the epoch and returns the consolidated output changes.
func (g *Graph) Step(ep *Epoch) ([]Update, error) {
	if len(g.Nodes) == 0 {
		return nil, nil
	}
	outs := make([][]Update, len(g.Nodes))
	var ins [][]Update
	for i, n := range g.Nodes {
		ins = ins[:0]
		for _, in := range n.Inputs {
			ins = append(ins, outs[in])
		}
		out, err := n.Op.Step(ep, ins)
		if err != nil {
			return nil, err
		}
		if err := ep.Budget.Charge(len(out), UpdatesBytes(out)); err != nil {
			return nil, err
		}
		outs[i] = out
	}
	return Consolidate(outs[len(outs)-1]), nil
}

// Explain prints the graph as an indented tree rooted at the output node. A node that feeds
// several others is printed in full once, tagged with its number, and referred to by that
// number afterwards.
func (g *Graph) Explain() string {
	var b strings.Builder
	if len(g.Nodes) > 0 {
		uses := make([]int, len(g.Nodes))
		for _, n := range g.Nodes {
			for _, in := range n.Inputs {
				uses[in]++
			}
		}
		g.explain(&b, len(g.Nodes)-1, 0, uses, make([]bool, len(g.Nodes)))
	}
	return b.String()
}

func (g *Graph) explain(b *strings.Builder, i, depth int, uses []int, printed []bool) {
	b.WriteString(strings.Repeat("  ", depth))
	if printed[i] {
		fmt.Fprintf(b, "[shared #%d]\n", i)
		return
	}
	printed[i] = true
	b.WriteString(g.Nodes[i].Op.Explain())
	if uses[i] > 1 {
		fmt.Fprintf(b, " [shared #%d]", i)
	}
	b.WriteByte('\n')
	for _, in := range g.Nodes[i].Inputs {
		g.explain(b, in, depth+1, uses, printed)
	}
}

// Epoch is the unit of work of the dataflow: the changes of the source collections between
// two consistent points of the log, all stamped with Time.
type Epoch struct {
	// Time is the LSN every output update of the epoch carries.
	Time Time
	// Hydrate is set for the first epoch of a new graph, whose inputs are whole snapshots.
	Hydrate bool
	// Inputs maps a source name to its changes in this epoch.
	Inputs map[string][]Update
	// Budget, if set, bounds the memory and running time of the epoch's work.
	Budget *Budget

	staged []staged
	seen   map[Arrangement]bool
}

type staged struct {
	arr     Arrangement
	updates []KeyedUpdate
}

// NewEpoch returns an epoch at time t over the given source changes.
func NewEpoch(t Time, inputs map[string][]Update) *Epoch {
	return &Epoch{Time: t, Inputs: inputs}
}

// Stage records the changes of an arrangement, applied by Commit. An arrangement is staged
// once per epoch: when several operators share it, they compute the same changes and only
// the first staging is kept.
func (ep *Epoch) Stage(a Arrangement, updates []KeyedUpdate) {
	if ep.seen == nil {
		ep.seen = make(map[Arrangement]bool)
	}
	if ep.seen[a] {
		return
	}
	ep.seen[a] = true
	if len(updates) > 0 {
		ep.staged = append(ep.staged, staged{a, updates})
	}
}

// Staged reports whether a was staged in this epoch.
func (ep *Epoch) Staged(a Arrangement) bool { return ep.seen[a] }

// Commit applies every staged arrangement change, in staging order.
func (ep *Epoch) Commit() error {
	for _, s := range ep.staged {
		if err := s.arr.Apply(s.updates); err != nil {
			return fmt.Errorf("apply epoch %d to arrangement %s: %w", ep.Time, s.arr.Name(), err)
		}
	}
	ep.staged = nil
	return nil
}
