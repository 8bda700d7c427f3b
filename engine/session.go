package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// Session is one client's connection state: its open transaction, if any. A session is
// used by one goroutine at a time.
type Session struct {
	e   *Engine
	txn *txnState
	// explicit is set between BEGIN and COMMIT/ROLLBACK.
	explicit bool
	// aborted is why the engine rolled back the explicit transaction (a failed statement
	// that could not be undone, an internal error): until the client's ROLLBACK or COMMIT,
	// every statement fails with it, so that nothing runs as if the transaction were open.
	aborted error
	closed  bool
	// maxExecTime is the session's max_execution_time: how long a SELECT may run (0: no
	// limit). A MAX_EXECUTION_TIME(ms) hint of the SELECT itself takes precedence.
	maxExecTime time.Duration
	// lockWait is the session's innodb_lock_wait_timeout: how long a write waits for another
	// session's open transaction (0: DefaultLockWaitTimeout).
	lockWait time.Duration
	// chars are the session's transaction characteristics (autocommit, isolation, access
	// mode), see session_txn.go.
	chars txnChars
}

// txnState is an open write transaction: the Genji transaction (staged, or for DDL the
// writer's), the changes made so far (per dataflow source), their change events, and the
// tables written (by schema name), which must still be the same at COMMIT.
type txnState struct {
	gtx     *sources.Txn
	changes map[string][]dataflow.Update
	events  []*changelogpb.ChangeEvent
	tables  map[string]*table
	// ddl is set for a DDL statement's transaction, which holds the writer slot.
	ddl bool
	// beganAt is the LSN of the transaction's first snapshot: no row it wrote was read at an
	// older one (READ COMMITTED moves its snapshot on, the rows keep theirs).
	beganAt uint64
}

// txnMark is the size of a transaction's records before a statement.
type txnMark struct {
	changes map[string]int
	events  int
}

// mark records the sizes of the transaction's changes and events.
func (t *txnState) mark() txnMark {
	m := txnMark{changes: make(map[string]int, len(t.changes)), events: len(t.events)}
	for src, us := range t.changes {
		m.changes[src] = len(us)
	}
	return m
}

// truncate forgets the changes and events recorded after the mark.
func (t *txnState) truncate(m txnMark) {
	for src, us := range t.changes {
		t.changes[src] = us[:m.changes[src]]
	}
	t.events = t.events[:m.events]
}

// undoEntry reverses one row write of a failed statement inside an explicit transaction.
type undoEntry struct {
	schema  sources.TableSchema
	key     []byte       // key the row has now (nil if the statement deleted it)
	restore dataflow.Row // row to put back (nil if the statement inserted it)
}

// NewSession starts a session in autocommit mode.
func (e *Engine) NewSession() *Session {
	e.sessions.Add(1)
	return &Session{e: e}
}

// Close rolls back the session's open transaction, if any. Closing twice is harmless.
func (s *Session) Close() {
	if s.txn != nil {
		s.rollback()
	}
	if !s.closed {
		s.closed = true
		s.e.sessions.Add(-1)
	}
}

// InTransaction reports whether BEGIN was run without COMMIT or ROLLBACK yet (an aborted
// transaction counts until the client ends it).
func (s *Session) InTransaction() bool { return s.explicit || s.aborted != nil }

