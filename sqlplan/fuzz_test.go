package sqlplan_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/slt"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// fuzzProbes are the seed inputs beyond the sqllogictest statements: slow, odd or huge ones.
func fuzzProbes() []string {
	return []string{
		"SELECT COUNT(*) FROM big a, big b",
		"SELECT COUNT(*) FROM big a, big b WHERE a.id <> b.id",
		"CREATE MATERIALIZED VIEW x AS SELECT * FROM a, b",
		"CREATE TABLE `\xff\xfe` (id INT)",
		"CREATE TABLE `a\x00b` (id INT)",
		"SELECT `\xff\xfe` FROM a",
		"BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); COMMIT",
		"SET max_execution_time = 2000",
		"SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1",
		"KILL QUERY 1",
		"SELECT '" + strings.Repeat("x", 1<<20) + "'",
	}
}

// sltStatements returns the SQL of every statement and query record of ../testdata/*.slt.
func sltStatements(tb testing.TB) []string {
	tb.Helper()
	scripts, err := slt.ParseGlob(filepath.Join("..", "testdata", "*.slt"))
	if err != nil {
		tb.Fatal(err)
	}
	return slt.Statements(scripts)
}

// fuzzCatalog is a fixed catalog of tables, a materialized view and a plain view, with the
// rows each source holds.
type fuzzCatalog struct {
	rels map[string]*sqlplan.Relation
	rows map[string][]dataflow.Row
}

// newFuzzCatalog builds the catalog FuzzParsePlan plans against.
func newFuzzCatalog(tb testing.TB) *fuzzCatalog {
	tb.Helper()
	dec := func(s string) dataflow.Datum {
		d, err := dataflow.NewDecimalText(s)
		if err != nil {
			tb.Fatalf("decimal %s: %v", s, err)
		}
		return d
	}
	ts := dataflow.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	c := &fuzzCatalog{rels: map[string]*sqlplan.Relation{}, rows: map[string][]dataflow.Row{}}
	table := func(name string, cols []sqlplan.ColumnInfo, rows ...dataflow.Row) {
		src := "table:" + name
		c.rels[name] = &sqlplan.Relation{Name: name, Columns: cols, Source: src}
		c.rows[src] = rows
	}
	i, s, n := dataflow.NewInt, dataflow.NewString, dataflow.Null
	table("a", []sqlplan.ColumnInfo{
		{Name: "id", Kind: dataflow.KindInt, SQLType: "INT"},
		{Name: "x", Kind: dataflow.KindInt, SQLType: "INT"},
		{Name: "s", Kind: dataflow.KindString, SQLType: "VARCHAR(10)"},
		{Name: "d", Kind: dataflow.KindDecimal, SQLType: "DECIMAL(8,2)"},
		{Name: "f", Kind: dataflow.KindFloat, SQLType: "DOUBLE"},
		{Name: "ts", Kind: dataflow.KindTime, SQLType: "DATETIME"},
	},
		dataflow.Row{i(1), i(10), s("one"), dec("1.50"), dataflow.NewFloat(0.5), ts},
		dataflow.Row{i(2), n, s("two"), dec("-2.25"), dataflow.NewFloat(-1e300), n},
		dataflow.Row{i(3), i(10), n, n, n, ts},
	)
	table("b", []sqlplan.ColumnInfo{
		{Name: "id", Kind: dataflow.KindInt, SQLType: "INT"},
		{Name: "y", Kind: dataflow.KindInt, SQLType: "BIGINT"},
		{Name: "t", Kind: dataflow.KindString, SQLType: "TEXT"},
		{Name: "bin", Kind: dataflow.KindBytes, SQLType: "BLOB"},
	},
		dataflow.Row{i(1), i(-5), s("x"), dataflow.NewBytes([]byte{0xff, 0})},
		dataflow.Row{i(1), i(7), s(""), n},
		dataflow.Row{n, i(0), s("ü"), dataflow.NewBytes(nil)},
	)
	table("t", []sqlplan.ColumnInfo{{Name: "id", Kind: dataflow.KindInt, SQLType: "INT"}},
		dataflow.Row{i(1)}, dataflow.Row{i(2)})
	table("big", []sqlplan.ColumnInfo{{Name: "n", Kind: dataflow.KindInt, SQLType: "INT"}},
		dataflow.Row{i(1)}, dataflow.Row{i(2)}, dataflow.Row{i(3)}, dataflow.Row{i(4)})
	mvCols := []sqlplan.ColumnInfo{{Name: "id", Kind: dataflow.KindInt}, {Name: "total", Kind: dataflow.KindDecimal}}
	c.rels["mv"] = &sqlplan.Relation{Name: "mv", Columns: mvCols, Source: "view:mv",
		Order: []sqlplan.SortKey{{Col: 0}}}
	c.rows["view:mv"] = []dataflow.Row{{i(1), dec("3.00")}, {i(2), n}}
	pv, err := sqlplan.ParseQuery("SELECT a.id, a.s, b.y FROM a JOIN b ON a.id = b.id WHERE b.y > 0")
	if err != nil {
		tb.Fatalf("parse the plain view: %v", err)
	}
	c.rels["pv"] = &sqlplan.Relation{Name: "pv", Query: pv}
	return c
}

