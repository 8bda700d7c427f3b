package sources

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/genjidb/genji"
	"github.com/genjidb/genji/types"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// ColumnSchema describes one column of a source table.
type ColumnSchema struct {
	Name    string
	Kind    dataflow.Kind
	SQLType string // declared type, e.g. "VARCHAR(255)"; kept by the engine, not by Genji
	NotNull bool
	Default *dataflow.Datum // nil = none; the engine applies defaults, storage ignores them
}

// TableSchema describes a source table.
type TableSchema struct {
	Name    string
	Columns []ColumnSchema
	// PrimaryKey lists column indexes; empty means no primary key (bag semantics: duplicate
	// rows allowed, each addressed by a hidden row id).
	PrimaryKey []int
}

// ddlBytes bounds what a DDL statement writes to Genji's catalog.
const ddlBytes = 4096

// rowidField is the hidden primary key of tables without one.
const rowidField = "__cdc_rowid"

// plainIdent reports whether name can follow a prefix as a bare Genji identifier.
func plainIdent(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// mangle maps a user identifier to a Genji identifier that needs no quoting and is no keyword:
// prefix + "_" + name, or prefix + "x_" + hex(name) for other names. No Genji keyword
// contains '_', so the result is always a plain identifier.
func mangle(prefix, name string) string {
	if plainIdent(name) {
		return prefix + "_" + name
	}
	return prefix + "x_" + hex.EncodeToString([]byte(name))
}

// unmangle inverts mangle for the given prefix.
func unmangle(prefix, g string) (string, bool) {
	if rest, ok := strings.CutPrefix(g, prefix+"_"); ok {
		return rest, true
	}
	if rest, ok := strings.CutPrefix(g, prefix+"x_"); ok {
		b, err := hex.DecodeString(rest)
		return string(b), err == nil
	}
	return "", false
}

func genjiTable(name string) string { return mangle("t", name) }
func genjiIndex(name string) string { return mangle("i", name) }

// kindLetters name kinds inside Genji field names, so that Genji's catalog alone tells a
// column's name and kind.
var kindLetters = map[dataflow.Kind]string{
	dataflow.KindInt: "i", dataflow.KindFloat: "f", dataflow.KindDecimal: "d",
	dataflow.KindString: "s", dataflow.KindBytes: "b", dataflow.KindTime: "t",
}

func genjiColumn(c ColumnSchema) string { return mangle("c"+kindLetters[c.Kind], c.Name) }

// parseGenjiColumn returns the user name and kind of a Genji field made by genjiColumn.
func parseGenjiColumn(g string) (string, dataflow.Kind, bool) {
	if len(g) < 3 || g[0] != 'c' {
		return "", 0, false
	}
	for k, l := range kindLetters {
		if g[1] == l[0] {
			name, ok := unmangle(g[:2], g)
			return name, k, ok
		}
	}
	return "", 0, false
}

// validateSchema checks what storage relies on: known kinds, distinct non-empty column names,
// a valid primary key.
func validateSchema(ts TableSchema) error {
	if ts.Name == "" {
		return fmt.Errorf("empty table name")
	}
	if len(ts.Columns) == 0 {
		return fmt.Errorf("table %s has no columns", ts.Name)
	}
	seen := make(map[string]bool, len(ts.Columns))
	for _, c := range ts.Columns {
		if c.Name == "" {
			return fmt.Errorf("table %s: empty column name", ts.Name)
		}
		if genjiType(c.Kind) == "" {
			return fmt.Errorf("table %s: column %s has unsupported kind %s", ts.Name, c.Name, c.Kind)
		}
		if seen[c.Name] {
			return fmt.Errorf("table %s: duplicate column %s", ts.Name, c.Name)
		}
		seen[c.Name] = true
	}
	inPK := make(map[int]bool, len(ts.PrimaryKey))
	for _, i := range ts.PrimaryKey {
		if i < 0 || i >= len(ts.Columns) || inPK[i] {
			return fmt.Errorf("table %s: bad primary key column index %d", ts.Name, i)
		}
		inPK[i] = true
	}
	return nil
}

// createTableSQL returns the Genji statement that creates the table of ts named gname.
func createTableSQL(gname string, ts TableSchema) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(gname)
	b.WriteString(" (")
	if len(ts.PrimaryKey) == 0 {
		b.WriteString(rowidField + " INTEGER PRIMARY KEY, ")
	}
	inPK := make(map[int]bool, len(ts.PrimaryKey))
	for _, i := range ts.PrimaryKey {
		inPK[i] = true
	}
	for i, c := range ts.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(genjiColumn(c))
		b.WriteByte(' ')
		b.WriteString(genjiType(c.Kind))
		if c.NotNull || inPK[i] {
			b.WriteString(" NOT NULL")
		}
	}
	if len(ts.PrimaryKey) > 0 {
		b.WriteString(", PRIMARY KEY (")
		for j, i := range ts.PrimaryKey {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(genjiColumn(ts.Columns[i]))
		}
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}

