package sources

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/genjidb/genji"
	"github.com/genjidb/genji/types"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// errStopScan ends a Genji iteration early; it never leaves this package.
var errStopScan = errors.New("stop scan")

// tablePlan is a table's Genji names and statements, prepared lazily in one transaction.
type tablePlan struct {
	ts      TableSchema
	gname   string
	fields  []string // Genji field of each column
	notNull []bool
	kinds   []dataflow.Kind
	bag     bool
	pkDec   bool     // the primary key has a decimal column: Genji's order is not key order
	keyCond string   // " WHERE a = ? AND b = ?" on the primary key (or the row id)
	keyKind []dataflow.Kind

	insert, get, update, updateAll, del, scan *genji.Statement

	uniquesLoaded bool
	uniques       []uniqueIndex
}

// uniqueIndex is a unique index of a table, with a statement that finds rows by its columns.
type uniqueIndex struct {
	name   string // user name
	cols   []int
	lookup *genji.Statement
}

// plan returns the table plan of ts in this transaction.
func (t *Txn) plan(ts TableSchema) (*tablePlan, error) {
	if p, ok := t.plans[ts.Name]; ok && sameSchema(p.ts, ts) {
		return p, nil
	}
	if err := validateSchema(ts); err != nil {
		return nil, err
	}
	p := &tablePlan{
		ts:      ts,
		gname:   genjiTable(ts.Name),
		fields:  make([]string, len(ts.Columns)),
		notNull: make([]bool, len(ts.Columns)),
		kinds:   make([]dataflow.Kind, len(ts.Columns)),
		bag:     len(ts.PrimaryKey) == 0,
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
			if ts.Columns[i].Kind == dataflow.KindDecimal {
				p.pkDec = true
			}
		}
	}
	p.keyCond = cond.String()
	if t.plans == nil {
		t.plans = map[string]*tablePlan{}
	}
	t.plans[ts.Name] = p
	return p, nil
}

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

func (p *tablePlan) selectList(withRowid bool) string {
	var b strings.Builder
	if withRowid {
		b.WriteString(rowidField + ", ")
	}
	b.WriteString(strings.Join(p.fields, ", "))
	return b.String()
}

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