// Exec runs one SQL statement. Errors are *sqlerr.Error values with MySQL codes; a failed
// statement changes nothing (inside BEGIN ... COMMIT it leaves the transaction as it was).
func (s *Session) Exec(ctx context.Context, sql string) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, s.recovered(r)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.e.failure(); err != nil {
		return nil, err
	}
	stmt, err := sqlplan.Parse(sql)
	if err != nil {
		return nil, err
	}
	if s.aborted != nil {
		return s.whileAborted(stmt)
	}
	if err := sqlplan.CheckNewNames(stmt); err != nil {
		return nil, err
	}
	if d := s.timeLimit(stmt); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	switch st := stmt.(type) {
	case *sqlplan.Vitess:
		return s.execVitess(ctx, st.Stmt)
	case *sqlplan.CreateMaterializedView:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.createMaterializedView(ctx, tx, st, sql) })
	case *sqlplan.DropMaterializedView:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) {
			return s.e.dropMaterializedView(tx, st.Name, st.IfExists)
		})
	case *sqlplan.Tail:
		sub, err := s.e.Subscribe(ctx, st.View, SubscribeOptions{AsOf: st.AsOf, HasAsOf: st.HasAsOf, Snapshot: st.Snapshot, Progress: st.Progress})
		if err != nil {
			return nil, err
		}
		return &Result{Columns: sub.Columns(), Tail: sub}, nil
	case *sqlplan.ShowObjects:
		return s.e.showObjects(st.What), nil
	case *sqlplan.ShowCreate:
		return s.e.showCreate(st.What, st.Name)
	case *sqlplan.Explain:
		return s.e.explain(st)
	case *sqlplan.Verify:
		return s.e.verify(ctx, st)
	case *sqlplan.CreateSource:
		return s.createSource(ctx, st, sql)
	case *sqlplan.CreateSink:
		return s.createSink(ctx, st, sql)
	case *sqlplan.DropSink:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.dropSink(tx, st) })
	case *sqlplan.CreateModule:
		return s.createModule(ctx, st)
	case *sqlplan.DropModule:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.dropModule(tx, st) })
	case *sqlplan.DropSource:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.dropSource(tx, st) })
	}
	return nil, sqlerr.New(sqlerr.NotSupported, "statement not supported: %s", sql)
}

// recovered is the error of a statement that panicked with r: an explicit transaction,
// which the statement may have written part of its rows to, cannot be trusted any more and
// is aborted; a statement's own transaction is rolled back.
func (s *Session) recovered(r any) error {
	err := error(sqlerr.New(sqlerr.Unknown, "internal error: %v", r))
	if s.txn != nil {
		if s.explicit {
			return s.abort(err)
		}
		s.rollback()
	}
	return err
}

func (s *Session) execVitess(ctx context.Context, stmt sqlparser.Statement) (*Result, error) {
	switch st := stmt.(type) {
	case *sqlparser.Begin:
		if s.explicit {
			if err := s.commit(ctx); err != nil {
				return nil, err
			}
		}
		if err := s.begin(ctx); err != nil {
			return nil, err
		}
		s.explicit = true
		s.startCharacteristics(st.TxAccessModes)
		return &Result{}, nil
	case *sqlparser.Commit:
		if s.txn == nil {
			s.explicit = false
			return &Result{}, nil
		}
		lsn, err := s.commitLSN(ctx)
		return &Result{LSN: lsn}, err
	case *sqlparser.Rollback:
		if s.txn != nil {
			s.rollback()
		}
		s.explicit = false
		return &Result{}, nil
	case sqlparser.TableStatement:
		return s.query(ctx, st)
	case *sqlparser.Insert, *sqlparser.Update, *sqlparser.Delete:
		return s.write(ctx, func(t *txnState, undo *[]undoEntry) (int64, error) {
			switch w := st.(type) {
			case *sqlparser.Insert:
				return s.insert(ctx, t, w, undo)
			case *sqlparser.Update:
				return s.update(t, w, undo)
			default:
				return s.delete(t, w.(*sqlparser.Delete), undo)
			}
		})
	case *sqlparser.CreateTable:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.createTable(tx, st) })
	case *sqlparser.DropTable:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.dropTables(tx, st) })
	case *sqlparser.CreateView:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.createPlainView(tx, st) })
	case *sqlparser.DropView:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.dropPlainViews(tx, st) })
	case *sqlparser.AlterTable:
		return s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.alterTable(tx, st) })
	case *sqlparser.Set:
		return s.set(ctx, st)
	case *sqlparser.Use:
		return &Result{}, nil // there is one database
	}
	return nil, sqlerr.New(sqlerr.NotSupported, "statement not supported yet: %s", sqlparser.String(stmt))
}

