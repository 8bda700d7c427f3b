package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// Catalog entry kinds stored with the data.
const (
	kindTable            = "table"
	kindView             = "view"
	kindMaterializedView = "materialized view"
	kindIndex            = "index"
)

// createTable creates a change-captured table. Called with e.mu held, in a DDL transaction.
func (e *Engine) createTable(tx *sources.Txn, st *sqlparser.CreateTable) (*Result, func(), error) {
	name := st.Table.Name.String()
	if e.exists(name) {
		if st.IfNotExists {
			return &Result{}, nil, nil
		}
		return nil, nil, sqlerr.New(sqlerr.TableExists, "Table '%s' already exists", name)
	}
	t, err := tableFromAST(st)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.CreateTable(t.schema); err != nil {
		return nil, nil, err
	}
	seq := e.catSeq + 1
	if err := tx.PutCatalog(strings.ToLower(name), kindTable, t.sql, seq); err != nil {
		return nil, nil, err
	}
	e.pendingIndexes = nil
	for _, idx := range st.TableSpec.Indexes {
		if idx.Info.Type == sqlparser.IndexTypePrimary {
			continue
		}
		if err := e.createIndexIn(tx, &seq, name, idx); err != nil {
			return nil, nil, err
		}
	}
	added := e.pendingIndexes
	e.pendingIndexes = nil
	return &Result{}, func() {
		e.catSeq = seq
		e.tables[strings.ToLower(name)] = t
		for _, a := range added {
			e.indexes[a[0]] = a[1]
		}
	}, nil
}

// tableFromAST builds a table's schema from CREATE TABLE.
func tableFromAST(st *sqlparser.CreateTable) (*table, error) {
	if st.TableSpec == nil {
		return nil, sqlerr.New(sqlerr.NotSupported, "CREATE TABLE needs a column list")
	}
	t := &table{sql: sqlparser.String(st)}
	t.schema.Name = st.Table.Name.String()
	seen := map[string]bool{}
	for i, cd := range st.TableSpec.Columns {
		n := cd.Name.String()
		if seen[strings.ToLower(n)] {
			return nil, sqlerr.New(sqlerr.DupFieldName, "Duplicate column name '%s'", n)
		}
		seen[strings.ToLower(n)] = true
		kind, rule, err := columnType(cd.Type.Type, cd.Type.Length, cd.Type.Scale)
		if err != nil {
			return nil, err
		}
		col := sources.ColumnSchema{Name: n, Kind: kind, SQLType: strings.ToUpper(sqlparser.String(&sqlparser.ColumnType{Type: cd.Type.Type, Length: cd.Type.Length, Scale: cd.Type.Scale, Unsigned: cd.Type.Unsigned}))}
		if o := cd.Type.Options; o != nil {
			if o.Null != nil && !*o.Null {
				col.NotNull = true
			}
			if o.KeyOpt == sqlparser.ColKeyPrimary {
				t.schema.PrimaryKey = append(t.schema.PrimaryKey, i)
				col.NotNull = true
			}
			if o.Default != nil {
				ex, err := sqlplan.BindExpr(nil, o.Default)
				if err != nil {
					return nil, fmt.Errorf("default of column %s: %w", n, err)
				}
				v, err := ex.Eval(nil)
				if err != nil {
					return nil, err
				}
				v, err = coerce(v, col, rule, 1)
				if err != nil {
					return nil, sqlerr.New(sqlerr.InvalidDefault, "Invalid default value for '%s'", n)
				}
				col.Default = &v
			}
		}
		t.schema.Columns = append(t.schema.Columns, col)
		t.rules = append(t.rules, rule)
	}
	for _, idx := range st.TableSpec.Indexes {
		if idx.Info.Type != sqlparser.IndexTypePrimary {
			continue
		}
		if len(t.schema.PrimaryKey) > 0 {
			return nil, sqlerr.New(sqlerr.MultiplePriKey, "Multiple primary key defined")
		}
		for _, c := range idx.Columns {
			j := t.columnIndex(c.Column.String())
			if j < 0 {
				return nil, sqlerr.New(sqlerr.KeyColumnMissing, "Key column '%s' doesn't exist in table", c.Column.String())
			}
			t.schema.PrimaryKey = append(t.schema.PrimaryKey, j)
			t.schema.Columns[j].NotNull = true
		}
	}
	return t, nil
}

