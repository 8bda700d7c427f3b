package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkManyViews measures one autocommit single-row INSERT on disk with 1, 100 and
// 1,000 filter views over the table (issue 13: apps define a view per screen or widget),
// each of the form SELECT id, a + k AS x, c FROM t WHERE b > k1 AND a < k2, most of which
// the inserted row does not pass. It reports the p50 per INSERT.
func BenchmarkManyViews(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("views=%d", n), func(b *testing.B) { manyViews(b, n) })
	}
}

func manyViews(b *testing.B, views int) {
	ctx := context.Background()
	e := openOnDisk(ctx, b)
	defer e.Close()
	s := e.NewSession()
	defer s.Close()
	exec(b, s, "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c VARCHAR(20))")
	load(b, s, "t", 1000, func(i int) string { return fmt.Sprintf("(%d, %d, %d, 'c%d')", i, i%100, i%37, i) })
	for k := range views {
		exec(b, s, fmt.Sprintf("CREATE MATERIALIZED VIEW v%d AS SELECT id, a + %d AS x, c FROM t WHERE b > %d AND a < %d", k, k, k%37, k%100))
	}
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := 1_000_000 + i
		start := time.Now()
		if _, err := s.Exec(ctx, fmt.Sprintf("INSERT INTO t VALUES (%d, %d, %d, 'new')", id, i%100, i%37)); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50_us")
}
