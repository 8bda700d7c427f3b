package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
)

// Group commit. Sessions stage their transactions' writes in memory (sources.BeginStaged),
// so any number of transactions are open at once and none holds a lock while it is open. A
// COMMIT hands the transaction to the committer, a single goroutine that owns Genji's one
// writer: it takes every transaction waiting, validates each against those committed since
// it began (first committer wins on a row), replays its writes, appends its change-log
// record and computes its epoch, one after the other, each with its own LSN; then commits
// them all with one synced Genji commit and only then makes their LSNs visible (views,
// feeds, subscribers, WaitLSN) and answers their sessions. When nothing commits and nothing
// waits, a session commits its transaction itself the same way (submit); commitMu makes
// the two take turns.

// maxGroup is the most transactions one group commit takes.
const maxGroup = 256

// commitReq is a transaction handed to the committer; done receives its outcome.
type commitReq struct {
	ctx    context.Context
	t      *txnState
	budget *dataflow.Budget
	done   chan commitResult
	// deadline is when the transaction stops waiting for the writer slot (a DDL statement
	// or a view's build holds it): the session's lock wait timeout from its COMMIT.
	deadline time.Time
	wait     time.Duration

	lsn uint64
	res *epochResult
}

// commitResult is the outcome of a commitReq: its LSN, or why it was not committed.
type commitResult struct {
	lsn uint64
	err error
}

// rowRef names a row for conflict checks: its table (the catalog object, so that a table
// dropped and created again is another) and its key.
type rowRef struct {
	t   *table
	key string
}

// conflicts is what the committer remembers of recent commits to validate transactions: the
// LSN that last wrote each row and each table, for commits after horizon. Owned by the
// committer goroutine.
type conflicts struct {
	rows   map[rowRef]uint64
	tables map[*table]uint64
	// horizon is the highest LSN forgotten: a transaction whose snapshot is older cannot be
	// validated and fails.
	horizon uint64
	since   int // commits since the last pruning
}

// Bounds of the conflict memory: it is pruned of what no open transaction can conflict with
// every pruneEvery commits, and cut (older transactions then fail) above maxConflictRows.
const (
	pruneEvery      = 1024
	maxConflictRows = 1 << 20
)

// errConflict is the error of a transaction that lost to one committed after it began.
func errConflict(format string, args ...any) error {
	return sqlerr.New(sqlerr.Deadlock, "Deadlock found when trying to get lock; try restarting transaction ("+format+
		"; transactions run under snapshot isolation and the first to commit a row wins)", args...)
}

// isConflict reports whether err is errConflict's.
func isConflict(err error) bool {
	e := sqlerr.As(err)
	return e != nil && e.Code == sqlerr.Deadlock
}

// startCommitter starts the committer goroutine.
func (e *Engine) startCommitter(ctx context.Context) {
	e.commitQ = make(chan *commitReq, maxGroup)
	e.committerDone = make(chan struct{})
	e.commitCtx = ctx
	e.conflicts = &conflicts{rows: map[rowRef]uint64{}, tables: map[*table]uint64{}}
	e.background.Go(func() { e.runCommitter(ctx) })
}

// runCommitter commits groups of transactions until ctx ends, then fails what is queued.
func (e *Engine) runCommitter(ctx context.Context) {
	defer func() {
		close(e.committerDone)
		for {
			select {
			case r := <-e.commitQ:
				r.done <- commitResult{err: errEngineClosed}
			default:
				return
			}
		}
	}()
	var carry *commitReq
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-e.commitQ:
			case <-ctx.Done():
				return
			}
		}
		group := []*commitReq{first}
		size := first.t.gtx.Bytes()
	fill:
		for len(group) < maxGroup {
			select {
			case r := <-e.commitQ:
				if size+r.t.gtx.Bytes() > e.store.MaxTxnBytes() {
					carry = r
					break fill
				}
				group = append(group, r)
				size += r.t.gtx.Bytes()
			default:
				break fill
			}
		}
		e.commitMu.Lock()
		e.commitGroup(ctx, group)
		e.commitMu.Unlock()
	}
}

