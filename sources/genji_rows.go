package sources

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/genjidb/genji"
	"github.com/genjidb/genji/types"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// errStopScan ends a Genji iteration early; it never leaves this package.
var errStopScan = errors.New("stop scan")

// errNoSuchKey is returned by keyArgs for a well-formed key no stored row can have.
var errNoSuchKey = errors.New("no row can have this key")

// tablePlan is a table's Genji names and statements, prepared lazily in one transaction.
type tablePlan struct {
	ts      TableSchema
	gname   string
	fields  []string // Genji field of each column
	notNull []bool
	kinds   []dataflow.Kind
	bag     bool
	allKey  bool   // every column is in the primary key
	keyCond string // " WHERE a = ? AND b = ?" on the primary key (or the row id)
	keyKind []dataflow.Kind
	pad     bool // values are padded (Store.pad)

	insert, get, update, updateAll, del, scan *genji.Statement

	indexesLoaded bool
	indexes       []tableIndex

	// direct is how the rows are written below Genji's SQL, nil for Genji's statements;
	// directChecked is set once it has been decided (genji_direct.go).
	direct        *directTable
	directChecked bool
}

// tableIndex is an index of a table; a unique one gets a statement that finds rows by its
// columns.
type tableIndex struct {
	name   string // user name
	gname  string // Genji name
	cols   []int
	unique bool
	lookup *genji.Statement
	// keyLookup finds the keys of the rows with given values (staged transactions).
	keyLookup *genji.Statement
}

// plan returns the table plan of ts in this transaction.
func (t *Txn) plan(ts TableSchema) (*tablePlan, error) {
	if p, ok := t.plans[ts.Name]; ok && sameSchema(p.ts, ts) {
		return p, nil
	}
	if err := validateSchema(ts); err != nil {
		return nil, err
	}
	if err := t.use(genjiTable(ts.Name)); err != nil {
		return nil, err
	}
	p := &tablePlan{
		ts:      ts,
		gname:   genjiTable(ts.Name),
		fields:  make([]string, len(ts.Columns)),
		notNull: make([]bool, len(ts.Columns)),
		kinds:   make([]dataflow.Kind, len(ts.Columns)),
		bag:     len(ts.PrimaryKey) == 0,
		allKey:  len(ts.PrimaryKey) == len(ts.Columns),
		pad:     t.s.pad,
	}
	for i, c := range ts.Columns {
		p.fields[i] = genjiColumn(c)
		p.notNull[i] = c.NotNull
		p.kinds[i] = c.Kind
	}
	var cond strings.Builder
	cond.WriteString(" WHERE ")
	if p.bag {
		cond.WriteString(rowidField + " = ?")
		p.keyKind = []dataflow.Kind{dataflow.KindInt}
	} else {
		for j, i := range ts.PrimaryKey {
			if j > 0 {
				cond.WriteString(" AND ")
			}
			cond.WriteString(p.fields[i] + " = ?")
			p.notNull[i] = true
			p.keyKind = append(p.keyKind, ts.Columns[i].Kind)
		}
	}
	p.keyCond = cond.String()
	if t.plans == nil {
		t.plans = map[string]*tablePlan{}
	}
	t.plans[ts.Name] = p
	return p, nil
}

// sameSchema reports whether two schemas store the same way (names, kinds, NOT NULL, key).
func sameSchema(a, b TableSchema) bool {
	if a.Name != b.Name || len(a.Columns) != len(b.Columns) || len(a.PrimaryKey) != len(b.PrimaryKey) {
		return false
	}
	for i := range a.Columns {
		ca, cb := &a.Columns[i], &b.Columns[i]
		if ca.Name != cb.Name || ca.Kind != cb.Kind || ca.NotNull != cb.NotNull {
			return false
		}
	}
	for i := range a.PrimaryKey {
		if a.PrimaryKey[i] != b.PrimaryKey[i] {
			return false
		}
	}
	return true
}

// stmt prepares *slot from the query built by q on first use.
func (t *Txn) stmt(slot **genji.Statement, q func() string) (*genji.Statement, error) {
	if *slot == nil {
		st, err := t.prepare(q())
		if err != nil {
			return nil, err
		}
		*slot = st
	}
	return *slot, nil
}

