// Command cdc is the engine's one binary: an embedded SQL shell and the sqllogictest runner.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: cdc <command> [flags]

commands:
  sql   run SQL on an embedded engine (interactive on a terminal, else statements from stdin)
  slt   run sqllogictest scripts: cdc slt [--mode query|view] FILE|DIR...
  serve serve SQL over the MySQL protocol and gRPC: cdc serve [--data DIR] [--mysql-addr HOST:PORT] [--grpc-addr HOST:PORT] [--user U] [--password P] [--log-retention 24h|N] [--s3-webhook-token T]
  module load, list or drop the .proto modules of a running server: cdc module load NAME FILE.proto
  verify recompute materialized views from their tables and report differences: cdc verify [--data DIR] [VIEW...]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	tuneGC()
	switch os.Args[1] {
	case "sql":
		os.Exit(runSQL(os.Args[2:]))
	case "slt":
		os.Exit(runSLT(os.Args[2:]))
	case "serve":
		os.Exit(runServe(os.Args[2:]))
	case "module":
		os.Exit(runModule(os.Args[2:]))
	case "verify":
		os.Exit(runVerify(os.Args[2:]))
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "cdc: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