// columnIndex finds a column by name, case-insensitively, or -1.
func (t *table) columnIndex(name string) int {
	for i, c := range t.schema.Columns {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// createIndexIn creates a secondary index of a table.
func (e *Engine) createIndexIn(tx *sources.Txn, seq *uint64, tableName string, idx *sqlparser.IndexDefinition) error {
	name := idx.Info.Name.String()
	if name == "" {
		name = tableName + "_" + idx.Columns[0].Column.String()
	}
	if _, ok := e.indexes[strings.ToLower(name)]; ok {
		return sqlerr.New(sqlerr.DupKeyName, "Duplicate key name '%s'", name)
	}
	var cols []string
	for _, c := range idx.Columns {
		if c.Expression != nil {
			return sqlerr.New(sqlerr.NotSupported, "functional index parts are not supported")
		}
		cols = append(cols, c.Column.String())
	}
	unique := idx.Info.Type == sqlparser.IndexTypeUnique
	// Building the index over a large table takes long: reads go on meanwhile.
	if err := e.unlockedDuring(func() error { return tx.CreateIndex(name, tableName, cols, unique) }); err != nil {
		return err
	}
	if e.closed {
		return errEngineClosed
	}
	*seq++
	u := ""
	if unique {
		u = "UNIQUE "
	}
	def := fmt.Sprintf("CREATE %sINDEX %s ON %s (%s)", u, sqlparser.String(sqlparser.NewIdentifierCI(name)),
		sqlparser.String(sqlparser.NewIdentifierCS(tableName)), strings.Join(cols, ", "))
	if err := tx.PutCatalog("index:"+strings.ToLower(name), kindIndex, def, *seq); err != nil {
		return err
	}
	e.pendingIndexes = append(e.pendingIndexes, [2]string{strings.ToLower(name), strings.ToLower(tableName)})
	return nil
}

// alterTable handles CREATE INDEX and DROP INDEX, which vitess parses as ALTER TABLE.
func (e *Engine) alterTable(tx *sources.Txn, st *sqlparser.AlterTable) (*Result, func(), error) {
	tname := st.Table.Name.String()
	t, ok := e.tables[strings.ToLower(tname)]
	if !ok {
		return nil, nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", tname)
	}
	e.pendingIndexes = nil
	seq := e.catSeq
	var dropped []string
	for _, opt := range st.AlterOptions {
		switch o := opt.(type) {
		case *sqlparser.AddIndexDefinition:
			for _, c := range o.IndexDefinition.Columns {
				if c.Expression == nil && t.columnIndex(c.Column.String()) < 0 {
					return nil, nil, sqlerr.New(sqlerr.KeyColumnMissing, "Key column '%s' doesn't exist in table", c.Column.String())
				}
			}
			if err := e.createIndexIn(tx, &seq, t.schema.Name, o.IndexDefinition); err != nil {
				return nil, nil, err
			}
		case *sqlparser.DropKey:
			name := strings.ToLower(o.Name.String())
			if owner, ok := e.indexes[name]; !ok || owner != strings.ToLower(tname) {
				return nil, nil, sqlerr.New(sqlerr.CantDropIndex, "Can't DROP '%s'; check that column/key exists", o.Name.String())
			}
			if err := tx.DropIndex(o.Name.String()); err != nil {
				return nil, nil, err
			}
			if err := tx.DeleteCatalog("index:" + name); err != nil {
				return nil, nil, err
			}
			dropped = append(dropped, name)
		default:
			return nil, nil, sqlerr.New(sqlerr.NotSupported, "ALTER TABLE %s is not supported yet", sqlparser.String(opt))
		}
	}
	added := e.pendingIndexes
	e.pendingIndexes = nil
	return &Result{}, func() {
		e.catSeq = seq
		for _, a := range added {
			e.indexes[a[0]] = a[1]
		}
		for _, d := range dropped {
			delete(e.indexes, d)
		}
	}, nil
}

// dropTables drops tables that no view reads.
func (e *Engine) dropTables(tx *sources.Txn, st *sqlparser.DropTable) (*Result, func(), error) {
	var names []string
	for _, tn := range st.FromTables {
		name := tn.Name.String()
		if t, ok := e.tables[strings.ToLower(name)]; !ok {
			if st.IfExists {
				continue
			}
			return nil, nil, sqlerr.New(sqlerr.BadTable, "Unknown table '%s'", name)
		} else if t.source != nil {
			return nil, nil, sqlerr.New(sqlerr.WrongObject, "'%s' is a source: use DROP SOURCE", name)
		} else if t.module != "" {
			return nil, nil, sqlerr.New(sqlerr.WrongObject, "'%s' stores messages of module %s: use DROP MODULE", name, t.module)
		}
		if deps := e.dependents(name); len(deps) > 0 {
			return nil, nil, sqlerr.New(sqlerr.Dependent, "Cannot drop table '%s': view %s depends on it", name, strings.Join(deps, ", "))
		}
		if err := tx.DropTable(e.tables[strings.ToLower(name)].schema.Name); err != nil {
			return nil, nil, err
		}
		if err := tx.DeleteCatalog(strings.ToLower(name)); err != nil {
			return nil, nil, err
		}
		for idx, owner := range e.indexes {
			if owner == strings.ToLower(name) {
				if err := tx.DeleteCatalog("index:" + idx); err != nil {
					return nil, nil, err
				}
			}
		}
		names = append(names, strings.ToLower(name))
	}
	return &Result{}, func() {
		for _, n := range names {
			delete(e.tables, n)
			for idx, owner := range e.indexes {
				if owner == n {
					delete(e.indexes, idx)
				}
			}
		}
	}, nil
}

// createPlainView stores a named query.
func (e *Engine) createPlainView(tx *sources.Txn, st *sqlparser.CreateView) (*Result, func(), error) {
	name := st.ViewName.Name.String()
	if e.exists(name) && !st.IsReplace {
		return nil, nil, sqlerr.New(sqlerr.TableExists, "Table '%s' already exists", name)
	}
	if _, ok := e.plain[strings.ToLower(name)]; !ok && e.exists(name) {
		return nil, nil, sqlerr.New(sqlerr.WrongObject, "'%s' is not VIEW", name)
	}
	if len(st.Columns) > 0 {
		return nil, nil, sqlerr.New(sqlerr.NotSupported, "view column lists are not supported yet")
	}
	if _, err := sqlplan.PlanQuery(catalog{e}, st.Select); err != nil {
		return nil, nil, err
	}
	v := &plainView{name: name, sql: sqlparser.String(st), query: st.Select, refs: referencedNames(st.Select)}
	for _, r := range v.refs {
		if r == strings.ToLower(name) {
			return nil, nil, sqlerr.New(sqlerr.WrongObject, "view %s cannot read itself", name)
		}
	}
	seq := e.catSeq + 1
	if err := tx.PutCatalog(strings.ToLower(name), kindView, v.sql, seq); err != nil {
		return nil, nil, err
	}
	return &Result{}, func() {
		e.catSeq = seq
		e.plain[strings.ToLower(name)] = v
	}, nil
}

// dropPlainViews drops named queries that no other view reads.
func (e *Engine) dropPlainViews(tx *sources.Txn, st *sqlparser.DropView) (*Result, func(), error) {
	var names []string
	for _, tn := range st.FromTables {
		name := strings.ToLower(tn.Name.String())
		if _, ok := e.plain[name]; !ok {
			if _, mat := e.views[name]; mat {
				return nil, nil, sqlerr.New(sqlerr.WrongObject, "'%s' is a materialized view: use DROP MATERIALIZED VIEW", tn.Name.String())
			}
			if st.IfExists {
				continue
			}
			return nil, nil, sqlerr.New(sqlerr.BadTable, "Unknown table '%s'", tn.Name.String())
		}
		if deps := e.dependents(name); len(deps) > 0 {
			return nil, nil, sqlerr.New(sqlerr.Dependent, "Cannot drop view '%s': view %s depends on it", tn.Name.String(), strings.Join(deps, ", "))
		}
		if err := tx.DeleteCatalog(name); err != nil {
			return nil, nil, err
		}
		names = append(names, name)
	}
	return &Result{}, func() {
		for _, n := range names {
			delete(e.plain, n)
		}
	}, nil
}

// createMaterializedView plans and hydrates a view and stores its definition. Called with
// e.mu and the writer slot held; the hydration runs with e.mu released (see buildView).
func (e *Engine) createMaterializedView(ctx context.Context, tx *sources.Txn, st *sqlplan.CreateMaterializedView, sql string) (*Result, func(), error) {
	if e.exists(st.Name) {
		if st.IfNotExists {
			return &Result{}, nil, nil
		}
		return nil, nil, sqlerr.New(sqlerr.TableExists, "Table '%s' already exists", st.Name)
	}
	q, joinRows, err := e.planView(st.Query, tx, nil)
	if err != nil {
		return nil, nil, err
	}
	seq := e.catSeq + 1
	v, err := e.buildView(ctx, seq, st.Name, strings.TrimSpace(sql), q, joinRows, tx, true, e.unlockedDuring)
	if err != nil {
		return nil, nil, err
	}
	v.refs = referencedNames(st.Query)
	e.pendingView = v
	if err := tx.PutCatalog(strings.ToLower(st.Name), kindMaterializedView, v.sql, seq); err != nil {
		return nil, nil, err
	}
	return &Result{}, func() {
		e.pendingView = nil
		e.catSeq = seq
		e.register(v)
		if err := e.state.commitView(v); err != nil {
			e.fail(err)
		}
	}, nil
}

// dropMaterializedView drops a view no other view reads.
func (e *Engine) dropMaterializedView(tx *sources.Txn, name string, ifExists bool) (*Result, func(), error) {
	v, ok := e.views[strings.ToLower(name)]
	if !ok {
		if ifExists {
			return &Result{}, nil, nil
		}
		return nil, nil, sqlerr.New(sqlerr.BadTable, "Unknown materialized view '%s'", name)
	}
	if deps := e.dependents(name); len(deps) > 0 {
		return nil, nil, sqlerr.New(sqlerr.Dependent, "Cannot drop materialized view '%s': view %s depends on it", name, strings.Join(deps, ", "))
	}
	if sks := e.sinksOf(name); len(sks) > 0 {
		return nil, nil, sqlerr.New(sqlerr.Dependent, "Cannot drop materialized view '%s': sink %s writes it", name, strings.Join(sks, ", "))
	}
	if err := tx.DeleteCatalog(strings.ToLower(name)); err != nil {
		return nil, nil, err
	}
	return &Result{}, func() {
		if err := e.state.dropView(v, e.unregister(v)); err != nil {
			e.fail(err)
		}
	}, nil
}

// unlockedDuring runs fn with e.mu released, for a DDL statement's long work (a view's
// hydration): the caller holds e.mu and the writer slot, which it keeps, so no write or
// other DDL runs meanwhile while reads (queries, TAIL, SHOW) go on.
func (e *Engine) unlockedDuring(fn func() error) error {
	e.mu.Unlock()
	defer e.mu.Lock()
	return fn()
}
