package dataflow

import (
	"fmt"
)

// Join maintains the equi-join of two arranged inputs.
//
// Output rows are the left row followed by the right row. For an epoch with changes dL and
// dR it emits dL⋈R + L⋈dR + dL⋈dR with L and R at their state before the epoch, which equals
// dL⋈R_old + L_new⋈dR. Rows with a NULL key column never match (SQL equality) and are not
// arranged. With no key columns every pair matches (a cross join). Keep, when set, lists
// the output columns (ascending) anything reads; the others are NULL. Where, when set, is a
// filter of the output rows applied as they are produced (a Filter over the join, fused into
// it so that the join never holds the rows the filter drops). An output with retractions is
// consolidated; one of additions only may repeat a row.
type Join struct {
	LeftKey, RightKey []int
	Left, Right       Arrangement
	Keep              []int
	Where             Expr
}

// Step computes the join's changes and stages both inputs' changes on their arrangements.
func (o *Join) Step(ep *Epoch, in [][]Update) ([]Update, error) {
	dL, dR := in[0], in[1]
	if len(dL) == 0 && len(dR) == 0 {
		ep.Stage(o.Left, nil)
		ep.Stage(o.Right, nil)
		return nil, nil
	}
	leftKeyed := keyUpdates(dL, o.LeftKey)
	rightKeyed := keyUpdates(dR, o.RightKey)
	var out []Update
	// held is the memory of out so far, checked against the epoch's budget as it grows
	// (a cross join can produce far more than its inputs); Graph.Step charges it after.
	var held int64
	var stopErr error
	retracts := false // whether out holds a negative diff
	emit := func(u Update) bool {
		if o.Where != nil {
			v, err := o.Where.Eval(u.Row)
			if err != nil {
				stopErr = err
				return false
			}
			if !IsTrue(v) {
				// A dropped row still counts as work: the budget's interrupt sees it.
				stopErr = ep.Budget.Check(1, held)
				return stopErr == nil
			}
		}
		out = append(out, u)
		retracts = retracts || u.Diff < 0
		n := updateBytes + RowBytes(u.Row)
		held += n
		if stopErr = ep.Budget.Check(1, held); stopErr != nil {
			return false
		}
		return true
	}
	var err error
	for _, l := range leftKeyed {
		err = o.Right.Get(l.Key, func(r Row, c Diff) bool {
			return emit(Update{Row: o.concat(l.Row, r), Time: ep.Time, Diff: l.Diff * c})
		})
		if stopErr != nil {
			return nil, stopErr
		}
		if err != nil {
			return nil, fmt.Errorf("join lookup in %s: %w", o.Right.Name(), err)
		}
	}
	for _, r := range rightKeyed {
		err = o.Left.Get(r.Key, func(l Row, c Diff) bool {
			return emit(Update{Row: o.concat(l, r.Row), Time: ep.Time, Diff: c * r.Diff})
		})
		if stopErr != nil {
			return nil, stopErr
		}
		if err != nil {
			return nil, fmt.Errorf("join lookup in %s: %w", o.Left.Name(), err)
		}
	}
	if len(leftKeyed) > 0 && len(rightKeyed) > 0 {
		byKey := make(map[string][]int, len(rightKeyed))
		for i, r := range rightKeyed {
			byKey[string(r.Key)] = append(byKey[string(r.Key)], i)
		}
		for _, l := range leftKeyed {
			for _, i := range byKey[string(l.Key)] {
				r := rightKeyed[i]
				if !emit(Update{Row: o.concat(l.Row, r.Row), Time: ep.Time, Diff: l.Diff * r.Diff}) {
					return nil, stopErr
				}
			}
		}
	}
	ep.Stage(o.Left, leftKeyed)
	ep.Stage(o.Right, rightKeyed)
	if !retracts {
		// Nothing can cancel: a row emitted twice is two additions, which every operator
		// after a join sums as it would one with diff 2 (the aggregating ones consolidate
		// their input). Sorting a view build's join output cost a tenth of the build.
		return out, nil
	}
	return Consolidate(out), nil
}

// Explain prints the key columns, arrangements and the columns kept.
func (o *Join) Explain() string {
	var s string
	if len(o.LeftKey) == 0 {
		s = fmt.Sprintf("CrossJoin arrangements=[%s, %s]", o.Left.Name(), o.Right.Name())
	} else {
		s = fmt.Sprintf("Join left%v = right%v arrangements=[%s, %s]", o.LeftKey, o.RightKey, o.Left.Name(), o.Right.Name())
	}
	if o.Keep != nil {
		s += fmt.Sprintf(" columns=%v", o.Keep)
	}
	if o.Where != nil {
		s += " where " + o.Where.String()
	}
	return s
}

// concat returns the output row of a left and a right row.
func (o *Join) concat(a, b Row) Row {
	if o.Keep == nil {
		return concatRows(a, b)
	}
	r := make(Row, len(a)+len(b))
	for _, c := range o.Keep {
		if c < len(a) {
			r[c] = a[c]
		} else if c-len(a) < len(b) {
			r[c] = b[c-len(a)]
		}
	}
	return r
}

// keyUpdates pairs each update with the encoding of its key columns, dropping rows whose key
// has a NULL.
func keyUpdates(us []Update, cols []int) []KeyedUpdate {
	if len(us) == 0 {
		return nil
	}
	out := make([]KeyedUpdate, 0, len(us))
	var buf []byte
outer:
	for _, u := range us {
		for _, c := range cols {
			if u.Row[c].IsNull() {
				continue outer
			}
		}
		start := len(buf)
		buf = AppendColumnsKey(buf, u.Row, cols)
		out = append(out, KeyedUpdate{Key: buf[start:len(buf):len(buf)], Row: u.Row, Diff: u.Diff})
	}
	return out
}

// concatRows returns a new row holding a's columns then b's.
func concatRows(a, b Row) Row {
	r := make(Row, len(a)+len(b))
	copy(r, a)
	copy(r[len(a):], b)
	return r
}
