package engine_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

var (
	soak = flag.Bool("soak", false, "run the randomized differential test for much longer")
	seed = flag.Int64("seed", 1, "seed of the randomized differential test")
)

// differentialViews cover every construct the dataflow maintains. Each is created as a
// materialized view; after every transaction its contents must equal a one-shot evaluation
// of the same query (a single hydration step over the current tables, with no incremental
// history).
var differentialViews = []string{
	`SELECT * FROM a WHERE v > 5`,
	`SELECT a.k, b.k AS bk, a.v + b.w AS s FROM a JOIN b ON a.g = b.g`,
	`SELECT g, COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v), COUNT(v) FROM a GROUP BY g`,
	`SELECT g, COUNT(DISTINCT v), SUM(DISTINCT v), AVG(DISTINCT v) FROM a GROUP BY g`,
	`SELECT COUNT(*), SUM(v), MIN(v), MAX(g) FROM a`,
	`SELECT DISTINCT g FROM c`,
	`SELECT g FROM a UNION SELECT g FROM c`,
	`SELECT g, x FROM c UNION ALL SELECT g, v FROM a`,
	`SELECT * FROM a WHERE g IN (SELECT g FROM c)`,
	`SELECT k, g NOT IN (SELECT x FROM c) AS n FROM a`,
	`SELECT k, (SELECT MAX(w) FROM b) AS m FROM a`,
	`SELECT * FROM b WHERE EXISTS (SELECT 1 FROM c WHERE x > 3)`,
	`SELECT a.k, b.k AS bk, c.x FROM a JOIN b ON a.g = b.g JOIN c ON c.g = b.g`,
	`SELECT a.g, COUNT(*) AS n FROM a JOIN c ON a.g = c.g GROUP BY a.g HAVING COUNT(*) > 1`,
	`SELECT a.k, b.k AS bk FROM a, b WHERE a.v < b.w`,
	`SELECT g, MAX(x), MIN(x) FROM c GROUP BY g`,
	`SELECT v % 3 AS r, COUNT(*) FROM a WHERE g IS NOT NULL GROUP BY v % 3`,
	`SELECT b.g, SUM(b.w) FROM b JOIN a ON a.k = b.k WHERE a.v BETWEEN 2 AND 8 GROUP BY b.g`,
	`SELECT x FROM c WHERE x IN (1, 3, 5) OR g IS NULL`,
	`SELECT CASE WHEN v > 4 THEN 'hi' ELSE 'lo' END AS band, COUNT(*) FROM a GROUP BY 1`,
	// Outer joins: the last match of a row goes and comes back.
	`SELECT a.k, b.k AS bk, b.w FROM a LEFT JOIN b ON a.g = b.g AND b.w > 3`,
	`SELECT b.k, a.k AS ak, a.v FROM a RIGHT JOIN b ON a.k = b.k AND a.v < b.w`,
	`SELECT a.k, c.x, b.w FROM a LEFT JOIN c ON c.g = a.g LEFT JOIN b ON b.k = a.k`,
	`SELECT a.g, COUNT(c.x) AS n, COUNT(*) AS m FROM a LEFT JOIN c ON c.g = a.g GROUP BY a.g`,
	// Correlated subqueries, with equalities and inequalities, NULLs on both sides.
	`SELECT k, (SELECT COUNT(*) FROM c WHERE c.g = a.g AND c.x > a.v) AS n FROM a`,
	`SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.g = a.g AND b.w > a.v)`,
	`SELECT * FROM a WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.x = a.v)`,
	`SELECT k, v IN (SELECT x FROM c WHERE c.g = a.g) AS i, v NOT IN (SELECT w FROM b WHERE b.g = a.g) AS ni FROM a`,
	`SELECT k, (SELECT MAX(w) FROM b WHERE b.g = a.g) AS m, (SELECT b.w FROM b WHERE b.k = a.k) AS bw FROM a`,
	`SELECT k FROM a WHERE v > (SELECT AVG(x) FROM c WHERE c.g = a.g)`,
	`SELECT g, (SELECT COUNT(*) FROM a AS o WHERE o.v < c.x) AS below FROM c`,
	// Top-k: rows enter and leave the window; per domain value in a correlated subquery.
	`SELECT k, v FROM a ORDER BY v DESC, k LIMIT 3`,
	`SELECT * FROM a ORDER BY k LIMIT 2 OFFSET 1`,
	`SELECT k, (SELECT b.k FROM b WHERE b.g = a.g ORDER BY b.w DESC, b.k LIMIT 1) AS best FROM a`,
	`SELECT g, COUNT(*) FROM (SELECT g FROM c ORDER BY x, g LIMIT 5) AS t GROUP BY g`,
	// Quantified comparisons, correlated and not.
	`SELECT k, v > ALL (SELECT x FROM c WHERE c.g = a.g) AS al, v <= ANY (SELECT w FROM b) AS an, g <> ANY (SELECT x FROM c) AS ne FROM a`,
	// Set operations over bags with NULLs.
	`SELECT g FROM a INTERSECT SELECT g FROM c`,
	`SELECT g, v FROM a EXCEPT ALL SELECT g, x FROM c`,
	`SELECT g FROM c INTERSECT ALL SELECT g FROM b EXCEPT SELECT v FROM a`,
	`SELECT a.k, b.k AS bk, a.v, b.w FROM a FULL JOIN b ON a.g = b.g AND a.v < b.w`,
	`SELECT g, COUNT(*) AS n, (SELECT MAX(x) FROM c WHERE c.g = a.g) AS m FROM a GROUP BY g HAVING COUNT(*) >= (SELECT COUNT(*) FROM b WHERE b.g = a.g)`,
	// Ranking window functions and the per-group top-k they express.
	`SELECT k, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v DESC, k) AS rn, RANK() OVER (ORDER BY v) AS r, DENSE_RANK() OVER (PARTITION BY g ORDER BY v) AS d FROM a`,
	`SELECT k, g FROM (SELECT k, g, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v, k) AS rn FROM a) AS t WHERE rn <= 2`,
	// Aggregates that keep their group's values, and functions.
	`SELECT g, GROUP_CONCAT(v ORDER BY v DESC SEPARATOR '-') AS gc, GROUP_CONCAT(DISTINCT k) AS gk, COUNT(DISTINCT g, v) AS n, BIT_OR(v) AS bo, BIT_AND(k) AS ba, VAR_POP(v) AS vp, STDDEV_SAMP(k) AS sd FROM a GROUP BY g`,
	`SELECT g, COUNT(*) FROM c GROUP BY g HAVING SUM(x) > 3 AND MAX(x) <> MIN(x)`,
	`SELECT k, DATE_FORMAT(DATE_ADD('2026-01-31', INTERVAL v MONTH), '%Y-%m-%d') AS d, SUBSTRING_INDEX(CONCAT(k, '.', g, '.', v), '.', 2) AS s FROM a`,
	// Plans that read few columns of their scans and joins (the rest are NULL in their rows):
	// a self-join keeping different columns of each side, a cross join that reads none, a
	// union of a scan with a join of the same table.
	`SELECT a.k, a2.v FROM a JOIN a AS a2 ON a.g = a2.g WHERE a2.k < a.k`,
	`SELECT COUNT(*) AS n, COUNT(c.x) AS nx FROM a, c`,
	`SELECT g FROM a UNION ALL SELECT a.g FROM a JOIN b ON b.k = a.k WHERE b.w > 4`,
	`SELECT c.x, COUNT(*) AS n FROM a JOIN c ON c.g = a.g WHERE a.v > 2 GROUP BY c.x`,
}

