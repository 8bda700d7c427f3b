package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/cdc-dev/cdc/slt"
)

// runSLT runs "cdc slt [--mode query|view] [--seed N] [-v] FILE|DIR..." and returns its status.
//
// The status is 0 if every record passed, 1 if any failed, 2 for a usage error. It prints one
// line per script and the total "N passed, M failed, K skipped" to stdout; -v adds a
// diagnostic per failure on stderr. An interrupt stops the run.
func runSLT(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return slt.Command(ctx, args, os.Stdout, os.Stderr)
}
