package engine

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// table is a source table: its schema and the statement that created it.
type table struct {
	schema sources.TableSchema
	rules  []columnRule
	sql    string
	// source is set for the table of an object source: read-only to SQL writes.
	source *objectSource
	// module is the lower-case name of the module whose message the table stores, or "".
	module string
}

// plainView is a named query, inlined wherever it is used.
type plainView struct {
	name  string
	sql   string
	query sqlparser.TableStatement
	refs  []string
}

// source names the dataflow input of a table or materialized view.
func tableSource(name string) string { return "table:" + strings.ToLower(name) }
func viewSource(name string) string  { return "view:" + strings.ToLower(name) }

// catalog adapts the engine's catalog to sqlplan.Catalog. It is used with e.mu held.
type catalog struct{ e *Engine }

// Relation resolves a table, materialized view or view by name.
func (c catalog) Relation(name string) (*sqlplan.Relation, error) {
	key := strings.ToLower(name)
	if t, ok := c.e.tables[key]; ok {
		cols := make([]sqlplan.ColumnInfo, len(t.schema.Columns))
		for i, col := range t.schema.Columns {
			cols[i] = sqlplan.ColumnInfo{Name: col.Name, Kind: col.Kind, SQLType: col.SQLType}
		}
		var pk []int
		if len(t.schema.PrimaryKey) > 0 {
			pk = slices.Clone(t.schema.PrimaryKey)
		}
		return &sqlplan.Relation{Name: t.schema.Name, Columns: cols, Source: tableSource(key), Key: pk}, nil
	}
	if v, ok := c.e.views[key]; ok {
		return &sqlplan.Relation{Name: v.name, Columns: v.query.Columns(), Source: viewSource(key), Order: sqlplan.VisibleOrder(v.query)}, nil
	}
	if v, ok := c.e.plain[key]; ok {
		return &sqlplan.Relation{Name: v.name, Query: v.query}, nil
	}
	return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
}

// viewCatalog is the catalog a materialized view is planned with: its tables and
// materialized views count their rows for ordering joins (sqlplan.Relation.Rows). A count
// comes from rows; with tx set, one that rows lacks is taken now (at most joinCountLimit
// rows of a table) and added to rows. The planner asks only for relations it joins, so a
// view of one table counts nothing. It is used with e.mu held.
type viewCatalog struct {
	catalog
	rows map[string]int64
	tx   *sources.Txn
	err  error // the first failed count
}

// joinCountLimit bounds the rows counted of one table for ordering joins: past it, tables
// count as equally large.
const joinCountLimit = 1 << 21

// Relation resolves a name as catalog does, with its row count.
func (c *viewCatalog) Relation(name string) (*sqlplan.Relation, error) {
	rel, err := c.catalog.Relation(name)
	if err != nil || rel.Query != nil {
		return rel, err
	}
	key := strings.ToLower(name)
	rel.Rows = func() int64 { return c.count(key) }
	return rel, nil
}

// count returns the row count of the table or materialized view key, from rows or, with
// tx set, counted now.
func (c *viewCatalog) count(key string) int64 {
	if n, ok := c.rows[key]; ok || c.tx == nil {
		return n
	}
	var n int64
	if t, isTable := c.e.tables[key]; isTable {
		var err error
		if n, err = c.tx.CountRows(t.schema, joinCountLimit); err != nil {
			c.err = cmp.Or(c.err, err)
		}
	} else if v, isView := c.e.views[key]; isView {
		n = v.rows
	}
	c.rows[key] = n
	return n
}

// planView plans a materialized view's query with the row counts rows (see viewCatalog),
// counting those rows lacks through tx when tx is set. It returns the plan and the counts
// it used.
func (e *Engine) planView(stmt sqlparser.TableStatement, tx *sources.Txn, rows map[string]int64) (*sqlplan.Query, map[string]int64, error) {
	c := &viewCatalog{catalog: catalog{e}, rows: maps.Clone(rows), tx: tx}
	if c.rows == nil {
		c.rows = map[string]int64{}
	}
	q, err := sqlplan.PlanQuery(c, stmt)
	if err == nil {
		err = c.err
	}
	if err != nil {
		return nil, nil, err
	}
	return q, c.rows, nil
}

// exists reports whether any relation has the name.
func (e *Engine) exists(name string) bool {
	key := strings.ToLower(name)
	_, t := e.tables[key]
	_, v := e.views[key]
	_, p := e.plain[key]
	return t || v || p
}

// referencedNames lists the lower-case relation names a query names, each once.
func referencedNames(stmt sqlparser.SQLNode) []string {
	seen := map[string]bool{}
	var out []string
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if t, ok := n.(sqlparser.TableName); ok && !t.Name.IsEmpty() {
			k := strings.ToLower(t.Name.String())
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
		return true, nil
	}, stmt)
	return out
}

// dependents lists the views that name the relation, sorted.
func (e *Engine) dependents(name string) []string {
	key := strings.ToLower(name)
	var out []string
	for _, v := range e.order {
		for _, r := range v.refs {
			if r == key {
				out = append(out, v.name)
			}
		}
	}
	for _, v := range e.plain {
		for _, r := range v.refs {
			if r == key {
				out = append(out, v.name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// resultColumns converts planner columns to result columns.
func resultColumns(cols []sqlplan.ColumnInfo) []Column {
	out := make([]Column, len(cols))
	for i, c := range cols {
		t := c.SQLType
		if t == "" {
			t = c.Kind.String()
		}
		out[i] = Column{Name: c.Name, Kind: c.Kind, SQLType: t}
	}
	return out
}

// intColumns returns result columns of BIGINT with the given names.
func intColumns(names ...string) []Column {
	out := make([]Column, len(names))
	for i, n := range names {
		out[i] = Column{Name: n, Kind: dataflow.KindInt, SQLType: "BIGINT"}
	}
	return out
}

// textColumns returns result columns of text with the given names.
func textColumns(names ...string) []Column {
	out := make([]Column, len(names))
	for i, n := range names {
		out[i] = Column{Name: n, Kind: dataflow.KindString, SQLType: "TEXT"}
	}
	return out
}