// selectList is the table's fields, after the row id if withRowid.
func (p *tablePlan) selectList(withRowid bool) string {
	var b strings.Builder
	if withRowid {
		b.WriteString(rowidField + ", ")
	}
	b.WriteString(strings.Join(p.fields, ", "))
	return b.String()
}

// insertSQL inserts every field (and the row id of a bag table).
func (p *tablePlan) insertSQL() string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + p.gname + " (")
	b.WriteString(p.selectList(p.bag))
	b.WriteString(") VALUES (")
	n := len(p.fields)
	if p.bag {
		n++
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('?')
	}
	b.WriteString(")")
	return b.String()
}

// updateSQL sets every column (all) or every non-key column (there must be one).
func (p *tablePlan) updateSQL(all bool) string {
	inPK := make(map[int]bool, len(p.ts.PrimaryKey))
	for _, i := range p.ts.PrimaryKey {
		inPK[i] = true
	}
	var b strings.Builder
	n := 0
	for i, f := range p.fields {
		if !all && inPK[i] {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f + " = ?")
		n++
	}
	return "UPDATE " + p.gname + " SET " + b.String() + p.keyCond
}

// checkRow validates a row against the schema: width, kinds, NOT NULL.
func (p *tablePlan) checkRow(row dataflow.Row) error {
	if len(row) != len(p.fields) {
		return sqlerr.New(sqlerr.WrongValueCnt, "Column count doesn't match value count at row 1")
	}
	for i, d := range row {
		if d.IsNull() {
			if p.notNull[i] {
				return sqlerr.New(sqlerr.BadNull, "Column '%s' cannot be null", p.ts.Columns[i].Name)
			}
			continue
		}
		if d.Kind() != p.kinds[i] {
			return sqlerr.New(sqlerr.WrongValue, "Incorrect %s value: '%s' for column '%s' at row 1",
				strings.ToLower(p.kinds[i].String()), d.String(), p.ts.Columns[i].Name)
		}
	}
	return nil
}

// checkKeyLengths refuses values too long for Genji's key comparator in the primary key or an
// index (see maxKeyValueBytes).
func (p *tablePlan) checkKeyLengths(row dataflow.Row) error {
	total := 0
	for _, i := range p.ts.PrimaryKey {
		if padded(p.kinds[i]) {
			total += paddedLen(row[i])
		} else {
			total += valOverhead
		}
	}
	if total > maxKeyValueBytes {
		return keyTooLong()
	}
	for _, ix := range p.indexes {
		for _, c := range ix.cols {
			if padded(p.kinds[c]) && !row[c].IsNull() && paddedLen(row[c]) > maxKeyValueBytes {
				return keyTooLong()
			}
		}
	}
	return nil
}

// keyArgs decodes a key made by Insert into the Genji values of the key columns.
func (p *tablePlan) keyArgs(key []byte) ([]any, error) {
	args := make([]any, 0, len(p.keyKind))
	rest := key
	for _, k := range p.keyKind {
		d, r, err := dataflow.DecodeKey(rest)
		if err != nil || d.Kind() != k {
			return nil, fmt.Errorf("malformed key %x", key)
		}
		if padded(k) && paddedLen(d) > maxKeyValueBytes {
			return nil, errNoSuchKey
		}
		args = append(args, toGenji(d, p.pad))
		rest = r
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("malformed key %x", key)
	}
	return args, nil
}

// rowArgs appends the Genji values of the columns of row (all, or those not in the key).
func (p *tablePlan) rowArgs(args []any, row dataflow.Row, all bool) []any {
	inPK := func(i int) bool {
		for _, j := range p.ts.PrimaryKey {
			if i == j {
				return true
			}
		}
		return false
	}
	for i, d := range row {
		if !all && inPK(i) {
			continue
		}
		args = append(args, toGenji(d, p.pad))
	}
	return args
}

