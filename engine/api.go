// Package engine owns the catalog, the write path with change capture, the epoch loop that
// maintains materialized views, and subscriptions. It is the only owner of goroutines and of
// the storage handles; its public API is Open, Session.Exec, Subscribe and Close.
package engine

import (
	"log/slog"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
)

// Options configure Open.
type Options struct {
	// Dir is the data directory. Empty means an in-memory engine that keeps nothing.
	Dir string
	// Logger receives the engine's logs; nil means slog.Default().
	Logger *slog.Logger
	// ObserveEpoch, if set, is told how long each materialized view took to process each
	// epoch that changed its inputs. It is called with the engine's lock held: keep it fast.
	ObserveEpoch func(view string, d time.Duration)
	// ObserveGroupCommit, if set, is told of every group commit: how many transactions it
	// made durable and how long the durable commit of the table store took. It is called
	// by the committer with the engine's lock held: keep it fast.
	ObserveGroupCommit func(txns int, sync time.Duration)
	// SubscriberBuffer is how many epochs may wait for a subscriber (a TAIL) before it is cut
	// off with an error instead of holding the engine back; 0 means 4096.
	SubscriberBuffer int
	// Retention is how much history is kept for feeds that resume from an LSN in the past
	// (TAIL ... AS OF) and for readers of the change log; zero means DefaultRetention.
	Retention Retention
	// InMemoryViews keeps arrangements and view contents in memory even with a Dir: views
	// are then recomputed from their tables at every start. For benchmarks that compare
	// the two.
	InMemoryViews bool
	// HydrationStep is how many source rows one step of a new view's hydration takes: the
	// bound on the memory hydration needs, whatever the size of the tables. 0 means 50,000.
	HydrationStep int
	// MinFreeDisk is the free space (bytes) the data directory's disk must keep: below it,
	// writes are refused with a disk-full error and Open fails. 0 means DefaultMinFreeDisk;
	// a negative value turns the check off.
	MinFreeDisk int64
	// ReconcileInterval is how often every object source lists its bucket to catch changes
	// that notifications missed (it also does at start); 0 means one minute.
	ReconcileInterval time.Duration
	// MaintenanceInterval is how often the view store is synced and history beyond the
	// retention is truncated; 0 means one second.
	MaintenanceInterval time.Duration
	// StatementMemoryLimit bounds the memory one statement's dataflow may hold at once
	// (bytes): a query, a step of a view's hydration, a transaction's view maintenance. A
	// statement that needs more fails with ER_CAPACITY_EXCEEDED instead of the process.
	// 0 means DefaultStatementMemoryLimit(); a negative value means no limit.
	StatementMemoryLimit int64
	// MaxTxnBytes lowers the bound of one transaction's writes to the table store, change
	// log included (ER_TRANS_CACHE_FULL past it); 0, or a value above it, means the default
	// of 8 MiB, which keeps Genji's transactions atomic. Tests use it to make large work small.
	MaxTxnBytes int64
}

// Retention bounds the history kept: the transactions of the last For, or the last LSNs
// transactions, whichever keeps more. Both zero keeps DefaultRetention.
type Retention struct {
	For  time.Duration
	LSNs uint64
}

// DefaultRetention is the history kept unless Options.Retention says otherwise.
const DefaultRetention = 24 * time.Hour

// Column describes one column of a result.
type Column struct {
	Name string
	Kind dataflow.Kind
	// SQLType is the declared type where known (VARCHAR(255), DATETIME, ...), else Kind's name.
	SQLType string
}

// Result is the outcome of one statement.
type Result struct {
	// Columns and Rows are set for statements that return rows (SELECT, SHOW, EXPLAIN).
	Columns []Column
	Rows    []dataflow.Row
	// RowsAffected counts rows written by INSERT, UPDATE and DELETE.
	RowsAffected int64
	// LSN is the log sequence number a committed write was given, or 0.
	LSN uint64
	// Tail is set for TAIL: the rows are then not in Rows but delivered by the subscription,
	// and the caller must Close it.
	Tail *Subscription
}

// HasRows reports whether the statement returns a result set.
func (r *Result) HasRows() bool { return r.Columns != nil || r.Tail != nil }

// The public entry points, implemented in engine.go and session.go:
//
//	func Open(ctx context.Context, opts Options) (*Engine, error)
//	func (e *Engine) Close() error
//	func (e *Engine) NewSession() *Session
//	func (s *Session) Exec(ctx context.Context, sql string) (*Result, error)
//	func (s *Session) Close()
//	func (e *Engine) Subscribe(ctx context.Context, view string, opts SubscribeOptions) (*Subscription, error)
//	func SplitStatements(script string) ([]string, error)