// begin opens a staged write transaction over a snapshot of the last commit: it holds no
// lock, so any number are open at once (see commit.go). It takes txnMu, not the engine's
// lock, which the committer holds through a group commit: the transaction's LSN is the
// published one, loaded before its snapshot is taken, so the snapshot holds at least that
// LSN (perhaps a group more, which its validation treats as written after it: a conflict
// at worst, never a lost update).
func (s *Session) begin(ctx context.Context) error {
	if err := s.e.disk.check(); err != nil {
		return err
	}
	e := s.e
	e.txnMu.Lock()
	defer e.txnMu.Unlock()
	if e.isClosed.Load() {
		return errEngineClosed
	}
	lsn := e.published.Load()
	gtx, err := e.store.BeginStaged()
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	gtx.ReadLSN = lsn
	s.txn = &txnState{gtx: gtx, changes: map[string][]dataflow.Update{}, tables: map[string]*table{}, beganAt: lsn}
	if s.Isolation() == "SERIALIZABLE" {
		gtx.TrackReads()
	}
	e.openTxns[s.txn] = struct{}{}
	return nil
}

// beginDDL acquires the engine's writer slot, waiting at most the lock wait timeout, and
// opens a Genji write transaction for a DDL statement.
func (s *Session) beginDDL(ctx context.Context) error {
	if err := s.e.disk.check(); err != nil {
		return err
	}
	select {
	case s.e.writer <- struct{}{}:
	default:
		wait := time.NewTimer(s.lockWaitTimeout())
		defer wait.Stop()
		select {
		case s.e.writer <- struct{}{}:
		case <-ctx.Done():
			return interrupted(ctx)
		case <-wait.C:
			return sqlerr.New(sqlerr.LockWaitTimeout,
				"Lock wait timeout exceeded; try restarting transaction (another DDL statement or a materialized view's build held the catalog for %v; see innodb_lock_wait_timeout)",
				s.lockWaitTimeout())
		}
	}
	gtx, err := s.e.store.Begin(true)
	if err != nil {
		<-s.e.writer
		return fmt.Errorf("begin transaction: %w", err)
	}
	s.txn = &txnState{gtx: gtx, changes: map[string][]dataflow.Update{}, tables: map[string]*table{}, ddl: true}
	s.e.mu.Lock()
	s.e.openTxn = gtx
	s.e.mu.Unlock()
	return nil
}

// statementSnapshot moves the open transaction's reads to the last commit at the start of a
// statement, for READ COMMITTED (and READ UNCOMMITTED, which runs as it).
func (s *Session) statementSnapshot() error {
	if s.txn == nil || s.txn.ddl {
		return nil
	}
	if lvl := s.Isolation(); lvl != "READ-COMMITTED" && lvl != "READ-UNCOMMITTED" {
		return nil
	}
	// As in begin: the LSN is loaded before the snapshot is taken.
	lsn := s.e.published.Load()
	if err := s.txn.gtx.RefreshSnapshot(); err != nil {
		return err
	}
	s.txn.gtx.ReadLSN = lsn
	return nil
}

// rollback abandons the open transaction.
func (s *Session) rollback() {
	t := s.txn
	_ = t.gtx.Rollback()
	s.txn = nil
	s.explicit = false
	s.release(t)
}

// abort rolls back the explicit transaction after cause, and returns the error the client
// gets: it says that the transaction was rolled back, and the session refuses every
// statement but ROLLBACK and COMMIT until the client ends the transaction.
func (s *Session) abort(cause error) error {
	if s.txn != nil {
		s.rollback()
	}
	s.aborted = sqlerr.New(sqlerr.TxnRolledBack,
		"the transaction was rolled back: %v. Nothing it wrote was committed; "+
			"send ROLLBACK to acknowledge it (statements other than ROLLBACK fail until then)", cause)
	return s.aborted
}

// whileAborted answers a statement sent after the engine rolled back the explicit
// transaction: ROLLBACK ends the aborted state, COMMIT ends it with an error (nothing is
// committed), anything else fails.
func (s *Session) whileAborted(stmt sqlplan.Statement) (*Result, error) {
	err := s.aborted
	if v, ok := stmt.(*sqlplan.Vitess); ok {
		switch v.Stmt.(type) {
		case *sqlparser.Rollback:
			s.aborted, s.explicit = nil, false
			return &Result{}, nil
		case *sqlparser.Commit:
			s.aborted, s.explicit = nil, false
			return nil, err
		}
	}
	return nil, err
}

