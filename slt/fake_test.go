package slt

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// fakeDB is a tiny stand-in for the engine that understands just the SQL the runner tests use:
// CREATE TABLE, INSERT ... VALUES, SELECT cols FROM t [WHERE c > n] [ORDER BY ...], constant
// SELECTs, materialized views over those, DELETE ... <=> ... LIMIT 1, DROP, SHOW TABLES.
type fakeDB struct {
	tables map[string]*fakeTable
	views  map[string]*fakeView
	log    []string // statements that succeeded
	errs   []string // statements that failed
	// staleDeletes makes views ignore deletes, a maintenance bug the runner must notice.
	staleDeletes bool
	// wrongView makes views return one extra row, a bug the runner must notice at the query.
	wrongView bool
}

type fakeTable struct {
	cols []string
	rows []dataflow.Row
}

type fakeView struct {
	q    fakeQuery
	rows []dataflow.Row
}

// fakeQuery is a parsed SELECT: constants (table == "") or columns of one table, filtered.
type fakeQuery struct {
	exprs   []string // "*", column names or integer constants
	table   string
	whereCo string
	whereGt int64
	ordered bool
}

func newFakeDB() *fakeDB {
	return &fakeDB{tables: map[string]*fakeTable{}, views: map[string]*fakeView{}}
}

func (db *fakeDB) open(ctx context.Context) (session, func(), error) { return db, func() {}, nil }

var (
	reCreateTable = regexp.MustCompile(`(?is)^CREATE TABLE (\w+)\s*\((.*)\)$`)
	reInsert      = regexp.MustCompile(`(?is)^INSERT INTO (\w+) VALUES\s*(.*)$`)
	reSelect      = regexp.MustCompile("(?is)^SELECT (.+?)(?: FROM `?(\\w+)`?)?(?: WHERE (\\w+) > (-?\\d+))?( ORDER BY .*)?$")
	reCreateView  = regexp.MustCompile("(?is)^CREATE MATERIALIZED VIEW `(\\w+)` AS (.*)$")
	reDropView    = regexp.MustCompile("(?is)^DROP MATERIALIZED VIEW `(\\w+)`$")
	reDropTable   = regexp.MustCompile(`(?is)^DROP TABLE (\w+)$`)
	reDelete      = regexp.MustCompile("(?is)^DELETE FROM `(\\w+)` WHERE (.*) LIMIT 1$")
	reCond        = regexp.MustCompile("^`(\\w+)` <=> (.*)$")
)

func (db *fakeDB) Exec(ctx context.Context, sql string) (*engine.Result, error) {
	res, err := db.exec(sql)
	if err != nil {
		db.errs = append(db.errs, sql)
	} else {
		db.log = append(db.log, sql)
	}
	return res, err
}

func (db *fakeDB) exec(sql string) (*engine.Result, error) {
	sql = strings.TrimSpace(strings.Join(strings.Fields(sql), " "))
	if m := reCreateTable.FindStringSubmatch(sql); m != nil {
		t := &fakeTable{}
		for _, c := range strings.Split(m[2], ",") {
			t.cols = append(t.cols, strings.Fields(c)[0])
		}
		db.tables[m[1]] = t
		return &engine.Result{}, nil
	}
	if m := reInsert.FindStringSubmatch(sql); m != nil {
		t, ok := db.tables[m[1]]
		if !ok {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "no table %s", m[1])
		}
		for _, tuple := range strings.Split(strings.Trim(m[2], "()"), "),(") {
			var row dataflow.Row
			for _, v := range strings.Split(tuple, ",") {
				row = append(row, parseFakeLiteral(strings.TrimSpace(v)))
			}
			t.rows = append(t.rows, row)
		}
		db.refresh(m[1], false)
		return &engine.Result{RowsAffected: 1}, nil
	}
	if m := reCreateView.FindStringSubmatch(sql); m != nil {
		q, err := parseFakeQuery(m[2])
		if err != nil {
			return nil, err
		}
		rows, err := db.eval(q)
		if err != nil {
			return nil, err
		}
		db.views[m[1]] = &fakeView{q: q, rows: rows}
		return &engine.Result{}, nil
	}
	if m := reDropView.FindStringSubmatch(sql); m != nil {
		delete(db.views, m[1])
		return &engine.Result{}, nil
	}
	if m := reDropTable.FindStringSubmatch(sql); m != nil {
		if m[1] == "sneaky" && len(db.views) > 0 {
			return nil, sqlerr.New(sqlerr.Dependent, "some view depends on sneaky")
		}
		for _, v := range db.views {
			if v.q.table == m[1] {
				return nil, sqlerr.New(sqlerr.Dependent, "view depends on %s", m[1])
			}
		}
		if _, ok := db.tables[m[1]]; !ok {
			return nil, sqlerr.New(sqlerr.NoSuchTable, "no table %s", m[1])
		}
		delete(db.tables, m[1])
		return &engine.Result{}, nil
	}
	if m := reDelete.FindStringSubmatch(sql); m != nil {
		return db.delete(m[1], m[2])
	}
	if sql == "SHOW TABLES" {
		res := &engine.Result{Columns: []engine.Column{{Name: "Tables", Kind: dataflow.KindString}}}
		var names []string
		for n := range db.tables {
			names = append(names, n)
		}
		for n := range db.views {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			res.Rows = append(res.Rows, dataflow.Row{dataflow.NewString(n)})
		}
		return res, nil
	}
	if strings.HasPrefix(strings.ToUpper(sql), "SELECT") {
		q, err := parseFakeQuery(sql)
		if err != nil {
			return nil, err
		}
		if v, ok := db.views[q.table]; ok && q.exprs[0] == "*" {
			return &engine.Result{Columns: fakeColumns(len(v.q.exprs)), Rows: slices.Clone(v.rows)}, nil
		}
		rows, err := db.eval(q)
		if err != nil {
			return nil, err
		}
		cols := fakeColumns(len(q.exprs))
		if q.exprs[0] == "*" {
			cols = nil
			for _, c := range db.tables[q.table].cols {
				cols = append(cols, engine.Column{Name: c})
			}
		}
		return &engine.Result{Columns: cols, Rows: rows}, nil
	}
	return nil, sqlerr.New(sqlerr.Parse, "fake cannot parse %q", sql)
}

