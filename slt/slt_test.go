package slt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// corpusBar is the largest share of failed records allowed in the folders of the corpus the
// engine is measured on (random, evidence, index); select1-3 need correlated subqueries and
// are only reported.
const corpusBar = 0.01

// TestCorpus runs the shared corpus on the real engine in both modes, logs the counts, and
// fails when a measured folder passes less than 1-corpusBar of its records or when view mode
// fails more records than query mode. It stops quietly at the test deadline.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("../shared/slt not found: " + err.Error())
	}
	folders := []string{"random", "evidence", "index", "select1.test", "select2.test", "select3.test"}
	failed := map[string]map[string]int{}
	for _, mode := range []string{ModeQuery, ModeView} {
		failed[mode] = map[string]int{}
		for _, folder := range folders {
			ctx := testContext(t)
			var out bytes.Buffer
			counts, err := RunFiles(ctx, []string{filepath.Join(corpusDir, folder)}, Options{Mode: mode, Seed: 1}, &out)
			if err != nil {
				if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
					t.Logf("stopped at the test deadline: %v", err)
					return
				}
				t.Fatal(err)
			}
			t.Logf("%s mode, %s: %d passed, %d failed, %d skipped", mode, folder, counts.Passed, counts.Failed, counts.Skipped)
			failed[mode][folder] = counts.Failed
			if strings.HasPrefix(folder, "select") {
				continue
			}
			if total := counts.Passed + counts.Failed; total == 0 || float64(counts.Failed) > corpusBar*float64(total) {
				t.Errorf("%s mode, %s: %d of %d records failed, more than %.0f%%", mode, folder, counts.Failed, total, corpusBar*100)
			}
		}
	}
	for _, folder := range folders {
		if failed[ModeView][folder] > failed[ModeQuery][folder] {
			t.Errorf("%s: view mode fails %d records, query mode %d: views diverge from their queries", folder, failed[ModeView][folder], failed[ModeQuery][folder])
		}
	}
}
