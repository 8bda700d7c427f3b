package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
)

// Engine is an open data directory: storage, catalog, materialized views and subscriptions.
//
// mu serialises every change of engine state (catalog, views, arrangements, the LSN) and
// the taking of consistent snapshots of it, never long work: queries take their snapshot
// under it and are evaluated without it. writer is Genji's single writer: the committer
// holds it for each group commit (see commit.go), a DDL statement for its transaction, the
// maintenance loop to truncate the log. Write transactions hold nothing while they are open:
// they are staged in memory and handed to the committer at COMMIT. Holding writer, a group
// commit computes its first epoch and a CREATE MATERIALIZED VIEW hydrates without mu
// (nothing else changes the LSN, the catalog or the arrangements meanwhile), and they take
// mu only to apply what they computed.
type Engine struct {
	mu     sync.Mutex
	writer chan struct{}
	store  *sources.Store
	state  *viewState
	log    *slog.Logger
	closed bool
	// failed is set when the view store could not be written: views would fall behind the
	// change log, so the engine refuses every statement until it is restarted.
	failed error
	// dir is the data directory ("" in memory); writes need minFree bytes free on its disk.
	dir     string
	minFree uint64
	disk    diskGuard // checks minFree for writes
	// hydrationStep is Options.HydrationStep.
	hydrationStep int
	// stmtMemLimit is Options.StatementMemoryLimit resolved (0: no limit).
	stmtMemLimit int64
	// retention says how much history to keep for feeds that resume (AS OF).
	retention Retention
	// stop ends the background loops (maintenance, reconciliation of sources); background
	// waits for them.
	stop       context.CancelFunc
	bgCtx      context.Context
	background sync.WaitGroup
	sinks      map[string]*sink        // by lower-case name
	modules    map[string]*module      // by lower-case name
	methods    map[string]moduleMethod // the modules' methods by gRPC path
	lsnWake    chan struct{}           // closed when the LSN advances (WaitLSN)

	// catMu guards the maps tables, views and plain, with mu: DDL changes them holding
	// both (its apply function, at start-up Open alone), so lookupTable may read them
	// holding only catMu, without waiting for a group commit, which holds mu.
	catMu sync.RWMutex

	lsn      uint64 // last committed LSN
	catSeq   uint64 // sequence of the last catalog entry
	tables   map[string]*table
	views    map[string]*view // materialized views, by lower-case name
	order    []*view          // materialized views in dependency (creation) order
	plain    map[string]*plainView
	indexes  map[string]string // index name (lower) -> table name
	shared   map[string]*sharedArrangement
	buckets  map[*objectSource]*sources.S3Bucket // connections of the object sources
	commits  uint64                              // committed write transactions, guarded by mu
	sessions atomic.Int64                        // open sessions
	onEpoch  func(view string, d time.Duration)
	onGroup  func(txns int, sync time.Duration)
	// subscriberBuffer is the default SubscribeOptions.Buffer.
	subscriberBuffer int

	// openTxn is the Genji transaction of the DDL statement holding writer, rolled back by
	// Close if it never ends.
	openTxn *sources.Txn
	// noPurge leaves the tables DROP TABLE set aside unpurged, as a crash right after its
	// commit would (tests only).
	noPurge bool
	// openTxns are the open staged transactions, whose snapshots bound what the committer
	// must remember to validate them; guarded by txnMu, which sessions take instead of mu
	// to begin and end them (the committer holds mu through a group commit).
	openTxns map[*txnState]struct{}
	txnMu    sync.Mutex
	// published is lsn for the paths that do not take mu: stored once the LSN is durable
	// and visible (publishEpoch), so a Genji snapshot taken after loading it holds at least
	// that LSN. isClosed and failedErr are closed and failed for them, set with those.
	published atomic.Uint64
	isClosed  atomic.Bool
	failedErr atomic.Pointer[error]
	// commitQ feeds the committer; committerDone is closed when it has stopped; conflicts
	// is the memory of recent commits of whoever holds commitMu (commit.go).
	commitQ       chan *commitReq
	committerDone chan struct{}
	// commitMu is held by whoever runs commitGroup: the committer goroutine, or a session
	// committing its own transaction when nothing else commits or waits (submit).
	// commitCtx is the committer's context, which both pass to commitGroup.
	commitMu  sync.Mutex
	commitCtx context.Context
	conflicts *conflicts
	// pendingView is a materialized view built by a DDL statement that has not committed:
	// its hydrated state is deleted if the statement fails.
	pendingView *view
	building    *buildProgress // the materialized view being built, if any
	// pendingIndexes collects the indexes a DDL statement creates until it commits.
	pendingIndexes [][2]string
	// testGroupCommitFails, set by tests, runs before a group's Genji commit; an error it
	// returns fails the commit, as a crash at that point would end it.
	testGroupCommitFails func() error
	// storedTables is the set of table names in storage, read during recovery.
	storedTables map[string]bool
}

// sharedArrangement is an arrangement maintained for every view that reads the same
// collection by the same key.
type sharedArrangement struct {
	arr  dataflow.Arrangement
	refs int
}