// Insert stores row and returns its key: the key encoding of the primary key values, or of a
// fresh row id for a table without primary key.
func (t *Txn) Insert(ts TableSchema, row dataflow.Row) (key []byte, err error) {
	defer wrap(&err, "insert into %s", ts.Name)
	if err := t.check(true); err != nil {
		return nil, err
	}
	p, err := t.plan(ts)
	if err != nil {
		return nil, err
	}
	if err := p.checkRow(row); err != nil {
		return nil, err
	}
	if t.staged != nil {
		return t.stagedInsert(p, row)
	}
	var id int64
	if p.bag {
		if id, err = t.nextRowid(p); err != nil {
			return nil, err
		}
		key = dataflow.AppendKey(nil, dataflow.NewInt(id))
	} else {
		key = dataflow.AppendColumnsKey(nil, row, ts.PrimaryKey)
	}
	if err := t.insertRow(p, id, row); err != nil {
		return nil, err
	}
	return key, nil
}

// insertRow writes a checked row (with row id id in a table without primary key).
func (t *Txn) insertRow(p *tablePlan, id int64, row dataflow.Row) error {
	if err := t.loadIndexes(p); err != nil {
		return err
	}
	if err := p.checkKeyLengths(row); err != nil {
		return err
	}
	if err := t.chargeWrite(p.insertBytes(row), p.deleteBytes(row)); err != nil {
		return err
	}
	if d, dt, err := t.directFor(p); err != nil {
		return err
	} else if d != nil {
		exists, err := d.insert(p, dt, id, row)
		if exists {
			if p.bag {
				return fmt.Errorf("row id %d of %s is taken", id, p.ts.Name)
			}
			return dupEntry(pick(row, p.ts.PrimaryKey), p.ts.Name, "PRIMARY")
		}
		return err
	}
	args := make([]any, 0, len(row)+1)
	if p.bag {
		args = append(args, id)
	}
	args = p.rowArgs(args, row, true)
	st, err := t.stmt(&p.insert, p.insertSQL)
	if err != nil {
		return err
	}
	if err := st.Exec(args...); err != nil {
		if genji.IsAlreadyExistsError(err) {
			return t.insertConflict(p, row, err)
		}
		return err
	}
	return nil
}

// insertConflict names the key an INSERT collided on. Genji's INSERT checks the unique
// indexes and then the primary key before it writes anything (index.Validate, then
// BatchSession.Insert's existence check), so a failed insert leaves the transaction clean
// and the happy path needs no lookup of its own.
func (t *Txn) insertConflict(p *tablePlan, row dataflow.Row, cause error) error {
	if !p.bag {
		keyArgs := make([]any, len(p.ts.PrimaryKey))
		for j, i := range p.ts.PrimaryKey {
			keyArgs[j] = toGenji(row[i], p.pad)
		}
		found, err := t.lookup(p, keyArgs, nil)
		if err != nil {
			return err
		}
		if found {
			return dupEntry(pick(row, p.ts.PrimaryKey), p.ts.Name, "PRIMARY")
		}
	}
	if err := t.uniqueConflict(p, nil, row); err != nil {
		return err
	}
	return cause
}

// Update replaces the row at key with row and returns its key, which changes when the
// primary key does (the row moves). A missing row is ErrRowNotFound.
func (t *Txn) Update(ts TableSchema, key []byte, row dataflow.Row) (newKey []byte, err error) {
	newKey, _, err = t.update(ts, key, row)
	return newKey, err
}