// submit hands a staged transaction to the committer and waits for its outcome. Once
// queued, a transaction is waited for even if ctx ends: the committer drops it if it has
// not started on it.
func (e *Engine) submit(ctx context.Context, t *txnState, lockWait time.Duration) (uint64, error) {
	r := &commitReq{ctx: ctx, t: t, budget: e.budget(ctx), done: make(chan commitResult, 1),
		deadline: time.Now().Add(lockWait), wait: lockWait}
	if len(e.commitQ) == 0 && e.commitMu.TryLock() {
		// Nothing commits and nothing waits: the transaction is committed here, a group of
		// one, instead of being handed to the committer goroutine and its outcome back (two
		// goroutine switches, each of which may wake an idle processor).
		if len(e.commitQ) == 0 {
			e.commitGroup(e.commitCtx, []*commitReq{r})
			e.commitMu.Unlock()
			res := <-r.done
			return res.lsn, res.err
		}
		e.commitMu.Unlock()
	}
	wait := time.NewTimer(lockWait)
	defer wait.Stop()
	select {
	case e.commitQ <- r:
	case <-e.committerDone:
		return 0, errEngineClosed
	case <-ctx.Done():
		return 0, interrupted(ctx)
	case <-wait.C:
		return 0, sqlerr.New(sqlerr.LockWaitTimeout, "Lock wait timeout exceeded; try restarting transaction (the committer was busy for %v; nothing of the transaction was committed; see innodb_lock_wait_timeout)", lockWait)
	}
	select {
	case res := <-r.done:
		return res.lsn, res.err
	case <-e.committerDone:
		select {
		case res := <-r.done:
			return res.lsn, res.err
		default:
			return 0, errEngineClosed
		}
	}
}

// commitGroup commits a group of transactions with one Genji commit. It holds the writer
// slot throughout (DDL and log truncation wait), and the engine's lock from the first
// applied epoch to the publication of the last, so that no reader sees views ahead of the
// tables or LSNs that are not durable.
func (e *Engine) commitGroup(ctx context.Context, group []*commitReq) {
	finish := func(r *commitReq, lsn uint64, err error) { r.done <- commitResult{lsn: lsn, err: err} }
	failAll := func(rs []*commitReq, err error) {
		for _, r := range rs {
			finish(r, 0, err)
		}
	}
	if group = e.acquireWriter(ctx, group); group == nil {
		return
	}
	defer func() { <-e.writer }()
	w, err := e.store.Begin(true)
	if err != nil {
		failAll(group, fmt.Errorf("begin the group commit: %w", err))
		return
	}
	w.SetUnbounded()
	defer w.Rollback()

	e.mu.Lock()
	lsn, closed, failed := e.lsn, e.closed, e.failed
	e.mu.Unlock()
	if closed || failed != nil {
		failAll(group, firstErr(failed, errEngineClosed))
		return
	}
	var done []*commitReq
	locked := false
	defer func() {
		if locked {
			e.mu.Unlock()
		}
	}()
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			finish(r, 0, interrupted(r.ctx))
			continue
		}
		if err := e.validate(r.t); err != nil {
			finish(r, 0, err)
			continue
		}
		next := lsn + 1
		if err := e.prepareCommit(w, r, next); err != nil {
			finish(r, 0, err)
			continue
		}
		if !locked {
			e.mu.Lock()
			locked = true
		}
		if err := e.safeStage(next, r.res); err != nil {
			// The view store failed: the engine has stopped serving (fail).
			failAll(done, err)
			failAll(group[i:], err)
			return
		}
		lsn = next
		if len(group) > 1 {
			e.remember(r.t, next) // the group's next transactions validate against it
		}
		done = append(done, r)
	}
	if len(done) == 0 {
		return
	}
	if !locked {
		e.mu.Lock()
		locked = true
	}
	if e.closed {
		failAll(done, errEngineClosed)
		return
	}
	commit := w.Commit
	if e.testGroupCommitFails != nil {
		commit = e.testGroupCommitFails
	}
	start := time.Now()
	if err := commit(); err != nil {
		// The arrangements hold epochs whose transactions the log does not: stop serving; a
		// restart takes those epochs back from their undo records (undo.go).
		err = e.fail(fmt.Errorf("commit LSNs %d..%d: %w", done[0].lsn, lsn, err))
		failAll(done, err)
		return
	}
	if e.onGroup != nil {
		e.onGroup(len(done), time.Since(start))
	}
	for _, r := range done {
		e.publishEpoch(r.lsn, r.res)
	}
	e.mu.Unlock()
	locked = false
	if len(group) == 1 {
		e.rememberIfOthersOpen(done[0].t, done[0].lsn)
	}
	for _, r := range done {
		finish(r, r.lsn, nil)
	}
}