// addSLTRelations adds the tables the statements create (with three generated rows each)
// and their views and materialized views (as plain views), so that the seeds taken from
// the sqllogictest files plan instead of failing on an unknown table. The first definition
// of a name wins.
func (c *fuzzCatalog) addSLTRelations(stmts []string) {
	for _, sql := range stmts {
		st, err := sqlplan.Parse(sql)
		if err != nil {
			continue
		}
		switch s := st.(type) {
		case *sqlplan.CreateMaterializedView:
			c.addView(s.Name, s.Query)
		case *sqlplan.Vitess:
			switch v := s.Stmt.(type) {
			case *sqlparser.CreateView:
				c.addView(v.ViewName.Name.String(), v.Select)
			case *sqlparser.CreateTable:
				c.addTable(v)
			}
		}
	}
}

// addView adds a plain view unless the name is taken.
func (c *fuzzCatalog) addView(name string, q sqlparser.TableStatement) {
	key := strings.ToLower(name)
	if _, ok := c.rels[key]; !ok && q != nil {
		c.rels[key] = &sqlplan.Relation{Name: name, Query: q}
	}
}

// addTable adds the table a CREATE TABLE defines unless the name is taken, with rows
// 1, 2 and NULL in every column (as each column's kind spells them).
func (c *fuzzCatalog) addTable(ct *sqlparser.CreateTable) {
	name := ct.Table.Name.String()
	key := strings.ToLower(name)
	if _, ok := c.rels[key]; ok || ct.TableSpec == nil {
		return
	}
	var cols []sqlplan.ColumnInfo
	for _, col := range ct.TableSpec.Columns {
		cols = append(cols, sqlplan.ColumnInfo{Name: col.Name.String(), Kind: kindOfType(col.Type.Type), SQLType: col.Type.Type})
	}
	if len(cols) == 0 {
		return
	}
	src := "table:" + key
	c.rels[key] = &sqlplan.Relation{Name: name, Columns: cols, Source: src}
	for _, v := range []int64{1, 2, 0} {
		row := make(dataflow.Row, len(cols))
		for i, col := range cols {
			row[i] = fuzzDatum(col.Kind, v)
		}
		c.rows[src] = append(c.rows[src], row)
	}
}

// kindOfType maps a declared column type to its kind as the engine does, text when unknown.
func kindOfType(typ string) dataflow.Kind {
	switch strings.ToLower(typ) {
	case "int", "integer", "bigint", "smallint", "tinyint", "mediumint", "bool", "boolean", "bit", "year":
		return dataflow.KindInt
	case "float", "double", "real", "double precision":
		return dataflow.KindFloat
	case "decimal", "numeric", "dec", "fixed":
		return dataflow.KindDecimal
	case "blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary":
		return dataflow.KindBytes
	case "datetime", "timestamp", "date":
		return dataflow.KindTime
	}
	return dataflow.KindString
}

// fuzzDatum is v as a value of kind k; v == 0 is NULL.
func fuzzDatum(k dataflow.Kind, v int64) dataflow.Datum {
	if v == 0 {
		return dataflow.Null
	}
	switch k {
	case dataflow.KindInt:
		return dataflow.NewInt(v)
	case dataflow.KindFloat:
		return dataflow.NewFloat(float64(v) / 4)
	case dataflow.KindDecimal:
		d, err := dataflow.NewDecimalText(strconv.FormatInt(v, 10) + ".25")
		if err != nil {
			panic(err) // a constant format
		}
		return d
	case dataflow.KindBytes:
		return dataflow.NewBytes([]byte{byte(v), 0xff})
	case dataflow.KindTime:
		return dataflow.NewTime(time.Date(2026, 1, int(v), 0, 0, 0, 0, time.UTC))
	}
	return dataflow.NewString(strconv.FormatInt(v, 10))
}

