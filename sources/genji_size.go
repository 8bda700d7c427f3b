package sources

import (
	"errors"
	"fmt"
	"strings"

	"github.com/genjidb/genji/types"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// Genji v0.15 commits a write transaction's batch early once it passes 10 MiB ("spills") and
// keeps a rollback segment to undo that on Rollback. A spilled transaction is not atomic: the
// rollback segment is forgotten on restart, so after a crash the transaction's first part is
// in the database, and Rollback can panic (its segment aliases reused iterator buffers).
// The store therefore estimates, from above, the bytes each write adds to the Genji batch and
// refuses writes that would take a transaction past maxTxnBytes, well below the spill point;
// the exception is the DDL that writes only new keys, which may spill because the store
// restores a spilled transaction itself (genji_spill.go).
const (
	defaultMaxTxnBytes = 8 << 20
	genjiSpillBytes    = 10 << 20

	codeTxnTooLarge = 1197 // ER_TRANS_CACHE_FULL, HY000

	entryOverhead = 11 // pebble batch record: kind byte and two uvarint lengths
	nsBytes       = 9  // Genji tree namespace prefix of a key
	valOverhead   = 11 // Genji value encoding: type byte and a uvarint length
)

// IsTxnTooLarge reports whether err is the refusal of a write that would make its transaction
// too large for Genji to keep atomic; the transaction is still usable (minus that write).
func IsTxnTooLarge(err error) bool {
	var e *sqlerr.Error
	return errors.As(err, &e) && e.Code == codeTxnTooLarge
}

// charge accounts for n more batch bytes, or refuses them if the transaction would pass the
// bound.
func (t *Txn) charge(n int64) error { return t.chargeWrite(n, 0) }

// chargeWrite accounts for a row write of n batch bytes whose reversal would take undo more,
// or refuses it. The reversals of the current statement's writes are reserved as they are
// charged, so that undoing the statement (Undo) can never be refused for size: a failed
// statement always leaves the transaction as it was before it.
func (t *Txn) chargeWrite(n, undo int64) error {
	if t.undoing || t.unbounded {
		t.bytes += n
		t.reserved = max(0, t.reserved-n)
		return nil
	}
	if t.bytes+t.reserved+n+undo > t.s.maxTxnBytes {
		return sqlerr.New(codeTxnTooLarge,
			"Transaction too large: it would write more than %d bytes to storage, change log included; "+
				"the statement changed nothing (an open transaction keeps its earlier statements); split the work into smaller transactions",
			t.s.maxTxnBytes)
	}
	t.bytes += n
	t.reserved += undo
	return nil
}

// ChargeLog accounts for n bytes of the change-log record that AppendLog will write for this
// transaction's changes, or refuses them (IsTxnTooLarge) if the transaction would pass its
// bound: the record is charged with the writes it describes, so that a transaction that
// fits at its last statement also fits at COMMIT.
func (t *Txn) ChargeLog(n int64) error {
	if err := t.check(true); err != nil {
		return err
	}
	if err := t.chargeWrite(n, 0); err != nil {
		return err
	}
	t.logBytes += n
	t.stmtLogBytes += n
	return nil
}

// StartStatement marks the start of a statement whose writes Undo may reverse.
func (t *Txn) StartStatement() {
	t.reserved, t.stmtLogBytes = 0, 0
}

// Undo runs fn, which reverses the writes of the current statement (since StartStatement),
// without refusing any of them for size, and forgets the statement's change-log charge.
func (t *Txn) Undo(fn func() error) error {
	t.undoing = true
	defer func() {
		t.undoing = false
		t.logBytes -= t.stmtLogBytes
		t.bytes -= t.stmtLogBytes
		t.StartStatement()
	}()
	return fn()
}

// CheckInserts refuses (IsTxnTooLarge), before anything is written, the insert of rows that
// cannot fit in the transaction with their change-log records: a statement far too large
// then fails at no cost, where one found too large row by row has written, and undone,
// part of its rows in the batch. The estimate is from below for the change log; the writes
// are still charged exactly.
func (t *Txn) CheckInserts(ts TableSchema, rows []dataflow.Row) error {
	if err := t.check(true); err != nil {
		return err
	}
	p, err := t.plan(ts)
	if err != nil {
		return err
	}
	if err := t.loadIndexes(p); err != nil {
		return err
	}
	var n int64
	for _, row := range rows {
		if len(row) != len(ts.Columns) {
			return nil // the write itself reports it
		}
		n += p.insertBytes(row) + p.deleteBytes(row) + p.docBytes(row)
		if t.bytes+t.reserved+n > t.s.maxTxnBytes {
			return t.chargeWrite(n, 0) // refused, with the usual message
		}
	}
	return nil
}

// logSlack is how far past its bound a transaction may go at COMMIT, for the framing of the
// change-log record that ChargeLog's estimates do not cover.
const logSlack = 64 << 10

// entry is the size of a batch record with a key and a value of the given sizes.
func entry(k, v int64) int64 { return entryOverhead + k + v }

// datumBytes bounds the size of a datum's Genji encoding (padded: in a store of
// paddedFormat).
func datumBytes(d dataflow.Datum, pad bool) int64 {
	if padded(d.Kind()) {
		return valOverhead + int64(storedLen(d, pad))
	}
	return valOverhead
}

// keyBytes bounds the size of the table key of row.
func (p *tablePlan) keyBytes(row dataflow.Row) int64 {
	n := int64(nsBytes)
	if p.bag {
		return n + valOverhead
	}
	for _, i := range p.ts.PrimaryKey {
		n += datumBytes(row[i], p.pad)
	}
	return n
}

// docBytes bounds the size of the stored document of row.
func (p *tablePlan) docBytes(row dataflow.Row) int64 {
	n := int64(16)
	if p.bag {
		n += valOverhead
	}
	for _, d := range row {
		n += datumBytes(d, p.pad)
	}
	return n
}

// indexBytes bounds the size of the entries of row in every index of the table.
func (p *tablePlan) indexBytes(row dataflow.Row, key int64, withValue bool) int64 {
	var n int64
	for _, ix := range p.indexes {
		k := nsBytes + valOverhead + key
		for _, c := range ix.cols {
			k += datumBytes(row[c], p.pad)
		}
		v := int64(0)
		if withValue {
			v = 1
		}
		n += entry(k, v)
	}
	return n
}

// insertBytes is the batch growth of inserting row.
func (p *tablePlan) insertBytes(row dataflow.Row) int64 {
	k := p.keyBytes(row)
	return entry(k, p.docBytes(row)) + p.indexBytes(row, k, true)
}

// deleteBytes is the batch growth of deleting row.
func (p *tablePlan) deleteBytes(row dataflow.Row) int64 {
	k := p.keyBytes(row)
	return entry(k, 0) + p.indexBytes(row, k, false)
}

// updateBytes is the batch growth of replacing old with row; Genji's UPDATE rewrites every
// index entry of the row whatever changed.
func (p *tablePlan) updateBytes(old, row dataflow.Row, moved bool) int64 {
	oldKey := p.keyBytes(old)
	n := p.indexBytes(old, oldKey, false) + p.insertBytes(row)
	if moved {
		n += entry(oldKey, 0)
	}
	return n
}

// scanBytes bounds the batch growth of writing or deleting, for every row of a Genji table,
// its table entry (withTable) and its entries in the indexes on the given fields.
func (t *Txn) scanBytes(gtable string, withTable bool, indexes [][]string) (int64, error) {
	info, err := t.s.db.DB.Catalog.GetTableInfo(gtable)
	if err != nil {
		return 0, err
	}
	var keyFields []string
	if pk := info.GetPrimaryKey(); pk != nil {
		for _, path := range pk.Paths {
			keyFields = append(keyFields, path.String())
		}
	}
	// Select every needed field once.
	pos := map[string]int{}
	var fields []string
	add := func(f string) int {
		if i, ok := pos[f]; ok {
			return i
		}
		pos[f] = len(fields)
		fields = append(fields, f)
		return pos[f]
	}
	keyPos := make([]int, len(keyFields))
	for i, f := range keyFields {
		keyPos[i] = add(f)
	}
	idxPos := make([][]int, len(indexes))
	for i, fs := range indexes {
		for _, f := range fs {
			idxPos[i] = append(idxPos[i], add(f))
		}
	}
	if len(fields) == 0 {
		return 0, nil
	}
	st, err := t.prepare("SELECT " + strings.Join(fields, ", ") + " FROM " + gtable)
	if err != nil {
		return 0, err
	}
	sizes := make([]int64, len(fields))
	var total int64
	err = t.query(st, nil, func(d types.Document) error {
		i := 0
		if err := d.Iterate(func(_ string, v types.Value) error {
			if i < len(sizes) {
				sizes[i] = valOverhead
				if v.Type() == types.BlobValue {
					sizes[i] += int64(len(types.As[[]byte](v)))
				}
			}
			i++
			return nil
		}); err != nil {
			return err
		}
		key := int64(nsBytes)
		for _, j := range keyPos {
			key += sizes[j]
		}
		if withTable {
			total += entry(key, 0)
		}
		for _, ps := range idxPos {
			k := nsBytes + valOverhead + key
			for _, j := range ps {
				k += sizes[j]
			}
			total += entry(k, 1)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", gtable, err)
	}
	return total, nil
}

// indexFields returns the Genji fields of every index of a Genji table.
func (t *Txn) indexFields(gtable string) ([][]string, error) {
	cat := t.s.db.DB.Catalog
	var out [][]string
	for _, gidx := range cat.ListIndexes(gtable) {
		info, err := cat.GetIndexInfo(gidx)
		if err != nil {
			return nil, err
		}
		var fs []string
		for _, path := range info.Paths {
			fs = append(fs, path.String())
		}
		out = append(out, fs)
	}
	return out, nil
}
