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
// then ahead of the change log. To take such epochs back, every epoch keeps its inputs
// beside it, as undo histories: undoLSNs holds an empty record per epoch and undoName(src)
// the changes of each table source. They are pruned once their LSNs are durable
// (pruneUndo, every maintenance pass); opening a store that is ahead runs the inputs of the
// epochs past the log's head negated, newest first (undoAhead).
const undoLSNs = "undo"

// undoName is the undo history of a table source's epoch inputs.
func undoName(src string) string { return "undo:" + src }

// stageUndo stages the undo records of the epoch at lsn in the epoch's batch.
func (st *viewState) stageUndo(lsn uint64, inputs map[string][]dataflow.Update) {
	if st.undo == nil {
		st.undo = map[string]bool{}
	}
	st.batch.AppendHistory(undoLSNs, lsn, nil)
	for src, us := range inputs {
		if strings.HasPrefix(src, "table:") && len(us) > 0 {
			st.batch.AppendHistory(undoName(src), lsn, us)
			st.undo[undoName(src)] = true
		}
	}
}

// pruneUndo drops the undo records at durable LSNs (up to e.lsn). Called with e.mu held.
func (e *Engine) pruneUndo() error {
	st := e.state
	if !st.durable() || e.closed || e.failed != nil {
		return nil
	}
	st.batch.TruncateHistory(undoLSNs, e.lsn+1)
	for name := range st.undo {
		st.batch.TruncateHistory(name, e.lsn+1)
	}
	if err := st.batch.Commit(false); err != nil {
		return e.fail(err)
	}
	return nil
}

// undoCovers reports whether the undo records cover every epoch the view store holds past
// head (not so in a store written by an earlier build: its views are then rebuilt).
func (st *viewState) undoCovers(head uint64) (bool, error) {
	n := uint64(0)
	if err := st.store.ReadHistory(undoLSNs, head, st.frontier, func(uint64, []dataflow.Update) error { n++; return nil }); err != nil {
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
	srcs := map[string]bool{}
	for _, v := range e.order {
		if v.graph == nil {
			continue
		}
		for src := range v.sources {
			if strings.HasPrefix(src, "table:") {
				srcs[src] = true
			}
		}
	}
	inputs := map[uint64]map[string][]dataflow.Update{}
	for src := range srcs {
		err := st.store.ReadHistory(undoName(src), head, from, func(lsn uint64, us []dataflow.Update) error {
			if inputs[lsn] == nil {
				inputs[lsn] = map[string][]dataflow.Update{}
			}
			neg := make([]dataflow.Update, len(us))
			for i, u := range us {
				neg[i] = dataflow.Update{Row: u.Row, Time: lsn, Diff: -u.Diff}
			}
			inputs[lsn][src] = neg
			return nil
		})
		if err != nil {
			return fmt.Errorf("read the undo records of %s: %w", src, err)
		}
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