// rememberIfOthersOpen remembers what a group of one transaction wrote unless no other
// transaction is open (a single writer, as in a bulk load: remembering a 1000-row INSERT
// took 6% of a load). Its Genji commit is done, so a transaction that begins after the
// check takes a snapshot holding these writes, and has nothing to validate against them;
// one open before it is in openTxns.
func (e *Engine) rememberIfOthersOpen(t *txnState, lsn uint64) {
	e.txnMu.Lock()
	others := len(e.openTxns)
	if _, self := e.openTxns[t]; self {
		others--
	}
	e.txnMu.Unlock()
	if others > 0 {
		e.remember(t, lsn)
	}
}

// writerPoll is how often a group waiting for the writer slot drops the transactions whose
// clients gave up or whose lock wait timeout passed.
const writerPoll = 10 * time.Millisecond

// acquireWriter takes the writer slot for a group, and returns the transactions still
// waiting for it: meanwhile (a DDL statement or a view's build holds it) those whose
// context ends fail with it and those past their lock wait timeout with 1205, never to be
// committed later. It returns nil, with every transaction answered, if none is left or the
// committer stops.
func (e *Engine) acquireWriter(ctx context.Context, group []*commitReq) []*commitReq {
	select {
	case e.writer <- struct{}{}:
		return group
	default:
	}
	tick := time.NewTicker(writerPoll)
	defer tick.Stop()
	for {
		select {
		case e.writer <- struct{}{}:
			return group
		case <-ctx.Done():
			for _, r := range group {
				r.done <- commitResult{err: errEngineClosed}
			}
			return nil
		case now := <-tick.C:
			kept := group[:0]
			for _, r := range group {
				switch {
				case r.ctx.Err() != nil:
					r.done <- commitResult{err: interrupted(r.ctx)}
				case now.After(r.deadline):
					r.done <- commitResult{err: sqlerr.New(sqlerr.LockWaitTimeout,
						"Lock wait timeout exceeded; try restarting transaction (a DDL statement or a materialized view's build held the tables for %v; nothing of the transaction was committed; see innodb_lock_wait_timeout)", r.wait)}
				default:
					kept = append(kept, r)
				}
			}
			if group = kept; len(group) == 0 {
				return nil
			}
		}
	}
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// prepareCommit replays r's writes into w, stamps its changes with lsn, computes its epoch
// and appends its change-log record. On error w is as before. The epoch of a group's first
// transaction is computed without the engine's lock (locked false): nothing else changes
// the arrangements meanwhile, and readers go on.
func (e *Engine) prepareCommit(w *sources.Txn, r *commitReq, lsn uint64) error {
	t := r.t
	if err := e.disk.check(); err != nil {
		return err
	}
	w.StartStatement()
	undo, err := w.ApplyStaged(t.gtx)
	if err != nil {
		if uerr := w.Undo(undo); uerr != nil {
			return e.failUndo(err, uerr)
		}
		return err
	}
	for src, us := range t.changes {
		for i := range us {
			us[i].Time = lsn
		}
		t.changes[src] = dataflow.Consolidate(us)
	}
	now := commitTime()
	for _, ev := range t.events {
		ev.Lsn, ev.CommitTimeMicros = lsn, now
	}
	r.res, err = e.safeEpoch(lsn, t.changes, r.budget)
	if err == nil {
		err = w.AppendLog(&changelogpb.Transaction{Lsn: lsn, CommitTimeMicros: now, Events: t.events})
		if err != nil {
			err = fmt.Errorf("append to change log: %w", err)
		}
	}
	if err != nil {
		if uerr := w.Undo(undo); uerr != nil {
			return e.failUndo(err, uerr)
		}
		return err
	}
	r.lsn = lsn
	return nil
}

// safeEpoch is runEpoch with a panic (an internal error of a view's operators) turned into
// the transaction's error: the committer goes on with the others.
func (e *Engine) safeEpoch(lsn uint64, inputs map[string][]dataflow.Update, budget *dataflow.Budget) (res *epochResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, sqlerr.New(sqlerr.Unknown, "internal error maintaining the materialized views: %v", r)
		}
	}()
	return e.runEpoch(lsn, inputs, budget)
}

