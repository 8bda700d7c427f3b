package engine

import (
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

// set runs SET: max_execution_time (milliseconds, 0 for none) is kept for the session; other
// session variables (NAMES, autocommit, sql_mode, ...) are accepted and ignored.
func (s *Session) set(st *sqlparser.Set) (*Result, error) {
	for _, ex := range st.Exprs {
		if ex.Var == nil || !strings.EqualFold(ex.Var.Name.String(), "max_execution_time") {
			continue
		}
		if ex.Var.Scope == sqlparser.GlobalScope || ex.Var.Scope == sqlparser.PersistSysScope || ex.Var.Scope == sqlparser.PersistOnlySysScope {
			return nil, sqlerr.New(sqlerr.NotSupported, "SET GLOBAL max_execution_time is not supported: set it per session")
		}
		conv, err := sqlplan.BindExpr(nil, ex.Expr)
		if err != nil {
			return nil, err
		}
		d, err := conv.Eval(nil)
		if err != nil {
			return nil, err
		}
		ms := d.Int()
		if d.Kind() != dataflow.KindInt || ms < 0 {
			return nil, sqlerr.New(sqlerr.WrongValue, "Variable 'max_execution_time' can't be set to the value of '%s'", d.String())
		}
		s.maxExecTime = time.Duration(ms) * time.Millisecond
	}
	return &Result{}, nil
}

// MaxExecutionTime is the session's max_execution_time in milliseconds.
func (s *Session) MaxExecutionTime() int64 { return s.maxExecTime.Milliseconds() }
