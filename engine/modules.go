package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/modules"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"vitess.io/vitess/go/vt/sqlparser"
)

const kindModule = "module"

// module is a loaded module: its compiled form and the statement the catalog keeps.
type module struct {
	key string // lower-case name
	def string
	mod *modules.Module
}

// moduleKey is the catalog key of a module: modules have their own name space.
func moduleKey(name string) string { return "module:" + strings.ToLower(name) }

// moduleSQL renders the statement that recreates a module from its files.
func moduleSQL(m *modules.Module) string {
	quote := func(s string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
	}
	if len(m.Files) == 1 && m.Main == m.Name+".proto" {
		return "CREATE MODULE " + sqlparser.String(sqlparser.NewIdentifierCS(m.Name)) + " FROM " + quote(m.Files[m.Main])
	}
	paths := make([]string, 0, len(m.Files))
	for p := range m.Files {
		if p != m.Main {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var b strings.Builder
	b.WriteString("CREATE MODULE " + sqlparser.String(sqlparser.NewIdentifierCS(m.Name)) + " FROM (")
	for i, p := range append([]string{m.Main}, paths...) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(p) + " = " + quote(m.Files[p]))
	}
	b.WriteString(")")
	return b.String()
}

// compileModule compiles the files of CREATE MODULE, as a client error if they do not.
func compileModule(st *sqlplan.CreateModule) (*modules.Module, error) {
	mod, err := modules.Compile(st.Name, st.Files, st.Main)
	if err != nil {
		return nil, sqlerr.New(sqlerr.WrongArguments, "%v", err)
	}
	return mod, nil
}

// createModule runs CREATE [OR REPLACE] MODULE: the .proto is compiled before the catalog
// is touched, then the module and its tables are stored in one DDL transaction.
func (s *Session) createModule(ctx context.Context, st *sqlplan.CreateModule) (*Result, error) {
	mod, err := compileModule(st)
	if err != nil {
		return nil, err
	}
	return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.createModule(tx, st, mod) })
}

