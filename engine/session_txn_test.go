package engine_test

import (
	"context"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// execCode runs q and returns its MySQL error code (0 when it succeeds).
func execCode(s *engine.Session, q string) uint16 {
	_, err := s.Exec(context.Background(), q)
	if err == nil {
		return 0
	}
	return sqlerr.As(err).Code
}

// TestAutocommitOff: with autocommit = 0 a write opens a transaction that lasts until
// COMMIT or ROLLBACK (other sessions see nothing before), DDL commits it, and setting
// autocommit back to 1 commits it too.
func TestAutocommitOff(t *testing.T) {
	e := openEngine(t, engine.Options{})
	a, b := e.NewSession(), e.NewSession()
	defer a.Close()
	defer b.Close()
	mustExec(t, a, "CREATE TABLE t (id INT PRIMARY KEY)")
	mustExec(t, a, "SET autocommit = 0")
	if a.Autocommit() || a.InTransaction() {
		t.Fatalf("after SET autocommit = 0: autocommit %v, in transaction %v", a.Autocommit(), a.InTransaction())
	}
	mustExec(t, a, "INSERT INTO t VALUES (1)")
	if !a.InTransaction() {
		t.Fatal("a write with autocommit off did not open a transaction")
	}
	mustExec(t, a, "ROLLBACK")
	mustExec(t, a, "INSERT INTO t VALUES (2)")
	mustExec(t, a, "COMMIT")
	mustExec(t, a, "INSERT INTO t VALUES (3)")
	mustExec(t, a, "CREATE TABLE u (id INT PRIMARY KEY)") // commits 3 first
	mustExec(t, a, "INSERT INTO t VALUES (4)")
	mustExec(t, a, "SET @@autocommit = ON") // commits 4
	mustExec(t, a, "INSERT INTO t VALUES (5)")
	mustExec(t, a, "ROLLBACK") // nothing to undo: 5 was committed alone
	if got := rowsOf(t, b, "SELECT id FROM t"); len(got) != 4 || got[0] != "2" || got[3] != "5" {
		t.Fatalf("rows: %v, want 2, 3, 4, 5", got)
	}
	if a.InTransaction() || !a.Autocommit() {
		t.Fatalf("after autocommit on: in transaction %v", a.InTransaction())
	}
}

// TestTransactionCharacteristics: isolation levels and access modes, per session and for
// the next transaction, with MySQL's errors for what cannot be set.
func TestTransactionCharacteristics(t *testing.T) {
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	defer s.Close()
	mustExec(t, s, "CREATE TABLE t (id INT PRIMARY KEY)")
	if got := s.Isolation(); got != engine.DefaultIsolation {
		t.Fatalf("default isolation %q", got)
	}
	mustExec(t, s, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
	mustExec(t, s, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ") // the next one only
	if got := s.Isolation(); got != "REPEATABLE-READ" {
		t.Fatalf("next transaction's isolation %q", got)
	}
	mustExec(t, s, "BEGIN")
	if code := execCode(s, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"); code != sqlerr.TxnInProgress {
		t.Errorf("SET TRANSACTION inside a transaction: code %d, want %d", code, sqlerr.TxnInProgress)
	}
	mustExec(t, s, "COMMIT")
	if got := s.Isolation(); got != "READ-COMMITTED" {
		t.Fatalf("after the next transaction: isolation %q, want the session's READ-COMMITTED", got)
	}
	for _, q := range []string{
		"SET transaction_isolation = 'SNAPSHOT'",
		"SET autocommit = 2",
		"SET autocommit = 'maybe'",
		"SET max_execution_time = 5, autocommit = 7",
	} {
		if code := execCode(s, q); code != sqlerr.UnknownSysVarValue {
			t.Errorf("%s: code %d, want %d", q, code, sqlerr.UnknownSysVarValue)
		}
	}
	if s.MaxExecutionTime() != 0 || !s.Autocommit() {
		t.Errorf("a refused SET applied part of itself: max_execution_time %d", s.MaxExecutionTime())
	}
	if code := execCode(s, "SET GLOBAL autocommit = 0"); code != sqlerr.NotSupported {
		t.Errorf("SET GLOBAL autocommit: code %d", code)
	}

	mustExec(t, s, "START TRANSACTION READ ONLY")
	if !s.TransactionReadOnly() {
		t.Fatal("START TRANSACTION READ ONLY is not read-only")
	}
	if code := execCode(s, "INSERT INTO t VALUES (1)"); code != sqlerr.ReadOnlyTxn {
		t.Errorf("INSERT in a read-only transaction: code %d, want %d", code, sqlerr.ReadOnlyTxn)
	}
	mustExec(t, s, "SELECT * FROM t")
	mustExec(t, s, "COMMIT")
	mustExec(t, s, "SET SESSION transaction_read_only = ON")
	if code := execCode(s, "INSERT INTO t VALUES (1)"); code != sqlerr.ReadOnlyTxn {
		t.Errorf("autocommit INSERT with transaction_read_only: code %d, want %d", code, sqlerr.ReadOnlyTxn)
	}
	mustExec(t, s, "SET transaction_read_only = OFF")
	if got := rowsOf(t, s, "SELECT COUNT(*) FROM t"); got[0] != "0" {
		t.Fatalf("rows after refused writes: %v", got)
	}
	mustExec(t, s, "START TRANSACTION READ WRITE")
	mustExec(t, s, "INSERT INTO t VALUES (1)")
	mustExec(t, s, "COMMIT")
}