// updateSQL sets every column (all) or every non-key column; "" if there is none.
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
	if n == 0 {
		return ""
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

// keyArgs decodes a key made by Insert into the Genji values of the key columns.
func (p *tablePlan) keyArgs(key []byte) ([]any, error) {
	args := make([]any, 0, len(p.keyKind))
	rest := key
	for _, k := range p.keyKind {
		d, r, err := dataflow.DecodeKey(rest)
		if err != nil || d.Kind() != k {
			return nil, fmt.Errorf("malformed key %x", key)
		}
		args = append(args, toGenji(d))
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
		args = append(args, toGenji(d))
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
	args := make([]any, 0, len(row)+1)
	if p.bag {
		id, err := t.nextRowid(p)
		if err != nil {
			return nil, err
		}
		args = append(args, id)
		key = dataflow.AppendKey(nil, dataflow.NewInt(id))
	} else {
		key = dataflow.AppendColumnsKey(nil, row, ts.PrimaryKey)
		keyArgs := make([]any, len(ts.PrimaryKey))
		for j, i := range ts.PrimaryKey {
			keyArgs[j] = toGenji(row[i])
		}
		found, err := t.lookup(p, keyArgs, nil)
		if err != nil {
			return nil, err
		}
		if found {
			return nil, dupEntry(pick(row, ts.PrimaryKey), ts.Name, "PRIMARY")
		}
	}
	args = p.rowArgs(args, row, true)
	st, err := t.stmt(&p.insert, p.insertSQL)
	if err != nil {
		return nil, err
	}
	if err := st.Exec(args...); err != nil {
		// Genji checks unique indexes before it writes anything; name the one that failed.
		if genji.IsAlreadyExistsError(err) {
			if derr := t.uniqueConflict(p, nil, row); derr != nil {
				return nil, derr
			}
		}
		return nil, err
	}
	return key, nil
}

// Update replaces the row at key with row and returns its key, which changes when the
// primary key does (the row moves). A missing row is ErrRowNotFound.
func (t *Txn) Update(ts TableSchema, key []byte, row dataflow.Row) (newKey []byte, err error) {
	defer wrap(&err, "update %s", ts.Name)
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
	keyArgs, err := p.keyArgs(key)
	if err != nil {
		return nil, err
	}
	old := make(dataflow.Row, len(p.fields))
	found, err := t.lookup(p, keyArgs, old)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrRowNotFound
	}
	newKey = key
	moved := false
	if !p.bag {
		newKey = dataflow.AppendColumnsKey(nil, row, ts.PrimaryKey)
		if !bytes.Equal(newKey, key) {
			moved = true
			newArgs := make([]any, len(ts.PrimaryKey))
			for j, i := range ts.PrimaryKey {
				newArgs[j] = toGenji(row[i])
			}
			exists, err := t.lookup(p, newArgs, nil)
			if err != nil {
				return nil, err
			}
			if exists {
				return nil, dupEntry(pick(row, ts.PrimaryKey), ts.Name, "PRIMARY")
			}
		}
	}
	// Genji's UPDATE does not check unique indexes before writing: check them here.
	if err := t.uniqueConflict(p, old, row); err != nil {
		return nil, err
	}
	var st *genji.Statement
	if moved {
		st, err = t.stmt(&p.updateAll, func() string { return p.updateSQL(true) })
	} else {
		if p.updateSQL(false) == "" {
			return newKey, nil // every column is in the key, which did not change
		}
		st, err = t.stmt(&p.update, func() string { return p.updateSQL(false) })
	}
	if err != nil {
		return nil, err
	}
	args := p.rowArgs(make([]any, 0, len(row)+len(keyArgs)), row, moved)
	args = append(args, keyArgs...)
	if err := st.Exec(args...); err != nil {
		return nil, err
	}
	return newKey, nil
}

// Delete removes the row at key; a missing row is ErrRowNotFound.
func (t *Txn) Delete(ts TableSchema, key []byte) (err error) {
	defer wrap(&err, "delete from %s", ts.Name)
	if err := t.check(true); err != nil {
		return err
	}
	p, err := t.plan(ts)
	if err != nil {
		return err
	}
	keyArgs, err := p.keyArgs(key)
	if err != nil {
		return err
	}
	found, err := t.lookup(p, keyArgs, nil)
	if err != nil {
		return err
	}
	if !found {
		return ErrRowNotFound
	}
	st, err := t.stmt(&p.del, func() string { return "DELETE FROM " + p.gname + p.keyCond })
	if err != nil {
		return err
	}
	return st.Exec(keyArgs...)
}

// Get returns the row at key.
func (t *Txn) Get(ts TableSchema, key []byte) (row dataflow.Row, found bool, err error) {
	defer wrap(&err, "get from %s", ts.Name)
	if err := t.check(false); err != nil {
		return nil, false, err
	}
	p, err := t.plan(ts)
	if err != nil {
		return nil, false, err
	}
	keyArgs, err := p.keyArgs(key)
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
// Tables whose primary key has a DECIMAL column are sorted in memory (Genji orders the
// decimal text, not the number).
func (t *Txn) Scan(ts TableSchema, fn func(key []byte, row dataflow.Row) error) (err error) {
	if err := t.check(false); err != nil {
		return err
	}
	p, err := t.plan(ts)
	if err != nil {
		return fmt.Errorf("scan %s: %w", ts.Name, err)
	}
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
	type entry struct {
		key []byte
		row dataflow.Row
	}
	var sorted []entry
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
		if p.pkDec {
			sorted = append(sorted, entry{key, row})
			return nil
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
	if err != nil {
		return wrapErr(err, "scan %s", ts.Name)
	}
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i].key, sorted[j].key) < 0 })
	for _, e := range sorted {
		if err := fn(e.key, e.row); err != nil {
			return err
		}
	}
	return nil
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
	if err := t.loadUniques(p); err != nil {
		return err
	}
	for i := range p.uniques {
		u := &p.uniques[i]
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
			args = append(args, toGenji(row[c]))
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

// loadUniques reads the unique indexes of the table from Genji's catalog.
func (t *Txn) loadUniques(p *tablePlan) error {
	if p.uniquesLoaded {
		return nil
	}
	cat := t.s.db.DB.Catalog
	for _, gidx := range cat.ListIndexes(p.gname) {
		info, err := cat.GetIndexInfo(gidx)
		if err != nil {
			return err
		}
		if !info.Unique {
			continue
		}
		name, ok := unmangle("i", gidx)
		if !ok {
			name = gidx
		}
		u := uniqueIndex{name: name}
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
		p.uniques = append(p.uniques, u)
	}
	p.uniquesLoaded = true
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

func pick(row dataflow.Row, cols []int) dataflow.Row {
	out := make(dataflow.Row, len(cols))
	for j, i := range cols {
		out[j] = row[i]
	}
	return out
}

// floatToStored maps a float to an int64 whose order is the order of the float's key
// encoding and which Genji stores exactly.
func floatToStored(f float64) int64 {
	b := math.Float64bits(f)
	if b>>63 != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return int64(b ^ (1 << 63))
}

// storedToFloat inverts floatToStored.
func storedToFloat(v int64) float64 {
	b := uint64(v) ^ (1 << 63)
	if b>>63 != 0 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b)
}

// toGenji returns the Genji parameter value of a datum.
func toGenji(d dataflow.Datum) any {
	switch d.Kind() {
	case dataflow.KindInt:
		return d.Int()
	case dataflow.KindTime:
		return d.TimeMicros()
	case dataflow.KindFloat:
		return floatToStored(d.Float())
	case dataflow.KindDecimal, dataflow.KindString:
		return d.Str()
	case dataflow.KindBytes:
		b := make([]byte, len(d.Str()))
		copy(b, d.Str())
		return b
	}
	return nil
}

// fromGenji returns the datum of kind k stored as v.
func fromGenji(v types.Value, k dataflow.Kind) (dataflow.Datum, error) {
	switch v.Type() {
	case types.NullValue:
		return dataflow.Null, nil
	case types.IntegerValue:
		x := types.As[int64](v)
		switch k {
		case dataflow.KindInt:
			return dataflow.NewInt(x), nil
		case dataflow.KindTime:
			return dataflow.NewTimeMicros(x), nil
		case dataflow.KindFloat:
			return dataflow.NewFloat(storedToFloat(x)), nil
		}
	case types.TextValue:
		s := types.As[string](v)
		switch k {
		case dataflow.KindString:
			return dataflow.NewString(s), nil
		case dataflow.KindDecimal:
			return decimalDatum(s)
		}
	case types.BlobValue:
		if k == dataflow.KindBytes {
			return dataflow.NewBytes(types.As[[]byte](v)), nil
		}
	}
	return dataflow.Null, fmt.Errorf("stored %s value for a %s column", v.Type(), k)
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

func wrapErr(err error, format string, args ...any) error {
	if err == nil || asSQLError(err) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
