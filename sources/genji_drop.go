package sources

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble"
)

// A DROP TABLE too large for one transaction (Genji deletes every row and index entry of a
// dropped table one by one, in the dropping transaction) sets the table aside instead: its
// transaction renames the Genji table to a name of the droppedPrefix, which no user table
// has (see mangle), and the table is gone from the catalog atomically with the rest of that
// transaction. Its rows are then purged by range deletions (PurgeStep), and a restart
// resumes any purge a crash interrupted (DroppedTables).
const droppedPrefix = "dropped_"

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

// PurgeStep purges a set-aside table: it deletes the key ranges of the table and its indexes
// at once, durably, under Genji's writer (which this transaction holds), and then drops the
// table, now empty, in this transaction. It reports whether the table is gone (always, on
// success: a purge is one step). A crash between the two leaves the table to purge again.
func (t *Txn) PurgeStep(trash string) (bool, error) {
	if err := t.check(true); err != nil {
		return false, err
	}
	if !strings.HasPrefix(trash, droppedPrefix) {
		return false, fmt.Errorf("purge %s: not a dropped table", trash)
	}
	cat := t.s.db.DB.Catalog
	info, err := cat.GetTableInfo(trash)
	if err != nil {
		return false, fmt.Errorf("purge %s: %w", trash, err)
	}
	nss := []int64{int64(info.StoreNamespace)}
	for _, gidx := range cat.ListIndexes(trash) {
		ii, err := cat.GetIndexInfo(gidx)
		if err != nil {
			return false, fmt.Errorf("purge %s: %w", trash, err)
		}
		nss = append(nss, int64(ii.StoreNamespace))
	}
	db := t.s.db.DB.DB
	b := db.NewBatch()
	defer b.Close()
	for _, ns := range nss {
		if err := b.DeleteRange(namespacePrefix(ns), namespacePrefix(ns+1), nil); err != nil {
			return false, fmt.Errorf("purge %s: %w", trash, err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return false, fmt.Errorf("purge %s: %w", trash, err)
	}
	if err := t.execDDL("DROP TABLE " + trash); err != nil {
		return false, fmt.Errorf("purge %s: %w", trash, err)
	}
	return true, nil
}

// namespacePrefix is the encoding of a Genji namespace that starts each of its keys (Genji's
// encoding of a non-negative integer, as Tree.Truncate bounds a namespace with).
func namespacePrefix(ns int64) []byte {
	u := uint64(ns)
	switch {
	case u <= 127:
		return []byte{0x44 + byte(u)}
	case u <= math.MaxUint8:
		return []byte{0xC4, byte(u)}
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16([]byte{0xC5}, uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32([]byte{0xC6}, uint32(u))
	}
	return binary.BigEndian.AppendUint64([]byte{0xC7}, u)
}
