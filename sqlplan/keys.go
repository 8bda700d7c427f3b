package sqlplan

import (
	"slices"

	"github.com/cdc-dev/cdc/dataflow"
)

// Unique keys. A key of a plan node is a set of its output columns that no two of its rows
// share, so its rows are a set: no row is ever there twice. A store may then delete a
// retracted row without reading its count (SetOf, arrangements.Store.SetArrangement). The
// keys are of the rows as the lowered graph produces them: a column the plan does not read
// is NULL there (Input, Map and Join masks), so it is in no key.

// maxKeys bounds the keys kept per node (a join multiplies its inputs').
const maxKeys = 4

// DistinctRows reports whether the rows of p, lowered, are a set.
func DistinctRows(p Plan) bool {
	l := &lowerer{need: neededColumns(p)}
	return len(l.keys(p)) > 0
}

// keys returns unique keys of p's rows (none: the rows may repeat; an empty key: at most
// one row). Keys are sorted column lists.
func (l *lowerer) keys(p Plan) [][]int {
	if k, ok := l.keyMemo[p]; ok {
		return k
	}
	k := l.nodeKeys(p)
	if len(k) > maxKeys {
		k = k[:maxKeys]
	}
	if l.keyMemo == nil {
		l.keyMemo = map[Plan][][]int{}
	}
	l.keyMemo[p] = k
	return k
}

func (l *lowerer) nodeKeys(p Plan) [][]int {
	switch n := p.(type) {
	case *Scan:
		if n.Key == nil {
			return nil
		}
		return l.readable(p, [][]int{slices.Sorted(slices.Values(n.Key))})
	case *Filter:
		return l.keys(n.Input)
	case *TopK:
		return l.keys(n.Input)
	case *Distinct:
		return l.readable(p, [][]int{allColumns(len(p.Columns()))})
	case *Reduce:
		if n.Global {
			return [][]int{{}}
		}
		// One row per group: the group columns come first.
		return l.readable(p, [][]int{allColumns(len(n.GroupBy))})
	case *Project:
		// A key of the input survives if every column of it is passed through.
		var out [][]int
		for _, k := range l.keys(n.Input) {
			mapped, ok := []int{}, true
			for _, c := range k {
				j := slices.IndexFunc(n.Exprs, func(e dataflow.Expr) bool {
					i, isCol := dataflow.ColumnOf(e)
					return isCol && i == c
				})
				if j < 0 {
					ok = false
					break
				}
				mapped = append(mapped, j)
			}
			if ok {
				slices.Sort(mapped)
				out = append(out, mapped)
			}
		}
		return l.readable(p, out)
	case *Join:
		return l.readable(p, l.joinKeys(n))
	}
	return nil // Union, Negate, Values, Rank, Threshold: rows may repeat
}

// joinKeys are the keys of a join's rows (left columns, then right). A row of one side
// matches at most one row of the other when the join's key on the other side covers one of
// its keys: then the first side's keys are the join's. Otherwise a key of each side
// together is one.
func (l *lowerer) joinKeys(n *Join) [][]int {
	left, right := l.keys(n.Left), l.keys(n.Right)
	if len(left) == 0 || len(right) == 0 {
		return nil
	}
	width := len(n.Left.Columns())
	covers := func(keys [][]int, cols []int) bool {
		return slices.ContainsFunc(keys, func(k []int) bool {
			for _, c := range k {
				if !slices.Contains(cols, c) {
					return false
				}
			}
			return true
		})
	}
	shift := func(k []int) []int {
		out := make([]int, len(k))
		for i, c := range k {
			out[i] = c + width
		}
		return out
	}
	var out [][]int
	if covers(right, n.RightKey) {
		out = append(out, left...)
	}
	if covers(left, n.LeftKey) {
		for _, k := range right {
			out = append(out, shift(k))
		}
	}
	if len(out) == 0 {
		for _, a := range left {
			for _, b := range right {
				out = append(out, append(slices.Clone(a), shift(b)...))
			}
		}
	}
	return out
}

// readable drops the keys that have a column the lowered graph masks in p's rows.
func (l *lowerer) readable(p Plan, keys [][]int) [][]int {
	keep := l.kept(p)
	if keep == nil {
		return keys
	}
	var out [][]int
	for _, k := range keys {
		if !slices.ContainsFunc(k, func(c int) bool { return !slices.Contains(keep, c) }) {
			out = append(out, k)
		}
	}
	return out
}

// allColumns is [0, n).
func allColumns(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
