package bench

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"syscall"
	"testing"
	"time"
)

var (
	wireOnly    = flag.String("wire-only", "", "the one statement of BenchmarkWireInsert to time: select1, plain, chat or told (empty: all four)")
	wireProfile = flag.String("wire-profile", "", "file for a CPU profile of BenchmarkWireInsert's timed statements (not of the load)")
	wireTrace   = flag.String("wire-trace", "", "file for an execution trace of BenchmarkWireInsert's timed statements (not of the load)")
	wireAllocs  = flag.String("wire-allocs", "", "file prefix P for heap profiles before (P.base) and after (P) BenchmarkWireInsert's timed statements: go tool pprof -diff_base P.base P shows their allocations")
)

// wireStatement is one kind of statement BenchmarkWireInsert times: the text and arguments
// of its i-th run, and what to wait for after it (nil: nothing).
type wireStatement struct {
	name  string
	stmt  func(i int) (string, []any)
	after func()
}

// BenchmarkWireInsert times ../shared/peers' serial insert over the MySQL protocol: a
// single-row INSERT into chat_message with both chat views kept current, over
// -state-messages messages, next to a statement that touches no table (SELECT 1) and an
// INSERT into a table no view reads, so that the wire's share and the engine's show apart,
// and the chat insert timed until a TAIL subscriber of feed on another connection has read
// the progress row of its LSN (told: the peers' cdc-tail). It reports each one's p50 and
// p99 in microseconds, and the process's CPU time per statement (user and system, every
// thread: steadier than latencies on a shared machine).
func BenchmarkWireInsert(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := openOnDisk(ctx, b)
	defer e.Close()
	s := e.NewSession()
	for _, q := range peersSchema {
		exec(b, s, q)
	}
	loadPeersChat(b, s, *stateMessages)
	for _, q := range peersViews {
		exec(b, s, q)
	}
	exec(b, s, "CREATE TABLE plain (k CHAR(32), v TEXT, PRIMARY KEY (k))")
	pairs := exec(b, s, "SELECT user_chat_chat_id, user_chat_user_id FROM user_chat LIMIT 100").Rows
	s.Close()
	db := serveWire(ctx, b, e)
	db.SetMaxOpenConns(2)
	told := tailProgress(ctx, b, db)

	chat := func(prefix string) func(i int) (string, []any) {
		return func(i int) (string, []any) {
			p := pairs[i%len(pairs)]
			return "INSERT INTO chat_message VALUES (?, ?, ?, ?, ?)",
				[]any{fmt.Sprintf("%s%07d-%022d", prefix, b.N, i), "2026-12-07 10:00:00", "one more message", p[0].Str(), p[1].Str()}
		}
	}
	kinds := []wireStatement{
		{name: "select1", stmt: func(int) (string, []any) { return "SELECT 1", nil }},
		{name: "plain", stmt: func(i int) (string, []any) {
			return "INSERT INTO plain VALUES (?, ?)", []any{fmt.Sprintf("p%d-%d", b.N, i), "one more message"}
		}},
		{name: "chat", stmt: chat("w")},
		{name: "told", stmt: chat("t"), after: told},
	}
	if *wireOnly != "" {
		kinds = slices.DeleteFunc(kinds, func(k wireStatement) bool { return k.name != *wireOnly })
	}
	lat := make([][]time.Duration, len(kinds))
	defer startWireProfiles(b)()
	cpu0 := processCPU(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, kind := range kinds {
			q, args := kind.stmt(i)
			start := time.Now()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				b.Fatal(err)
			}
			if kind.after != nil {
				kind.after()
			}
			lat[k] = append(lat[k], time.Since(start))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N*len(kinds)), "cpu-µs/stmt")
	for k, kind := range kinds {
		l := lat[k]
		slices.Sort(l)
		b.ReportMetric(float64(l[len(l)/2].Microseconds()), kind.name+"-p50-µs")
		b.ReportMetric(float64(l[len(l)*99/100].Microseconds()), kind.name+"-p99-µs")
	}
}

// tailProgress starts a TAIL of feed with progress rows on a connection of its own and
// returns a function that waits until it has read the progress row of an LSN newer than
// any before (the peers' cdc-tail told).
func tailProgress(ctx context.Context, b *testing.B, db *sql.DB) (told func()) {
	rows, err := db.QueryContext(ctx, "TAIL feed WITH (SNAPSHOT = false, PROGRESS = true)")
	if err != nil {
		b.Fatal(err)
	}
	lsns := make(chan uint64, 1<<16)
	go func() {
		defer rows.Close()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		var lsn uint64
		var progressed sql.NullBool
		vals[0], vals[2] = &lsn, &progressed
		for i := range vals {
			if vals[i] == nil {
				vals[i] = new(sql.RawBytes)
			}
		}
		for rows.Next() {
			if rows.Scan(vals...) == nil && progressed.Valid && progressed.Bool {
				lsns <- lsn
			}
		}
	}()
	var last uint64
	return func() {
		for {
			select {
			case lsn := <-lsns:
				if lsn > last {
					last = lsn
					return
				}
			case <-time.After(10 * time.Second):
				b.Fatal("the TAIL subscriber was told nothing for 10 s")
			}
		}
	}
}

// startWireProfiles starts the CPU profile and execution trace -wire-profile and
// -wire-trace ask for; the returned function stops them.
func startWireProfiles(b *testing.B) (stop func()) {
	var stops []func()
	start := func(path string, begin func(*os.File) error, end func()) {
		if path == "" {
			return
		}
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := begin(f); err != nil {
			b.Fatal(err)
		}
		stops = append(stops, func() { end(); f.Close() })
	}
	start(*wireProfile, func(f *os.File) error { return pprof.StartCPUProfile(f) }, pprof.StopCPUProfile)
	start(*wireTrace, func(f *os.File) error { return trace.Start(f) }, trace.Stop)
	if *wireAllocs != "" {
		heap := func(path string) {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				b.Fatal(err)
			}
		}
		heap(*wireAllocs + ".base")
		stops = append(stops, func() { heap(*wireAllocs) })
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// processCPU is the CPU time the process has used, user and system, on all its threads.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
