package slt

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
)

// checkEvery is how many end-of-file deletes happen between two view checks.
const checkEvery = 10

// doomedRow is one row the end-of-file phase deletes.
type doomedRow struct {
	table string
	cols  []string
	row   dataflow.Row
}

// emptyTables deletes every table's rows one by one in a seeded random order, checking views.
//
// Every checkEvery deletes the views reading a changed table are compared with their queries,
// and every view at the end. A view that stops matching counts one failed record; so does a
// table whose rows cannot be read or deleted, or that is not empty afterwards.
func (r *runner) emptyTables() {
	bad := map[string]bool{} // tables already counted as failed
	fail := func(table, msg, sql string) {
		if bad[table] {
			return
		}
		bad[table] = true
		r.counts.Failed++
		r.report(0, fmt.Sprintf("table %s: %s", table, msg), sql)
	}
	tables, ok := r.listTables()
	if !ok {
		return
	}
	var doomed []doomedRow
	for _, t := range tables {
		sql := "SELECT * FROM " + QuoteIdent(t)
		res, err := r.exec(sql)
		if err != nil {
			fail(t, fmt.Sprintf("cannot read it: %v", err), sql)
			continue
		}
		cols := make([]string, len(res.Columns))
		for i, c := range res.Columns {
			cols[i] = c.Name
		}
		for _, row := range res.Rows {
			doomed = append(doomed, doomedRow{table: t, cols: cols, row: row})
		}
	}
	rng := rand.New(rand.NewPCG(uint64(r.opts.Seed), 0x736c74))
	rng.Shuffle(len(doomed), func(i, j int) { doomed[i], doomed[j] = doomed[j], doomed[i] })

	kept := map[string]bool{} // tables with a row that has no literal, so it stays
	dirty := map[string]bool{}
	for k, d := range doomed {
		if r.ctx.Err() != nil {
			return
		}
		sql, ok := DeleteOne(d.table, d.cols, d.row)
		if !ok {
			kept[d.table] = true
			continue
		}
		res, err := r.exec(sql)
		switch {
		case err != nil:
			fail(d.table, fmt.Sprintf("DELETE failed: %v", err), sql)
		case res.RowsAffected != 1:
			fail(d.table, fmt.Sprintf("DELETE removed %d rows, want 1", res.RowsAffected), sql)
		}
		dirty[strings.ToLower(d.table)] = true
		if (k+1)%checkEvery == 0 {
			r.checkChanged(dirty, fmt.Sprintf("after %d of %d end-of-file deletes", k+1, len(doomed)))
			clear(dirty)
		}
	}
	for _, v := range r.views.list {
		if r.ctx.Err() != nil {
			return
		}
		r.checkView(v, "after the end-of-file deletes")
	}
	for _, t := range tables {
		if bad[t] || kept[t] {
			continue
		}
		sql := "SELECT * FROM " + QuoteIdent(t)
		if res, err := r.exec(sql); err != nil {
			fail(t, fmt.Sprintf("cannot read it after the deletes: %v", err), sql)
		} else if len(res.Rows) != 0 {
			fail(t, fmt.Sprintf("%d rows left after deleting every row", len(res.Rows)), sql)
		}
	}
}

// checkChanged checks the created views that may read a changed table.
//
// That is views mentioning a changed table or any view the script made itself.
func (r *runner) checkChanged(changed map[string]bool, when string) {
	for _, v := range r.views.list {
		if !v.created || v.failed {
			continue
		}
		if v.reads(changed) || v.reads(r.views.userViews) {
			r.checkView(v, when)
		}
	}
}

// listTables returns the sorted names of the base tables.
//
// Those are SHOW TABLES minus the runner's and the script's views; ok is false, and one
// failed record counted, when SHOW TABLES fails.
func (r *runner) listTables() ([]string, bool) {
	res, err := r.exec("SHOW TABLES")
	if err != nil || len(res.Columns) == 0 {
		r.counts.Failed++
		r.report(0, fmt.Sprintf("SHOW TABLES failed: %v", err), "SHOW TABLES")
		return nil, false
	}
	var names []string
	for _, row := range res.Rows {
		if len(row) == 0 || row[0].IsNull() {
			continue
		}
		name := row[0].String()
		if l := strings.ToLower(name); r.views.names[l] || r.views.userViews[l] {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, true
}
