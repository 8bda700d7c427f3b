// Package bench measures the engine: single-row writes flowing through maintained views, the
// chat feed's write-to-subscriber latency, and the one-shot recomputation of the same views.
// Numbers are reported, never asserted. Run with `make bench` (or go test -bench . ./bench/).
package bench

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cdc-dev/cdc/engine"
)

var rowsFlag = flag.Int("rows", 1_000_000, "rows per table of the benchmark fixtures")

// fixture is an engine with loaded tables and views, shared by the benchmarks of one family.
type fixture struct {
	e        *engine.Engine
	s        *engine.Session
	rows     int
	inMemory bool    // arrangements in memory (Options.InMemoryViews) instead of Pebble
	heapByte float64 // heap growth per base row from creating the views (memory variant)
	diskByte float64 // bytes of dir/views per base row after creating the views (Pebble variant)
	dir      string
	next     int // next unused key for inserts; benchmarks run several times
}

// key returns a primary key no row has yet.
func (f *fixture) key() int {
	f.next++
	return f.rows + f.next
}

func (f *fixture) close() {
	f.s.Close()
	f.e.Close()
	os.RemoveAll(f.dir)
}

// createView creates a view and records its state per base row: heap growth, and dir/views bytes for Pebble.
func (f *fixture) createView(tb testing.TB, sql string, baseRows int) {
	tb.Helper()
	f.heapByte = createView(tb, f.s, sql, baseRows)
	if !f.inMemory {
		f.diskByte = float64(dirSize(tb, filepath.Join(f.dir, "views"))) / float64(baseRows)
	}
}

// reportState reports the view state per base row: heap for memory, disk for Pebble.
func (f *fixture) reportState(b *testing.B) {
	if f.inMemory {
		b.ReportMetric(f.heapByte, "heap-B/row")
	} else {
		b.ReportMetric(f.diskByte, "disk-B/row")
	}
}