// CreateTable creates a Genji table with typed columns for ts.
func (t *Txn) CreateTable(ts TableSchema) error {
	if err := t.check(true); err != nil {
		return err
	}
	if err := validateSchema(ts); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	gname := genjiTable(ts.Name)
	if err := checkGenjiName(ts.Name, gname); err != nil {
		return err
	}
	if err := t.charge(ddlBytes); err != nil {
		return err
	}
	if err := t.execDDL(createTableSQL(gname, ts)); err != nil {
		if genji.IsAlreadyExistsError(err) {
			return sqlerr.New(sqlerr.TableExists, "Table '%s' already exists", ts.Name)
		}
		return fmt.Errorf("create table %s: %w", ts.Name, err)
	}
	t.s.forgetRowid(gname)
	return nil
}

// AddColumns adds nullable columns after the last column of table ts: existing rows read NULL
// in them. Genji stores rows positionally by its table's fields, so the rows are copied into
// a table of the new shape that then takes the old one's name, indexes included.
func (t *Txn) AddColumns(ts TableSchema, cols []ColumnSchema) error {
	if err := t.check(true); err != nil {
		return err
	}
	next := ts
	next.Columns = append(slices.Clone(ts.Columns), cols...)
	for _, c := range cols {
		if c.NotNull {
			return fmt.Errorf("add column %s to %s: a new column must be nullable", c.Name, ts.Name)
		}
	}
	if err := validateSchema(next); err != nil {
		return fmt.Errorf("add columns: %w", err)
	}
	gname := genjiTable(ts.Name)
	cat := t.s.db.DB.Catalog
	if _, err := cat.GetTableInfo(gname); err != nil {
		return sqlerr.New(sqlerr.BadTable, "Unknown table '%s'", ts.Name)
	}
	if err := t.claim(ts.Name, gname); err != nil {
		return err
	}
	idx, err := t.indexFields(gname)
	if err != nil {
		return fmt.Errorf("add columns to %s: %w", ts.Name, err)
	}
	n, err := t.scanBytes(gname, true, idx)
	if err != nil {
		return fmt.Errorf("add columns to %s: %w", ts.Name, err)
	}
	if err := t.charge(ddlBytes + 2*n); err != nil {
		return err
	}
	if err := t.truncates(); err != nil {
		return err
	}
	var indexes []string
	for _, gidx := range cat.ListIndexes(gname) {
		info, err := cat.GetIndexInfo(gidx)
		if err != nil {
			return fmt.Errorf("add columns to %s: %w", ts.Name, err)
		}
		var paths []string
		for _, p := range info.Paths {
			paths = append(paths, p.String())
		}
		u := ""
		if info.Unique {
			u = "UNIQUE "
		}
		indexes = append(indexes, "CREATE "+u+"INDEX "+gidx+" ON "+gname+" ("+strings.Join(paths, ", ")+")")
	}
	tmp := "tmp_" + gname // mangle never makes a name that starts with tmp_
	steps := append([]string{
		createTableSQL(tmp, next),
		"INSERT INTO " + tmp + " SELECT * FROM " + gname,
		"DROP TABLE " + gname,
		"ALTER TABLE " + tmp + " RENAME TO " + gname,
	}, indexes...)
	for _, q := range steps {
		if err := t.execDDL(q); err != nil {
			return fmt.Errorf("add columns to %s: %w", ts.Name, err)
		}
	}
	t.s.forgetRowid(gname)
	return nil
}

