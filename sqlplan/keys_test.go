package sqlplan_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlplan"
)

// keyedFuzzCatalog is the fuzz catalog with primary keys on the tables whose rows have
// them: a, t and big by their first column (b's ids repeat: it has none), and every table a
// sqllogictest statement creates by its first column (its rows are 1, 2 and NULL).
func keyedFuzzCatalog(t *testing.T) *fuzzCatalog {
	cat := newFuzzCatalog(t)
	cat.addSLTRelations(sltStatements(t))
	for name, rel := range cat.rels {
		if rel.Source != "" && strings.HasPrefix(rel.Source, "table:") && name != "b" {
			rel.Key = []int{0}
		}
	}
	return cat
}

// TestDistinctRows checks the planner's claim that a query's rows are a set on queries whose
// answer is known: keys come from primary keys, GROUP BY, DISTINCT and joins that match at
// most one row, and are lost to projections and bags.
func TestDistinctRows(t *testing.T) {
	cat := keyedFuzzCatalog(t)
	for _, c := range distinctCases {
		q, err := sqlplan.ParseQuery(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		planned, err := sqlplan.PlanQuery(cat, q)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		if got := sqlplan.DistinctRows(planned.Plan); got != c.want {
			t.Errorf("%s: DistinctRows %v, want %v", c.sql, got, c.want)
		}
	}
}

// distinctCases are queries over the keyed fuzz catalog and whether their rows are a set.
var distinctCases = []struct {
	sql  string
	want bool
}{
	{"SELECT * FROM a", true},
	{"SELECT x FROM a", false},
	{"SELECT x, id FROM a WHERE x > 1", true},
	{"SELECT id + 1 FROM a", false},
	{"SELECT * FROM b", false},
	{"SELECT DISTINCT y FROM b", true},
	{"SELECT x, COUNT(*) FROM a GROUP BY x", true},
	{"SELECT COUNT(*) FROM a GROUP BY x", false},
	{"SELECT COUNT(*) FROM b", true},
	{"SELECT a.id, b.y FROM a JOIN b ON a.id = b.id", false},
	{"SELECT a.id, t.id FROM a JOIN t ON a.x = t.id", true},
	{"SELECT a.s FROM a JOIN t ON a.x = t.id", false},
	{"SELECT a.id, big.n FROM a, big", true},
	{"SELECT a.id FROM a, big", false},
	{"SELECT id FROM a UNION ALL SELECT id FROM t", false},
	{"SELECT id FROM a UNION SELECT id FROM t", true},
	{"SELECT * FROM a ORDER BY x LIMIT 2", true},
	{"SELECT a.id FROM a JOIN a a2 ON a.x = a2.x", false},
	{"SELECT a.id, a2.id FROM a JOIN a a2 ON a.x = a2.x", true},
}

// TestDistinctRowsHold runs every query of the sqllogictest files and of distinctCases over
// the keyed fuzz catalog: where the planner says the rows are a set, no output row counts more than one,
// and no entry of an arrangement it lowered as a set (sqlplan.SetOf) does either, after the
// rows went in and after they came out again.
func TestDistinctRowsHold(t *testing.T) {
	cat := keyedFuzzCatalog(t)
	checked, distinct := 0, 0
	stmts := sltStatements(t)
	for _, c := range distinctCases {
		stmts = append(stmts, c.sql)
	}
	for _, sql := range stmts {
		st, err := sqlplan.Parse(sql)
		if err != nil {
			continue
		}
		for _, q := range queriesOf(st) {
			planned, err := sqlplan.PlanQuery(cat, q)
			if err != nil || countScans(planned.Plan) > maxFuzzScans {
				continue
			}
			var sets []dataflow.Arrangement
			g, err := sqlplan.Lower(planned.Plan, func(id string, kind sqlplan.ArrangementKind) dataflow.Arrangement {
				a := arrangements.NewMem(id)
				if kind.IsSet() {
					sets = append(sets, a)
				}
				return a
			})
			if err != nil {
				continue
			}
			checked++
			set := sqlplan.DistinctRows(planned.Plan)
			if set {
				distinct++
			}
			for lsn, diff := range []dataflow.Diff{1, -1} {
				inputs := map[string][]dataflow.Update{}
				for _, src := range sqlplan.Sources(planned.Plan) {
					for _, r := range cat.rows[src] {
						inputs[src] = append(inputs[src], dataflow.Update{Row: r, Time: uint64(lsn + 1), Diff: diff})
					}
				}
				ep := dataflow.NewEpoch(uint64(lsn+1), inputs)
				ep.Hydrate = lsn == 0
				out, err := g.Step(ep)
				if err != nil {
					break // a runtime error of the query (division by zero, ...)
				}
				if err := ep.Commit(); err != nil {
					t.Fatalf("%s: commit: %v", sql, err)
				}
				if set && slices.ContainsFunc(out, func(u dataflow.Update) bool { return u.Diff > 1 || u.Diff < -1 }) {
					t.Errorf("%s: said to be a set, its output has a row %d times: %v", sql, maxDiff(out), out)
				}
				for _, a := range sets {
					_ = a.Scan(func(_ []byte, row dataflow.Row, n dataflow.Diff) bool {
						if n != 1 {
							t.Errorf("%s: arrangement %s, lowered as a set, holds %v %d times", sql, a.Name(), row, n)
						}
						return n == 1
					})
				}
			}
		}
	}
	if checked < 100 || distinct == 0 {
		t.Fatalf("checked %d queries, %d of them sets: the corpus did not exercise the claim", checked, distinct)
	}
	t.Logf("%d queries run, %d of them said to be sets", checked, distinct)
}

// maxDiff is the largest multiplicity of an update.
func maxDiff(us []dataflow.Update) dataflow.Diff {
	var m dataflow.Diff
	for _, u := range us {
		m = max(m, u.Diff, -u.Diff)
	}
	return m
}
