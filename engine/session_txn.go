package engine

import (
	"context"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// txnChars are a session's transaction characteristics, as MySQL's variables autocommit,
// transaction_isolation and transaction_read_only. The zero value is the default session:
// autocommit on, DefaultIsolation, read-write.
type txnChars struct {
	noAutocommit bool
	// isolation is the session's level ("" for the default); nextIsolation, if set, is the
	// level of the next transaction only (SET TRANSACTION without SESSION).
	isolation, nextIsolation string
	// sessionReadOnly is transaction_read_only of the session; nextReadOnly (with
	// hasNextReadOnly) that of the next transaction only.
	sessionReadOnly, nextReadOnly, hasNextReadOnly bool
	// readOnly and txnIsolation are the open transaction's access mode and level.
	readOnly     bool
	txnIsolation string
}

// DefaultIsolation is the level a session starts with, MySQL's default. The engine runs
// transactions under snapshot isolation, as PostgreSQL's REPEATABLE READ: a transaction reads
// the snapshot of the last commit before its first statement (with its own writes over it),
// and of two transactions that write one row the first to commit wins, the other's COMMIT
// failing with 1213 (40001). SERIALIZABLE also fails a transaction at COMMIT when a row it
// read by key, or a table it scanned, was written since its snapshot; READ COMMITTED (and
// READ UNCOMMITTED, which runs as it) takes a new snapshot at each statement.
const DefaultIsolation = "REPEATABLE-READ"

// isolationLevels are the values transaction_isolation accepts, by their normalised form.
var isolationLevels = map[string]string{
	"READ-UNCOMMITTED": "READ-UNCOMMITTED",
	"READ-COMMITTED":   "READ-COMMITTED",
	"REPEATABLE-READ":  "REPEATABLE-READ",
	"SERIALIZABLE":     "SERIALIZABLE",
}

// Autocommit reports the session's autocommit.
func (s *Session) Autocommit() bool { return !s.chars.noAutocommit }

// Isolation is what @@transaction_isolation reports: the level of the next transaction (or
// of the open one).
func (s *Session) Isolation() string {
	switch {
	case s.txn != nil && s.chars.txnIsolation != "":
		return s.chars.txnIsolation
	case s.chars.nextIsolation != "":
		return s.chars.nextIsolation
	case s.chars.isolation != "":
		return s.chars.isolation
	}
	return DefaultIsolation
}

// TransactionReadOnly is what @@transaction_read_only reports.
func (s *Session) TransactionReadOnly() bool {
	switch {
	case s.txn != nil:
		return s.chars.readOnly
	case s.chars.hasNextReadOnly:
		return s.chars.nextReadOnly
	}
	return s.chars.sessionReadOnly
}

// startCharacteristics fixes the characteristics of the transaction just begun (by BEGIN
// with its access modes, or implicitly with autocommit off) and clears the next-transaction
// ones.
func (s *Session) startCharacteristics(modes []sqlparser.TxAccessMode) {
	c := &s.chars
	c.txnIsolation = s.Isolation()
	c.readOnly = c.sessionReadOnly
	if c.hasNextReadOnly {
		c.readOnly = c.nextReadOnly
	}
	for _, m := range modes {
		switch m {
		case sqlparser.ReadOnly:
			c.readOnly = true
		case sqlparser.ReadWrite:
			c.readOnly = false
		}
	}
	c.nextIsolation, c.hasNextReadOnly = "", false
}

// setCharacteristic checks one SET assignment of a transaction characteristic and returns
// the function that makes it (ok is false for other variables). Setting autocommit to 1
// commits the open transaction, as in MySQL; the next-transaction characteristics cannot
// change inside a transaction (1568).
func (s *Session) setCharacteristic(ctx context.Context, name string, ex *sqlparser.SetExpr) (apply func() error, ok bool, err error) {
	scope := ex.Var.Scope
	switch name {
	case "autocommit", "transaction_isolation", "tx_isolation", "transaction_read_only", "tx_read_only":
	default:
		return nil, false, nil
	}
	if scope == sqlparser.GlobalScope || scope == sqlparser.PersistSysScope || scope == sqlparser.PersistOnlySysScope {
		return nil, true, sqlerr.New(sqlerr.NotSupported, "SET GLOBAL %s is not supported: set it per session", name)
	}
	val, err := setValue(ex.Expr)
	if err != nil {
		return nil, true, err
	}
	next := scope == sqlparser.NextTxScope
	switch name {
	case "autocommit":
		on, err := switchValue(name, val)
		if err != nil {
			return nil, true, err
		}
		return func() error {
			if on && s.chars.noAutocommit && s.explicit && s.txn != nil {
				if err := s.commit(ctx); err != nil {
					return err
				}
			}
			s.chars.noAutocommit = !on
			return nil
		}, true, nil
	case "transaction_isolation", "tx_isolation":
		level, ok := isolationLevels[strings.ToUpper(strings.NewReplacer(" ", "-", "_", "-").Replace(strings.TrimSpace(val.String())))]
		if !ok || val.Kind() != dataflow.KindString {
			return nil, true, sqlerr.New(sqlerr.UnknownSysVarValue, "Variable '%s' can't be set to the value of '%s'", name, val.String())
		}
		if next && s.explicit {
			return nil, true, sqlerr.New(sqlerr.TxnInProgress, "Transaction characteristics can't be changed while a transaction is in progress")
		}
		return func() error {
			if next {
				s.chars.nextIsolation = level
			} else {
				s.chars.isolation, s.chars.nextIsolation = level, ""
			}
			return nil
		}, true, nil
	default:
		on, err := switchValue(name, val)
		if err != nil {
			return nil, true, err
		}
		if next && s.explicit {
			return nil, true, sqlerr.New(sqlerr.TxnInProgress, "Transaction characteristics can't be changed while a transaction is in progress")
		}
		return func() error {
			if next {
				s.chars.nextReadOnly, s.chars.hasNextReadOnly = on, true
			} else {
				s.chars.sessionReadOnly, s.chars.hasNextReadOnly = on, false
			}
			return nil
		}, true, nil
	}
}

// setValue evaluates the right side of a SET assignment; a bare word (ON, OFF) is a string.
func setValue(e sqlparser.Expr) (dataflow.Datum, error) {
	if c, ok := e.(*sqlparser.ColName); ok && c.Qualifier.IsEmpty() {
		return dataflow.NewString(c.Name.String()), nil
	}
	conv, err := sqlplan.BindExpr(nil, e)
	if err != nil {
		return dataflow.Datum{}, err
	}
	return conv.Eval(nil)
}

// switchValue reads an ON/OFF variable: 1, 0, ON, OFF, TRUE, FALSE.
func switchValue(name string, d dataflow.Datum) (bool, error) {
	switch d.Kind() {
	case dataflow.KindInt:
		switch d.Int() {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
	case dataflow.KindString:
		switch strings.ToUpper(d.String()) {
		case "ON", "TRUE", "1":
			return true, nil
		case "OFF", "FALSE", "0":
			return false, nil
		}
	}
	return false, sqlerr.New(sqlerr.UnknownSysVarValue, "Variable '%s' can't be set to the value of '%s'", name, d.String())
}