// DropTable drops a table with its indexes and rows.
func (t *Txn) DropTable(name string) error {
	if err := t.check(true); err != nil {
		return err
	}
	gname := genjiTable(name)
	if _, err := t.s.db.DB.Catalog.GetTableInfo(gname); err != nil {
		return sqlerr.New(sqlerr.BadTable, "Unknown table '%s'", name)
	}
	if err := t.claim(name, gname); err != nil {
		return err
	}
	// Genji deletes every row and index entry one by one.
	idx, err := t.indexFields(gname)
	if err != nil {
		return fmt.Errorf("drop table %s: %w", name, err)
	}
	n, err := t.scanBytes(gname, true, idx)
	if err != nil {
		return fmt.Errorf("drop table %s: %w", name, err)
	}
	t.s.forgetRowid(gname)
	if err := t.charge(ddlBytes + n); IsTxnTooLarge(err) || t.spills {
		// Too large to delete in this transaction, or in one that spilled (genji_spill.go):
		// set aside, purged after it.
		t.setAsideTables = true
		return t.setAside(gname)
	} else if err != nil {
		return err
	}
	if err := t.truncates(); err != nil {
		return err
	}
	if err := t.execDDL("DROP TABLE " + gname); err != nil {
		return fmt.Errorf("drop table %s: %w", name, err)
	}
	return nil
}

// SetAside reports whether the transaction set a dropped table aside for purging
// (Store.DroppedTables, Txn.PurgeStep) once it commits.
func (t *Txn) SetAside() bool { return t.setAsideTables }

// CreateIndex creates a Genji index on columns of table; a unique index refuses existing or
// later duplicates (rows with a NULL in the index columns are never duplicates, as in MySQL).
// Index names are global to the store.
func (t *Txn) CreateIndex(name, table string, cols []string, unique bool) error {
	if err := t.check(true); err != nil {
		return err
	}
	if name == "" || len(cols) == 0 {
		return fmt.Errorf("create index %q on %s: empty name or column list", name, table)
	}
	gtable := genjiTable(table)
	info, err := t.s.db.DB.Catalog.GetTableInfo(gtable)
	if err != nil {
		return sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", table)
	}
	if err := t.claim(table, gtable); err != nil {
		return err
	}
	gidx := genjiIndex(name)
	if err := checkGenjiName(name, gidx); err != nil {
		return err
	}
	if _, err := t.s.db.DB.Catalog.GetIndexInfo(gidx); err == nil {
		return sqlerr.New(sqlerr.DupKeyName, "Duplicate key name '%s'", name)
	}
	// Resolve the columns from Genji's catalog: exact name first, else case-insensitively as
	// MySQL does.
	type field struct {
		g    string
		name string
		kind dataflow.Kind
	}
	var fields []field
	for _, fc := range info.FieldConstraints.Ordered {
		if n, k, ok := parseGenjiColumn(fc.Field); ok {
			fields = append(fields, field{fc.Field, n, k})
		}
	}
	idxFields := make([]field, len(cols))
	for i, c := range cols {
		found := -1
		for j, f := range fields {
			if f.name == c {
				found = j
				break
			}
			if found < 0 && strings.EqualFold(f.name, c) {
				found = j
			}
		}
		if found < 0 {
			return sqlerr.New(sqlerr.KeyColumnMissing, "Key column '%s' doesn't exist in table", c)
		}
		for _, f := range idxFields[:i] {
			if f.g == fields[found].g {
				return sqlerr.New(sqlerr.DupFieldName, "Duplicate column name '%s'", c)
			}
		}
		idxFields[i] = fields[found]
	}

	// Genji would fail half-way through building the index and leave it in the transaction:
	// find duplicates and values too long for a key first.
	fieldNames := make([]string, len(idxFields))
	kinds := make([]dataflow.Kind, len(idxFields))
	for i, f := range idxFields {
		fieldNames[i], kinds[i] = f.g, f.kind
	}
	dup, err := t.checkIndexData(gtable, fieldNames, kinds, unique)
	if err != nil {
		return wrapErr(err, "create index %s", name)
	}
	if dup != nil {
		return dupEntry(dup, table, name)
	}
	n, err := t.scanBytes(gtable, false, [][]string{fieldNames})
	if err != nil {
		return fmt.Errorf("create index %s: %w", name, err)
	}
	// The index's entries are new keys: a large index spills (genji_spill.go).
	if err := t.chargeSpill(ddlBytes + n); err != nil {
		return err
	}
	// In the catalog, under its lock; built without it (genji_index.go).
	if err := t.createIndexUnbuilt(gidx, gtable, fieldNames, unique); err != nil {
		if genji.IsAlreadyExistsError(err) {
			return sqlerr.New(sqlerr.DupKeyName, "Duplicate key name '%s'", name)
		}
		return fmt.Errorf("create index %s: %w", name, err)
	}
	if testBeforeIndexBuild != nil {
		testBeforeIndexBuild(t.s)
	}
	if err := t.tx.Exec("REINDEX " + gidx); err != nil {
		return fmt.Errorf("create index %s: %w", name, err)
	}
	return nil
}