// openOnDisk opens an engine over a data directory of the benchmark's own; the caller
// closes it.
func openOnDisk(ctx context.Context, b *testing.B) *engine.Engine {
	e, err := engine.Open(ctx, engine.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func exec(tb testing.TB, s *engine.Session, sql string) *engine.Result {
	tb.Helper()
	res, err := s.Exec(context.Background(), sql)
	if err != nil {
		tb.Fatalf("%.200s: %v", sql, err)
	}
	return res
}

// load inserts n rows in transactions of 1000, formatting each row with row(i).
func load(tb testing.TB, s *engine.Session, table string, n int, row func(i int) string) {
	var b strings.Builder
	for start := 0; start < n; start += 1000 {
		b.Reset()
		fmt.Fprintf(&b, "INSERT INTO %s VALUES ", table)
		for i := start; i < start+1000 && i < n; i++ {
			if i > start {
				b.WriteByte(',')
			}
			b.WriteString(row(i))
		}
		exec(tb, s, b.String())
	}
}

// heap returns the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// createView creates a view and returns the bytes of heap it added per base row.
func createView(tb testing.TB, s *engine.Session, sql string, baseRows int) float64 {
	before := heap()
	exec(tb, s, sql)
	after := heap()
	return float64(int64(after)-int64(before)) / float64(baseRows)
}

// dirSize returns the sum of the sizes of the regular files under dir.
func dirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// variant is how a fixture's engine keeps its arrangements.
type variant struct {
	name     string
	inMemory bool
}

// variants are the arrangement stores the per-update benchmarks compare.
var variants = []variant{{"pebble", false}, {"memory", true}}

// open opens an engine on a new temporary data directory, arrangements in memory or in Pebble.
func open(tb testing.TB, inMemory bool) *fixture {
	dir, err := os.MkdirTemp("", "cdc-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	e, err := engine.Open(context.Background(), engine.Options{Dir: dir, InMemoryViews: inMemory})
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{e: e, s: e.NewSession(), rows: *rowsFlag, inMemory: inMemory, dir: dir}
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*fixture{} // by family and variant
	cleanups   []func()                // run by TestMain after the benchmarks
)

// cached returns the fixture of a family and variant, building it with build the first time.
func cached(b *testing.B, family string, inMemory bool, build func(f *fixture)) *fixture {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	k := fmt.Sprintf("%s/%v", family, inMemory)
	if f, ok := fixtures[k]; ok {
		return f
	}
	f := open(b, inMemory)
	fixtures[k] = f
	build(f)
	return f
}

// joinFixture: l and r with rows rows each, joined one-to-one on j.
func joinFixture(b *testing.B, inMemory bool) *fixture {
	return cached(b, "join", inMemory, func(f *fixture) {
		exec(b, f.s, `CREATE TABLE l (k BIGINT PRIMARY KEY, j BIGINT, v BIGINT)`)
		exec(b, f.s, `CREATE TABLE r (k BIGINT PRIMARY KEY, j BIGINT, w BIGINT)`)
		load(b, f.s, "l", f.rows, func(i int) string { return fmt.Sprintf("(%d,%d,%d)", i, i, i%97) })
		load(b, f.s, "r", f.rows, func(i int) string { return fmt.Sprintf("(%d,%d,%d)", i, i, i%89) })
		f.createView(b, joinView, 2*f.rows)
	})
}

// joinView is the materialized view of the join fixtures.
const joinView = `CREATE MATERIALIZED VIEW lr AS SELECT l.k, r.k AS rk, l.v, r.w FROM l JOIN r ON l.j = r.j`

// groupFixture: g with rows rows in 1000 groups.
func groupFixture(b *testing.B, inMemory bool) *fixture {
	return cached(b, "group", inMemory, func(f *fixture) {
		exec(b, f.s, `CREATE TABLE g (k BIGINT PRIMARY KEY, grp BIGINT, v BIGINT)`)
		load(b, f.s, "g", f.rows, func(i int) string { return fmt.Sprintf("(%d,%d,%d)", i, i%1000, (i*7919)%100003) })
		f.createView(b, groupView, f.rows)
	})
}

// groupView is the materialized view of the group-by fixtures.
const groupView = `CREATE MATERIALIZED VIEW agg AS SELECT grp, COUNT(*) AS n, SUM(v) AS s, MIN(v) AS lo FROM g GROUP BY grp`

// chatFixture: the specification's chat tables with rows messages, 1000 users, 100 chats.
func chatFixture(b *testing.B, inMemory bool) *fixture {
	return cached(b, "chat", inMemory, func(f *fixture) {
		exec(b, f.s, `CREATE TABLE user (user_id CHAR(32), user_login VARCHAR(255), user_password CHAR(64), user_email VARCHAR(400), PRIMARY KEY (user_id))`)
		exec(b, f.s, `CREATE TABLE chat_message (chat_message_id CHAR(32), chat_message_datetime DATETIME, chat_message_text TEXT, chat_message_chat_id CHAR(32), chat_message_user_id CHAR(32), PRIMARY KEY (chat_message_id))`)
		exec(b, f.s, `CREATE TABLE chat (chat_id CHAR(32), chat_topic VARCHAR(32), chat_password CHAR(64), user_chat_user_id CHAR(32), PRIMARY KEY (chat_id))`)
		load(b, f.s, "user", 1000, func(i int) string { return fmt.Sprintf("('u%d','user%d','pw','u%d@example.com')", i, i, i) })
		load(b, f.s, "chat", 100, func(i int) string { return fmt.Sprintf("('c%d','topic%d','pw','u%d')", i, i, i) })
		load(b, f.s, "chat_message", f.rows, func(i int) string {
			return fmt.Sprintf("('m%d','2026-11-27 10:00:00','message %d','c%d','u%d')", i, i, i%100, i%1000)
		})
		f.createView(b, `CREATE MATERIALIZED VIEW feed AS SELECT m.chat_message_id, c.chat_topic, u.user_login, m.chat_message_text FROM chat_message m JOIN user u ON u.user_id = m.chat_message_user_id JOIN chat c ON c.chat_id = m.chat_message_chat_id`, f.rows)
	})
}

// eachVariant runs bench as a sub-benchmark per variant.
func eachVariant(b *testing.B, bench func(b *testing.B, inMemory bool)) {
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) { bench(b, v.inMemory) })
	}
}