// createModule stores a compiled module and creates (or, replacing a module, widens) its
// tables. Called with e.mu held, in a DDL transaction.
func (e *Engine) createModule(tx *sources.Txn, st *sqlplan.CreateModule, mod *modules.Module) (*Result, func(), error) {
	key := strings.ToLower(st.Name)
	prev, exists := e.modules[key]
	if exists {
		if st.IfNotExists {
			return &Result{}, nil, nil
		}
		if !st.OrReplace {
			return nil, nil, sqlerr.New(sqlerr.TableExists, "Module '%s' already exists: use CREATE OR REPLACE MODULE to change it", st.Name)
		}
		if err := modules.CheckUpgrade(prev.mod, mod); err != nil {
			return nil, nil, sqlerr.New(sqlerr.WrongArguments, "%v", err)
		}
		for _, pt := range prev.mod.Tables {
			if !slices.ContainsFunc(mod.Tables, func(t *modules.Table) bool { return strings.EqualFold(t.Name, pt.Name) }) {
				return nil, nil, sqlerr.New(sqlerr.WrongArguments, "module %s: the new version no longer writes message %s, so table %s would lose its writer: keep a write method for it, or drop the module", st.Name, pt.Message.FullName(), pt.Name)
			}
		}
	}
	if err := e.checkModuleNames(key, mod); err != nil {
		return nil, nil, err
	}
	seq := e.catSeq
	tables := map[string]*table{}
	var widened []string
	for _, mt := range mod.Tables {
		tk := strings.ToLower(mt.Name)
		if t, ok := e.tables[tk]; ok {
			if !exists || t.module != key {
				return nil, nil, sqlerr.New(sqlerr.TableExists, "Table '%s' already exists: module %s cannot store message %s in it", mt.Name, st.Name, mt.Message.FullName())
			}
			nt, added, err := widenTable(t, mt)
			if err != nil {
				return nil, nil, err
			}
			if len(added) == 0 {
				continue
			}
			if err := tx.AddColumns(t.schema, added); err != nil {
				return nil, nil, err
			}
			seq++
			if err := tx.PutCatalog(tk, kindTable, nt.sql, seq); err != nil {
				return nil, nil, err
			}
			tables[tk] = nt
			widened = append(widened, tk)
			continue
		}
		if e.exists(mt.Name) {
			return nil, nil, sqlerr.New(sqlerr.TableExists, "Table '%s' already exists: module %s cannot store message %s in it", mt.Name, st.Name, mt.Message.FullName())
		}
		t, err := moduleTable(mt.CreateSQL(), key)
		if err != nil {
			return nil, nil, fmt.Errorf("module %s: table %s: %w", st.Name, mt.Name, err)
		}
		if err := tx.CreateTable(t.schema); err != nil {
			return nil, nil, err
		}
		seq++
		if err := tx.PutCatalog(tk, kindTable, t.sql, seq); err != nil {
			return nil, nil, err
		}
		tables[tk] = t
	}
	// Feeds of widened tables are dropped, to be made again with the new columns.
	var stale []*view
	for _, v := range e.order {
		for _, w := range widened {
			if isFeedOf(v.name, w) {
				if deps := e.dependents(v.name); len(deps) > 0 {
					return nil, nil, sqlerr.New(sqlerr.Dependent, "module %s adds columns to %s, but view %s depends on its feed %s: drop it first", st.Name, w, strings.Join(deps, ", "), v.name)
				}
				if err := tx.DeleteCatalog(strings.ToLower(v.name)); err != nil {
					return nil, nil, err
				}
				stale = append(stale, v)
			}
		}
	}
	m := &module{key: key, def: moduleSQL(mod), mod: mod}
	seq++
	if err := tx.PutCatalog(moduleKey(key), kindModule, m.def, seq); err != nil {
		return nil, nil, err
	}
	return &Result{}, func() {
		e.catSeq = seq
		for k, t := range tables {
			e.tables[k] = t
		}
		for _, v := range stale {
			if err := e.state.dropView(v, e.unregister(v)); err != nil {
				e.fail(err)
			}
		}
		e.modules[key] = m
		e.indexMethods()
	}, nil
}

// checkModuleNames refuses a module that declares a file path, message, enum or service that
// another module declares: clients and server reflection resolve them by name.
func (e *Engine) checkModuleNames(key string, mod *modules.Module) error {
	mine := declared(mod)
	for name := range mine {
		kind, full, _ := strings.Cut(name, " ")
		var err error
		if kind == "file" {
			_, err = protoregistry.GlobalFiles.FindFileByPath(full)
		} else {
			_, err = protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(full))
		}
		if err == nil {
			return sqlerr.New(sqlerr.WrongArguments, "module %s: %s is one of the engine's own: rename it", mod.Name, name)
		}
	}
	for _, other := range e.modules {
		if other.key == key {
			continue
		}
		for name := range declared(other.mod) {
			if mine[name] {
				return sqlerr.New(sqlerr.WrongArguments, "module %s: %s is already declared by module %s", mod.Name, name, other.mod.Name)
			}
		}
	}
	return nil
}

// declared returns the file paths and the full names of the top-level declarations of a
// module's own files.
func declared(m *modules.Module) map[string]bool {
	out := map[string]bool{}
	for _, f := range m.Own {
		out["file "+f.Path()] = true
		for i := 0; i < f.Messages().Len(); i++ {
			out["message "+string(f.Messages().Get(i).FullName())] = true
		}
		for i := 0; i < f.Enums().Len(); i++ {
			out["enum "+string(f.Enums().Get(i).FullName())] = true
		}
		for i := 0; i < f.Services().Len(); i++ {
			out["service "+string(f.Services().Get(i).FullName())] = true
		}
	}
	return out
}

