package dataflow

// Threshold keeps each row of its input max(0, count) times: the bag difference of SQL's
// EXCEPT ALL, which never goes negative. State counts every row; a row's output changes by
// the change of max(0, count).
type Threshold struct {
	State Arrangement
}

// Step emits the change of max(0, count) of every row the epoch changes.
func (o *Threshold) Step(ep *Epoch, in [][]Update) ([]Update, error) {
	return stepCounts(ep, o.State, in[0], "threshold", func(before, after Diff) Diff {
		return max(0, after) - max(0, before)
	})
}

// Explain names the state.
func (o *Threshold) Explain() string { return "Threshold state=" + o.State.Name() }
