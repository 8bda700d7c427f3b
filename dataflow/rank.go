package dataflow

import (
	"fmt"
	"slices"
)

// RankFunc is the numbering a Rank operator appends.
type RankFunc int

const (
	RowNumber RankFunc = iota // 1, 2, 3, ... (ties numbered in whole-row order)
	RankTies                  // 1, 1, 3: ties share the number of their first row
	DenseRank                 // 1, 1, 2: ties share a number, with no gaps
)

// Rank appends to every row its number within its group of GroupBy in Order: the window
// functions ROW_NUMBER(), RANK() and DENSE_RANK() OVER (PARTITION BY ... ORDER BY ...).
// State holds the input rows by group and Out the numbered rows; an epoch renumbers only
// the groups it touches (a row entering a group renumbers the rows after it).
type Rank struct {
	GroupBy    []int
	Order      []OrderKey
	Func       RankFunc
	State, Out Arrangement
}

// Step emits, for every group the epoch touches, the difference between its new and old
// numbered rows.
func (o *Rank) Step(ep *Epoch, in [][]Update) ([]Update, error) {
	if len(in[0]) == 0 {
		ep.Stage(o.State, nil)
		ep.Stage(o.Out, nil)
		return nil, nil
	}
	order, byGroup, state := splitByGroup(in[0], o.GroupBy, func(r Row) Row { return r })
	var out []Update
	var outState []KeyedUpdate
	for _, k := range order {
		rows, err := groupRows(o.State, []byte(k), byGroup[k])
		if err != nil {
			return nil, err
		}
		next := o.number(rows)
		if out, outState, err = replaceGroupOutput(ep, o.Out, []byte(k), next, out, outState); err != nil {
			return nil, err
		}
	}
	ep.Stage(o.State, state)
	ep.Stage(o.Out, outState)
	return Consolidate(out), nil
}

// number sorts a group's rows and appends their numbers; copies of a row are numbered one
// by one.
func (o *Rank) number(rows []Update) []Update {
	rows = slices.DeleteFunc(rows, func(u Update) bool { return u.Diff <= 0 })
	slices.SortFunc(rows, func(a, b Update) int {
		if c := CompareOrder(a.Row, b.Row, o.Order); c != 0 {
			return c
		}
		return CompareRows(a.Row, b.Row)
	})
	var out []Update
	pos, rank, dense := int64(0), int64(0), int64(0)
	for i, u := range rows {
		tie := i > 0 && CompareOrder(rows[i-1].Row, u.Row, o.Order) == 0
		if !tie {
			rank, dense = pos+1, dense+1
		}
		switch o.Func {
		case RowNumber:
			for c := Diff(0); c < u.Diff; c++ {
				out = append(out, Update{Row: append(slices.Clone(u.Row), NewInt(pos+1+c)), Diff: 1})
			}
		case RankTies:
			out = append(out, Update{Row: append(slices.Clone(u.Row), NewInt(rank)), Diff: u.Diff})
		default:
			out = append(out, Update{Row: append(slices.Clone(u.Row), NewInt(dense)), Diff: u.Diff})
		}
		pos += u.Diff
	}
	return out
}

// Explain prints the numbering.
func (o *Rank) Explain() string {
	return fmt.Sprintf("Rank func=%d group=%v order=%v state=%s out=%s", o.Func, o.GroupBy, o.Order, o.State.Name(), o.Out.Name())
}

// splitByGroup consolidates an epoch's changes and splits them by group key (keys in the order
// first seen), with the State changes that store them (rows as stored returns them).
func splitByGroup(in []Update, groupBy []int, stored func(Row) Row) ([]string, map[string][]Update, []KeyedUpdate) {
	delta := Consolidate(append([]Update(nil), in...))
	byGroup := map[string][]Update{}
	var order []string
	state := make([]KeyedUpdate, 0, len(delta))
	for _, u := range delta {
		k := string(AppendColumnsKey(nil, u.Row, groupBy))
		if _, ok := byGroup[k]; !ok {
			order = append(order, k)
		}
		byGroup[k] = append(byGroup[k], u)
		state = append(state, KeyedUpdate{Key: []byte(k), Row: stored(u.Row), Diff: u.Diff})
	}
	return order, byGroup, state
}

// replaceGroupOutput appends to out (and to outState, the changes of the output arrangement
// under key) what turns a group's current output, in outArr, into next.
func replaceGroupOutput(ep *Epoch, outArr Arrangement, key []byte, next, out []Update, outState []KeyedUpdate) ([]Update, []KeyedUpdate, error) {
	prev := map[string]Update{}
	err := outArr.Get(key, func(r Row, c Diff) bool {
		prev[string(AppendRowKey(nil, r))] = Update{Row: r, Diff: c}
		return true
	})
	if err != nil {
		return nil, nil, fmt.Errorf("output %s: %w", outArr.Name(), err)
	}
	for _, u := range next {
		rk := string(AppendRowKey(nil, u.Row))
		d := u.Diff - prev[rk].Diff
		delete(prev, rk)
		if d != 0 {
			out = append(out, Update{Row: u.Row, Time: ep.Time, Diff: d})
			outState = append(outState, KeyedUpdate{Key: key, Row: u.Row, Diff: d})
		}
	}
	for _, u := range prev {
		out = append(out, Update{Row: u.Row, Time: ep.Time, Diff: -u.Diff})
		outState = append(outState, KeyedUpdate{Key: key, Row: u.Row, Diff: -u.Diff})
	}
	return out, outState, nil
}

// groupRows returns a group's rows after an epoch: its rows in state plus the changes.
func groupRows(state Arrangement, key []byte, changes []Update) ([]Update, error) {
	at := map[string]int{}
	var rows []Update
	err := state.Get(key, func(r Row, c Diff) bool {
		at[string(AppendRowKey(nil, r))] = len(rows)
		rows = append(rows, Update{Row: r, Diff: c})
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("group state %s: %w", state.Name(), err)
	}
	for _, u := range changes {
		rk := string(AppendRowKey(nil, u.Row))
		if i, ok := at[rk]; ok {
			rows[i].Diff += u.Diff
			continue
		}
		at[rk] = len(rows)
		rows = append(rows, Update{Row: u.Row, Diff: u.Diff})
	}
	return rows, nil
}
