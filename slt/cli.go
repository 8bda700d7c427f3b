package slt

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// Command runs the "cdc slt" command line and returns its exit status.
//
// Flags (they may also follow the paths): --mode query|view (default query), --seed N
// (default 1), -v to write failure diagnostics to stderr. The status is 0 if every record
// passed, 1 if any failed or the runner erred, 2 for a usage error.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return command(ctx, args, stdout, stderr, openMemory)
}

// command is Command with the engine supplied by open.
func command(ctx context.Context, args []string, stdout, stderr io.Writer, open opener) int {
	fs := flag.NewFlagSet("slt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", ModeQuery, "query: run scripts one-shot; view: also check every query as a maintained materialized view")
	seed := fs.Int64("seed", 1, "seed of the end-of-file delete order in view mode")
	verbose := fs.Bool("v", false, "print a diagnostic for every failed record to stderr")
	onDisk := fs.Bool("disk", false, "run each file on a fresh data directory (tables in Genji on disk, views in Pebble) instead of in memory")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cdc slt [--mode query|view] [--seed N] [--disk] [-v] FILE|DIR...")
		fs.PrintDefaults()
	}
	var paths []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		paths = append(paths, rest[0])
		rest = rest[1:]
	}
	if *mode != ModeQuery && *mode != ModeView {
		fmt.Fprintf(stderr, "slt: unknown mode %q (want query or view)\n", *mode)
		return 2
	}
	if len(paths) == 0 {
		fs.Usage()
		return 2
	}
	if *onDisk {
		open = openDisk
	}
	opts := Options{Mode: *mode, Seed: *seed}
	if *verbose {
		opts.Out = stderr
	}
	c, err := runFiles(ctx, paths, opts, stdout, open)
	if err != nil {
		fmt.Fprintf(stderr, "slt: %v\n", err)
		return 1
	}
	if c.Failed > 0 {
		return 1
	}
	return 0
}