// checkIndexData reads the values an index on fields would hold: it returns a duplicate
// (unique only; tuples with a NULL never collide) or a too-long-key error.
func (t *Txn) checkIndexData(gtable string, fields []string, kinds []dataflow.Kind, unique bool) (dataflow.Row, error) {
	st, err := t.prepare("SELECT " + strings.Join(fields, ", ") + " FROM " + gtable)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var dup dataflow.Row
	vals := make(dataflow.Row, len(kinds))
	err = t.query(st, nil, func(d types.Document) error {
		if err := decodeDoc(d, kinds, vals); err != nil {
			return err
		}
		for _, v := range vals {
			if padded(v.Kind()) && paddedLen(v) > maxKeyValueBytes {
				return keyTooLong()
			}
		}
		if !unique {
			return nil
		}
		var k []byte
		for _, v := range vals {
			if v.IsNull() {
				return nil
			}
			k = dataflow.AppendKey(k, v)
		}
		if seen[string(k)] {
			dup = append(dataflow.Row(nil), vals...)
			return errStopScan
		}
		seen[string(k)] = true
		return nil
	})
	if err != nil && err != errStopScan {
		return nil, err
	}
	return dup, nil
}

// DropIndex drops the index name.
func (t *Txn) DropIndex(name string) error {
	if err := t.check(true); err != nil {
		return err
	}
	gidx := genjiIndex(name)
	info, err := t.s.db.DB.Catalog.GetIndexInfo(gidx)
	if err != nil {
		return sqlerr.New(sqlerr.CantDropIndex, "Can't DROP '%s'; check that column/key exists", name)
	}
	if tn, ok := unmangle("t", info.Owner.TableName); ok {
		if err := t.claim(tn, info.Owner.TableName); err != nil {
			return err
		}
	}
	var fields []string
	for _, path := range info.Paths {
		fields = append(fields, path.String())
	}
	n, err := t.scanBytes(info.Owner.TableName, false, [][]string{fields})
	if err != nil {
		return fmt.Errorf("drop index %s: %w", name, err)
	}
	if err := t.charge(ddlBytes + n); err != nil {
		return err
	}
	if err := t.truncates(); err != nil {
		return err
	}
	if err := t.execDDL("DROP INDEX " + gidx); err != nil {
		return fmt.Errorf("drop index %s: %w", name, err)
	}
	return nil
}

// dupEntry is MySQL's duplicate-key error: values joined by '-', key named table.index.
func dupEntry(vals dataflow.Row, table, key string) error {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = v.String()
	}
	return sqlerr.New(sqlerr.DupEntry, "Duplicate entry '%s' for key '%s.%s'",
		strings.Join(parts, "-"), table, key)
}

// forgetRowid drops the cached row id counter of a table that was created or dropped.
func (s *Store) forgetRowid(gname string) {
	s.mu.Lock()
	delete(s.rowids, gname)
	s.mu.Unlock()
}