func BenchmarkJoinInsert(b *testing.B) {
	eachVariant(b, func(b *testing.B, inMemory bool) {
		f := joinFixture(b, inMemory)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			exec(b, f.s, fmt.Sprintf("INSERT INTO l VALUES (%d, %d, 1)", f.key(), i%f.rows))
		}
		f.reportState(b)
	})
}

func BenchmarkJoinUpdate(b *testing.B) {
	eachVariant(b, func(b *testing.B, inMemory bool) {
		f := joinFixture(b, inMemory)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			exec(b, f.s, fmt.Sprintf("UPDATE r SET w = w + 1 WHERE k = %d", (i*7919)%f.rows))
		}
	})
}

func BenchmarkJoinRecompute(b *testing.B) {
	f := joinFixture(b, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		exec(b, f.s, `SELECT l.k, r.k AS rk, l.v, r.w FROM l JOIN r ON l.j = r.j`)
	}
}

func BenchmarkGroupByInsert(b *testing.B) {
	eachVariant(b, func(b *testing.B, inMemory bool) {
		f := groupFixture(b, inMemory)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			exec(b, f.s, fmt.Sprintf("INSERT INTO g VALUES (%d, %d, %d)", f.key(), i%1000, i))
		}
		f.reportState(b)
	})
}

func BenchmarkGroupByUpdate(b *testing.B) {
	eachVariant(b, func(b *testing.B, inMemory bool) {
		f := groupFixture(b, inMemory)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			// Moves the row's value, often its group's minimum: the MIN retraction path.
			exec(b, f.s, fmt.Sprintf("UPDATE g SET v = v + 100003 WHERE k = %d", (i*7919)%f.rows))
		}
	})
}

func BenchmarkGroupByRecompute(b *testing.B) {
	f := groupFixture(b, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		exec(b, f.s, `SELECT grp, COUNT(*) AS n, SUM(v) AS s, MIN(v) AS lo FROM g GROUP BY grp`)
	}
}

// BenchmarkChatFeed measures a message from INSERT until a subscriber of the feed view has
// received it.
func BenchmarkChatFeed(b *testing.B) {
	eachVariant(b, func(b *testing.B, inMemory bool) {
		f := chatFixture(b, inMemory)
		ctx := context.Background()
		sub, err := f.e.Subscribe(ctx, "feed", engine.SubscribeOptions{Buffer: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		received := make(chan error, 1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			go func() {
				batch, err := sub.Next(ctx)
				if err == nil && len(batch.Updates) != 1 {
					err = fmt.Errorf("batch of %d updates", len(batch.Updates))
				}
				received <- err
			}()
			exec(b, f.s, fmt.Sprintf("INSERT INTO chat_message VALUES ('m%d', '2026-11-27 11:00:00', 'hello', 'c%d', 'u%d')", f.key(), i%100, i%1000))
			if err := <-received; err != nil {
				b.Fatal(err)
			}
		}
		f.reportState(b)
	})
}

// BenchmarkChatMove measures ../shared/peers' update: a message moved to another chat, by
// key, with the feed view kept current.
func BenchmarkChatMove(b *testing.B) {
	eachVariant(b, func(b *testing.B, inMemory bool) {
		f := chatFixture(b, inMemory)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			exec(b, f.s, fmt.Sprintf("UPDATE chat_message SET chat_message_chat_id = 'c%d' WHERE chat_message_id = 'm%d'", (i*37)%100, (i*7919)%f.rows))
		}
	})
}

func BenchmarkChatFeedRecompute(b *testing.B) {
	f := chatFixture(b, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		exec(b, f.s, `SELECT m.chat_message_id, c.chat_topic, u.user_login, m.chat_message_text FROM chat_message m JOIN user u ON u.user_id = m.chat_message_user_id JOIN chat c ON c.chat_id = m.chat_message_chat_id`)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	for _, f := range fixtures {
		f.close()
	}
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}
