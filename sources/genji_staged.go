package sources

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/genjidb/genji/types"

	"github.com/cdc-dev/cdc/dataflow"
)

// A staged transaction reads a snapshot of the store and keeps its writes in memory, so that
// any number of them are open at once: Genji has a single writer, which only the committer
// holds (ApplyStaged replays a staged transaction's writes into it). Its reads see the
// snapshot overlaid with its own writes; its writes are checked as a Genji write would be
// (primary key and unique indexes, against the snapshot and its own writes) and charged to
// the same size bound.

// staged is the write set of a staged transaction: the last state it gave each row it wrote,
// by table and key.
type staged struct {
	tables map[string]*stagedTable // by TableSchema.Name
	// deferChecks: new rows are not looked up in the snapshot (see DeferChecks).
	deferChecks bool
	// reads, when tracked (TrackReads), are the keys read per table ("" for a scan).
	reads map[string]map[string]bool
	// sorted is StagedRows' order of the rows, kept until the next write (the committer
	// walks it several times: validation, the replay's phases, its conflict memory).
	sorted []StagedRow
}

// stagedTable is the write set of one table, with the values of its unique indexes among the
// rows the transaction wrote.
type stagedTable struct {
	ts   TableSchema
	rows map[string]*stagedRow
	// unique maps, per unique index (its position in tablePlan.indexes), the key encoding of
	// a written row's index values to the row's key.
	unique map[int]map[string]string
}

// stagedRow is the state a staged transaction gave one row.
type stagedRow struct {
	row    dataflow.Row // nil: deleted
	inSnap bool         // the snapshot holds a row at this key
	readAt uint64       // the transaction's ReadLSN when it first wrote the row
}

// BeginStaged starts a staged transaction over a snapshot of the store as committed now.
func (s *Store) BeginStaged() (*Txn, error) {
	tx, err := s.Begin(false)
	if err != nil {
		return nil, err
	}
	tx.staged = &staged{tables: map[string]*stagedTable{}}
	return tx, nil
}

// DeferChecks makes a staged transaction leave the checks of a new row against the snapshot
// (its primary key and unique index values) to ApplyStaged, which makes them against the
// last commit anyway: for a transaction of one statement, where failing at COMMIT is failing
// the statement, it saves a lookup per row. Checks among the transaction's own rows stay.
func (t *Txn) DeferChecks() {
	if t.staged != nil {
		t.staged.deferChecks = true
	}
}

// Staged reports whether the transaction is staged (see BeginStaged).
func (t *Txn) Staged() bool { return t.staged != nil }

// Bytes is the transaction's estimated size in Genji's batch, change-log records included.
func (t *Txn) Bytes() int64 { return t.bytes }

// RefreshSnapshot moves a staged transaction's reads to the store as committed now (a
// statement of a READ COMMITTED transaction); its writes stay.
func (t *Txn) RefreshSnapshot() error {
	if t.staged == nil || t.done {
		return nil
	}
	tx, err := t.s.db.Begin(false)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	_ = t.tx.Rollback()
	t.unuse()
	t.tx, t.plans = tx, nil
	return nil
}

// StagedRow is one row write of a staged transaction, as ApplyStaged replays it.
type StagedRow struct {
	Table  string
	Key    []byte
	Row    dataflow.Row // nil: deleted
	InSnap bool         // the row existed in the snapshot the transaction read
	ReadAt uint64       // the transaction's ReadLSN when it first wrote the row
}