// release forgets an ended transaction: a DDL statement's gives up the writer slot.
func (s *Session) release(t *txnState) {
	if !t.ddl {
		s.e.txnMu.Lock()
		delete(s.e.openTxns, t)
		s.e.txnMu.Unlock()
		return
	}
	s.e.mu.Lock()
	s.e.openTxn = nil
	s.e.mu.Unlock()
	<-s.e.writer
}

// commit commits the open transaction.
func (s *Session) commit(ctx context.Context) error {
	_, err := s.commitLSN(ctx)
	return err
}

// commitLSN commits the open transaction through the committer (see commit.go), which gives
// it the next LSN, appends its change events to the log, computes every view's changes and
// commits it durably with the others of its group; it returns once every view is current
// with it. If it lost to a transaction committed since it began, or a view cannot be
// maintained (an error evaluating its query over the new rows), nothing is applied.
func (s *Session) commitLSN(ctx context.Context) (uint64, error) {
	t := s.txn
	defer func() {
		if s.txn != nil {
			s.rollback()
		}
		s.explicit = false
	}()
	if len(t.events) == 0 {
		return 0, nil
	}
	return s.e.submit(ctx, t, s.lockWaitTimeout())
}

// write runs a data-changing statement: in the open transaction, or in its own. A statement
// in its own transaction that loses to a concurrent commit is run again from the start
// (nothing of it was seen by the client), after a short random pause that grows with the
// attempts, until the lock wait timeout has passed: as a statement that waits for a row
// lock in MySQL, it fails only after innodb_lock_wait_timeout.
func (s *Session) write(ctx context.Context, fn func(t *txnState, undo *[]undoEntry) (int64, error)) (*Result, error) {
	if s.TransactionReadOnly() {
		return nil, sqlerr.New(sqlerr.ReadOnlyTxn, "Cannot execute statement in a READ ONLY transaction.")
	}
	deadline := time.Now().Add(s.lockWaitTimeout())
	for attempt := 0; ; attempt++ {
		res, err := s.writeOnce(ctx, fn)
		if err == nil || !isConflict(err) || s.explicit || time.Now().After(deadline) {
			return res, err
		}
		pause := time.Duration(rand.Int64N(int64(50*time.Microsecond) << min(attempt, 8)))
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, interrupted(ctx)
		}
	}
}

// writeOnce is one run of write.
func (s *Session) writeOnce(ctx context.Context, fn func(t *txnState, undo *[]undoEntry) (int64, error)) (*Result, error) {
	if s.txn == nil {
		if err := s.begin(ctx); err != nil {
			return nil, err
		}
		if !s.Autocommit() {
			// autocommit = 0: the write opens a transaction that lasts until COMMIT or
			// ROLLBACK, as if BEGIN had been sent before it.
			s.explicit = true
			s.startCharacteristics(nil)
		} else {
			// One statement: its new rows are checked against the last commit when it
			// commits, which is when the statement ends.
			s.txn.gtx.DeferChecks()
		}
	} else if err := s.statementSnapshot(); err != nil {
		return nil, err
	}
	var undo []undoEntry
	mark := s.txn.mark()
	s.txn.gtx.StartStatement()
	n, err := fn(s.txn, &undo)
	if err != nil {
		if !s.explicit {
			s.rollback()
			return nil, err
		}
		s.txn.truncate(mark)
		if uerr := s.txn.gtx.Undo(func() error { return s.undo(undo) }); uerr != nil {
			return nil, s.abort(fmt.Errorf("%w; undoing the statement failed: %v", err, uerr))
		}
		return nil, err
	}
	if s.explicit {
		return &Result{RowsAffected: n}, nil
	}
	lsn, err := s.commitLSN(ctx)
	if err != nil {
		return nil, err
	}
	return &Result{RowsAffected: n, LSN: lsn}, nil
}

