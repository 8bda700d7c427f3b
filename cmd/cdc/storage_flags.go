package main

import (
	"flag"

	"github.com/cdc-dev/cdc/engine"
)

// storageFlags declares the flags of an engine on a data directory (--data, --log-retention,
// --min-free-mb, --statement-memory-limit) and returns the function that reads them, once parsed, into Options.
func storageFlags(fs *flag.FlagSet) func() (engine.Options, error) {
	dir := fs.String("data", "./cdc-data", "data directory (empty string: in memory)")
	retention := fs.String("log-retention", engine.DefaultRetention.String(), "history kept for feeds that resume (TAIL ... AS OF) and change-log readers: a duration (24h) or a number of LSNs")
	minFreeMB := fs.Int64("min-free-mb", engine.DefaultMinFreeDisk>>20, "MiB the data directory's disk keeps free: below it writes are refused (0: no check)")
	stmtMemMB := fs.Int64("statement-memory-limit", engine.DefaultStatementMemoryLimit()>>20, "MiB one statement's dataflow may hold at once (a query, a view build step, a transaction's view maintenance): past it the statement fails with error 3170 instead of the process running out of memory (negative: no limit)")
	return func() (engine.Options, error) {
		keep, err := engine.ParseRetention(*retention)
		if err != nil {
			return engine.Options{}, err
		}
		minFree := *minFreeMB << 20
		if minFree == 0 {
			minFree = -1 // no check
		}
		stmtMem := *stmtMemMB << 20
		if *stmtMemMB < 0 {
			stmtMem = -1
		}
		return engine.Options{Dir: *dir, Retention: keep, MinFreeDisk: minFree, StatementMemoryLimit: stmtMem}, nil
	}
}
