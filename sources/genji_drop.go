package sources

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/genjidb/genji/types"
)

// A DROP TABLE too large for one transaction (Genji deletes every row and index entry of a
// dropped table one by one, in the dropping transaction) sets the table aside instead: its
// transaction renames the Genji table to a name of the droppedPrefix, which no user table
// has (see mangle), and the table is gone from the catalog atomically with the rest of that
// transaction. Its rows are then purged in transactions of bounded size (PurgeStep), and a
// restart resumes any purge a crash interrupted (DroppedTables).
const droppedPrefix = "dropped_"

// purgeFraction is the share of the transaction bound one purge step may use.
const purgeFraction = 2

// setAside renames a table's Genji table to a new dropped name.
func (t *Txn) setAside(gname string) error {
	t.s.mu.Lock()
	t.s.dropSeq++
	seq := t.s.dropSeq
	t.s.mu.Unlock()
	trash := droppedPrefix + strconv.FormatInt(time.Now().UnixNano(), 36) + "_" + strconv.FormatUint(seq, 36)
	if err := t.charge(ddlBytes); err != nil {
		return err
	}
	return t.execDDL("ALTER TABLE " + gname + " RENAME TO " + trash)
}

// DroppedTables lists the set-aside tables that still hold rows to purge.
func (s *Store) DroppedTables() ([]string, error) {
	var out []string
	err := s.eachGenjiTable(func(g string) {
		if strings.HasPrefix(g, droppedPrefix) {
			out = append(out, g)
		}
	})
	return out, err
}

// purgeState is what a purge knows of a set-aside table: measured once (each step would
// otherwise read all that is left), then counted down by each step.
type purgeState struct {
	rows  int64 // rows left
	chunk int64 // rows per step
}

// PurgeStep deletes, in this transaction, as many rows of a set-aside table as fit in half
// the transaction bound, and drops the table (and its indexes) once it is empty. It reports
// whether the table is gone.
func (t *Txn) PurgeStep(trash string) (bool, error) {
	if err := t.check(true); err != nil {
		return false, err
	}
	if !strings.HasPrefix(trash, droppedPrefix) {
		return false, fmt.Errorf("purge %s: not a dropped table", trash)
	}
	t.s.mu.Lock()
	ps, ok := t.s.purges[trash]
	t.s.mu.Unlock()
	if !ok {
		var err error
		if ps, err = t.measurePurge(trash); err != nil {
			return false, fmt.Errorf("purge %s: %w", trash, err)
		}
		t.s.mu.Lock()
		t.s.purges[trash] = ps
		t.s.mu.Unlock()
	}
	if ps.rows > ps.chunk {
		if err := t.execDDL("DELETE FROM " + trash + " LIMIT " + strconv.FormatInt(ps.chunk, 10)); err != nil {
			return false, fmt.Errorf("purge %s: %w", trash, err)
		}
		// Counted down before the commit: if it fails, the last step drops more rows than
		// half the bound, which costs only room, since nothing sees a set-aside table.
		t.s.mu.Lock()
		ps.rows -= ps.chunk
		t.s.mu.Unlock()
		return false, nil
	}
	if err := t.execDDL("DROP TABLE " + trash); err != nil {
		return false, fmt.Errorf("purge %s: %w", trash, err)
	}
	t.s.mu.Lock()
	delete(t.s.purges, trash)
	t.s.mu.Unlock()
	return true, nil
}

// measurePurge counts a set-aside table's rows and sizes its purge steps to half the
// transaction bound.
func (t *Txn) measurePurge(trash string) (*purgeState, error) {
	idx, err := t.indexFields(trash)
	if err != nil {
		return nil, err
	}
	rows, err := t.countRows(trash)
	if err != nil || rows == 0 {
		return &purgeState{}, err
	}
	bytes, err := t.scanBytes(trash, true, idx)
	if err != nil {
		return nil, err
	}
	return &purgeState{rows: rows, chunk: max(1, t.s.maxTxnBytes/purgeFraction/(bytes/rows+1))}, nil
}

// countRows counts the rows of a Genji table.
func (t *Txn) countRows(gtable string) (int64, error) {
	st, err := t.prepare("SELECT COUNT(*) FROM " + gtable)
	if err != nil {
		return 0, err
	}
	var n int64
	err = t.query(st, nil, func(d types.Document) error {
		return d.Iterate(func(_ string, v types.Value) error {
			if v.Type() == types.IntegerValue {
				n = types.As[int64](v)
			}
			return nil
		})
	})
	return n, err
}
