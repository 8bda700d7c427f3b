//go:build linux

package main

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCrash's random DDL: tables ddl_<n> (id INT PRIMARY KEY, tag VARCHAR(40), v INT), each
// row tagged with its table's name, their indexes, and materialized views over them. What
// was acknowledged must exist after a restart, what failed must not, what was in doubt may;
// the first check after the restart settles the doubt and later checks hold to it.

// ddlState is whether an object or a row exists.
type ddlState int

const (
	ddlAbsent  ddlState = iota
	ddlPresent          // its statement was acknowledged (or a check found it)
	ddlMaybe            // its statement was in doubt: the next check settles it
)

// ddlTable is a table ddl_<n>, in its latest incarnation (a dropped name may be created again).
type ddlTable struct {
	name        string
	state       ddlState
	doubtOf     string // with ddlMaybe: "create" or "drop", the statement in doubt
	incarnation int
	rows        map[int64]*ddlRow // this incarnation's rows by id
	nextV       int               // v of its next row: unique within the table, shared across tables
	indexes     map[string]*ddlIndex
}

// ddlRow is a row of a ddl table: (id, tag = the table's name, v).
type ddlRow struct {
	v     int
	state ddlState
	stmt  int // the ledger entry of its INSERT (rows of one INSERT commit together)
}

// ddlIndex is an index of a ddl table.
type ddlIndex struct {
	name, def string // def creates it
	state     ddlState
	doubtOf   string
	probe     bool // absent after a DROP INDEX or a failed CREATE INDEX: the next check makes sure
}

// ddlView is a materialized view over ddl tables (and maybe acct or another ddl view).
type ddlView struct {
	name, query string
	refs        []string // ddl tables and views it reads
	state       ddlState
	doubtOf     string
	cycle       int    // the cycle of its CREATE
	outcome     string // of its CREATE
}

// ddlEntry is one DDL statement in the ledger.
type ddlEntry struct {
	cycle        int
	kind, stmt   string
	outcome, err string
}

// crashDDL is the model and ledger of the DDL, used by one goroutine at a time.
type crashDDL struct {
	tables     map[string]*ddlTable
	views      map[string]*ddlView
	rowOwner   map[int64]string // every row id ever sent -> "ddl_<n>#<incarnation>"
	nextTable  int
	nextView   int
	nextIndex  int
	nextRow    int64
	ledger     []ddlEntry
	unexpected []string // SQL errors the DDL got
	reported   int
	diagnosis  string
	sent       chan struct{}  // ready when a statement was sent: kills aim at it
	recomputed map[string]int // recomputes of DDL views by how their CREATE ended
	probes     int
	// Objects created and dropped (acknowledged, or found so by a check).
	tablesCreated, tablesDropped, viewsCreated, viewsDropped, indexesCreated, indexesDropped int
}

// newCrashDDL returns an empty model.
func newCrashDDL() *crashDDL {
	return &crashDDL{tables: map[string]*ddlTable{}, views: map[string]*ddlView{}, rowOwner: map[int64]string{}, recomputed: map[string]int{}, sent: make(chan struct{}, 1)}
}

// Bounds on what exists at once, so that the checks stay quick.
const (
	ddlMaxTables  = 8
	ddlMaxViews   = 10
	ddlMaxRows    = 60 // rows a table is sent in one incarnation
	ddlMaxIndexes = 3  // per table
)

// sortedNames returns the keys of m in order (the random choices must not depend on map order).
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// exec runs a statement and records how it ended: acked, failed (an SQL error), doubt, or "" (no connection: not sent, not recorded).
func (d *crashDDL) exec(ctx context.Context, db *sql.DB, cycle int, kind, stmt string) string {
	conn, err := db.Conn(ctx)
	if err != nil {
		return ""
	}
	defer conn.Close()
	select {
	case d.sent <- struct{}{}:
	default:
	}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	_, err = conn.ExecContext(sctx, stmt)
	if sctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		d.unexpected = append(d.unexpected, fmt.Sprintf("cycle %d: %s: no answer within 15s", cycle, stmt))
	}
	cancel()
	e := ddlEntry{cycle: cycle, kind: kind, stmt: stmt, outcome: "acked"}
	if err != nil {
		e.outcome, e.err = "doubt", err.Error()
		if _, ok := isMySQLError(err); ok {
			// The model never sends a statement that should fail.
			e.outcome = "failed"
			d.unexpected = append(d.unexpected, fmt.Sprintf("cycle %d: %s: %v", cycle, stmt, err))
			if d.diagnosis == "" {
				d.diagnosis = crashDiagnose(ctx, db)
			}
		}
	}
	d.ledger = append(d.ledger, e)
	return e.outcome
}

