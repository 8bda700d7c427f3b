package engine_test

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/engine"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata with the current output")

// TestExplainGolden runs testdata/explain.golden: blocks separated by blank lines, each a
// statement, and for EXPLAIN statements a line "----" followed by the dataflow it prints.
// Run with -rewrite to regenerate the expected output after a deliberate plan change.
func TestExplainGolden(t *testing.T) {
	const path = "../testdata/explain.golden"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(context.Background(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession()
	var out strings.Builder
	for i, block := range strings.Split(strings.TrimSpace(string(data)), "\n\n") {
		sql, want, hasOutput := strings.Cut(block, "\n----\n")
		if !hasOutput {
			sql = strings.TrimSuffix(block, "\n----")
		}
		if i > 0 {
			out.WriteString("\n\n")
		}
		out.WriteString(sql)
		res, err := s.Exec(context.Background(), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(sql)), "EXPLAIN") {
			continue
		}
		var got []string
		for _, r := range res.Rows {
			got = append(got, r[0].Str())
		}
		out.WriteString("\n----\n" + strings.Join(got, "\n"))
		if !*rewrite && strings.Join(got, "\n") != want {
			t.Errorf("%s\ngot:\n%s\nwant:\n%s", sql, strings.Join(got, "\n"), want)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(out.String()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