// moduleTable builds the table of a module's message from its CREATE TABLE statement.
func moduleTable(createSQL, module string) (*table, error) {
	stmt, err := sqlplan.Parser().Parse(createSQL)
	if err != nil {
		return nil, err
	}
	ct, ok := stmt.(*sqlparser.CreateTable)
	if !ok {
		return nil, fmt.Errorf("not CREATE TABLE: %s", createSQL)
	}
	t, err := tableFromAST(ct)
	if err != nil {
		return nil, err
	}
	t.module = module
	return t, nil
}

// widenTable returns the table of a module's message after a new version of the module:
// the existing columns in their order (those of removed fields included) followed by the
// columns of added fields, and the added columns.
func widenTable(t *table, mt *modules.Table) (*table, []sources.ColumnSchema, error) {
	next, err := moduleTable(mt.CreateSQL(), t.module)
	if err != nil {
		return nil, nil, err
	}
	var added []sources.ColumnSchema
	for _, c := range next.schema.Columns {
		if t.columnIndex(c.Name) < 0 {
			c.NotNull = false
			added = append(added, c)
		}
	}
	if len(added) == 0 {
		return t, nil, nil
	}
	defs := make([]string, 0, len(t.schema.Columns)+len(added))
	for _, c := range append(slices.Clone(t.schema.Columns), added...) {
		d := sqlparser.String(sqlparser.NewIdentifierCI(c.Name)) + " " + c.SQLType
		if c.NotNull {
			d += " NOT NULL"
		}
		defs = append(defs, d)
	}
	if len(t.schema.PrimaryKey) > 0 {
		var pk []string
		for _, i := range t.schema.PrimaryKey {
			pk = append(pk, sqlparser.String(sqlparser.NewIdentifierCI(t.schema.Columns[i].Name)))
		}
		defs = append(defs, "PRIMARY KEY ("+strings.Join(pk, ", ")+")")
	}
	sql := "CREATE TABLE " + sqlparser.String(sqlparser.NewIdentifierCS(t.schema.Name)) + " (" + strings.Join(defs, ", ") + ")"
	wide, err := moduleTable(sql, t.module)
	if err != nil {
		return nil, nil, err
	}
	return wide, added, nil
}

// feedName names the materialized view that serves a subscription method: the relation's
// rows with the method's parameter columns first, so that one subscriber's rows are a range.
func feedName(m *modules.Method) string {
	rel := m.View
	if rel == "" {
		rel = m.Row.Name
	}
	if len(m.Params) == 0 {
		return rel + "__feed"
	}
	cols := make([]string, len(m.Params))
	for i, p := range m.Params {
		cols[i] = p.Column
	}
	return rel + "__by_" + strings.Join(cols, "_")
}

// isFeedOf reports whether a view name is one feedName gives for the relation.
func isFeedOf(view, relation string) bool {
	v, r := strings.ToLower(view), strings.ToLower(relation)
	return v == r+"__feed" || strings.HasPrefix(v, r+"__by_")
}