// update is Update that also returns the row replaced (nil in a staged transaction).
func (t *Txn) update(ts TableSchema, key []byte, row dataflow.Row) (newKey []byte, old dataflow.Row, err error) {
	defer wrap(&err, "update %s", ts.Name)
	if err := t.check(true); err != nil {
		return nil, nil, err
	}
	p, err := t.plan(ts)
	if err != nil {
		return nil, nil, err
	}
	if err := p.checkRow(row); err != nil {
		return nil, nil, err
	}
	keyArgs, err := p.keyArgs(key)
	if err == errNoSuchKey {
		return nil, nil, ErrRowNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	if t.staged != nil {
		newKey, err := t.stagedUpdate(p, key, row)
		return newKey, nil, err
	}
	if err := t.loadIndexes(p); err != nil {
		return nil, nil, err
	}
	if err := p.checkKeyLengths(row); err != nil {
		return nil, nil, err
	}
	old = make(dataflow.Row, len(p.fields))
	found, err := t.lookup(p, keyArgs, old)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, ErrRowNotFound
	}
	newKey = key
	moved := false
	if !p.bag {
		newKey = dataflow.AppendColumnsKey(nil, row, ts.PrimaryKey)
		if !bytes.Equal(newKey, key) {
			moved = true
			newArgs := make([]any, len(ts.PrimaryKey))
			for j, i := range ts.PrimaryKey {
				newArgs[j] = toGenji(row[i], p.pad)
			}
			exists, err := t.lookup(p, newArgs, nil)
			if err != nil {
				return nil, nil, err
			}
			if exists {
				return nil, nil, dupEntry(pick(row, ts.PrimaryKey), ts.Name, "PRIMARY")
			}
		}
	}
	// Genji's UPDATE does not check unique indexes before writing: check them here.
	if err := t.uniqueConflict(p, old, row); err != nil {
		return nil, nil, err
	}
	if err := t.chargeWrite(p.updateBytes(old, row, moved), p.updateBytes(row, old, moved)); err != nil {
		return nil, nil, err
	}
	if d, dt, err := t.directFor(p); err != nil {
		return nil, nil, err
	} else if d != nil {
		k := dt.argsKey(keyArgs)
		if moved {
			if err := d.remove(dt, k, old); err != nil {
				return nil, nil, err
			}
			exists, err := d.insert(p, dt, 0, row)
			if err == nil && exists {
				err = fmt.Errorf("row of %s moved onto a row checked absent", p.ts.Name)
			}
			return newKey, old, err
		}
		if p.allKey {
			return newKey, old, nil // every column is in the key, which did not change
		}
		var id int64
		if p.bag {
			id = keyArgs[0].(int64)
		}
		return newKey, old, d.replace(p, dt, id, k, old, row)
	}
	var st *genji.Statement
	if moved {
		st, err = t.stmt(&p.updateAll, func() string { return p.updateSQL(true) })
	} else {
		if p.allKey {
			return newKey, old, nil // every column is in the key, which did not change
		}
		st, err = t.stmt(&p.update, func() string { return p.updateSQL(false) })
	}
	if err != nil {
		return nil, nil, err
	}
	args := p.rowArgs(make([]any, 0, len(row)+len(keyArgs)), row, moved)
	args = append(args, keyArgs...)
	if err := st.Exec(args...); err != nil {
		return nil, nil, err
	}
	return newKey, old, nil
}

// Delete removes the row at key; a missing row is ErrRowNotFound.
func (t *Txn) Delete(ts TableSchema, key []byte) error {
	_, err := t.delete(ts, key)
	return err
}

// delete is Delete that also returns the row deleted (nil in a staged transaction).
func (t *Txn) delete(ts TableSchema, key []byte) (old dataflow.Row, err error) {
	defer wrap(&err, "delete from %s", ts.Name)
	if err := t.check(true); err != nil {
		return nil, err
	}
	p, err := t.plan(ts)
	if err != nil {
		return nil, err
	}
	keyArgs, err := p.keyArgs(key)
	if err == errNoSuchKey {
		return nil, ErrRowNotFound
	}
	if err != nil {
		return nil, err
	}
	if t.staged != nil {
		return nil, t.stagedDelete(p, key)
	}
	old = make(dataflow.Row, len(p.fields))
	found, err := t.lookup(p, keyArgs, old)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrRowNotFound
	}
	if err := t.loadIndexes(p); err != nil {
		return nil, err
	}
	if err := t.chargeWrite(p.deleteBytes(old), p.insertBytes(old)); err != nil {
		return nil, err
	}
	if d, dt, err := t.directFor(p); err != nil {
		return nil, err
	} else if d != nil {
		return old, d.remove(dt, dt.argsKey(keyArgs), old)
	}
	st, err := t.stmt(&p.del, func() string { return "DELETE FROM " + p.gname + p.keyCond })
	if err != nil {
		return nil, err
	}
	return old, st.Exec(keyArgs...)
}

