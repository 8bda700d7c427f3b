package engine_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cdc-dev/cdc/engine"
)

// tailView subscribes to a view from its current frontier, without snapshot.
func tailView(t *testing.T, s *engine.Session, view string) *engine.Subscription {
	t.Helper()
	sub := mustExec(t, s, "TAIL "+view+" WITH (SNAPSHOT = false)").Tail
	t.Cleanup(sub.Close)
	return sub
}

// expectBatch compares a batch's rows with want as sets: a batch's order is not defined.
func expectBatch(t *testing.T, got []string, want ...string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	expectRows(t, got, want...)
}

// TestRetractionPaths checks the exact change batches of the retraction paths of outer joins
// and decorrelated subqueries: each change is one consolidated batch at the writer's LSN.
func TestRetractionPaths(t *testing.T) {
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	for _, q := range []string{
		`CREATE TABLE a (k INT PRIMARY KEY, g INT)`,
		`CREATE TABLE b (k INT PRIMARY KEY, g INT)`,
		`CREATE MATERIALIZED VIEW lj AS SELECT a.k, b.k AS bk FROM a LEFT JOIN b ON b.g = a.g`,
		`CREATE MATERIALIZED VIEW notin AS SELECT k, g NOT IN (SELECT g FROM b WHERE b.k > a.k) AS n FROM a`,
		`CREATE MATERIALIZED VIEW cnt AS SELECT k, (SELECT COUNT(*) FROM b WHERE b.g = a.g) AS n FROM a`,
		`INSERT INTO a VALUES (1, 10)`,
		`INSERT INTO b VALUES (5, 10)`,
	} {
		mustExec(t, s, q)
	}
	lj, notin, cnt := tailView(t, s, "lj"), tailView(t, s, "notin"), tailView(t, s, "cnt")

	// The last match of an outer-joined row goes: the match is retracted, the padded row
	// appears, in the same batch.
	del := mustExec(t, s, `DELETE FROM b WHERE k = 5`)
	expectBatch(t, nextRows(t, lj), fmt.Sprintf("%d -1 1 5", del.LSN), fmt.Sprintf("%d 1 1 NULL", del.LSN))
	expectBatch(t, nextRows(t, notin), fmt.Sprintf("%d -1 1 0", del.LSN), fmt.Sprintf("%d 1 1 1", del.LSN))
	expectBatch(t, nextRows(t, cnt), fmt.Sprintf("%d -1 1 1", del.LSN), fmt.Sprintf("%d 1 1 0", del.LSN))

	// A first match comes back: the padded row goes.
	ins := mustExec(t, s, `INSERT INTO b VALUES (6, 10)`)
	expectBatch(t, nextRows(t, lj), fmt.Sprintf("%d -1 1 NULL", ins.LSN), fmt.Sprintf("%d 1 1 6", ins.LSN))
	expectBatch(t, nextRows(t, notin), fmt.Sprintf("%d -1 1 1", ins.LSN), fmt.Sprintf("%d 1 1 0", ins.LSN))
	expectBatch(t, nextRows(t, cnt), fmt.Sprintf("%d -1 1 0", ins.LSN), fmt.Sprintf("%d 1 1 1", ins.LSN))

	// A NULL enters the NOT IN subquery of a row with no match: NOT IN becomes unknown.
	mustExec(t, s, `UPDATE b SET g = 11 WHERE k = 6`)
	nextRows(t, lj)
	nextRows(t, notin)
	nextRows(t, cnt)
	null := mustExec(t, s, `INSERT INTO b VALUES (7, NULL)`)
	expectBatch(t, nextRows(t, notin), fmt.Sprintf("%d -1 1 1", null.LSN), fmt.Sprintf("%d 1 1 NULL", null.LSN))
}
