package dataflow

import "fmt"

// Distinct maintains the set of rows of its input: a row is present while its count is
// positive. State counts every row (keyed by the whole row); output changes only on the
// transitions between zero and a positive count.
type Distinct struct {
	State Arrangement
}

// Step emits +1 for rows that appear and -1 for rows that disappear in this epoch.
func (o *Distinct) Step(ep *Epoch, in [][]Update) ([]Update, error) {
	return stepCounts(ep, o.State, in[0], "distinct", func(before, after Diff) Diff {
		switch {
		case before <= 0 && after > 0:
			return 1
		case before > 0 && after <= 0:
			return -1
		}
		return 0
	})
}

// stepCounts keeps a count per row in state and emits, for every row the epoch changes,
// output(count before, count after) copies of it.
func stepCounts(ep *Epoch, state Arrangement, in []Update, what string, output func(before, after Diff) Diff) ([]Update, error) {
	delta := Consolidate(append([]Update(nil), in...))
	var out []Update
	ups := make([]KeyedUpdate, 0, len(delta))
	var buf []byte
	for _, u := range delta {
		start := len(buf)
		buf = AppendRowKey(buf, u.Row)
		key := buf[start:len(buf):len(buf)]
		var before Diff
		if err := state.Get(key, func(_ Row, c Diff) bool { before = c; return false }); err != nil {
			return nil, fmt.Errorf("%s state %s: %w", what, state.Name(), err)
		}
		if d := output(before, before+u.Diff); d != 0 {
			out = append(out, Update{Row: u.Row, Time: ep.Time, Diff: d})
		}
		ups = append(ups, KeyedUpdate{Row: u.Row, Diff: u.Diff})
	}
	ep.Stage(state, ups)
	return out, nil
}

// Explain names the state.
func (o *Distinct) Explain() string { return "Distinct state=" + o.State.Name() }
