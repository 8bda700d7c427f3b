package dataflow

import (
	"github.com/cdc-dev/cdc/sqlerr"
)

// Budget bounds the work of one statement's epochs: the bytes of the updates they hold at
// once, and how long they run, through Interrupt, a check the engine supplies (a context's
// Err). Operators that can produce more than their inputs (joins) check it while they
// produce; Graph.Step charges every node's output. A charge past Limit, or an Interrupt
// error, fails the Step with that error. A nil *Budget bounds nothing.
//
// The budget holds no clock and starts no goroutine: given the same Interrupt answers, an
// epoch fails at the same row. Not safe for concurrent use.
type Budget struct {
	// Limit is the most bytes the charged updates may take; 0 or less: no limit.
	Limit int64
	// Interrupt, if set, is called every interruptEvery rows; an error stops the work.
	Interrupt func() error

	used  int64
	ticks int
}

// interruptEvery is how many rows pass between two calls of Budget.Interrupt.
const interruptEvery = 1024

// datumBytes is the in-memory size of a Datum (kind, integer, string header).
const datumBytes = 32

// updateBytes is the in-memory size of an Update without its row's columns.
const updateBytes = 40

// RowBytes estimates the memory a row takes: its columns and their string bytes.
func RowBytes(r Row) int64 {
	n := int64(24 + datumBytes*len(r))
	for _, d := range r {
		n += int64(len(d.s))
	}
	return n
}

// UpdatesBytes estimates the memory a batch of updates takes.
func UpdatesBytes(us []Update) int64 {
	n := int64(updateBytes * len(us))
	for _, u := range us {
		n += RowBytes(u.Row)
	}
	return n
}

// Used is the bytes charged so far.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used
}

// Charge adds bytes held by rows more updates, or fails if that passes the limit or the
// work was interrupted.
func (b *Budget) Charge(rows int, bytes int64) error {
	if b == nil {
		return nil
	}
	if err := b.Check(rows, bytes); err != nil {
		return err
	}
	b.used += bytes
	return nil
}

// Check fails if bytes more would pass the limit, or (every interruptEvery rows, counting
// these rows) if the work was interrupted; it charges nothing.
func (b *Budget) Check(rows int, bytes int64) error {
	if b == nil {
		return nil
	}
	if b.Limit > 0 && b.used+bytes > b.Limit {
		return sqlerr.New(sqlerr.CapacityExceeded,
			"Memory capacity of %d bytes for this statement exceeded: it would hold more than that at once "+
				"(a join or cross join producing too many rows?); the statement was stopped and changed nothing "+
				"(see --statement-memory-limit)", b.Limit)
	}
	b.ticks += rows
	if b.Interrupt != nil && b.ticks >= interruptEvery {
		b.ticks = 0
		return b.Interrupt()
	}
	return nil
}

// Release gives back bytes charged earlier (their updates are no longer held).
func (b *Budget) Release(bytes int64) {
	if b != nil {
		b.used = max(0, b.used-bytes)
	}
}

// UpdateBytes estimates the memory one update takes.
func UpdateBytes(u Update) int64 { return updateBytes + RowBytes(u.Row) }
