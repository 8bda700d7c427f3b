package engine

import (
	"fmt"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
)

// A group commit writes each transaction's epoch to the view store (unsynced) before the
// group's Genji commit is durable: the next transaction's epoch reads the arrangements the
// previous one changed. A crash in between can leave those epochs on disk without their
// transactions (a SIGKILL keeps whatever the process had written), so the view store is
// then ahead of the change log. To take such epochs back, the committer stages with every
// epoch its undo record in the history undoHistory: the epoch's changes of the table
// sources its views read, each row prefixed with its source's name (an empty record when
// none). Records are pruned once their LSNs are durable (pruneUndo, every maintenance
// pass); opening a store that is ahead runs the inputs of the epochs past the log's head
// negated, newest first (undoAhead). Epochs replayed from the log, durable already, have
// none.
const undoHistory = "undo"

// undoRecord is the epoch's undo record: its input updates of the table sources the views
// it touched read, each row prefixed with the source's name.
func (res *epochResult) undoRecord() []dataflow.Update {
	read := map[string]bool{}
	n, cellsN := 0, 0
	for _, t := range res.touched {
		for src := range t.v.sources {
			if read[src] || !strings.HasPrefix(src, "table:") {
				continue
			}
			read[src] = true
			for _, u := range res.ep.Inputs[src] {
				n++
				cellsN += 1 + len(u.Row)
			}
		}
	}
	out := make([]dataflow.Update, 0, n)
	cells := make([]dataflow.Datum, 0, cellsN) // one allocation for every row
	for src := range read {
		name := dataflow.NewString(src)
		for _, u := range res.ep.Inputs[src] {
			start := len(cells)
			cells = append(append(cells, name), u.Row...)
			out = append(out, dataflow.Update{Row: cells[start:len(cells):len(cells)], Diff: u.Diff})
		}
	}
	return out
}

// stageUndo stages the undo record of the committer's epoch at lsn in the epoch batch, if
// the views are durable.
func (e *Engine) stageUndo(lsn uint64, res *epochResult) {
	if e.state.durable() {
		e.state.batch.AppendHistory(undoHistory, lsn, res.undoRecord())
	}
}

// pruneUndo drops the undo records at durable LSNs (up to e.lsn), when there are new ones.
// Called with e.mu held.
func (e *Engine) pruneUndo() error {
	st := e.state
	if !st.durable() || e.closed || e.failed != nil || e.lsn <= st.undoPruned {
		return nil
	}
	st.batch.TruncateHistory(undoHistory, e.lsn+1)
	if err := st.batch.Commit(false); err != nil {
		return e.fail(err)
	}
	st.undoPruned = e.lsn
	return nil
}

// undoCovers reports whether the undo records cover every epoch the view store holds past
// head (not so in a store written by an earlier build: its views are then rebuilt).
func (st *viewState) undoCovers(head uint64) (bool, error) {
	n := uint64(0)
	if err := st.store.ReadHistory(undoHistory, head, st.frontier, func(uint64, []dataflow.Update) error { n++; return nil }); err != nil {
		return false, fmt.Errorf("read the undo records: %w", err)
	}
	return n == st.frontier-head, nil
}

// undoAhead takes back the epochs the view store holds past head, the change log's last
// LSN, from their undo records (undoCovers must hold), and sets every attached view and the
// store's frontier back to head.
func (e *Engine) undoAhead(head uint64) error {
	st := e.state
	from := st.frontier
	if !st.durable() || from <= head {
		return nil
	}
	inputs := map[uint64]map[string][]dataflow.Update{}
	err := st.store.ReadHistory(undoHistory, head, from, func(lsn uint64, us []dataflow.Update) error {
		in := map[string][]dataflow.Update{}
		for _, u := range us {
			src := u.Row[0].Str()
			in[src] = append(in[src], dataflow.Update{Row: u.Row[1:], Time: lsn, Diff: -u.Diff})
		}
		inputs[lsn] = in
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the undo records: %w", err)
	}
	for lsn := from; lsn > head; lsn-- {
		if len(inputs[lsn]) == 0 {
			continue
		}
		res, err := e.runEpoch(lsn, inputs[lsn], nil)
		if err != nil {
			return fmt.Errorf("take back the epoch of LSN %d: %w", lsn, err)
		}
		if err := res.ep.Commit(); err != nil {
			return err
		}
		for v, us := range res.changes {
			v.rows += sumDiffs(us)
		}
		st.batch.SetMeta(metaFrontier, beUint64(lsn-1))
		if err := st.batch.Commit(false); err != nil {
			return fmt.Errorf("take back the epoch of LSN %d: %w", lsn, err)
		}
	}
	for _, v := range e.order {
		if v.graph == nil {
			continue
		}
		v.frontier = head
		st.batch.SetMeta(v.metaKey(), v.record(v.rows))
		st.batch.DropHistoryFrom(v.historyName(), head+1)
	}
	st.batch.SetMeta(metaFrontier, beUint64(head))
	if err := st.batch.Commit(true); err != nil {
		return fmt.Errorf("take back the epochs after LSN %d: %w", head, err)
	}
	st.frontier, st.synced = head, min(st.synced, head)
	e.log.Info("took back the epochs the view store held past the change log", "from", from, "to", head)
	return nil
}
