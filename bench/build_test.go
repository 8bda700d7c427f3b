package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

var hydrationStep = flag.Int("hydration-step", 0, "engine.Options.HydrationStep of BenchmarkChatBuild (0: the default)")

var buildProfile = flag.String("build-profile", "", "file prefix for CPU profiles of BenchmarkChatBuild's load and build phases")

// BenchmarkChatBuild times the two bulk phases of ../shared/peers' chat workload on disk
// (issue 13, items 4 and 5): loading -state-messages messages with multi-row INSERTs, then
// building both chat views over them. Run it with -benchtime=1x; -build-profile=P writes
// P.load.pprof, P.build.pprof and
// P.insert.pprof. After the build it times 2,000 single-row inserts of messages.
func BenchmarkChatBuild(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		e, err := engine.Open(ctx, engine.Options{Dir: b.TempDir(), HydrationStep: *hydrationStep})
		if err != nil {
			b.Fatal(err)
		}
		s := e.NewSession()
		for _, q := range peersSchema {
			exec(b, s, q)
		}
		n := *stateMessages
		load := phase(b, "load", func() { loadPeersChat(b, s, n) })
		var each []time.Duration
		build := phase(b, "build", func() {
			for _, q := range peersViews {
				start := time.Now()
				exec(b, s, q)
				each = append(each, time.Since(start))
			}
		})
		b.Logf("build of each view: %v", each)
		// Then single-row inserts, as the peers' serial phase sends them, at this size.
		pairs := exec(b, s, "SELECT user_chat_chat_id, user_chat_user_id FROM user_chat LIMIT 100").Rows
		const inserts = 2000
		insert := phase(b, "insert", func() {
			for i := range inserts {
				p := pairs[i%len(pairs)]
				exec(b, s, fmt.Sprintf("INSERT INTO chat_message VALUES ('new%029d', '2026-12-07 10:00:00', 'one more message', '%s', '%s')", i, p[0].Str(), p[1].Str()))
			}
		})
		b.ReportMetric(float64(insert.Microseconds())/inserts, "insert-µs")
		b.ReportMetric(load.Seconds(), "load-s")
		b.ReportMetric(float64(build.Milliseconds()), "build-ms")
		b.ReportMetric(float64(n)/load.Seconds(), "load-msg/s")
		s.Close()
		e.Close()
	}
}

// phase runs fn, profiling it when -build-profile is set, and returns how long it took.
func phase(b *testing.B, name string, fn func()) time.Duration {
	if *buildProfile != "" {
		f, err := os.Create(*buildProfile + "." + name + ".pprof")
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	fn()
	return time.Since(start)
}