// stateOf is the state an outcome leaves the object of a CREATE (creates) or of a DROP in.
func stateOf(outcome string, creates bool) ddlState {
	switch {
	case outcome == "doubt":
		return ddlMaybe
	case (outcome == "acked") == creates:
		return ddlPresent
	default:
		return ddlAbsent
	}
}

// presentTables lists the present tables in order.
func presentTables(m map[string]*ddlTable) []string {
	var out []string
	for _, n := range sortedNames(m) {
		if m[n].state == ddlPresent {
			out = append(out, n)
		}
	}
	return out
}

// presentViews lists the present views in order.
func (d *crashDDL) presentViews() []string {
	var out []string
	for _, n := range sortedNames(d.views) {
		if d.views[n].state == ddlPresent {
			out = append(out, n)
		}
	}
	return out
}

// dependents lists the views that exist or may exist and read name directly.
func (d *crashDDL) dependents(name string) []string {
	var out []string
	for _, vn := range sortedNames(d.views) {
		v := d.views[vn]
		if v.state != ddlAbsent && slices.Contains(v.refs, name) {
			out = append(out, vn)
		}
	}
	return out
}

// createTable creates a fresh table ddl_<n> or, now and then, one dropped before.
func (d *crashDDL) createTable(ctx context.Context, db *sql.DB, rng *rand.Rand, cycle int) (string, string) {
	var t *ddlTable
	if rng.Intn(6) == 0 {
		var dropped []string
		for _, n := range sortedNames(d.tables) {
			if d.tables[n].state == ddlAbsent {
				dropped = append(dropped, n)
			}
		}
		if len(dropped) > 0 {
			t = d.tables[dropped[rng.Intn(len(dropped))]]
		}
	}
	if t == nil {
		d.nextTable++
		t = &ddlTable{name: fmt.Sprintf("ddl_%d", d.nextTable)}
	}
	out := d.exec(ctx, db, cycle, "create table", fmt.Sprintf("CREATE TABLE %s (id INT PRIMARY KEY, tag VARCHAR(40), v INT)", t.name))
	if out == "" {
		return t.name, out
	}
	d.tables[t.name] = t
	t.incarnation++
	t.rows, t.indexes, t.nextV = map[int64]*ddlRow{}, map[string]*ddlIndex{}, 1
	t.state, t.doubtOf = stateOf(out, true), "create"
	d.tablesCreated += btoi(out == "acked")
	return t.name, out
}

// insert sends 1 to 3 new rows to table name in one INSERT.
func (d *crashDDL) insert(ctx context.Context, db *sql.DB, rng *rand.Rand, cycle int, name string) string {
	t := d.tables[name]
	var vals []string
	rows := map[int64]*ddlRow{}
	for n := 1 + rng.Intn(3); n > 0 && t.nextV <= ddlMaxRows; n-- {
		d.nextRow++
		rows[d.nextRow] = &ddlRow{v: t.nextV, stmt: len(d.ledger)}
		vals = append(vals, fmt.Sprintf("(%d, '%s', %d)", d.nextRow, name, t.nextV))
		d.rowOwner[d.nextRow] = fmt.Sprintf("%s#%d", name, t.incarnation)
		t.nextV++
	}
	if len(vals) == 0 {
		return "acked"
	}
	out := d.exec(ctx, db, cycle, "insert", fmt.Sprintf("INSERT INTO %s VALUES %s", name, strings.Join(vals, ", ")))
	if out == "" {
		return out
	}
	for id, r := range rows {
		r.state = stateOf(out, true)
		t.rows[id] = r
	}
	return out
}

// createIndex creates an index on table name: UNIQUE (v), (tag) or (v, tag).
func (d *crashDDL) createIndex(ctx context.Context, db *sql.DB, rng *rand.Rand, cycle int, name string) string {
	t := d.tables[name]
	d.nextIndex++
	ix := &ddlIndex{name: fmt.Sprintf("%s_i%d", name, d.nextIndex)}
	cols := []string{"UNIQUE INDEX %s ON %s (v)", "INDEX %s ON %s (tag)", "INDEX %s ON %s (v, tag)"}[rng.Intn(3)]
	ix.def = "CREATE " + fmt.Sprintf(cols, ix.name, name)
	out := d.exec(ctx, db, cycle, "create index", ix.def)
	if out == "" {
		return out
	}
	ix.state, ix.doubtOf = stateOf(out, true), "create"
	ix.probe = ix.state == ddlAbsent
	t.indexes[ix.name] = ix
	d.indexesCreated += btoi(out == "acked")
	return out
}

