package slt

import (
	"fmt"
	"strings"

	"github.com/cdc-dev/cdc/sqlerr"
)

// view is the materialized view kept for one query record in view mode.
type view struct {
	name    string          // slt_v<N>
	rec     *Record         // the query record
	idx     int             // the record's index in the script
	after   int             // the last record before idx that drops a name the query mentions, or -1
	sql     string          // the view's SELECT: the query without a trailing ORDER BY
	created bool            // the view exists in the engine
	retired bool            // never (re)create it again
	failed  bool            // a maintenance mismatch was already counted
	lastErr error           // the last creation or drop error
	words   map[string]bool // lowercased words of sql, computed by reads
}

// wordSet returns the lowercased words of the view's query outside string literals.
func (v *view) wordSet() map[string]bool {
	if v.words == nil {
		v.words = map[string]bool{}
		for _, w := range scanWords(v.sql) {
			v.words[w.text] = true
		}
	}
	return v.words
}

// reads reports whether the view's query mentions any of names (lowercased).
func (v *view) reads(names map[string]bool) bool {
	if len(names) == 0 {
		return false
	}
	words := v.wordSet()
	for n := range names {
		if words[n] {
			return true
		}
	}
	return false
}

// viewSet is every view of a script in view mode, plus the views the script makes itself.
type viewSet struct {
	list      []*view
	byRecord  map[int]*view
	names     map[string]bool // lowercased names of the runner's views
	userViews map[string]bool // lowercased names of views the script's statements created
}

// newViewSet plans one view per query record that will run, up to the first halt that runs.
//
// A view is not created before the last statement preceding its query that drops a table or
// view the query mentions: it would only be dropped there and created again.
func newViewSet(recs []Record) *viewSet {
	vs := &viewSet{byRecord: map[int]*view{}, names: map[string]bool{}, userViews: map[string]bool{}}
	lastDrop := map[string]int{}
	for i := range recs {
		rec := &recs[i]
		if !rec.Runs(EngineName) {
			continue
		}
		if rec.Kind == KindHalt {
			break
		}
		if rec.Kind == KindStatement {
			for _, sql := range splitStatements(rec.SQL) {
				names, _ := DropTargets(sql)
				for _, n := range names {
					lastDrop[n] = i
				}
			}
		}
		if rec.Kind != KindQuery {
			continue
		}
		v := &view{name: fmt.Sprintf("slt_v%d", len(vs.list)+1), rec: rec, idx: i, after: -1, sql: StripOrderBy(rec.SQL)}
		for w := range v.wordSet() {
			if d, ok := lastDrop[w]; ok && d > v.after {
				v.after = d
			}
		}
		vs.list = append(vs.list, v)
		vs.byRecord[i] = v
		vs.names[v.name] = true
	}
	return vs
}

// createViews tries to create the missing views that may be created after record pos.
//
// Those are views whose query comes after pos and whose last preceding drop is at or before
// pos. Failures are expected (the tables may not exist yet) and only remembered.
func (r *runner) createViews(pos int) {
	for _, v := range r.views.list {
		if v.created || v.retired || v.idx <= pos || pos < v.after {
			continue
		}
		if r.ctx.Err() != nil {
			return
		}
		if _, err := r.exec("CREATE MATERIALIZED VIEW " + QuoteIdent(v.name) + " AS " + v.sql); err != nil {
			v.lastErr = err
			continue
		}
		v.created, v.lastErr = true, nil
	}
}

