package slt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

// corpusDir is the shared sqllogictest sample, ../shared/slt from the repository root.
const corpusDir = "../../shared/slt"

// testContext returns a context that ends a little before the test binary's deadline.
func testContext(t *testing.T) context.Context {
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-30*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// TestTestdata runs the repository's testdata/*.slt scripts on the real engine in both modes;
// every record must pass.
func TestTestdata(t *testing.T) {
	files, err := filepath.Glob("../testdata/*.slt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no ../testdata/*.slt scripts")
	}
	for _, mode := range []string{ModeQuery, ModeView} {
		for _, f := range files {
			t.Run(mode+"/"+filepath.Base(f), func(t *testing.T) {
				var out bytes.Buffer
				c, err := RunFile(testContext(t), f, Options{Mode: mode, Seed: 1, Out: &out})
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if c.Failed > 0 {
					t.Errorf("%s: %v\n%s", f, c, out.String())
				}
			})
		}
	}
}

// TestCorpusParses checks that every script of the shared corpus parses.
func TestCorpusParses(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("../shared/slt not found: " + err.Error())
	}
	files, err := ExpandPaths([]string{corpusDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		recs, err := ParseFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		n := 0
		for _, r := range recs {
			if r.Kind == KindQuery {
				n++
			}
		}
		t.Logf("%s: %d records, %d queries", f, len(recs), n)
	}
}

// TestCorpus runs the shared corpus on the real engine in both modes and logs the counts; it
// fails only when the runner itself errs, and stops quietly at the test deadline.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("../shared/slt not found: " + err.Error())
	}
	e, err := engine.Open(context.Background(), engine.Options{})
	if err != nil {
		t.Skip("engine does not open yet: " + err.Error())
	}
	_ = e.Close()
	for _, mode := range []string{ModeQuery, ModeView} {
		t.Run(mode, func(t *testing.T) {
			ctx := testContext(t)
			var out bytes.Buffer
			_, err := RunFiles(ctx, []string{corpusDir}, Options{Mode: mode, Seed: 1}, &out)
			t.Logf("%s mode:\n%s", mode, out.String())
			if err != nil {
				if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
					t.Logf("stopped at the test deadline: %v", err)
					return
				}
				t.Fatal(err)
			}
		})
	}
}