// stackedViews read other materialized views.
var stackedViews = []string{
	`SELECT g FROM dv2 WHERE g IS NOT NULL`,
	`SELECT dv0.k, dv0.g FROM dv0 JOIN dv8 ON dv0.k = dv8.k`,
}

func TestDifferential(t *testing.T) {
	txns := 1500
	if *soak {
		txns = 20000
	}
	runDifferential(t, *seed, txns, "", 0)
}

// TestDifferentialPebble runs on a data directory, so every arrangement is in Pebble, and
// reopens it every 100 transactions: the views come back from their stored state.
func TestDifferentialPebble(t *testing.T) {
	txns := 600
	if *soak {
		txns = 5000
	}
	runDifferential(t, *seed+1, txns, t.TempDir(), 100)
}

// runDifferential runs random transactions against the differential views and checks each
// against its query after every transaction. With a dir it reopens the engine every
// reopenEvery transactions; every other reopen first puts back the view store as it was at
// the previous reopen, as if the epochs since were lost in a crash, so that the views must
// catch up by replaying the change log.
func runDifferential(t *testing.T, seed int64, txns int, dir string, reopenEvery int) {
	ctx := context.Background()
	// On a data directory, views also hydrate in many small steps.
	opts := engine.Options{Dir: dir}
	if dir != "" {
		opts.HydrationStep = 3
	}
	e, err := engine.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE a (k INT PRIMARY KEY, g INT, v INT)`)
	mustExec(t, s, `CREATE TABLE b (k INT PRIMARY KEY, g INT, w INT)`)
	mustExec(t, s, `CREATE TABLE c (g INT, x INT)`)
	rng := rand.New(rand.NewSource(seed))
	var views []string
	create := func(i int, q string) {
		name := fmt.Sprintf("dv%d", i)
		mustExec(t, s, fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS %s", name, q))
		views = append(views, name)
	}
	// Half of the views exist before any row arrives, the other half are hydrated from data.
	late := map[int]bool{}
	for i, q := range differentialViews {
		if i%2 == 0 {
			create(i, q)
		} else {
			late[i] = true
		}
	}
	queries := map[string]string{}
	for i, q := range differentialViews {
		queries[fmt.Sprintf("dv%d", i)] = q
	}
	for j, q := range stackedViews {
		queries[fmt.Sprintf("sv%d", j)] = q
	}
	for n := 0; n < txns; n++ {
		if n == 10 {
			for i := range late {
				create(i, differentialViews[i])
			}
			for j, q := range stackedViews {
				name := fmt.Sprintf("sv%d", j)
				mustExec(t, s, fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS %s", name, q))
				views = append(views, name)
			}
			slices.Sort(views)
		}
		if dir != "" && n > 10 && n%reopenEvery == 0 {
			s.Close()
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			views := filepath.Join(dir, "views")
			saved := filepath.Join(dir, "views-saved")
			if n/reopenEvery%2 == 0 {
				if err := os.RemoveAll(views); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(saved, views); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.RemoveAll(saved); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(saved, os.DirFS(views)); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if e, err = engine.Open(ctx, opts); err != nil {
				t.Fatalf("reopen: %v", err)
			}
			if strings.Contains(logs.String(), "recomputed") {
				t.Fatalf("txn %d: reopening recomputed views instead of using their stored state:\n%s", n, logs.String())
			}
			s = e.NewSession()
		}
		randomTxn(t, s, rng)
		for _, v := range views {
			got := rowsOf(t, s, "SELECT * FROM "+v)
			want := rowsOf(t, s, queries[v])
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d, txn %d: view %s (%s) diverged from its query\nview:  %v\nquery: %v\nb: %v\nc: %v", seed, n, v, queries[v], got, want, rowsOf(t, s, "SELECT * FROM b"), rowsOf(t, s, "SELECT * FROM c"))
			}
		}
	}
}

// randomTxn runs one transaction of random writes; it may be rolled back or fail.
func randomTxn(t *testing.T, s *engine.Session, rng *rand.Rand) {
	stmts := 1 + rng.Intn(4)
	explicit := stmts > 1 || rng.Intn(4) == 0
	if explicit {
		mustExec(t, s, "BEGIN")
	}
	for i := 0; i < stmts; i++ {
		q := randomWrite(rng)
		if _, err := s.Exec(context.Background(), q); err != nil {
			code := sqlerr.As(err).Code
			if code != sqlerr.DupEntry {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	if explicit {
		if rng.Intn(5) == 0 {
			mustExec(t, s, "ROLLBACK")
		} else {
			mustExec(t, s, "COMMIT")
		}
	}
}

// randomWrite is one random write statement on the differential tables.
func randomWrite(rng *rand.Rand) string {
	val := func() string {
		if rng.Intn(8) == 0 {
			return "NULL"
		}
		return fmt.Sprint(rng.Intn(10))
	}
	switch rng.Intn(9) {
	case 0, 1:
		return fmt.Sprintf("INSERT INTO a VALUES (%d, %s, %s)", rng.Intn(20), val(), val())
	case 2:
		return fmt.Sprintf("INSERT INTO b VALUES (%d, %s, %s), (%d, %s, %s)", rng.Intn(20), val(), val(), rng.Intn(20), val(), val())
	case 3:
		return fmt.Sprintf("INSERT INTO c VALUES (%s, %s)", val(), val())
	case 4:
		return fmt.Sprintf("UPDATE a SET g = %s WHERE k = %d", val(), rng.Intn(20))
	case 5:
		return fmt.Sprintf("UPDATE b SET w = w + 1, g = %s WHERE g = %s", val(), val())
	case 6:
		return fmt.Sprintf("DELETE FROM a WHERE v = %d", rng.Intn(10))
	case 7:
		return fmt.Sprintf("DELETE FROM c WHERE g <=> %s LIMIT 1", val())
	default:
		return fmt.Sprintf("UPDATE a SET k = %d WHERE k = %d", rng.Intn(20), rng.Intn(20))
	}
}

// TestDifferentialConcurrent interleaves the statements of several sessions, each in its
// own open transaction (or in autocommit), at random: transactions see their snapshots and
// commit in groups, some lose to one that committed first (1213) or inserted their key
// (1062), and after every commit every view equals its query over the committed tables.
// It ends with the sessions writing from goroutines at once.
func TestDifferentialConcurrent(t *testing.T) {
	steps := 1500
	if *soak {
		steps = 20000
	}
	for _, dir := range []string{"", t.TempDir()} {
		name := "memory"
		if dir != "" {
			name = "pebble"
		}
		t.Run(name, func(t *testing.T) { runDifferentialConcurrent(t, *seed+2, steps, dir) })
	}
}

func runDifferentialConcurrent(t *testing.T, seed int64, steps int, dir string) {
	e := openEngine(t, engine.Options{Dir: dir})
	check := e.NewSession()
	mustExec(t, check, `CREATE TABLE a (k INT PRIMARY KEY, g INT, v INT)`)
	mustExec(t, check, `CREATE TABLE b (k INT PRIMARY KEY, g INT, w INT)`)
	mustExec(t, check, `CREATE TABLE c (g INT, x INT)`)
	var views []string
	queries := map[string]string{}
	for i, q := range differentialViews {
		name := fmt.Sprintf("dv%d", i)
		mustExec(t, check, fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS %s", name, q))
		views, queries[name] = append(views, name), q
	}
	verify := func(step int, after string) {
		t.Helper()
		for _, v := range views {
			got, want := rowsOf(t, check, "SELECT * FROM "+v), rowsOf(t, check, queries[v])
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d, step %d, after %s: view %s (%s) diverged from its query\nview:  %v\nquery: %v", seed, step, after, v, queries[v], got, want)
			}
		}
	}
	rng := rand.New(rand.NewSource(seed))
	const sessions = 4
	ss := make([]*engine.Session, sessions)
	open := make([]bool, sessions)
	for i := range ss {
		ss[i] = e.NewSession()
		defer ss[i].Close()
	}
	commits, lost := 0, 0
	for step := 0; step < steps; step++ {
		i := rng.Intn(sessions)
		s := ss[i]
		switch r := rng.Intn(10); {
		case !open[i] && r < 3: // a statement in autocommit
			q := randomWrite(rng)
			if _, err := s.Exec(context.Background(), q); err != nil && sqlerr.As(err).Code != sqlerr.DupEntry {
				t.Fatalf("%s: %v", q, err)
			}
			verify(step, q)
		case !open[i]:
			mustExec(t, s, "BEGIN")
			open[i] = true
		case r == 0:
			mustExec(t, s, "ROLLBACK")
			open[i] = false
		case r < 3:
			open[i] = false
			_, err := s.Exec(context.Background(), "COMMIT")
			switch code := sqlerr.As(err); {
			case err == nil:
				commits++
			case code.Code == sqlerr.Deadlock || code.Code == sqlerr.DupEntry:
				lost++
			default:
				t.Fatalf("COMMIT: %v", err)
			}
			verify(step, fmt.Sprintf("session %d's COMMIT", i))
		default:
			q := randomWrite(rng)
			if _, err := s.Exec(context.Background(), q); err != nil && sqlerr.As(err).Code != sqlerr.DupEntry {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	for i, s := range ss {
		if open[i] {
			mustExec(t, s, "ROLLBACK")
		}
	}
	if commits == 0 || lost == 0 {
		t.Fatalf("%d commits, %d lost to concurrent ones: the interleaving tested nothing", commits, lost)
	}
	// The same from goroutines at once.
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i, s := range ss {
		r := rand.New(rand.NewSource(seed*10 + int64(i)))
		wg.Go(func() {
			for range steps / 10 {
				if err := concurrentTxn(s, r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	verify(steps, "the concurrent writers")
	t.Logf("seed %d: %d interleaved commits, %d lost to concurrent commits", seed, commits, lost)
}

// concurrentTxn runs one random transaction of up to three writes and commits it; losing to
// a concurrent transaction is not an error.
func concurrentTxn(s *engine.Session, rng *rand.Rand) error {
	ctx := context.Background()
	if _, err := s.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	for n := 1 + rng.Intn(3); n > 0; n-- {
		q := randomWrite(rng)
		if _, err := s.Exec(ctx, q); err != nil && sqlerr.As(err).Code != sqlerr.DupEntry {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := s.Exec(ctx, "COMMIT"); err != nil {
		if c := sqlerr.As(err).Code; c != sqlerr.Deadlock && c != sqlerr.DupEntry {
			return fmt.Errorf("COMMIT: %w", err)
		}
	}
	return nil
}

// openEngine opens an engine that is closed when the test ends.
func openEngine(t *testing.T, opts engine.Options) *engine.Engine {
	t.Helper()
	e, err := engine.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func mustExec(t *testing.T, s *engine.Session, q string) *engine.Result {
	t.Helper()
	res, err := s.Exec(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

// rowsOf returns a query's rows printed and sorted, a multiset in canonical form.
func rowsOf(t *testing.T, s *engine.Session, q string) []string {
	t.Helper()
	res := mustExec(t, s, q)
	out := make([]string, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

var _ = strings.Join