func fakeColumns(n int) []engine.Column {
	cols := make([]engine.Column, n)
	for i := range cols {
		cols[i] = engine.Column{Name: fmt.Sprintf("c%d", i)}
	}
	return cols
}

func parseFakeQuery(sql string) (fakeQuery, error) {
	m := reSelect.FindStringSubmatch(strings.TrimSpace(strings.Join(strings.Fields(sql), " ")))
	if m == nil {
		return fakeQuery{}, sqlerr.New(sqlerr.Parse, "fake cannot plan %q", sql)
	}
	q := fakeQuery{table: m[2], whereCo: m[3], ordered: m[5] != ""}
	for _, e := range strings.Split(m[1], ",") {
		q.exprs = append(q.exprs, strings.TrimSpace(e))
	}
	if m[4] != "" {
		q.whereGt, _ = strconv.ParseInt(m[4], 10, 64)
	}
	return q, nil
}

func (db *fakeDB) eval(q fakeQuery) ([]dataflow.Row, error) {
	if q.table == "" {
		var row dataflow.Row
		for _, e := range q.exprs {
			row = append(row, parseFakeLiteral(e))
		}
		return []dataflow.Row{row}, nil
	}
	t, ok := db.tables[q.table]
	if !ok {
		return nil, sqlerr.New(sqlerr.NoSuchTable, "no table %s", q.table)
	}
	var out []dataflow.Row
	for _, row := range t.rows {
		if q.whereCo != "" {
			v := row[slices.Index(t.cols, q.whereCo)]
			if v.IsNull() || v.Int() <= q.whereGt {
				continue
			}
		}
		if q.exprs[0] == "*" {
			out = append(out, row)
			continue
		}
		var o dataflow.Row
		for _, e := range q.exprs {
			i := slices.Index(t.cols, e)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.BadField, "no column %s", e)
			}
			o = append(o, row[i])
		}
		out = append(out, o)
	}
	if q.ordered {
		slices.SortStableFunc(out, dataflow.CompareRows)
	}
	return out, nil
}

// refresh recomputes the views on table, unless this is a delete and deletes are stale.
func (db *fakeDB) refresh(table string, isDelete bool) {
	if isDelete && db.staleDeletes {
		return
	}
	for _, v := range db.views {
		if v.q.table == table {
			v.rows, _ = db.eval(v.q)
			if db.wrongView {
				v.rows = append(v.rows, v.rows...)
			}
		}
	}
}

func (db *fakeDB) delete(table, where string) (*engine.Result, error) {
	t, ok := db.tables[table]
	if !ok {
		return nil, sqlerr.New(sqlerr.NoSuchTable, "no table %s", table)
	}
	conds := strings.Split(where, " AND ")
	for ri, row := range t.rows {
		match := true
		for _, c := range conds {
			m := reCond.FindStringSubmatch(c)
			if m == nil {
				return nil, sqlerr.New(sqlerr.Parse, "bad condition %q", c)
			}
			v := row[slices.Index(t.cols, m[1])]
			if !fakeNullSafeEqual(v, parseFakeLiteral(m[2])) {
				match = false
				break
			}
		}
		if match {
			t.rows = slices.Delete(t.rows, ri, ri+1)
			db.refresh(table, true)
			return &engine.Result{RowsAffected: 1}, nil
		}
	}
	return &engine.Result{}, nil
}

func fakeNullSafeEqual(a, b dataflow.Datum) bool {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() && b.IsNull()
	}
	if a.Kind().Numeric() && b.Kind().Numeric() {
		fa, _ := a.ToFloat()
		fb, _ := b.ToFloat()
		return fa == fb
	}
	return dataflow.Compare(a, b) == 0
}

func parseFakeLiteral(s string) dataflow.Datum {
	switch {
	case strings.EqualFold(s, "NULL"):
		return dataflow.Null
	case strings.HasPrefix(s, "'"):
		return dataflow.NewString(strings.ReplaceAll(strings.ReplaceAll(s[1:len(s)-1], "''", "'"), `\\`, `\`))
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return dataflow.NewInt(i)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return dataflow.NewFloat(f)
	}
	return dataflow.NewString(s)
}
