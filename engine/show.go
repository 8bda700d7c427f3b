package engine

import (
	"sort"
	"strings"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// showObjects lists tables, views or materialized views by name.
func (e *Engine) showObjects(what string) *Result {
	if what == "modules" {
		return e.showModules()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	col := "Tables_in_cdc"
	switch what {
	case "tables":
		for _, t := range e.tables {
			if t.source == nil {
				names = append(names, t.schema.Name)
			}
		}
	case "sinks":
		col = "Sink"
		for _, sk := range e.sinks {
			names = append(names, sk.name)
		}
	case "sources":
		col = "Source"
		for _, t := range e.tables {
			if t.source != nil {
				names = append(names, t.schema.Name)
			}
		}
	case "views":
		col = "View"
		for _, v := range e.plain {
			names = append(names, v.name)
		}
		for _, v := range e.views {
			names = append(names, v.name)
		}
	case "materialized views":
		return e.showMaterializedViews()
	}
	sort.Strings(names)
	res := &Result{Columns: textColumns(col)}
	for _, n := range names {
		res.Rows = append(res.Rows, dataflow.Row{dataflow.NewString(n)})
	}
	return res
}

// showMaterializedViews lists the materialized views by name with their state ("ready",
// or "building" for the one being built), their rows, and for a build the rows of its
// sources read so far and to read; called with e.mu held.
func (e *Engine) showMaterializedViews() *Result {
	res := &Result{Columns: append(textColumns("Materialized_view", "State"), intColumns("Rows", "Rows_read", "Rows_to_read")...)}
	for _, v := range e.views {
		res.Rows = append(res.Rows, dataflow.Row{dataflow.NewString(v.name), dataflow.NewString("ready"), dataflow.NewInt(v.rows), dataflow.Null, dataflow.Null})
	}
	if p := e.building; p != nil {
		res.Rows = append(res.Rows, dataflow.Row{dataflow.NewString(p.name), dataflow.NewString("building"), dataflow.NewInt(p.rows.Load()),
			dataflow.NewInt(p.read.Load()), dataflow.NewInt(p.total)})
	}
	sort.Slice(res.Rows, func(i, j int) bool { return res.Rows[i][0].Str() < res.Rows[j][0].Str() })
	return res
}

// showCreate returns the statement that created a table or view.
func (e *Engine) showCreate(what, name string) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := strings.ToLower(name)
	var sql, label string
	switch what {
	case "table":
		t, ok := e.tables[key]
		if !ok || t.source != nil {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
		}
		sql, label, name = t.sql, "Table", t.schema.Name
	case "source":
		t, ok := e.tables[key]
		if !ok || t.source == nil {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "Source '%s' doesn't exist", name)
		}
		sql, label, name = redactedSourceSQL(t), "Source", t.schema.Name
	case "module":
		m, ok := e.modules[key]
		if !ok {
			return nil, sqlerr.New(sqlerr.BadTable, "Unknown module '%s'", name)
		}
		sql, label, name = m.def, "Module", m.mod.Name
	case "view":
		if v, ok := e.plain[key]; ok {
			sql, label, name = v.sql, "View", v.name
		} else if v, ok := e.views[key]; ok {
			sql, label, name = v.sql, "View", v.name
		} else {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
		}
	default:
		v, ok := e.views[key]
		if !ok {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "Materialized view '%s' doesn't exist", name)
		}
		sql, label, name = v.sql, "Materialized view", v.name
	}
	return &Result{
		Columns: textColumns(label, "Create "+strings.ToLower(label)),
		Rows:    []dataflow.Row{{dataflow.NewString(name), dataflow.NewString(sql)}},
	}, nil
}

// explain prints the dataflow of a query or of an existing materialized view.
func (e *Engine) explain(st *sqlplan.Explain) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var g *dataflow.Graph
	if st.MaterializedView != "" {
		v, ok := e.views[strings.ToLower(st.MaterializedView)]
		if !ok {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "Materialized view '%s' doesn't exist", st.MaterializedView)
		}
		g = v.graph
	} else {
		q, err := sqlplan.PlanQuery(catalog{e}, st.Query)
		if err != nil {
			return nil, err
		}
		plan, _ := sqlplan.ViewPlan(q)
		g, err = sqlplan.Lower(plan, func(id string, _ sqlplan.ArrangementKind) dataflow.Arrangement { return arrangements.NewMem(id) })
		if err != nil {
			return nil, err
		}
	}
	res := &Result{Columns: textColumns("dataflow")}
	for _, line := range strings.Split(strings.TrimRight(g.Explain(), "\n"), "\n") {
		res.Rows = append(res.Rows, dataflow.Row{dataflow.NewString(line)})
	}
	return res, nil
}