// Open opens (or creates) the engine's data directory and brings back its tables and views.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	dir := opts.Dir
	minFree := uint64(DefaultMinFreeDisk)
	if opts.MinFreeDisk != 0 {
		minFree = uint64(max(opts.MinFreeDisk, 0))
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", dir, err)
		}
		if err := checkDiskAtStart(dir, minFree); err != nil {
			return nil, err
		}
		dir = filepath.Join(dir, "genji")
	}
	store, err := sources.OpenStore(dir)
	if err != nil {
		return nil, fmt.Errorf("the table storage %s cannot be opened (%w). It holds the tables and the change log: "+
			"if it is damaged, restore the data directory from a backup", dir, err)
	}
	if opts.MaxTxnBytes > 0 {
		store.LowerMaxTxnBytes(opts.MaxTxnBytes)
	}
	stateDir := ""
	if opts.Dir != "" && !opts.InMemoryViews {
		stateDir = filepath.Join(opts.Dir, "views")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	state, err := openViewState(stateDir, logger)
	if err != nil {
		store.Close()
		return nil, err
	}
	e := &Engine{
		writer:  make(chan struct{}, 1),
		store:   store,
		state:   state,
		log:     logger,
		tables:  map[string]*table{},
		views:   map[string]*view{},
		plain:   map[string]*plainView{},
		indexes: map[string]string{},
		shared:  map[string]*sharedArrangement{},
		buckets: map[*objectSource]*sources.S3Bucket{},
		sinks:   map[string]*sink{},
		modules: map[string]*module{},
		onEpoch: opts.ObserveEpoch,
		onGroup: opts.ObserveGroupCommit,

		openTxns: map[*txnState]struct{}{},
	}
	e.subscriberBuffer = opts.SubscriberBuffer
	if e.subscriberBuffer <= 0 {
		e.subscriberBuffer = 4096
	}
	e.dir, e.minFree = opts.Dir, minFree
	e.disk.dir, e.disk.min = opts.Dir, minFree
	e.hydrationStep = opts.HydrationStep
	if e.hydrationStep <= 0 {
		e.hydrationStep = 50_000
	}
	switch e.stmtMemLimit = opts.StatementMemoryLimit; {
	case e.stmtMemLimit == 0:
		e.stmtMemLimit = DefaultStatementMemoryLimit()
	case e.stmtMemLimit < 0:
		e.stmtMemLimit = 0
	}
	e.retention = opts.Retention
	if e.retention == (Retention{}) {
		e.retention = Retention{For: DefaultRetention}
	}
	if err := e.recover(ctx); err != nil {
		state.close()
		store.Close()
		return nil, err
	}
	// A DROP TABLE that a crash interrupted after its commit left rows to purge.
	if err := e.purgeDropped(ctx); err != nil {
		state.close()
		store.Close()
		return nil, err
	}
	mctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	interval := opts.MaintenanceInterval
	if interval <= 0 {
		interval = time.Second
	}
	reconcileEvery := opts.ReconcileInterval
	if reconcileEvery <= 0 {
		reconcileEvery = time.Minute
	}
	e.startCommitter(mctx)
	e.background.Go(func() { e.maintain(mctx, interval) })
	e.background.Go(func() { e.reconcileLoop(mctx, reconcileEvery) })
	e.mu.Lock()
	e.bgCtx = mctx
	for _, sk := range e.sinks {
		e.startSink(sk)
	}
	e.mu.Unlock()
	return e, nil
}

// fail stops the engine from serving after the view store could not be written, and
// returns the error every statement gets from now on. Called with e.mu held.
func (e *Engine) fail(err error) error {
	if e.failed == nil {
		e.failed = fmt.Errorf("the engine stopped serving because the view store could not be written (%w); "+
			"restart it to replay the change log into the materialized views", err)
		failed := e.failed
		e.failedErr.Store(&failed)
		e.log.Error("view store failed", "lsn", e.lsn, "err", err)
		for _, v := range e.order {
			v.closeSubscribers(e.failed)
		}
	}
	return e.failed
}

// failure returns why the engine stopped serving, or nil. It takes no lock.
func (e *Engine) failure() error {
	if p := e.failedErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Close stops the engine: subscriptions end and storage is closed. Sessions fail afterwards.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.isClosed.Store(true)
	e.wakeWaiters()
	for _, v := range e.order {
		v.closeSubscribers(errEngineClosed)
	}
	e.mu.Unlock()
	e.stop()
	e.background.Wait()
	// Wait a little for an open write transaction to finish; one left open is abandoned
	// (Genji rolls it back when the store closes).
	select {
	case e.writer <- struct{}{}:
	case <-time.After(closeWait):
		e.log.Warn("closing with a write transaction still open; it is rolled back")
		e.mu.Lock()
		if e.openTxn != nil {
			_ = e.openTxn.Rollback()
		}
		e.mu.Unlock()
	}
	e.mu.Lock()
	// Transactions still open are abandoned: their snapshots are released. A session
	// beginning one holds txnMu from its check of isClosed to its registration.
	e.txnMu.Lock()
	for t := range e.openTxns {
		_ = t.gtx.Rollback()
		delete(e.openTxns, t)
	}
	e.txnMu.Unlock()
	err := e.state.close()
	e.mu.Unlock()
	if serr := e.store.Close(); err == nil {
		err = serr
	}
	return err
}

// closeWait is how long Close waits for an open write transaction.
const closeWait = 5 * time.Second

// LSN returns the LSN of the last committed transaction.
func (e *Engine) LSN() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lsn
}

// ReadLog calls fn for every committed transaction of the change log after the given LSN, in
// LSN order: the durable change stream that replicas and external consumers read. Reading
// from below the retained log is an error that names the oldest LSN available.
func (e *Engine) ReadLog(after uint64, fn func(*changelogpb.Transaction) error) error {
	oldest, err := e.store.OldestLSN()
	if err != nil {
		return err
	}
	if oldest > 0 && after+1 < oldest {
		return sqlerr.New(sqlerr.WrongValue, "the change log after LSN %d is no longer retained: it starts at LSN %d, so reading may resume after LSN %d or later", after, oldest, oldest-1)
	}
	return e.store.ReadLog(after, fn)
}