// Get returns the row at key; found is false if there is none, a malformed key is an error.
func (t *Txn) Get(ts TableSchema, key []byte) (row dataflow.Row, found bool, err error) {
	defer wrap(&err, "get from %s", ts.Name)
	if err := t.check(false); err != nil {
		return nil, false, err
	}
	p, err := t.plan(ts)
	if err != nil {
		return nil, false, err
	}
	if t.staged != nil {
		row, found, _, err := t.current(p, key)
		return slices.Clone(row), found, err
	}
	keyArgs, err := p.keyArgs(key)
	if err == errNoSuchKey {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	row = make(dataflow.Row, len(p.fields))
	found, err = t.lookup(p, keyArgs, row)
	if err != nil || !found {
		return nil, false, err
	}
	return row, true, nil
}

// lookup finds the row with the given key values and decodes it into dst if dst is not nil.
func (t *Txn) lookup(p *tablePlan, keyArgs []any, dst dataflow.Row) (bool, error) {
	if d, dt, err := t.directFor(p); err != nil {
		return false, err
	} else if d != nil {
		return d.get(p, dt.argsKey(keyArgs), dst)
	}
	if !t.writable {
		if dt, err := t.layout(p); err != nil {
			return false, err
		} else if dt != nil {
			if found, ok, err := t.snapshotGet(p, dt.argsKey(keyArgs), dst); ok {
				return found, err
			}
		}
	}
	st, err := t.stmt(&p.get, func() string {
		return "SELECT " + p.selectList(false) + " FROM " + p.gname + p.keyCond
	})
	if err != nil {
		return false, err
	}
	found := false
	err = t.query(st, keyArgs, func(d types.Document) error {
		found = true
		if dst != nil {
			return decodeDoc(d, p.kinds, dst)
		}
		return nil
	})
	return found, err
}

// Scan calls fn with the key and row of every row of the table: in primary key order (the
// byte order of the keys), or in insertion order for a table without primary key. fn must not
// write to the table through t; an error from fn stops the scan and is returned as is.
func (t *Txn) Scan(ts TableSchema, fn func(key []byte, row dataflow.Row) error) (err error) {
	if err := t.check(false); err != nil {
		return err
	}
	p, err := t.plan(ts)
	if err != nil {
		return fmt.Errorf("scan %s: %w", ts.Name, err)
	}
	if t.staged != nil {
		return t.stagedScan(p, fn)
	}
	return t.scanSnapshot(p, fn)
}

// scanSnapshot is Scan of what Genji holds.
func (t *Txn) scanSnapshot(p *tablePlan, fn func(key []byte, row dataflow.Row) error) error {
	if ok, err := t.snapshotScan(p, fn); ok || err != nil {
		return err
	}
	ts := p.ts
	st, err := t.stmt(&p.scan, func() string {
		return "SELECT " + p.selectList(p.bag) + " FROM " + p.gname
	})
	if err != nil {
		return wrapErr(err, "scan %s", ts.Name)
	}
	kinds := p.kinds
	if p.bag {
		kinds = append([]dataflow.Kind{dataflow.KindInt}, p.kinds...)
	}
	var fnErr error
	err = t.query(st, nil, func(d types.Document) error {
		vals := make(dataflow.Row, len(kinds))
		if err := decodeDoc(d, kinds, vals); err != nil {
			return err
		}
		var key []byte
		row := vals
		if p.bag {
			key = dataflow.AppendKey(nil, vals[0])
			row = vals[1:]
		} else {
			key = dataflow.AppendColumnsKey(nil, row, ts.PrimaryKey)
		}
		if err := fn(key, row); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return wrapErr(err, "scan %s", ts.Name)
}

// nextRowid returns a fresh row id for a table without primary key. Row ids only grow within
// a process; after a restart they continue after the highest one stored.
func (t *Txn) nextRowid(p *tablePlan) (int64, error) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.rowids[p.gname]
	if !ok {
		st, err := t.prepare("SELECT " + rowidField + " FROM " + p.gname +
			" ORDER BY " + rowidField + " DESC LIMIT 1")
		if err != nil {
			return 0, err
		}
		err = t.query(st, nil, func(d types.Document) error {
			return d.Iterate(func(_ string, v types.Value) error {
				last = types.As[int64](v)
				return nil
			})
		})
		if err != nil {
			return 0, err
		}
	}
	if last == math.MaxInt64 {
		return 0, fmt.Errorf("row ids exhausted")
	}
	last++
	s.rowids[p.gname] = last
	return last, nil
}

// uniqueConflict returns the DupEntry error of the first unique index on which row collides
// with another row, or nil. With old set (an update), indexes whose values did not change are
// skipped.
func (t *Txn) uniqueConflict(p *tablePlan, old, row dataflow.Row) error {
	if err := t.loadIndexes(p); err != nil {
		return err
	}
	for i := range p.indexes {
		u := &p.indexes[i]
		if !u.unique {
			continue
		}
		args := make([]any, 0, len(u.cols))
		changed := old == nil
		hasNull := false
		for _, c := range u.cols {
			if row[c].IsNull() {
				hasNull = true
				break
			}
			if old != nil && !identical(old[c], row[c]) {
				changed = true
			}
			args = append(args, toGenji(row[c], p.pad))
		}
		if hasNull || !changed {
			continue
		}
		st, err := t.stmt(&u.lookup, func() string {
			var b strings.Builder
			b.WriteString("SELECT " + p.fields[u.cols[0]] + " FROM " + p.gname + " WHERE ")
			for j, c := range u.cols {
				if j > 0 {
					b.WriteString(" AND ")
				}
				b.WriteString(p.fields[c] + " = ?")
			}
			return b.String()
		})
		if err != nil {
			return err
		}
		found := false
		if err := t.query(st, args, func(types.Document) error {
			found = true
			return errStopScan
		}); err != nil && err != errStopScan {
			return err
		}
		if found {
			return dupEntry(pick(row, u.cols), p.ts.Name, u.name)
		}
	}
	return nil
}

// loadIndexes reads the indexes of the table from Genji's catalog. A staged or read-only
// transaction shares the catalog lock meanwhile: DDL on another table may change the
// catalog's maps at the same time (a concurrent map iteration and write stopped the
// process in TestCrash); the writable transaction is serialized with DDL.
func (t *Txn) loadIndexes(p *tablePlan) error {
	if p.indexesLoaded {
		return nil
	}
	if !t.writable {
		t.s.catMu.RLock()
		defer t.s.catMu.RUnlock()
	}
	cat := t.s.db.DB.Catalog
	for _, gidx := range cat.ListIndexes(p.gname) {
		info, err := cat.GetIndexInfo(gidx)
		if err != nil {
			return err
		}
		name, ok := unmangle("i", gidx)
		if !ok {
			name = gidx
		}
		u := tableIndex{name: name, gname: gidx, unique: info.Unique}
		for _, path := range info.Paths {
			col := -1
			for i, f := range p.fields {
				if len(path) == 1 && path[0].FieldName == f {
					col = i
				}
			}
			if col < 0 {
				return fmt.Errorf("index %s: column %s not in the schema of %s", name, path, p.ts.Name)
			}
			u.cols = append(u.cols, col)
		}
		p.indexes = append(p.indexes, u)
	}
	p.indexesLoaded = true
	return nil
}

// identical reports whether two datums are the same value with the same encoding.
func identical(a, b dataflow.Datum) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case dataflow.KindNull:
		return true
	case dataflow.KindInt, dataflow.KindTime:
		return a.Int() == b.Int() && a.TimeMicros() == b.TimeMicros()
	case dataflow.KindFloat:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	}
	return a.Str() == b.Str()
}

// pick returns the columns cols of row.
func pick(row dataflow.Row, cols []int) dataflow.Row {
	out := make(dataflow.Row, len(cols))
	for j, i := range cols {
		out[j] = row[i]
	}
	return out
}

// decodeDoc decodes the fields of a projected document, in order, into dst.
func decodeDoc(d types.Document, kinds []dataflow.Kind, dst dataflow.Row) error {
	i := 0
	err := d.Iterate(func(_ string, v types.Value) error {
		if i >= len(kinds) {
			return fmt.Errorf("document has more than %d fields", len(kinds))
		}
		datum, err := fromGenji(v, kinds[i])
		if err != nil {
			return err
		}
		dst[i] = datum
		i++
		return nil
	})
	if err == nil && i != len(kinds) {
		err = fmt.Errorf("document has %d fields, want %d", i, len(kinds))
	}
	return err
}

// wrap adds context to *err unless it is nil or a *sqlerr.Error.
func wrap(err *error, format string, args ...any) {
	if *err != nil {
		*err = wrapErr(*err, format, args...)
	}
}

// wrapErr adds context to err unless it is nil or a *sqlerr.Error.
func wrapErr(err error, format string, args ...any) error {
	if err == nil || asSQLError(err) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