// dropIndex drops a random present index.
func (d *crashDDL) dropIndex(ctx context.Context, db *sql.DB, rng *rand.Rand, cycle int) string {
	var cands [][2]string
	for _, tn := range presentTables(d.tables) {
		for _, in := range sortedNames(d.tables[tn].indexes) {
			if d.tables[tn].indexes[in].state == ddlPresent {
				cands = append(cands, [2]string{tn, in})
			}
		}
	}
	if len(cands) == 0 {
		return "acked"
	}
	c := cands[rng.Intn(len(cands))]
	out := d.exec(ctx, db, cycle, "drop index", fmt.Sprintf("DROP INDEX %s ON %s", c[1], c[0]))
	if out == "" {
		return out
	}
	ix := d.tables[c[0]].indexes[c[1]]
	ix.state, ix.doubtOf = stateOf(out, false), "drop"
	ix.probe = ix.state == ddlAbsent
	d.indexesDropped += btoi(out == "acked")
	return out
}

// createView creates a view: a GROUP BY count, a filter, a join with acct or of two tables, or a view over a count view.
func (d *crashDDL) createView(ctx context.Context, db *sql.DB, rng *rand.Rand, cycle int) string {
	tables := presentTables(d.tables)
	if len(tables) == 0 {
		return "acked"
	}
	t1, t2 := tables[rng.Intn(len(tables))], tables[rng.Intn(len(tables))]
	var counts []string
	for _, vn := range d.presentViews() {
		if strings.HasPrefix(d.views[vn].query, "SELECT tag, COUNT(*)") {
			counts = append(counts, vn)
		}
	}
	var query string
	var refs []string
	switch k := rng.Intn(5); {
	case k == 0:
		query, refs = fmt.Sprintf("SELECT tag, COUNT(*) AS n, SUM(v) AS s FROM %s GROUP BY tag", t1), []string{t1}
	case k == 1:
		query, refs = fmt.Sprintf("SELECT id, tag, v FROM %s WHERE v > 3", t1), []string{t1}
	case k == 2 && t1 != t2:
		query, refs = fmt.Sprintf("SELECT x.id AS xid, x.tag AS xtag, y.id AS yid, y.tag AS ytag, x.v FROM %s x JOIN %s y ON y.v = x.v", t1, t2), []string{t1, t2}
	case k == 3 && len(counts) > 0:
		c := counts[rng.Intn(len(counts))]
		query, refs = fmt.Sprintf("SELECT tag, n FROM %s WHERE n > 1", c), []string{c}
	default:
		query, refs = fmt.Sprintf("SELECT d.id, d.tag, d.v, a.owner, a.balance FROM %s d JOIN acct a ON a.id = d.v", t1), []string{t1}
	}
	name := ""
	if rng.Intn(5) == 0 {
		// A name used before: the new view must not meet its predecessor's state.
		var dropped []string
		for _, vn := range sortedNames(d.views) {
			if d.views[vn].state == ddlAbsent {
				dropped = append(dropped, vn)
			}
		}
		if len(dropped) > 0 {
			name = dropped[rng.Intn(len(dropped))]
		}
	}
	if name == "" {
		d.nextView++
		name = fmt.Sprintf("ddlv_%d", d.nextView)
	}
	out := d.exec(ctx, db, cycle, "create view", fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS %s", name, query))
	if out == "" {
		return out
	}
	d.views[name] = &ddlView{name: name, query: query, refs: refs, state: stateOf(out, true), doubtOf: "create", cycle: cycle, outcome: out}
	d.viewsCreated += btoi(out == "acked")
	return out
}

// dropView drops view name.
func (d *crashDDL) dropView(ctx context.Context, db *sql.DB, cycle int, name string) string {
	out := d.exec(ctx, db, cycle, "drop view", "DROP MATERIALIZED VIEW "+name)
	if out == "" {
		return out
	}
	v := d.views[name]
	v.state, v.doubtOf = stateOf(out, false), "drop"
	d.viewsDropped += btoi(out == "acked")
	return out
}

// dropTable drops table name after the views that read it (those over them first).
func (d *crashDDL) dropTable(ctx context.Context, db *sql.DB, cycle int, name string) string {
	var order []string
	var visit func(n string)
	visit = func(n string) {
		for _, dep := range d.dependents(n) {
			if !slices.Contains(order, dep) {
				visit(dep)
				order = append(order, dep)
			}
		}
	}
	visit(name)
	for _, vn := range order {
		if out := d.dropView(ctx, db, cycle, vn); out != "acked" {
			return out
		}
	}
	out := d.exec(ctx, db, cycle, "drop table", "DROP TABLE "+name)
	if out == "" {
		return out
	}
	t := d.tables[name]
	t.state, t.doubtOf = stateOf(out, false), "drop"
	d.tablesDropped += btoi(out == "acked")
	if t.state == ddlAbsent {
		t.rows, t.indexes = nil, nil
	}
	return out
}

// step runs one random operation (a DROP TABLE with its views' DROPs) and returns how its last statement ended.
func (d *crashDDL) step(ctx context.Context, db *sql.DB, rng *rand.Rand, cycle int) string {
	tables := presentTables(d.tables)
	var roomy []string // tables that take more rows
	for _, tn := range tables {
		if d.tables[tn].nextV <= ddlMaxRows {
			roomy = append(roomy, tn)
		}
	}
	views := d.presentViews()
	w := map[string]int{}
	if len(tables) < ddlMaxTables {
		w["create table"] = 3
	}
	if len(roomy) > 0 {
		w["insert"] = 6
	}
	if len(tables) > 0 {
		w["create index"], w["drop table"] = 2, 1
		if len(views) < ddlMaxViews {
			w["create view"] = 3
		}
		if len(tables) >= ddlMaxTables-1 {
			w["drop table"] = 3
		}
	}
	for _, tn := range tables {
		for _, ix := range d.tables[tn].indexes {
			if ix.state == ddlPresent {
				w["drop index"] = 2
			}
		}
	}
	if len(views) > 0 {
		w["drop view"] = 2
		if len(views) >= ddlMaxViews {
			w["drop view"] = 5
		}
	}
	kinds := sortedNames(w)
	total := 0
	for _, k := range kinds {
		total += w[k]
	}
	r := rng.Intn(total)
	kind := kinds[len(kinds)-1]
	for _, k := range kinds {
		if r < w[k] {
			kind = k
			break
		}
		r -= w[k]
	}
	switch kind {
	case "create table":
		name, out := d.createTable(ctx, db, rng, cycle)
		if out == "acked" && rng.Intn(2) == 0 {
			return d.insert(ctx, db, rng, cycle, name)
		}
		return out
	case "insert":
		return d.insert(ctx, db, rng, cycle, roomy[rng.Intn(len(roomy))])
	case "create index":
		var cands []string
		for _, tn := range tables {
			n := 0
			for _, ix := range d.tables[tn].indexes {
				if ix.state == ddlPresent {
					n++
				}
			}
			if n < ddlMaxIndexes {
				cands = append(cands, tn)
			}
		}
		if len(cands) == 0 {
			return "acked"
		}
		return d.createIndex(ctx, db, rng, cycle, cands[rng.Intn(len(cands))])
	case "drop index":
		return d.dropIndex(ctx, db, rng, cycle)
	case "create view":
		return d.createView(ctx, db, rng, cycle)
	case "drop view":
		var free []string
		for _, vn := range views {
			if len(d.dependents(vn)) == 0 {
				free = append(free, vn)
			}
		}
		if len(free) == 0 {
			return "acked"
		}
		return d.dropView(ctx, db, cycle, free[rng.Intn(len(free))])
	default:
		return d.dropTable(ctx, db, cycle, tables[rng.Intn(len(tables))])
	}
}

// batch runs a few operations, the first a CREATE TABLE (with an INSERT) or a CREATE INDEX; every one must be answered.
func (d *crashDDL) batch(ctx context.Context, db *sql.DB, rng *rand.Rand, cycle int) error {
	outs := make([]string, 0, 8)
	if tables := presentTables(d.tables); len(tables) > 0 && rng.Intn(3) == 0 {
		outs = append(outs, d.createIndex(ctx, db, rng, cycle, tables[rng.Intn(len(tables))]))
	} else {
		name, out := d.createTable(ctx, db, rng, cycle)
		outs = append(outs, out)
		if out == "acked" {
			outs = append(outs, d.insert(ctx, db, rng, cycle, name))
		}
	}
	for n := 2 + rng.Intn(3); n > 0; n-- {
		outs = append(outs, d.step(ctx, db, rng, cycle))
	}
	for i, out := range outs {
		if out == "doubt" || out == "" {
			return fmt.Errorf("cycle %d: operation %d of the DDL batch ended %q with the server up (last statement: %+v)", cycle, i, out, d.ledger[len(d.ledger)-1])
		}
	}
	return nil
}

// run runs random DDL until ctx ends or a statement is in doubt (the server was killed).
func (d *crashDDL) run(ctx context.Context, db *sql.DB, rng *rand.Rand, cycle int) {
	for ctx.Err() == nil {
		switch d.step(ctx, db, rng, cycle) {
		case "doubt":
			return
		case "": // nothing was sent: the server is down
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.Intn(15)) * time.Millisecond)
	}
}

