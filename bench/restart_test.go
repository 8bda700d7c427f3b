package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cdc-dev/cdc/engine"
)

// recomputedMsg is the warning the engine logs for each view it recomputes at Open.
const recomputedMsg = "recomputed materialized view from its tables"

// recomputeCounter counts the engine's recompute warnings and passes other records on.
type recomputeCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h recomputeCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == recomputedMsg {
		h.n.Add(1)
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h recomputeCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return recomputeCounter{h.Handler.WithAttrs(attrs), h.n}
}

func (h recomputeCounter) WithGroup(name string) slog.Handler {
	return recomputeCounter{h.Handler.WithGroup(name), h.n}
}

// restartFixture is a closed data directory with the join and group-by tables and views.
type restartFixture struct {
	dir        string
	rows       int          // rows per table; l, r and g make 3*rows base rows
	diskByte   float64      // bytes of dir/views per base row after a clean close
	recomputed atomic.Int64 // recompute warnings logged by engines on dir
	log        *slog.Logger // counts recompute warnings into recomputed
}

var (
	restartMu       sync.Mutex
	restartFixtures = map[int]*restartFixture{}
)

// restartSizes returns the base sizes of BenchmarkRestart: 100k rows and -rows, at most -rows.
func restartSizes() []int {
	sizes := []int{min(100_000, *rowsFlag)}
	if *rowsFlag > sizes[0] {
		sizes = append(sizes, *rowsFlag)
	}
	return sizes
}

// restartFix returns the restart fixture of n rows per table, building it the first time.
func restartFix(b *testing.B, n int) *restartFixture {
	restartMu.Lock()
	defer restartMu.Unlock()
	if f, ok := restartFixtures[n]; ok {
		return f
	}
	dir, err := os.MkdirTemp("", "cdc-bench-restart-")
	if err != nil {
		b.Fatal(err)
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	f := &restartFixture{dir: dir, rows: n}
	f.log = slog.New(recomputeCounter{slog.Default().Handler(), &f.recomputed})
	e := f.open(b)
	s := e.NewSession()
	exec(b, s, `CREATE TABLE l (k BIGINT PRIMARY KEY, j BIGINT, v BIGINT)`)
	exec(b, s, `CREATE TABLE r (k BIGINT PRIMARY KEY, j BIGINT, w BIGINT)`)
	exec(b, s, `CREATE TABLE g (k BIGINT PRIMARY KEY, grp BIGINT, v BIGINT)`)
	load(b, s, "l", n, func(i int) string { return fmt.Sprintf("(%d,%d,%d)", i, i, i%97) })
	load(b, s, "r", n, func(i int) string { return fmt.Sprintf("(%d,%d,%d)", i, i, i%89) })
	load(b, s, "g", n, func(i int) string { return fmt.Sprintf("(%d,%d,%d)", i, i%1000, (i*7919)%100003) })
	exec(b, s, joinView)
	exec(b, s, groupView)
	s.Close()
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	f.diskByte = float64(dirSize(b, f.viewsDir())) / float64(3*n)
	restartFixtures[n] = f
	return f
}

// viewsDir returns the fixture's view store directory.
func (f *restartFixture) viewsDir() string { return filepath.Join(f.dir, "views") }

// open opens the fixture's data directory with Pebble views; it returns once views serve.
func (f *restartFixture) open(tb testing.TB) *engine.Engine {
	tb.Helper()
	e, err := engine.Open(context.Background(), engine.Options{Dir: f.dir, Logger: f.log})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// BenchmarkRestart measures Open+Close of the join and group-by data directory, from stored views (Restart) or without dir/views (Rebuild).
func BenchmarkRestart(b *testing.B) {
	b.Run("Restart", func(b *testing.B) {
		for _, n := range restartSizes() {
			b.Run(fmt.Sprint(n), func(b *testing.B) {
				f := restartFix(b, n)
				before := f.recomputed.Load()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := f.open(b).Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(f.diskByte, "disk-B/row")
				b.ReportMetric(float64(f.recomputed.Load()-before)/float64(b.N), "recomputed/op")
			})
		}
	})
	b.Run("Rebuild", func(b *testing.B) {
		for _, n := range restartSizes() {
			b.Run(fmt.Sprint(n), func(b *testing.B) {
				f := restartFix(b, n)
				before := f.recomputed.Load()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					if err := os.RemoveAll(f.viewsDir()); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if err := f.open(b).Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(f.recomputed.Load()-before)/float64(b.N), "recomputed/op")
			})
		}
	})
}
