package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/cdc-dev/cdc/engine"
)

// runVerify is `cdc verify`: open a data directory, recompute every materialized view (or the
// ones named) from its tables and report differences. Exit status 1 if any view differs.
func runVerify(args []string) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	storage := storageFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts, err := storage()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdc verify:", err)
		return 2
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := os.Stat(opts.Dir); err != nil {
		fmt.Fprintf(os.Stderr, "cdc verify: %v\n", err)
		return 1
	}
	e, err := engine.Open(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cdc verify: %v\n", err)
		return 1
	}
	defer e.Close()
	names := fs.Args()
	if len(names) == 0 {
		names = []string{""}
	}
	bad := 0
	for _, name := range names {
		results, err := e.Verify(ctx, name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "cdc verify: %v\n", err)
			return 1
		}
		for _, r := range results {
			if !r.OK() {
				bad++
			}
			printVerify(os.Stdout, r)
		}
	}
	if bad > 0 {
		fmt.Printf("%d materialized view(s) differ from their queries\n", bad)
		return 1
	}
	return 0
}

func printVerify(w io.Writer, r engine.VerifyResult) {
	if r.OK() {
		fmt.Fprintf(w, "%s: ok (%d rows at LSN %d)\n", r.View, r.Rows, r.LSN)
		return
	}
	fmt.Fprintf(w, "%s: DIFFERS at LSN %d: %d rows missing, %d unexpected (view has %d rows)\n",
		r.View, r.LSN, r.Missing, r.Unexpected, r.Rows)
	for _, d := range r.Differences {
		vals := make([]string, len(d.Row))
		for i, v := range d.Row {
			vals[i] = v.String()
		}
		what := "missing"
		if d.Diff < 0 {
			what = "unexpected"
		}
		fmt.Fprintf(w, "  %s x%d: (%s)\n", what, max(d.Diff, -d.Diff), strings.Join(vals, ", "))
	}
}