// reportUnexpected fails the test with the SQL errors the DDL got since the last report.
func (d *crashDDL) reportUnexpected(t *testing.T, when string) {
	t.Helper()
	news := d.unexpected[d.reported:]
	d.reported = len(d.unexpected)
	if len(news) > 0 {
		t.Errorf("%s: %d unexpected SQL errors of DDL, the first: %v\nserver state at the first one:\n%s", when, len(news), news[:min(len(news), 5)], d.diagnosis)
	}
}

// settle checks an object's existence against its state, counts a CREATE or DROP in doubt it finds committed, and returns the state found.
func settle(t *testing.T, when, what string, st ddlState, doubtOf string, exists bool, created, dropped *int) ddlState {
	t.Helper()
	switch {
	case st == ddlMaybe && doubtOf == "create" && exists:
		*created++
	case st == ddlMaybe && doubtOf == "drop" && !exists:
		*dropped++
	case st == ddlPresent && !exists:
		t.Errorf("%s: %s is missing, though its creation was acknowledged (or found by an earlier check)", when, what)
	case st == ddlAbsent && exists:
		t.Errorf("%s: %s exists, though its creation failed or its drop was acknowledged (or an earlier check found it absent)", when, what)
	}
	if exists {
		return ddlPresent
	}
	return ddlAbsent
}

