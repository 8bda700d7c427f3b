package main

import (
	"os"
	"runtime/debug"

	"github.com/cdc-dev/cdc/engine"
)

// gcPercent is the binary's GOGC. The engine's Go heap is small (its stores' caches are
// allocated outside it: some tens of MB live at a million messages), so Go's default of 100
// collects every few hundred inserts and spent a tenth of a bulk load's CPU; at 400
// BenchmarkChatBuild's 300k-message load took 6.65 and 5.82 s against 7.22 and 8.09 s
// (alternating runs).
const gcPercent = 400

// tuneGC sets the garbage collector for the engine unless the environment does (GOGC,
// GOMEMLIMIT): collections gcPercent apart, and a soft limit of half the machine's memory
// so that a large live heap is collected sooner than gcPercent would.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if total := engine.MachineMemory(); total > 0 {
			debug.SetMemoryLimit(total / 2)
		}
	}
}