// Relation resolves a name like the engine's catalog, case-insensitively.
func (c *fuzzCatalog) Relation(name string) (*sqlplan.Relation, error) {
	if r, ok := c.rels[strings.ToLower(name)]; ok {
		return r, nil
	}
	return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
}

// maxFuzzScans bounds the scans of a plan that is run: with at most four rows a source,
// cross joins of more would take long without exercising anything new.
const maxFuzzScans = 6

// countScans counts the scan nodes of a plan, a node reachable along several paths once per path.
func countScans(p sqlplan.Plan) int {
	n := 0
	if _, ok := p.(*sqlplan.Scan); ok {
		n++
	}
	for _, c := range p.Children() {
		n += countScans(c)
		if n > maxFuzzScans {
			break
		}
	}
	return n
}

// queriesOf returns the queries a parsed statement plans: a SELECT, a materialized view's
// query, an EXPLAINed query, and the SELECT of an INSERT ... SELECT.
func queriesOf(st sqlplan.Statement) []sqlparser.TableStatement {
	switch s := st.(type) {
	case *sqlplan.CreateMaterializedView:
		return []sqlparser.TableStatement{s.Query}
	case *sqlplan.Explain:
		if s.Query != nil {
			return []sqlparser.TableStatement{s.Query}
		}
	case *sqlplan.Vitess:
		switch v := s.Stmt.(type) {
		case sqlparser.TableStatement:
			return []sqlparser.TableStatement{v}
		case *sqlparser.Insert:
			if q, ok := v.Rows.(sqlparser.TableStatement); ok {
				return []sqlparser.TableStatement{q}
			}
		case *sqlparser.CreateView:
			return []sqlparser.TableStatement{v.Select}
		}
	}
	return nil
}

// FuzzParsePlan parses arbitrary text; queries are planned against a fixed catalog, lowered
// to dataflow and run once over the catalog's rows. Errors are fine, panics are not.
func FuzzParsePlan(f *testing.F) {
	stmts := sltStatements(f)
	for _, s := range stmts {
		f.Add(s)
	}
	for _, s := range fuzzProbes() {
		f.Add(s)
	}
	cat := newFuzzCatalog(f)
	cat.addSLTRelations(stmts)
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := sqlplan.Parse(sql)
		if err != nil {
			return
		}
		for _, q := range queriesOf(st) {
			planAndRun(t, cat, q)
		}
	})
}

// planAndRun plans, lowers and runs q; only a panic fails.
func planAndRun(t *testing.T, cat *fuzzCatalog, q sqlparser.TableStatement) {
	t.Helper()
	planned, err := sqlplan.PlanQuery(cat, q)
	if err != nil {
		return
	}
	_ = planned.Columns()
	_ = sqlplan.VisibleOrder(planned)
	g, err := sqlplan.Lower(planned.Plan, func(id string, _ sqlplan.ArrangementKind) dataflow.Arrangement { return arrangements.NewMem(id) })
	if err != nil {
		return
	}
	for _, n := range g.Nodes {
		_ = n.Op.Explain()
	}
	if countScans(planned.Plan) > maxFuzzScans {
		return
	}
	inputs := map[string][]dataflow.Update{}
	for _, src := range sqlplan.Sources(planned.Plan) {
		for _, r := range cat.rows[src] {
			inputs[src] = append(inputs[src], dataflow.Update{Row: r, Time: 1, Diff: 1})
		}
	}
	ep := dataflow.NewEpoch(1, inputs)
	ep.Hydrate = true
	_, _ = g.Step(ep)
}

// TestPlanRowConstructorSelectItem is FuzzParsePlan's first find: a row constructor as a
// select item panicked (hash of unhashable type sqlparser.ValTuple) instead of being refused.
func TestPlanRowConstructorSelectItem(t *testing.T) {
	cat := newFuzzCatalog(t)
	for _, sql := range []string{"SELECT(0,00)", "SELECT (1, 2) FROM a", "SELECT (id, x) FROM a GROUP BY id, x"} {
		q, err := sqlplan.ParseQuery(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if _, err := sqlplan.PlanQuery(cat, q); err == nil || !strings.Contains(err.Error(), "Operand should contain 1 column(s)") {
			t.Errorf("%s: %v, want Operand should contain 1 column(s)", sql, err)
		}
	}
}