// checkCatalog checks SHOW TABLES and SHOW MATERIALIZED VIEWS against the model and returns the views (name -> query).
func (d *crashDDL) checkCatalog(t *testing.T, ctx context.Context, db *sql.DB, when string) map[string]string {
	t.Helper()
	list := func(q string) map[string]bool {
		rows, err := crashQuery(ctx, db, q)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		out := map[string]bool{}
		for _, r := range rows {
			out[r[0]] = true
		}
		return out
	}
	tables := list("SHOW TABLES")
	for _, n := range []string{"acct", "events", "ledger", "crash_marker"} {
		if !tables[n] {
			t.Errorf("%s: SHOW TABLES has no %s: %v", when, n, sortedNames(tables))
		}
		delete(tables, n)
	}
	for _, n := range sortedNames(d.tables) {
		tb := d.tables[n]
		tb.state = settle(t, when, "table "+n, tb.state, tb.doubtOf, tables[n], &d.tablesCreated, &d.tablesDropped)
		if tb.state == ddlAbsent {
			tb.rows, tb.indexes = nil, nil
		}
		delete(tables, n)
	}
	if len(tables) > 0 {
		t.Errorf("%s: SHOW TABLES has tables that were never created: %v", when, sortedNames(tables))
	}
	views := list("SHOW MATERIALIZED VIEWS")
	want := map[string]string{}
	for _, v := range crashViews {
		if !views[v.name] {
			t.Errorf("%s: SHOW MATERIALIZED VIEWS has no %s", when, v.name)
		}
		want[v.name] = v.query
		delete(views, v.name)
	}
	for _, n := range sortedNames(d.views) {
		v := d.views[n]
		v.state = settle(t, when, "materialized view "+n, v.state, v.doubtOf, views[n], &d.viewsCreated, &d.viewsDropped)
		if v.state == ddlPresent {
			want[n] = v.query
		}
		delete(views, n)
	}
	if len(views) > 0 {
		t.Errorf("%s: SHOW MATERIALIZED VIEWS has views that were never created: %v", when, sortedNames(views))
	}
	return want
}