// StagedRows calls fn for every row a staged transaction wrote, by table name and key.
func (t *Txn) StagedRows(fn func(StagedRow) error) error {
	if t.staged == nil {
		return nil
	}
	sg := t.staged
	if sg.sorted == nil {
		names := make([]string, 0, len(sg.tables))
		for n := range sg.tables {
			names = append(names, n)
		}
		sort.Strings(names)
		sg.sorted = []StagedRow{}
		for _, n := range names {
			st := sg.tables[n]
			for _, k := range st.sortedKeys() {
				r := st.rows[k]
				sg.sorted = append(sg.sorted, StagedRow{Table: n, Key: []byte(k), Row: r.row, InSnap: r.inSnap, ReadAt: r.readAt})
			}
		}
	}
	for _, r := range sg.sorted {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// ApplyStaged replays the writes of the staged transaction src into t, a writable
// transaction: deletions first, then updates in place, then new rows. In a table with a
// unique index an updated row is deleted and inserted again instead, so that rows that
// exchanged unique values do not collide on the way. It fails, having written part of them,
// if a row is not as src found it or a new row collides with one committed since src began.
// undo takes back what it wrote (even after an error): run ApplyStaged after StartStatement
// and undo inside Undo.
func (t *Txn) ApplyStaged(src *Txn) (undo func() error, err error) {
	var inverse []func() error
	undo = func() error {
		for i := len(inverse) - 1; i >= 0; i-- {
			if err := inverse[i](); err != nil {
				return err
			}
		}
		return nil
	}
	if err := t.check(true); err != nil {
		return undo, err
	}
	if t.staged != nil || src.staged == nil {
		return undo, fmt.Errorf("apply staged: a staged transaction into a writable one")
	}
	unique := map[string]bool{}
	for name, st := range src.staged.tables {
		p, err := t.plan(st.ts)
		if err != nil {
			return undo, err
		}
		if err := t.loadIndexes(p); err != nil {
			return undo, err
		}
		unique[name] = slices.ContainsFunc(p.indexes, func(ix tableIndex) bool { return ix.unique })
	}
	for phase := 0; phase < 3; phase++ {
		err := src.StagedRows(func(r StagedRow) error {
			ts := src.staged.tables[r.Table].ts
			reinsert := unique[r.Table] && r.Row != nil && r.InSnap
			switch {
			case phase == 0 && r.InSnap && (r.Row == nil || reinsert):
				old, err := t.delete(ts, r.Key)
				if err == nil {
					inverse = append(inverse, func() error { return t.insertAt(ts, r.Key, old) })
				}
				return err
			case phase == 1 && r.Row != nil && r.InSnap && !reinsert:
				_, old, err := t.update(ts, r.Key, r.Row)
				if err == nil {
					inverse = append(inverse, func() error { _, err := t.Update(ts, r.Key, old); return err })
				}
				return err
			case phase == 2 && r.Row != nil && (!r.InSnap || reinsert):
				err := t.insertAt(ts, r.Key, r.Row)
				if err == nil {
					inverse = append(inverse, func() error { return t.Delete(ts, r.Key) })
				}
				return err
			}
			return nil
		})
		if err != nil {
			return undo, err
		}
	}
	return undo, nil
}

// SetUnbounded exempts a writable transaction from the size bound: the committer's, into
// which staged transactions that each passed it are replayed in groups that together fit.
func (t *Txn) SetUnbounded() { t.unbounded = true }

// MaxTxnBytes is the size bound of a transaction (Bytes).
func (s *Store) MaxTxnBytes() int64 { return s.maxTxnBytes }

// LowerMaxTxnBytes sets the size bound of transactions to n if that is lower than the
// default (a higher one would let Genji spill and lose atomicity). Call it before use.
func (s *Store) LowerMaxTxnBytes(n int64) {
	if n > 0 && n < defaultMaxTxnBytes {
		s.maxTxnBytes = n
	}
}

// TrackReads makes a staged transaction remember what it reads (Reads), for SERIALIZABLE
// validation.
func (t *Txn) TrackReads() {
	if t.staged != nil && t.staged.reads == nil {
		t.staged.reads = map[string]map[string]bool{}
	}
}

// Reads calls fn for what a staged transaction tracking reads has read: each table it
// scanned (key nil), and each row it looked up by key outside its own writes.
func (t *Txn) Reads(fn func(table string, key []byte) error) error {
	if t.staged == nil {
		return nil
	}
	for table, keys := range t.staged.reads {
		if keys[""] {
			if err := fn(table, nil); err != nil {
				return err
			}
			continue
		}
		for k := range keys {
			if err := fn(table, []byte(k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// read records a read of the table (key nil: all of it) when reads are tracked.
func (sg *staged) read(table string, key []byte) {
	if sg.reads == nil {
		return
	}
	m := sg.reads[table]
	if m == nil {
		m = map[string]bool{}
		sg.reads[table] = m
	}
	if key == nil {
		m[""] = true
		return
	}
	m[string(key)] = true
}

// table returns the write set of ts, made on first use.
func (sg *staged) table(ts TableSchema) *stagedTable {
	st, ok := sg.tables[ts.Name]
	if !ok || !sameSchema(st.ts, ts) {
		st = &stagedTable{ts: ts, rows: map[string]*stagedRow{}, unique: map[int]map[string]string{}}
		sg.tables[ts.Name] = st
	}
	return st
}

// sortedKeys returns the keys of the written rows in byte order.
func (st *stagedTable) sortedKeys() []string {
	keys := make([]string, 0, len(st.rows))
	for k := range st.rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// current returns the row at key as the staged transaction sees it, and whether the snapshot
// holds a row there (known only when the transaction has not written the key: then the
// written row's inSnap says it).
func (t *Txn) current(p *tablePlan, key []byte) (row dataflow.Row, found, inSnap bool, err error) {
	if r, ok := t.staged.table(p.ts).rows[string(key)]; ok {
		return r.row, r.row != nil, r.inSnap, nil
	}
	t.staged.read(p.ts.Name, key)
	keyArgs, err := p.keyArgs(key)
	if err == errNoSuchKey {
		return nil, false, false, nil
	}
	if err != nil {
		return nil, false, false, err
	}
	row = make(dataflow.Row, len(p.fields))
	found, err = t.lookup(p, keyArgs, row)
	if err != nil || !found {
		return nil, false, false, err
	}
	return row, true, true, nil
}

// put records that the staged transaction gave the row at key the value row (nil: deleted),
// keeping the unique index values of its written rows current.
func (t *Txn) put(p *tablePlan, key []byte, row dataflow.Row, inSnap bool) {
	st := t.staged.table(p.ts)
	t.staged.sorted = nil
	k := string(key)
	r, ok := st.rows[k]
	if !ok {
		r = &stagedRow{inSnap: inSnap, readAt: t.ReadLSN}
		st.rows[k] = r
	}
	for i, ix := range p.indexes {
		if !ix.unique {
			continue
		}
		m := st.unique[i]
		if m == nil {
			m = map[string]string{}
			st.unique[i] = m
		}
		if r.row != nil {
			if v, ok := uniqueValues(r.row, ix.cols); ok && m[v] == k {
				delete(m, v)
			}
		}
		if row != nil {
			if v, ok := uniqueValues(row, ix.cols); ok {
				m[v] = k
			}
		}
	}
	r.row = slices.Clone(row)
}

// uniqueValues encodes the values of a unique index's columns; ok is false when one is NULL
// (NULLs never collide).
func uniqueValues(row dataflow.Row, cols []int) (string, bool) {
	var b []byte
	for _, c := range cols {
		if row[c].IsNull() {
			return "", false
		}
		b = dataflow.AppendKey(b, row[c])
	}
	return string(b), true
}

// stagedUniqueConflict is uniqueConflict for a staged transaction: row, to be written at
// key (replacing old, nil for an insert), collides with another row on a unique index if a
// row the transaction wrote has its values, or the snapshot has a row with them that the
// transaction did not rewrite.
func (t *Txn) stagedUniqueConflict(p *tablePlan, old, row dataflow.Row, key []byte) error {
	if err := t.loadIndexes(p); err != nil {
		return err
	}
	st := t.staged.table(p.ts)
	for i := range p.indexes {
		u := &p.indexes[i]
		if !u.unique {
			continue
		}
		v, ok := uniqueValues(row, u.cols)
		if !ok {
			continue
		}
		if old != nil {
			if ov, ok := uniqueValues(old, u.cols); ok && ov == v {
				continue
			}
		}
		if other, ok := st.unique[i][v]; ok && other != string(key) {
			return dupEntry(pick(row, u.cols), p.ts.Name, u.name)
		}
		if t.staged.deferChecks {
			continue // the replay checks the index against the last commit
		}
		args := make([]any, len(u.cols))
		for j, c := range u.cols {
			args[j] = toGenji(row[c], p.pad)
		}
		conflict, err := t.snapshotHolds(p, u, args, st, key)
		if err != nil {
			return err
		}
		if conflict {
			return dupEntry(pick(row, u.cols), p.ts.Name, u.name)
		}
	}
	return nil
}

// snapshotHolds reports whether the snapshot has a row with the given values of unique index
// u that the staged transaction has not rewritten (and that is not at key itself).
func (t *Txn) snapshotHolds(p *tablePlan, u *tableIndex, args []any, st *stagedTable, key []byte) (bool, error) {
	var q strings.Builder
	q.WriteString("SELECT ")
	if p.bag {
		q.WriteString(rowidField)
	} else {
		for j, i := range p.ts.PrimaryKey {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString(p.fields[i])
		}
	}
	q.WriteString(" FROM " + p.gname + " WHERE ")
	for j, c := range u.cols {
		if j > 0 {
			q.WriteString(" AND ")
		}
		q.WriteString(p.fields[c] + " = ?")
	}
	stmt, err := t.stmt(&u.keyLookup, q.String)
	if err != nil {
		return false, err
	}
	kinds := p.keyKind
	found := false
	vals := make(dataflow.Row, len(kinds))
	err = t.query(stmt, args, func(d types.Document) error {
		if err := decodeDoc(d, kinds, vals); err != nil {
			return err
		}
		var k []byte
		for _, v := range vals {
			k = dataflow.AppendKey(k, v)
		}
		if bytes.Equal(k, key) {
			return nil
		}
		if _, rewritten := st.rows[string(k)]; rewritten {
			return nil
		}
		found = true
		return errStopScan
	})
	if err == errStopScan {
		err = nil
	}
	return found, err
}

// stagedInsert is Insert in a staged transaction.
func (t *Txn) stagedInsert(p *tablePlan, row dataflow.Row) ([]byte, error) {
	var key []byte
	if p.bag {
		id, err := t.nextRowid(p)
		if err != nil {
			return nil, err
		}
		key = dataflow.AppendKey(nil, dataflow.NewInt(id))
	} else {
		key = dataflow.AppendColumnsKey(nil, row, p.ts.PrimaryKey)
	}
	if err := t.loadIndexes(p); err != nil {
		return nil, err
	}
	if err := p.checkKeyLengths(row); err != nil {
		return nil, err
	}
	// A fresh row id is in no snapshot; with deferred checks the replay finds a collision.
	found, inSnap := false, false
	if r, ok := t.staged.table(p.ts).rows[string(key)]; ok {
		found, inSnap = r.row != nil, r.inSnap
	} else if !p.bag && !t.staged.deferChecks {
		var err error
		if _, found, inSnap, err = t.current(p, key); err != nil {
			return nil, err
		}
	}
	if found {
		return nil, dupEntry(pick(row, p.ts.PrimaryKey), p.ts.Name, "PRIMARY")
	}
	if err := t.stagedUniqueConflict(p, nil, row, key); err != nil {
		return nil, err
	}
	if err := t.chargeWrite(p.insertBytes(row), p.deleteBytes(row)); err != nil {
		return nil, err
	}
	t.put(p, key, row, inSnap)
	return key, nil
}

// stagedUpdate is Update in a staged transaction.
func (t *Txn) stagedUpdate(p *tablePlan, key []byte, row dataflow.Row) ([]byte, error) {
	if err := t.loadIndexes(p); err != nil {
		return nil, err
	}
	if err := p.checkKeyLengths(row); err != nil {
		return nil, err
	}
	old, found, inSnap, err := t.current(p, key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrRowNotFound
	}
	newKey := key
	moved := false
	newInSnap := inSnap
	if !p.bag {
		newKey = dataflow.AppendColumnsKey(nil, row, p.ts.PrimaryKey)
		if !bytes.Equal(newKey, key) {
			moved = true
			_, exists, snap, err := t.current(p, newKey)
			if err != nil {
				return nil, err
			}
			if exists {
				return nil, dupEntry(pick(row, p.ts.PrimaryKey), p.ts.Name, "PRIMARY")
			}
			newInSnap = snap
		}
	}
	if err := t.stagedUniqueConflict(p, old, row, key); err != nil {
		return nil, err
	}
	if err := t.chargeWrite(p.updateBytes(old, row, moved), p.updateBytes(row, old, moved)); err != nil {
		return nil, err
	}
	if moved {
		t.put(p, key, nil, inSnap)
	}
	t.put(p, newKey, row, newInSnap)
	return newKey, nil
}

// stagedDelete is Delete in a staged transaction.
func (t *Txn) stagedDelete(p *tablePlan, key []byte) error {
	if err := t.loadIndexes(p); err != nil {
		return err
	}
	old, found, inSnap, err := t.current(p, key)
	if err != nil {
		return err
	}
	if !found {
		return ErrRowNotFound
	}
	if err := t.chargeWrite(p.deleteBytes(old), p.insertBytes(old)); err != nil {
		return err
	}
	t.put(p, key, nil, inSnap)
	return nil
}

// stagedScan is Scan in a staged transaction: the snapshot's rows merged, in key order, with
// the rows the transaction wrote.
func (t *Txn) stagedScan(p *tablePlan, fn func(key []byte, row dataflow.Row) error) error {
	t.staged.read(p.ts.Name, nil)
	st := t.staged.table(p.ts)
	keys := st.sortedKeys()
	next := 0
	// emitBefore calls fn for the written rows whose keys sort before k (all of them when k
	// is nil) and are not in the snapshot.
	emitBefore := func(k []byte) error {
		for next < len(keys) && (k == nil || keys[next] < string(k)) {
			r := st.rows[keys[next]]
			next++
			if r.row != nil && !r.inSnap {
				if err := fn([]byte(keys[next-1]), slices.Clone(r.row)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := t.scanSnapshot(p, func(key []byte, row dataflow.Row) error {
		if err := emitBefore(key); err != nil {
			return err
		}
		if r, ok := st.rows[string(key)]; ok {
			if next < len(keys) && keys[next] == string(key) {
				next++
			}
			if r.row == nil {
				return nil
			}
			row = slices.Clone(r.row)
		}
		return fn(key, row)
	})
	if err != nil {
		return err
	}
	return emitBefore(nil)
}

// insertAt inserts row at key, the key a staged transaction gave it (for a table without
// primary key, the row id it drew).
func (t *Txn) insertAt(ts TableSchema, key []byte, row dataflow.Row) (err error) {
	defer wrap(&err, "insert into %s", ts.Name)
	p, err := t.plan(ts)
	if err != nil {
		return err
	}
	if !p.bag {
		_, err := t.Insert(ts, row)
		return err
	}
	id, _, err := dataflow.DecodeKey(key)
	if err != nil || id.Kind() != dataflow.KindInt {
		return fmt.Errorf("malformed row id key %x", key)
	}
	return t.insertRow(p, id.Int(), row)
}
