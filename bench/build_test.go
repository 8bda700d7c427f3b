package bench

import (
	"context"
	"flag"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

var buildProfile = flag.String("build-profile", "", "file prefix for CPU profiles of BenchmarkChatBuild's load and build phases")

// BenchmarkChatBuild times the two bulk phases of ../shared/peers' chat workload on disk
// (issue 13, items 4 and 5): loading -state-messages messages with multi-row INSERTs, then
// building both chat views over them. Run it with -benchtime=1x; -build-profile=P writes
// P.load.pprof and P.build.pprof.
func BenchmarkChatBuild(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		e, err := engine.Open(ctx, engine.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		s := e.NewSession()
		for _, q := range peersSchema {
			exec(b, s, q)
		}
		n := *stateMessages
		load := phase(b, "load", func() { loadPeersChat(b, s, n) })
		build := phase(b, "build", func() {
			for _, q := range peersViews {
				exec(b, s, q)
			}
		})
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
