package engine

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// DefaultStatementMemoryLimit is the memory one statement may hold unless
// Options.StatementMemoryLimit says otherwise: an eighth of the machine's memory (the Go
// heap may grow to twice what is live), at least 256 MiB; 1 GiB where the machine's memory
// cannot be read.
func DefaultStatementMemoryLimit() int64 {
	total := MachineMemory()
	if total <= 0 {
		return 1 << 30
	}
	return max(total/8, 256<<20)
}

// MachineMemory is MemTotal of /proc/meminfo in bytes, 0 if unknown.
func MachineMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// budget bounds the dataflow work of a statement running under ctx: memory by the
// statement limit, time by ctx (KILL QUERY, max_execution_time, a client that went away).
func (e *Engine) budget(ctx context.Context) *dataflow.Budget {
	return &dataflow.Budget{Limit: e.stmtMemLimit, Interrupt: func() error { return interrupted(ctx) }}
}

// interrupted is ctx's error as the client sees it: ER_QUERY_INTERRUPTED when the statement
// was cancelled, ER_QUERY_TIMEOUT when its time ran out; nil while ctx is live.
func interrupted(ctx context.Context) error {
	err := ctx.Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return sqlerr.New(sqlerr.QueryTimeout, "Query execution was interrupted, maximum statement execution time exceeded")
	default:
		return sqlerr.New(sqlerr.QueryCanceled, "Query execution was interrupted")
	}
}