// btoi is 1 for true.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkTables checks that every ddl table holds exactly its own rows, acknowledged ones and maybe some in doubt, whole INSERTs.
func (d *crashDDL) checkTables(t *testing.T, ctx context.Context, db *sql.DB, when string) {
	t.Helper()
	for _, n := range presentTables(d.tables) {
		tb := d.tables[n]
		cnt, err := crashQuery(ctx, db, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE tag <> '%s' OR tag IS NULL", n, n))
		if err != nil {
			t.Errorf("%s: %v", when, err)
			continue
		}
		if len(cnt) != 1 || cnt[0][0] != "0" {
			t.Errorf("%s: table %s has %v rows whose tag is not %q", when, n, cnt, n)
		}
		rows, err := crashQuery(ctx, db, "SELECT id, tag, v FROM "+n)
		if err != nil {
			t.Errorf("%s: %v", when, err)
			continue
		}
		found := map[int64]bool{}
		var problems []string
		for _, r := range rows {
			id, err := strconv.ParseInt(r[0], 10, 64)
			if err != nil {
				problems = append(problems, fmt.Sprintf("row %v: bad id", r))
				continue
			}
			if found[id] {
				problems = append(problems, fmt.Sprintf("row %v: id twice", r))
			}
			found[id] = true
			m, ok := tb.rows[id]
			switch {
			case !ok:
				owner := d.rowOwner[id]
				if owner == "" {
					owner = "never inserted"
				}
				problems = append(problems, fmt.Sprintf("row %v: not of %s#%d (%s)", r, n, tb.incarnation, owner))
			case r[1] != n || r[2] != strconv.Itoa(m.v):
				problems = append(problems, fmt.Sprintf("row %v: inserted as (%d, %s, %d)", r, id, n, m.v))
			case m.state == ddlAbsent:
				problems = append(problems, fmt.Sprintf("row %v: its INSERT failed", r))
			}
		}
		stmts := map[int][2]int{} // INSERT -> rows found, rows in doubt
		for _, id := range slices.Sorted(maps.Keys(tb.rows)) {
			m := tb.rows[id]
			if m.state == ddlPresent && !found[id] {
				problems = append(problems, fmt.Sprintf("row %d (v %d): missing, its INSERT was acknowledged (or an earlier check found it)", id, m.v))
			}
			if m.state == ddlMaybe {
				c := stmts[m.stmt]
				c[0] += btoi(found[id])
				c[1]++
				stmts[m.stmt] = c
			}
			m.state = ddlAbsent
			if found[id] {
				m.state = ddlPresent
			}
		}
		for s, c := range stmts {
			if c[0] != 0 && c[0] != c[1] {
				problems = append(problems, fmt.Sprintf("%d of the %d rows of the INSERT in doubt %q are there", c[0], c[1], d.ledger[s].stmt))
			}
		}
		if len(problems) > 0 {
			slices.Sort(problems)
			t.Errorf("%s: table %s (%d rows) does not hold exactly its own rows: %d problems: %v", when, n, len(rows), len(problems), problems[:min(len(problems), 10)])
		}
	}
}

// probeIndexes checks the indexes with statements that must fail (1061, 1091, 1062), and creates those in doubt again.
func (d *crashDDL) probeIndexes(t *testing.T, ctx context.Context, db *sql.DB, when string) {
	t.Helper()
	run := func(q string) (uint16, error) {
		d.probes++
		qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		_, err := db.ExecContext(qctx, q)
		if err == nil {
			return 0, nil
		}
		if num, ok := isMySQLError(err); ok {
			return num, nil
		}
		return 0, err
	}
	for _, tn := range presentTables(d.tables) {
		tb := d.tables[tn]
		for _, in := range sortedNames(tb.indexes) {
			ix := tb.indexes[in]
			switch {
			case ix.state == ddlPresent || ix.state == ddlMaybe:
				num, err := run(ix.def)
				switch {
				case err != nil:
					t.Errorf("%s: probe %s: %v", when, ix.def, err)
				case num == 0 && ix.state == ddlPresent:
					t.Errorf("%s: index %s of %s was missing, though its CREATE was acknowledged (or an earlier check found it): the probe %q created it", when, in, tn, ix.def)
				case num == 0: // the CREATE in doubt had not committed, or the DROP had: the probe created it
					d.indexesCreated++
					d.indexesDropped += btoi(ix.doubtOf == "drop")
				case num != 1061:
					t.Errorf("%s: probe %s: error %d, want 1061 (the index exists)", when, ix.def, num)
				default:
					d.indexesCreated += btoi(ix.state == ddlMaybe && ix.doubtOf == "create")
				}
				ix.state = ddlPresent
				if strings.HasPrefix(ix.def, "CREATE UNIQUE") {
					d.probeUnique(t, run, tb, in, when)
				}
			case ix.probe:
				q := fmt.Sprintf("DROP INDEX %s ON %s", in, tn)
				num, err := run(q)
				switch {
				case err != nil:
					t.Errorf("%s: probe %s: %v", when, q, err)
				case num == 0:
					t.Errorf("%s: index %s of %s existed, though its CREATE failed or its DROP was acknowledged: the probe %q dropped it", when, in, tn, q)
				case num != 1091:
					t.Errorf("%s: probe %s: error %d, want 1091 (no such index)", when, q, num)
				}
				delete(tb.indexes, in)
			default:
				delete(tb.indexes, in)
			}
		}
	}
}

// checkOriginal checks that acct, events and crash_marker hold only rows their writers can have written.
func checkOriginal(t *testing.T, ctx context.Context, db *sql.DB, token int64, when string) {
	t.Helper()
	for _, c := range []struct {
		q      string
		ranges [][2]int64 // per column, inclusive
	}{
		{"SELECT id, owner, balance FROM acct", [][2]int64{{1, 20}, {1, 5}, {-1 << 40, 1 << 40}}},
		{"SELECT id, acct, amount FROM events", [][2]int64{{1, 40}, {1, 20}, {0, 1 << 40}}},
	} {
		rows, err := crashQuery(ctx, db, c.q)
		if err != nil {
			t.Errorf("%s: %v", when, err)
			continue
		}
		ids := map[string]bool{}
		var bad []string
		for _, r := range rows {
			if ids[r[0]] {
				bad = append(bad, fmt.Sprintf("%v (id twice)", r))
			}
			ids[r[0]] = true
			for i, rg := range c.ranges {
				n, err := strconv.ParseInt(r[i], 10, 64)
				if err != nil || n < rg[0] || n > rg[1] {
					bad = append(bad, fmt.Sprintf("%v (column %d)", r, i))
					break
				}
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s: %s: %d rows the writers cannot have written: %v", when, c.q, len(bad), bad[:min(len(bad), 10)])
		}
	}
	tok, err := crashQuery(ctx, db, "SELECT token FROM crash_marker")
	if err != nil {
		t.Errorf("%s: %v", when, err)
	} else if len(tok) != 1 {
		t.Errorf("%s: crash_marker has %d rows, want only the token %d: %v", when, len(tok), token, tok[:min(len(tok), 10)])
	}
}

// stats summarizes the ledger and what was created and dropped.
func (d *crashDDL) stats() string {
	by := map[string]map[string]int{}
	total := map[string]int{}
	for _, e := range d.ledger {
		if by[e.kind] == nil {
			by[e.kind] = map[string]int{}
		}
		by[e.kind][e.outcome]++
		total[e.outcome]++
	}
	var kinds []string
	for _, k := range sortedNames(by) {
		kinds = append(kinds, fmt.Sprintf("%s %d/%d/%d", k, by[k]["acked"], by[k]["failed"], by[k]["doubt"]))
	}
	return fmt.Sprintf("DDL statements: %d acknowledged, %d failed, %d in doubt (by kind, acknowledged/failed/in doubt: %s); "+
		"tables created %d, dropped %d; indexes created %d, dropped %d; views created %d, dropped %d; %d index probes; DDL views recomputed at restarts: %v",
		total["acked"], total["failed"], total["doubt"], strings.Join(kinds, ", "),
		d.tablesCreated, d.tablesDropped, d.indexesCreated, d.indexesDropped, d.viewsCreated, d.viewsDropped, d.probes, d.recomputed)
}

// awaitStatement waits (up to a generous bound) until the next DDL statement is sent.
func (d *crashDDL) awaitStatement() bool {
	select {
	case <-d.sent:
	default:
	}
	select {
	case <-d.sent:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// doubtAt describes the statements in doubt of a cycle (those the kill interrupted).
func (d *crashDDL) doubtAt(cycle int) []string {
	var out []string
	for _, e := range d.ledger {
		if e.cycle == cycle && e.outcome == "doubt" {
			out = append(out, e.stmt)
		}
	}
	return out
}

// crashRecomputeRE finds the attributes of an engine "recomputed materialized view" log line.
var crashRecomputeRE = regexp.MustCompile(`\b(view|why)=("(?:[^"\\]|\\.)*"|\S+)`)

// crashRecompute is a view a restart recomputed, and why.
type crashRecompute struct{ view, why string }

// crashRecomputed returns the recomputes the log reports after byte offset from, and the log's size.
func crashRecomputed(path string, from int64) ([]crashRecompute, int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, from, err
	}
	if from > int64(len(b)) {
		from = 0
	}
	var out []crashRecompute
	for _, line := range strings.Split(string(b[from:]), "\n") {
		if !strings.Contains(line, "recomputed materialized view") {
			continue
		}
		r := crashRecompute{view: "?"}
		for _, m := range crashRecomputeRE.FindAllStringSubmatch(line, -1) {
			val := m[2]
			if u, err := strconv.Unquote(val); err == nil {
				val = u
			}
			if m[1] == "view" {
				r.view = val
			} else {
				r.why = val
			}
		}
		out = append(out, r)
	}
	return out, int64(len(b)), nil
}

// noteRecomputes fails on a recompute of crashViews and counts those of DDL views (their state may not be synced yet).
func (d *crashDDL) noteRecomputes(t *testing.T, recs []crashRecompute, cycle int, logTail string) {
	t.Helper()
	for _, r := range recs {
		n := r.view
		if crashIsOriginalView(n) {
			t.Errorf("restart %d recomputed %s (%s) instead of resuming it from its stored state (DDL in doubt at the kill: %v)\n%s", cycle+1, n, r.why, d.doubtAt(cycle), logTail)
			continue
		}
		v, ok := d.views[n]
		switch {
		case !ok:
			t.Errorf("restart %d recomputed view %q, which TestCrash never created", cycle+1, n)
		case strings.HasPrefix(r.why, "it reads materialized view"):
			d.recomputed["it reads a view recomputed"]++
		case v.cycle == cycle && v.outcome == "doubt":
			d.recomputed["CREATE in doubt at the kill ("+r.why+")"]++
		case v.cycle == cycle:
			d.recomputed["CREATE acknowledged in the cycle of the kill ("+r.why+")"]++
		default:
			d.recomputed["CREATE acknowledged in an earlier cycle ("+r.why+")"]++
		}
	}
}

// crashIsOriginalView reports whether name is one of crashViews.
func crashIsOriginalView(name string) bool {
	return slices.ContainsFunc(crashViews, func(v struct{ name, query string }) bool { return v.name == name })
}

// writeLedger writes the ledger of every DDL statement, one a line, to path.
func (d *crashDDL) writeLedger(path string) error {
	var b strings.Builder
	for i, e := range d.ledger {
		fmt.Fprintf(&b, "%d\tcycle %d\t%s\t%s\t%s\n", i, e.cycle, e.outcome, e.stmt, e.err)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// probeUnique inserts a duplicate v, which UNIQUE index in must refuse; a row it accepts joins the model.
func (d *crashDDL) probeUnique(t *testing.T, run func(string) (uint16, error), tb *ddlTable, in, when string) {
	t.Helper()
	ids := slices.Sorted(maps.Keys(tb.rows))
	i := slices.IndexFunc(ids, func(id int64) bool { return tb.rows[id].state == ddlPresent })
	if i < 0 {
		return
	}
	v := tb.rows[ids[i]].v
	d.nextRow++
	q := fmt.Sprintf("INSERT INTO %s VALUES (%d, '%s', %d)", tb.name, d.nextRow, tb.name, v)
	num, err := run(q)
	switch {
	case err != nil:
		t.Errorf("%s: probe %s: %v", when, q, err)
	case num == 0:
		t.Errorf("%s: UNIQUE index %s of %s accepted a duplicate v = %d: the probe %q succeeded", when, in, tb.name, v, q)
		tb.rows[d.nextRow] = &ddlRow{v: v, state: ddlPresent, stmt: -1}
		d.rowOwner[d.nextRow] = fmt.Sprintf("%s#%d", tb.name, tb.incarnation)
	case num != 1062:
		t.Errorf("%s: probe %s: error %d, want 1062 (duplicate entry)", when, q, num)
	}
}