// dropModule drops a module, the feeds of its methods and its tables, unless a view other
// than those feeds reads them.
func (e *Engine) dropModule(tx *sources.Txn, st *sqlplan.DropModule) (*Result, func(), error) {
	key := strings.ToLower(st.Name)
	m, ok := e.modules[key]
	if !ok {
		if st.IfExists {
			return &Result{}, nil, nil
		}
		return nil, nil, sqlerr.New(sqlerr.BadTable, "Unknown module '%s'", st.Name)
	}
	feeds := map[string]*view{}
	for _, svc := range m.mod.Services {
		for _, meth := range svc.Methods {
			if meth.Kind != modules.Subscribe {
				continue
			}
			if v, ok := e.views[strings.ToLower(feedName(meth))]; ok {
				feeds[strings.ToLower(v.name)] = v
			}
		}
	}
	for _, t := range e.tables {
		if t.module != key {
			continue
		}
		for _, v := range e.order {
			if isFeedOf(v.name, t.schema.Name) {
				feeds[strings.ToLower(v.name)] = v
			}
		}
	}
	outside := func(names []string) []string {
		var out []string
		for _, n := range names {
			if _, ok := feeds[strings.ToLower(n)]; !ok {
				out = append(out, n)
			}
		}
		return out
	}
	for name := range feeds {
		if deps := outside(e.dependents(name)); len(deps) > 0 {
			return nil, nil, sqlerr.New(sqlerr.Dependent, "Cannot drop module '%s': view %s depends on its feed %s", st.Name, strings.Join(deps, ", "), name)
		}
		if sks := e.sinksOf(name); len(sks) > 0 {
			return nil, nil, sqlerr.New(sqlerr.Dependent, "Cannot drop module '%s': sink %s writes its feed %s", st.Name, strings.Join(sks, ", "), name)
		}
	}
	var tables []string
	for tk, t := range e.tables {
		if t.module != key {
			continue
		}
		if deps := outside(e.dependents(tk)); len(deps) > 0 {
			return nil, nil, sqlerr.New(sqlerr.Dependent, "Cannot drop module '%s': view %s depends on its table %s", st.Name, strings.Join(deps, ", "), t.schema.Name)
		}
		tables = append(tables, tk)
	}
	sort.Strings(tables)
	for name := range feeds {
		if err := tx.DeleteCatalog(name); err != nil {
			return nil, nil, err
		}
	}
	for _, tk := range tables {
		if err := tx.DropTable(e.tables[tk].schema.Name); err != nil {
			return nil, nil, err
		}
		if err := tx.DeleteCatalog(tk); err != nil {
			return nil, nil, err
		}
		for idx, owner := range e.indexes {
			if owner == tk {
				if err := tx.DeleteCatalog("index:" + idx); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	if err := tx.DeleteCatalog(moduleKey(key)); err != nil {
		return nil, nil, err
	}
	return &Result{}, func() {
		// Feeds read feeds of nothing but tables: drop them in reverse creation order.
		for i := len(e.order) - 1; i >= 0; i-- {
			v := e.order[i]
			if _, ok := feeds[strings.ToLower(v.name)]; ok {
				if err := e.state.dropView(v, e.unregister(v)); err != nil {
					e.fail(err)
				}
			}
		}
		for _, tk := range tables {
			delete(e.tables, tk)
			for idx, owner := range e.indexes {
				if owner == tk {
					delete(e.indexes, idx)
				}
			}
		}
		delete(e.modules, key)
		e.indexMethods()
	}, nil
}

// Modules returns the loaded modules, by name. A Module is immutable; a replaced module is a
// new value.
func (e *Engine) Modules() []*modules.Module {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*modules.Module, 0, len(e.modules))
	for _, m := range e.modules {
		out = append(out, m.mod)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ModuleMethod finds the method of a loaded module by its gRPC path ("/pkg.Service/Method").
func (e *Engine) ModuleMethod(path string) (*modules.Module, *modules.Method, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.methods[path]
	return m.mod, m.method, ok
}

// moduleMethod is a method of a loaded module.
type moduleMethod struct {
	mod    *modules.Module
	method *modules.Method
}

// indexMethods rebuilds the index of the loaded modules' methods by gRPC path, after the
// modules changed. Called with e.mu held.
func (e *Engine) indexMethods() {
	e.methods = map[string]moduleMethod{}
	for _, m := range e.modules {
		for _, svc := range m.mod.Services {
			for _, meth := range svc.Methods {
				e.methods[meth.Path] = moduleMethod{mod: m.mod, method: meth}
			}
		}
	}
}

// LoadModule compiles and creates a module, or replaces it if replace is set (see CREATE OR
// REPLACE MODULE); it reports whether a module was replaced.
func (e *Engine) LoadModule(ctx context.Context, name string, files map[string]string, main string, replace bool) (*modules.Module, bool, error) {
	if main == "" && len(files) == 1 {
		for p := range files {
			main = p
		}
	}
	st := &sqlplan.CreateModule{Name: name, OrReplace: replace, Files: files, Main: main}
	e.mu.Lock()
	_, existed := e.modules[strings.ToLower(name)]
	e.mu.Unlock()
	s := e.NewSession()
	defer s.Close()
	if _, err := s.createModule(ctx, st); err != nil {
		return nil, false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.modules[strings.ToLower(name)]
	if !ok {
		return nil, false, fmt.Errorf("module %s was dropped while it was loaded", name)
	}
	return m.mod, existed, nil
}

// WriteRows stores rows in a module's table as one transaction and returns its result (LSN
// and rows written). cols names the rows' columns; the table's other columns get NULL.
// Insert adds the rows; Upsert replaces the row with the same key (inserts without a key);
// Delete removes the row with the same key (without a key, one equal row).
func (e *Engine) WriteRows(ctx context.Context, tableName string, mode modules.WriteMode, cols []string, rows []dataflow.Row) (*Result, error) {
	s := e.NewSession()
	defer s.Close()
	return s.write(ctx, func(tx *txnState, _ *[]undoEntry) (int64, error) {
		e.mu.Lock()
		t, ok := e.tables[strings.ToLower(tableName)]
		e.mu.Unlock()
		if !ok {
			return 0, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", tableName)
		}
		if t.source != nil {
			return 0, sqlerr.New(sqlerr.NonUpdatable, "'%s' is a source: it changes with its bucket only", tableName)
		}
		at := make([]int, len(t.schema.Columns))
		for i, c := range t.schema.Columns {
			at[i] = slices.IndexFunc(cols, func(n string) bool { return strings.EqualFold(n, c.Name) })
		}
		var n int64
		for r, in := range rows {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			row := make(dataflow.Row, len(at))
			for i, j := range at {
				if j >= 0 && j < len(in) {
					row[i] = in[j]
				}
			}
			if err := t.coerceRow(row, r+1); err != nil {
				return 0, err
			}
			changed, err := writeModuleRow(tx, t, mode, row)
			if err != nil {
				return 0, err
			}
			n += changed
		}
		return n, nil
	})
}

// writeModuleRow applies one row of WriteRows and returns how many rows it changed.
func writeModuleRow(tx *txnState, t *table, mode modules.WriteMode, row dataflow.Row) (int64, error) {
	keyed := len(t.schema.PrimaryKey) > 0
	var key []byte
	var old dataflow.Row
	found := false
	if mode != modules.Insert {
		var err error
		if keyed {
			key = dataflow.AppendColumnsKey(nil, row, t.schema.PrimaryKey)
			old, found, err = tx.gtx.Get(t.schema, key)
		} else if mode == modules.Delete {
			err = tx.gtx.Scan(t.schema, func(k []byte, r dataflow.Row) error {
				if dataflow.CompareRows(r, row) == 0 {
					key, old, found = slices.Clone(k), r, true
					return errStopScan
				}
				return nil
			})
			if err == errStopScan {
				err = nil
			}
		}
		if err != nil {
			return 0, err
		}
	}
	switch {
	case mode == modules.Delete && !found:
		return 0, nil
	case mode == modules.Delete:
		if err := tx.gtx.Delete(t.schema, key); err != nil {
			return 0, err
		}
		if err := tx.record(t, changelogpb.ChangeEvent_DELETE, key, old, nil); err != nil {
			return 0, err
		}
	case found: // upsert of an existing key
		if dataflow.CompareRows(old, row) == 0 {
			return 0, nil
		}
		newKey, err := tx.gtx.Update(t.schema, key, row)
		if err != nil {
			return 0, err
		}
		if err := tx.record(t, changelogpb.ChangeEvent_UPDATE, newKey, old, row); err != nil {
			return 0, err
		}
	default:
		k, err := tx.gtx.Insert(t.schema, row)
		if err != nil {
			return 0, err
		}
		if err := tx.record(t, changelogpb.ChangeEvent_INSERT, k, nil, row); err != nil {
			return 0, err
		}
	}
	return 1, nil
}

// SubscribeMethod subscribes to the rows a subscription method streams for a request whose
// set fields gave cols = vals (see modules.Method.ParamValues). The rows come from the
// method's feed, a materialized view made at the first subscription and shared by all
// subscribers of the method (and of any method with the same relation and parameters).
func (e *Engine) SubscribeMethod(ctx context.Context, m *modules.Method, cols []string, vals dataflow.Row, opts SubscribeOptions) (*Subscription, error) {
	feed, err := e.ensureFeed(ctx, m)
	if err != nil {
		return nil, err
	}
	opts.MatchColumns, opts.MatchValues = cols, vals
	return e.Subscribe(ctx, feed, opts)
}

// ensureFeed returns the name of a subscription method's feed, creating it if needed.
func (e *Engine) ensureFeed(ctx context.Context, m *modules.Method) (string, error) {
	name := feedName(m)
	rel := m.View
	if rel == "" {
		rel = m.Row.Name
	}
	e.mu.Lock()
	_, ok := e.views[strings.ToLower(name)]
	var relCols []sqlplan.ColumnInfo
	var relErr error
	if !ok {
		var r *sqlplan.Relation
		if r, relErr = (catalog{e}).Relation(rel); relErr == nil {
			relCols = r.Columns
			if r.Query != nil {
				relErr = sqlerr.New(sqlerr.WrongObject, "method %s subscribes to %s, which is a plain view: name a table or a materialized view", m.Desc.FullName(), rel)
			}
		}
	}
	e.mu.Unlock()
	if ok {
		return name, nil
	}
	if relErr != nil {
		return "", relErr
	}
	var sel []string
	for _, p := range m.Params {
		if !slices.ContainsFunc(relCols, func(c sqlplan.ColumnInfo) bool { return strings.EqualFold(c.Name, p.Column) }) {
			return "", sqlerr.New(sqlerr.BadField, "method %s: %s has no column %s for request field %s", m.Desc.FullName(), rel, p.Column, p.Path[len(p.Path)-1].FullName())
		}
		sel = append(sel, sqlparser.String(sqlparser.NewIdentifierCI(p.Column)))
	}
	for _, c := range relCols {
		if !slices.ContainsFunc(m.Params, func(p modules.Param) bool { return strings.EqualFold(c.Name, p.Column) }) {
			sel = append(sel, sqlparser.String(sqlparser.NewIdentifierCI(c.Name)))
		}
	}
	sql := "CREATE MATERIALIZED VIEW IF NOT EXISTS " + sqlparser.String(sqlparser.NewIdentifierCS(name)) +
		" AS SELECT " + strings.Join(sel, ", ") + " FROM " + sqlparser.String(sqlparser.NewIdentifierCS(rel))
	s := e.NewSession()
	defer s.Close()
	if _, err := s.Exec(ctx, sql); err != nil {
		return "", fmt.Errorf("create the feed of %s: %w", m.Desc.FullName(), err)
	}
	return name, nil
}

// showModules lists the modules with their tables and services.
func (e *Engine) showModules() *Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := &Result{Columns: textColumns("Module", "Tables", "Services")}
	keys := make([]string, 0, len(e.modules))
	for k := range e.modules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m := e.modules[k].mod
		var tables, services []string
		for _, t := range m.Tables {
			tables = append(tables, t.Name)
		}
		for _, s := range m.Services {
			services = append(services, string(s.Desc.FullName()))
		}
		res.Rows = append(res.Rows, dataflow.Row{dataflow.NewString(m.Name), dataflow.NewString(strings.Join(tables, ", ")), dataflow.NewString(strings.Join(services, ", "))})
	}
	return res
}

// DropModule drops a module as DROP MODULE does.
func (e *Engine) DropModule(ctx context.Context, name string, ifExists bool) error {
	s := e.NewSession()
	defer s.Close()
	_, err := s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) {
		return e.dropModule(tx, &sqlplan.DropModule{Name: name, IfExists: ifExists})
	})
	return err
}
