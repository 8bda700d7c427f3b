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
	delta := Consolidate(append([]Update(nil), in[0]...))
	var out []Update
	ups := make([]KeyedUpdate, 0, len(delta))
	var buf []byte
	for _, u := range delta {
		start := len(buf)
		buf = AppendRowKey(buf, u.Row)
		key := buf[start:len(buf):len(buf)]
		var before Diff
		if err := o.State.Get(key, func(_ Row, c Diff) bool { before = c; return false }); err != nil {
			return nil, fmt.Errorf("distinct state %s: %w", o.State.Name(), err)
		}
		after := before + u.Diff
		switch {
		case before <= 0 && after > 0:
			out = append(out, Update{Row: u.Row, Time: ep.Time, Diff: 1})
		case before > 0 && after <= 0:
			out = append(out, Update{Row: u.Row, Time: ep.Time, Diff: -1})
		}
		ups = append(ups, KeyedUpdate{Row: u.Row, Diff: u.Diff})
	}
	ep.Stage(o.State, ups)
	return out, nil
}

// Explain names the state.
func (o *Distinct) Explain() string { return "Distinct state=" + o.State.Name() }
