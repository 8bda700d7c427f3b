package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// largeRows is the size of TestLargeTableDDL's table: the million rows.
const largeRows = 1_000_000

// TestLargeTableDDL: on a table of a million rows, with a materialized view over it, CREATE
// INDEX (which writes far more than the transaction bound, and spills) and CREATE UNIQUE
// INDEX succeed and serve lookups, a unique index that the data breaks fails and leaves
// nothing, and DROP TABLE drops the table and purges its rows at once.
func TestLargeTableDDL(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a million rows")
	}
	ctx := context.Background()
	e, err := Open(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession()
	defer s.Close()
	exec := func(q string) *Result {
		t.Helper()
		res, err := s.Exec(ctx, q)
		if err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
		return res
	}
	one := func(q, want string) {
		t.Helper()
		res := exec(q)
		if len(res.Rows) != 1 || res.Rows[0].String() != want {
			t.Errorf("%s: %v, want %s", q, res.Rows, want)
		}
	}
	exec("CREATE TABLE big (id CHAR(32) PRIMARY KEY, g INT, n INT, txt VARCHAR(100))")
	exec("CREATE MATERIALIZED VIEW per_g AS SELECT g, COUNT(*) AS c FROM big GROUP BY g")
	start := time.Now()
	const batch = 2000
	for i := 0; i < largeRows; i += batch {
		var b strings.Builder
		b.WriteString("INSERT INTO big VALUES ")
		for j := i; j < i+batch; j++ {
			if j > i {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "('%032x', %d, %d, 'message number %d of the large table')", j*7919, j%100, j, j)
		}
		exec(b.String())
	}
	t.Logf("loaded %d rows in %v", largeRows, time.Since(start))

	exec("CREATE TABLE other (id INT PRIMARY KEY)")
	exec("INSERT INTO other VALUES (1)")
	start = time.Now()
	// Reads issued while the index builds, logged: of the table (which waits for the build),
	// and then of another table (which should not).
	probe := func(after time.Duration, q string) chan time.Duration {
		took := make(chan time.Duration, 1)
		go func() {
			time.Sleep(after)
			ps := e.NewSession()
			defer ps.Close()
			begin := time.Now()
			if _, err := ps.Exec(ctx, q); err != nil {
				t.Errorf("%s during CREATE INDEX: %v", q, err)
			}
			took <- time.Since(begin)
		}()
		return took
	}
	same, other := probe(time.Second, "SELECT COUNT(*) FROM big WHERE g = 3"), probe(2*time.Second, "SELECT COUNT(*) FROM other")
	exec("CREATE INDEX big_txt ON big (txt)")
	t.Logf("CREATE INDEX in %v; a read of the table issued 1 s into it took %v, one of another table issued 2 s into it %v",
		time.Since(start), <-same, <-other)
	one("SELECT id FROM big WHERE txt = 'message number 4321 of the large table'", fmt.Sprintf("%032x", 4321*7919))
	start = time.Now()
	exec("CREATE UNIQUE INDEX big_n ON big (n)")
	t.Logf("CREATE UNIQUE INDEX in %v", time.Since(start))
	if _, err := s.Exec(ctx, "INSERT INTO big VALUES ('x', 1, 5, 'a duplicate n')"); err == nil {
		t.Error("a duplicate of the unique index was inserted")
	}
	// A unique index the data breaks fails and leaves nothing.
	if _, err := s.Exec(ctx, "CREATE UNIQUE INDEX big_g ON big (g)"); err == nil || !strings.Contains(err.Error(), "Duplicate entry") {
		t.Fatalf("CREATE UNIQUE INDEX over duplicates: %v", err)
	}
	exec("CREATE INDEX big_g ON big (g)") // the name is free
	one("SELECT COUNT(*) FROM big WHERE g = 7", fmt.Sprint(largeRows/100))
	one("SELECT c FROM per_g WHERE g = 7", fmt.Sprint(largeRows/100))
	exec("INSERT INTO big VALUES ('y', 7, -1, 'after the indexes')")
	one("SELECT c FROM per_g WHERE g = 7", fmt.Sprint(largeRows/100+1))
	if res := exec("VERIFY VIEWS"); len(res.Rows) != 1 || !strings.HasSuffix(res.Rows[0].String(), "\tok") {
		t.Errorf("VERIFY VIEWS: %v", res.Rows)
	}

	exec("DROP MATERIALIZED VIEW per_g")
	start = time.Now()
	exec("DROP TABLE big")
	t.Logf("DROP TABLE and its purge in %v", time.Since(start))
	if names, err := e.store.DroppedTables(); err != nil || len(names) != 0 {
		t.Errorf("tables left to purge: %v, %v", names, err)
	}
	exec("CREATE TABLE big (id INT PRIMARY KEY)")
	exec("CREATE INDEX big_txt ON big (id)") // the index names are free again
}