// safeStage is stageEpoch with a panic turned into the engine's failure: the arrangements
// may hold part of the epoch. Called with e.mu held.
func (e *Engine) safeStage(lsn uint64, res *epochResult) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.fail(fmt.Errorf("internal error applying LSN %d: %v", lsn, r))
		}
	}()
	e.stageUndo(lsn, res)
	return e.stageEpoch(lsn, res)
}

// failUndo stops the engine when a transaction's writes could not be taken back out of the
// group commit (the group is then rolled back whole).
func (e *Engine) failUndo(err, uerr error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fail(fmt.Errorf("%v; taking it out of the group commit failed: %w", err, uerr))
}

// validate checks a transaction against those committed since it began: the tables it wrote
// must be the ones it wrote to (not dropped or created again), and no row it found in its
// snapshot and rewrote (nor, SERIALIZABLE, any row or table it read) may have been written
// since. The committer calls it holding the writer slot, which every change of e.tables
// (DDL) holds too, so it reads them without the engine's lock.
func (e *Engine) validate(t *txnState) error {
	c := e.conflicts
	for name, tb := range t.tables {
		if cur := e.tables[strings.ToLower(name)]; cur != tb {
			return sqlerr.New(sqlerr.TableDefChanged, "Table definition has changed, please retry transaction (table %s was dropped or created again since the transaction began)", name)
		}
	}
	if t.beganAt < c.horizon {
		return errConflict("it began at LSN %d, before the oldest commit the engine still checks against (LSN %d)", t.beganAt, c.horizon)
	}
	err := t.gtx.StagedRows(func(r sources.StagedRow) error {
		if !r.InSnap {
			return nil // a new row: replaying it finds any row committed there since
		}
		if at := c.rows[rowRef{t.tables[r.Table], string(r.Key)}]; at > r.ReadAt {
			return errConflict("a row it changed in %s was changed by the transaction of LSN %d", r.Table, at)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return t.gtx.Reads(func(table string, key []byte) error {
		tb := e.tables[strings.ToLower(table)]
		if tb == nil {
			return nil
		}
		if key == nil {
			if at := c.tables[tb]; at > t.gtx.ReadLSN {
				return errConflict("it read %s, which the transaction of LSN %d wrote (SERIALIZABLE)", table, at)
			}
			return nil
		}
		if at := c.rows[rowRef{tb, string(key)}]; at > t.gtx.ReadLSN {
			return errConflict("it read a row of %s that the transaction of LSN %d wrote (SERIALIZABLE)", table, at)
		}
		return nil
	})
}

// remember records the rows and tables a committed transaction wrote, and prunes what no
// open transaction can conflict with any more.
func (e *Engine) remember(t *txnState, lsn uint64) {
	c := e.conflicts
	_ = t.gtx.StagedRows(func(r sources.StagedRow) error {
		tb := t.tables[r.Table]
		c.rows[rowRef{tb, string(r.Key)}] = lsn
		c.tables[tb] = lsn
		return nil
	})
	c.since++
	if c.since < pruneEvery && len(c.rows) < maxConflictRows {
		return
	}
	c.since = 0
	// The head is the published LSN, not lsn: a transaction that begins meanwhile (without
	// the engine's lock) takes its snapshot at the published LSN, before this group.
	head := e.published.Load()
	oldest := e.oldestOpenSnapshot(head)
	if len(c.rows) >= maxConflictRows {
		oldest = head // cut: transactions open from before now cannot be validated
		c.horizon = head
	}
	for k, at := range c.rows {
		if at <= oldest {
			delete(c.rows, k)
		}
	}
	for k, at := range c.tables {
		if at <= oldest {
			delete(c.tables, k)
		}
	}
}

// oldestOpenSnapshot is the oldest snapshot of an open staged transaction (head when none
// is open): its first, which the rows it wrote may have been read at.
func (e *Engine) oldestOpenSnapshot(head uint64) uint64 {
	e.txnMu.Lock()
	defer e.txnMu.Unlock()
	oldest := head
	for t := range e.openTxns {
		oldest = min(oldest, t.beganAt)
	}
	return oldest
}