// execWithViews runs one statement of record i in view mode.
//
// It first releases the views on what the statement drops, retries once without any view if
// the engine refuses because of a dependent view, and then tries to create missing views.
func (r *runner) execWithViews(i int, sql string, expectError bool) error {
	names, dropsViews := DropTargets(sql)
	if len(names) > 0 {
		r.releaseViews(i, toSet(names), "before "+firstLine(sql))
	}
	_, err := r.exec(sql)
	if err != nil && !expectError && sqlerr.As(err).Code == sqlerr.Dependent && r.anyViewCreated() {
		r.releaseViews(i, nil, "before "+firstLine(sql))
		_, err = r.exec(sql)
	}
	if err != nil {
		if len(names) > 0 {
			r.createViews(i) // views held back until this drop may be created now
		}
		return err
	}
	if name := CreatedView(sql); name != "" {
		r.views.userViews[name] = true
	}
	if dropsViews {
		for _, n := range names {
			delete(r.views.userViews, n)
		}
	}
	r.createViews(i)
	return nil
}

// releaseViews drops the created views that mention any of names, or all when names is nil.
//
// It lets the statement at record pos drop what they read. Views whose query was already
// checked get a last maintenance check and are retired; the others are created again later.
func (r *runner) releaseViews(pos int, names map[string]bool, when string) {
	for _, v := range r.views.list {
		if !v.created || (names != nil && !v.reads(names)) {
			continue
		}
		if v.idx < pos {
			r.checkView(v, when)
			v.retired = true
		}
		if _, err := r.exec("DROP MATERIALIZED VIEW " + QuoteIdent(v.name)); err != nil {
			v.lastErr = fmt.Errorf("drop before re-creating: %w", err)
		}
		v.created = false
	}
}

// anyViewCreated reports whether some view exists in the engine.
func (r *runner) anyViewCreated() bool {
	for _, v := range r.views.list {
		if v.created {
			return true
		}
	}
	return false
}

// checkViewAtQuery checks the view of query record i at the query and returns the problems.
//
// The view must match the expected result and the one-shot rows (nil when the query failed).
func (r *runner) checkViewAtQuery(i int, rec *Record, oneShot [][]string) []string {
	v := r.views.byRecord[i]
	if v == nil {
		return nil
	}
	if !v.created {
		v.retired = true
		return []string{fmt.Sprintf("view %s was never created: %v", v.name, v.lastErr)}
	}
	rows, err := r.queryRows("SELECT * FROM "+QuoteIdent(v.name), rec.Types)
	if err != nil {
		return []string{fmt.Sprintf("view %s: %v", v.name, err)}
	}
	var problems []string
	if rec.HasExpected {
		if known, err := MatchesExpectedMultiset(rec, rows); known && err != nil {
			problems = append(problems, fmt.Sprintf("view %s: %v", v.name, err),
				"view got: "+r.describe(SortValues(rows, RowSort)))
		}
	}
	if oneShot != nil && !MultisetEqual(rows, oneShot) {
		problems = append(problems, fmt.Sprintf("view %s: its %d rows differ from the query's %d rows", v.name, len(rows), len(oneShot)),
			"view got: "+r.describe(SortValues(rows, RowSort)), "query got: "+r.describe(SortValues(oneShot, RowSort)))
	}
	return problems
}

// checkView compares a created view's rows with its one-shot query's rows as multisets.
//
// The first difference counts one failed record; a query that errors is not compared.
func (r *runner) checkView(v *view, when string) {
	if !v.created || v.failed {
		return
	}
	want, err := r.queryRows(v.rec.SQL, v.rec.Types)
	if err != nil {
		return
	}
	got, err := r.queryRows("SELECT * FROM "+QuoteIdent(v.name), v.rec.Types)
	var msg string
	switch {
	case err != nil:
		msg = fmt.Sprintf("view %s %s: %v", v.name, when, err)
	case !MultisetEqual(got, want):
		msg = fmt.Sprintf("view %s %s: its %d rows differ from the query's %d rows\n\tview got: %s\n\tquery got: %s",
			v.name, when, len(got), len(want), r.describe(SortValues(got, RowSort)), r.describe(SortValues(want, RowSort)))
	default:
		return
	}
	v.failed = true
	r.counts.Failed++
	r.report(v.rec.Line, msg, v.sql)
}

// toSet returns the names as a set.
func toSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// firstLine returns the first line of s.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
