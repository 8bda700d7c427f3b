package sources

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cdc-dev/cdc/sqlerr"
)

// Table use by open transactions, as MySQL's metadata locks. Genji's read transactions hold
// a shared lock on every table they read until they end, and a DDL statement that drops or
// rebuilds a table waits for them without a timeout. A staged transaction stays open as long
// as its client likes, so the store tracks which tables staged transactions use: a DDL
// statement on a table in use fails at once with TableInUseError (before Genji would block
// while the engine holds its locks), the engine waits for the table outside its locks
// (WaitUnused, bounded by the lock wait timeout) and tries again; and meanwhile (fences) a
// staged transaction's first use of the table waits for the DDL statement.

// tableUse is the store's record of tables in use.
type tableUse struct {
	mu     sync.Mutex
	users  map[string]map[*Txn]struct{} // Genji table name -> staged transactions using it
	fences map[string]int               // Genji table name -> DDL statements changing it or waiting to
}

// TableInUseError is the refusal of a DDL statement on a table open transactions use.
type TableInUseError struct {
	Table string // user name
	gname string
	Users int
}

func (e *TableInUseError) Error() string {
	return fmt.Sprintf("table %s is used by %d open transaction(s)", e.Table, e.Users)
}

// fenceWait is how long a staged transaction's first use of a table waits for a DDL
// statement on it before failing with ER_LOCK_WAIT_TIMEOUT.
const fenceWait = 10 * time.Second

// usePoll is how often waits for table use re-check it.
const usePoll = 2 * time.Millisecond

// use records that the staged transaction t uses table gname (its snapshot holds Genji's
// shared lock on it from now on), after waiting for a DDL statement on it.
func (t *Txn) use(gname string) error {
	if t.staged == nil || t.used[gname] {
		return nil
	}
	u := &t.s.use
	deadline := time.Now().Add(fenceWait)
	for {
		u.mu.Lock()
		if u.fences[gname] == 0 {
			if u.users[gname] == nil {
				u.users[gname] = map[*Txn]struct{}{}
			}
			u.users[gname][t] = struct{}{}
			u.mu.Unlock()
			break
		}
		u.mu.Unlock()
		if time.Now().After(deadline) {
			return sqlerr.New(sqlerr.LockWaitTimeout, "Lock wait timeout exceeded; try restarting transaction (a DDL statement on the table held it for %v)", fenceWait)
		}
		time.Sleep(usePoll)
	}
	if t.used == nil {
		t.used = map[string]bool{}
	}
	t.used[gname] = true
	return nil
}

// unuse forgets the tables the transaction used (its Genji transaction ended).
func (t *Txn) unuse() {
	if len(t.used) == 0 {
		return
	}
	u := &t.s.use
	u.mu.Lock()
	for g := range t.used {
		delete(u.users[g], t)
		if len(u.users[g]) == 0 {
			delete(u.users, g)
		}
	}
	u.mu.Unlock()
	t.used = nil
}

// claim fences table gname (user name name) for the DDL transaction t until it ends, or
// returns a TableInUseError if staged transactions use it.
func (t *Txn) claim(name, gname string) error {
	u := &t.s.use
	u.mu.Lock()
	defer u.mu.Unlock()
	if n := len(u.users[gname]); n > 0 {
		return &TableInUseError{Table: name, gname: gname, Users: n}
	}
	u.fences[gname]++
	t.fenced = append(t.fenced, gname)
	return nil
}

// unfence lifts the fences of a DDL transaction that ended.
func (t *Txn) unfence() {
	if len(t.fenced) == 0 {
		return
	}
	u := &t.s.use
	u.mu.Lock()
	for _, g := range t.fenced {
		u.lift(g)
	}
	u.mu.Unlock()
	t.fenced = nil
}

// lift removes one fence of table gname; called with u.mu held.
func (u *tableUse) lift(gname string) {
	if u.fences[gname]--; u.fences[gname] <= 0 {
		delete(u.fences, gname)
	}
}

// WaitUnused waits until no open transaction uses the table of e, fencing it meanwhile so
// that no new one starts to; it fails with ER_LOCK_WAIT_TIMEOUT after timeout.
func (s *Store) WaitUnused(ctx context.Context, e *TableInUseError, timeout time.Duration) error {
	u := &s.use
	u.mu.Lock()
	u.fences[e.gname]++
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.lift(e.gname)
		u.mu.Unlock()
	}()
	deadline := time.Now().Add(timeout)
	for {
		u.mu.Lock()
		n := len(u.users[e.gname])
		u.mu.Unlock()
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return sqlerr.New(sqlerr.LockWaitTimeout, "Lock wait timeout exceeded; try restarting transaction (table %s is used by %d open transaction(s), which must end before it can change; see innodb_lock_wait_timeout)", e.Table, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(usePoll):
		}
	}
}
