package dataflow

import "fmt"

// Threshold keeps each row of its input max(0, count) times: the bag difference of SQL's
// EXCEPT ALL, which never goes negative. State counts every row; a row's output changes by
// the change of max(0, count).
type Threshold struct {
	State Arrangement
}

// Step emits the change of max(0, count) of every row the epoch changes.
func (o *Threshold) Step(ep *Epoch, in [][]Update) ([]Update, error) {
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
			return nil, fmt.Errorf("threshold state %s: %w", o.State.Name(), err)
		}
		if d := max(0, before+u.Diff) - max(0, before); d != 0 {
			out = append(out, Update{Row: u.Row, Time: ep.Time, Diff: d})
		}
		ups = append(ups, KeyedUpdate{Row: u.Row, Diff: u.Diff})
	}
	ep.Stage(o.State, ups)
	return out, nil
}

// Explain names the state.
func (o *Threshold) Explain() string { return "Threshold state=" + o.State.Name() }
