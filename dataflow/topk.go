package dataflow

import (
	"fmt"
	"slices"
)

// OrderKey orders rows by one column, as ORDER BY does.
type OrderKey struct {
	Col  int
	Desc bool
}

// CompareOrder compares two rows as ORDER BY keys does in MySQL: NULL first ascending (and
// so last descending), values compared as SQL compares them.
func CompareOrder(a, b Row, keys []OrderKey) int {
	for _, k := range keys {
		x, y := a[k.Col], b[k.Col]
		var c int
		switch {
		case x.IsNull() && y.IsNull():
			c = 0
		case x.IsNull():
			c = -1
		case y.IsNull():
			c = 1
		default:
			var ok bool
			if c, ok = SQLCompare(x, y); !ok {
				c = Compare(x, y)
			}
		}
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// TopK maintains, for each group of GroupBy, the rows at positions [Offset, Offset+Limit)
// of the group in Order (Limit < 0: all from Offset on); rows that tie in Order are ordered
// as whole rows, so the result is deterministic. State holds every input row by group,
// stored after the values of its order keys so that a group's rows are in order, and Out
// the current result by group. An epoch recomputes only the groups it touches; when every
// key sorts the same way it reads only the first Offset+Limit rows of a group (plus those
// the epoch deletes and those that tie with the last), not the whole group.
type TopK struct {
	GroupBy       []int
	Order         []OrderKey
	Limit, Offset int64
	State, Out    Arrangement
}

// Step emits, for every group the epoch touches, the difference between its new and its
// old window.
func (o *TopK) Step(ep *Epoch, in [][]Update) ([]Update, error) {
	if len(in[0]) == 0 {
		ep.Stage(o.State, nil)
		ep.Stage(o.Out, nil)
		return nil, nil
	}
	order, byGroup, state := splitByGroup(in[0], o.GroupBy, o.stored)
	var out []Update
	var outState []KeyedUpdate
	for _, k := range order {
		rows, err := o.candidates([]byte(k), byGroup[k])
		if err != nil {
			return nil, err
		}
		if out, outState, err = replaceGroupOutput(ep, o.Out, []byte(k), o.window(rows), out, outState); err != nil {
			return nil, err
		}
	}
	ep.Stage(o.State, state)
	ep.Stage(o.Out, outState)
	return Consolidate(out), nil
}

// stored is a row as State keeps it: its order keys' values, then the row.
func (o *TopK) stored(row Row) Row {
	s := make(Row, 0, len(o.Order)+len(row))
	for _, k := range o.Order {
		s = append(s, row[k.Col])
	}
	return append(s, row...)
}

// candidates returns the rows of a group after the epoch that can be in its window: with
// every key sorting the same way, the group's first rows in State (enough to fill the window
// after the epoch's deletions, and every row that ties with the last of them) plus the
// epoch's changes; otherwise all its rows.
func (o *TopK) candidates(key []byte, changes []Update) ([]Update, error) {
	uniform := o.Limit >= 0 && len(o.Order) > 0
	for _, k := range o.Order {
		uniform = uniform && k.Desc == o.Order[0].Desc
	}
	need := o.Offset + o.Limit
	for _, u := range changes {
		if u.Diff < 0 {
			need -= u.Diff
		}
	}
	at := map[string]int{}
	var rows []Update
	var last Row
	var read int64
	visit := func(s Row, c Diff) bool {
		r := s[len(o.Order):]
		if uniform && read >= need && CompareOrder(r, last, o.Order) != 0 {
			return false
		}
		at[string(AppendRowKey(nil, r))] = len(rows)
		rows = append(rows, Update{Row: r, Diff: c})
		read += c
		last = r
		return true
	}
	var err error
	if uniform && o.Order[0].Desc {
		err = o.State.GetReverse(key, visit)
	} else {
		err = o.State.Get(key, visit)
	}
	if err != nil {
		return nil, fmt.Errorf("top-k state %s: %w", o.State.Name(), err)
	}
	for _, u := range changes {
		rk := string(AppendRowKey(nil, u.Row))
		if i, ok := at[rk]; ok {
			rows[i].Diff += u.Diff
			continue
		}
		if u.Diff < 0 {
			continue // a deletion of a row beyond the candidates
		}
		at[rk] = len(rows)
		rows = append(rows, Update{Row: u.Row, Diff: u.Diff})
	}
	return rows, nil
}

// window sorts a group's rows and returns those at positions [Offset, Offset+Limit), with
// their multiplicities.
func (o *TopK) window(rows []Update) []Update {
	rows = slices.DeleteFunc(rows, func(u Update) bool { return u.Diff <= 0 })
	slices.SortFunc(rows, func(a, b Update) int {
		if c := CompareOrder(a.Row, b.Row, o.Order); c != 0 {
			return c
		}
		return CompareRows(a.Row, b.Row)
	})
	var out []Update
	pos, end := int64(0), int64(-1)
	if o.Limit >= 0 {
		end = o.Offset + o.Limit
	}
	for _, u := range rows {
		if end >= 0 && pos >= end {
			break
		}
		from, to := pos, pos+u.Diff
		pos = to
		if to <= o.Offset {
			continue
		}
		from = max(from, o.Offset)
		if end >= 0 {
			to = min(to, end)
		}
		if to > from {
			out = append(out, Update{Row: u.Row, Diff: to - from})
		}
	}
	return out
}

// Explain prints the order and the window.
func (o *TopK) Explain() string {
	return fmt.Sprintf("TopK group=%v order=%v limit=%d offset=%d state=%s out=%s", o.GroupBy, o.Order, o.Limit, o.Offset, o.State.Name(), o.Out.Name())
}
