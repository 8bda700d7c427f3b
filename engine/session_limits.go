package engine

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// maxExecutionTimeHint finds MySQL's optimizer hint MAX_EXECUTION_TIME(ms) in a comment.
var maxExecutionTimeHint = regexp.MustCompile(`(?is)^/\*\+.*\bMAX_EXECUTION_TIME\s*\(\s*(\d+)\s*\)`)

// timeLimit is how long stmt may run: for a SELECT, its MAX_EXECUTION_TIME hint or the
// session's max_execution_time, as in MySQL (other statements are not limited by it); 0
// means no limit.
func (s *Session) timeLimit(stmt sqlplan.Statement) time.Duration {
	v, ok := stmt.(*sqlplan.Vitess)
	if !ok {
		return 0
	}
	ts, ok := v.Stmt.(sqlparser.TableStatement)
	if !ok {
		return 0
	}
	if c, ok := ts.(sqlparser.Commented); ok && c.GetParsedComments() != nil {
		for _, comment := range c.GetParsedComments().GetComments() {
			if m := maxExecutionTimeHint.FindStringSubmatch(comment); m != nil {
				if ms, err := strconv.ParseInt(m[1], 10, 64); err == nil && ms > 0 {
					return time.Duration(ms) * time.Millisecond
				}
			}
		}
	}
	return s.maxExecTime
}

// DefaultLockWaitTimeout is how long a write waits for another session's open transaction
// before it fails with ER_LOCK_WAIT_TIMEOUT, as InnoDB's default.
const DefaultLockWaitTimeout = 50 * time.Second

// lockWaitTimeout is the session's innodb_lock_wait_timeout.
func (s *Session) lockWaitTimeout() time.Duration {
	if s.lockWait > 0 {
		return s.lockWait
	}
	return DefaultLockWaitTimeout
}

// set runs SET: max_execution_time (milliseconds, 0 for none) and innodb_lock_wait_timeout
// (or lock_wait_timeout, seconds) are kept for the session, and so are the transaction
// characteristics (autocommit, transaction_isolation, transaction_read_only: see
// setCharacteristic); other session variables (NAMES, sql_mode, ...) are accepted and
// ignored. The statement is checked whole before any of its assignments takes effect.
func (s *Session) set(ctx context.Context, st *sqlparser.Set) (*Result, error) {
	var apply []func() error
	for _, ex := range st.Exprs {
		if ex.Var == nil {
			continue
		}
		name := strings.ToLower(ex.Var.Name.String())
		if fn, ok, err := s.setCharacteristic(ctx, name, ex); ok {
			if err != nil {
				return nil, err
			}
			apply = append(apply, fn)
			continue
		}
		if name != "max_execution_time" && name != "innodb_lock_wait_timeout" && name != "lock_wait_timeout" {
			continue
		}
		if ex.Var.Scope == sqlparser.GlobalScope || ex.Var.Scope == sqlparser.PersistSysScope || ex.Var.Scope == sqlparser.PersistOnlySysScope {
			return nil, sqlerr.New(sqlerr.NotSupported, "SET GLOBAL %s is not supported: set it per session", name)
		}
		conv, err := sqlplan.BindExpr(nil, ex.Expr)
		if err != nil {
			return nil, err
		}
		d, err := conv.Eval(nil)
		if err != nil {
			return nil, err
		}
		n := d.Int()
		if d.Kind() != dataflow.KindInt || n < 0 || (name != "max_execution_time" && n == 0) {
			return nil, sqlerr.New(sqlerr.WrongValue, "Variable '%s' can't be set to the value of '%s'", name, d.String())
		}
		if name == "max_execution_time" {
			apply = append(apply, func() error { s.maxExecTime = time.Duration(n) * time.Millisecond; return nil })
		} else {
			apply = append(apply, func() error { s.lockWait = time.Duration(min(n, 1<<30)) * time.Second; return nil })
		}
	}
	for _, fn := range apply {
		if err := fn(); err != nil {
			return nil, err
		}
	}
	return &Result{}, nil
}

// LockWaitTimeout is the session's innodb_lock_wait_timeout in seconds.
func (s *Session) LockWaitTimeout() int64 { return int64(s.lockWaitTimeout() / time.Second) }

// MaxExecutionTime is the session's max_execution_time in milliseconds.
func (s *Session) MaxExecutionTime() int64 { return s.maxExecTime.Milliseconds() }