// undo reverses a failed statement's writes inside an explicit transaction.
func (s *Session) undo(entries []undoEntry) error {
	t := s.txn
	for i := len(entries) - 1; i >= 0; i-- {
		u := entries[i]
		var err error
		switch {
		case u.restore == nil:
			err = t.gtx.Delete(u.schema, u.key)
		case u.key == nil:
			_, err = t.gtx.Insert(u.schema, u.restore)
		default:
			_, err = t.gtx.Update(u.schema, u.key, u.restore)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ddl runs a catalog statement in its own transaction; MySQL commits an open transaction
// before DDL, and so does the engine. A statement on a table that open transactions use
// waits for them to end, at most the lock wait timeout, as MySQL's metadata locks make it.
func (s *Session) ddl(ctx context.Context, fn func(tx *sources.Txn) (*Result, func(), error)) (*Result, error) {
	if s.explicit || s.txn != nil {
		if err := s.commit(ctx); err != nil {
			return nil, err
		}
	}
	for {
		res, setAside, err := s.ddlOnce(ctx, fn)
		var inUse *sources.TableInUseError
		if !errors.As(err, &inUse) {
			if err == nil && setAside && !s.e.noPurge {
				// The DROP TABLE is committed; its purge goes on if the client goes away.
				if perr := s.e.purgeDropped(context.WithoutCancel(ctx)); perr != nil {
					s.e.log.Warn("purge of a dropped table stopped; it resumes at the next DROP TABLE or restart", "err", perr)
				}
			}
			return res, err
		}
		if err := s.e.store.WaitUnused(ctx, inUse, s.lockWaitTimeout()); err != nil {
			if ctx.Err() != nil {
				return nil, interrupted(ctx)
			}
			return nil, err
		}
	}
}

// ddlOnce is one attempt of ddl. setAside reports that it set a dropped table aside, to
// purge (purge.go).
func (s *Session) ddlOnce(ctx context.Context, fn func(tx *sources.Txn) (*Result, func(), error)) (*Result, bool, error) {
	if err := s.beginDDL(ctx); err != nil {
		return nil, false, err
	}
	t := s.txn
	defer func() {
		if s.txn != nil {
			s.rollback()
		}
	}()
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if s.e.closed {
		return nil, false, errEngineClosed
	}
	res, apply, err := fn(t.gtx)
	if err != nil {
		s.e.abandonDDL()
		return nil, false, err
	}
	if err := t.gtx.Commit(); err != nil {
		s.e.abandonDDL()
		return nil, false, fmt.Errorf("commit: %w", err)
	}
	// The catalog change is durable; now the engine's memory follows.
	if apply != nil {
		s.e.catMu.Lock()
		apply()
		s.e.catMu.Unlock()
	}
	s.txn = nil
	s.e.openTxn = nil
	<-s.e.writer
	if s.e.failed != nil {
		return nil, false, s.e.failed
	}
	return res, t.gtx.SetAside(), nil
}

// query runs a one-shot SELECT. The engine's lock is held only to plan it and take the
// snapshot of its sources; it is evaluated without the lock, so that a long query holds
// back no other statement, and another statement's work holds it back only that long.
func (s *Session) query(ctx context.Context, stmt sqlparser.TableStatement) (*Result, error) {
	if err := s.statementSnapshot(); err != nil {
		return nil, err
	}
	e := s.e
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errEngineClosed
	}
	q, err := sqlplan.PlanQuery(catalog{e}, stmt)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	reader := s.readTxn()
	if reader == nil {
		tx, err := e.store.Begin(false)
		if err != nil {
			e.mu.Unlock()
			return nil, fmt.Errorf("begin read: %w", err)
		}
		defer tx.Rollback()
		reader = tx
	}
	snap, err := e.readSnapshot(q, reader)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer snap.close()
	rows, err := evalQuery(ctx, q, snap, e.budget(ctx))
	if err != nil {
		return nil, err
	}
	return &Result{Columns: resultColumns(q.Columns()), Rows: rows}, nil
}

// readTxn is the session's open write transaction, whose own changes its reads must see.
func (s *Session) readTxn() *sources.Txn {
	if s.txn != nil {
		return s.txn.gtx
	}
	return nil
}
