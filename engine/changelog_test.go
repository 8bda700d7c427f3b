package engine_test

import (
	"context"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
)

// TestChangeLogHoldsEveryCommittedTransaction checks the change stream: one record per
// committed transaction with consecutive LSNs, each event with its before and after images,
// and nothing for rolled-back or failed transactions.
func TestChangeLogHoldsEveryCommittedTransaction(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, engine.Options{Dir: t.TempDir()})
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (k INT PRIMARY KEY, v TEXT)`)
	mustExec(t, s, `INSERT INTO t VALUES (1, 'a'), (2, 'b')`)
	mustExec(t, s, `BEGIN`)
	mustExec(t, s, `UPDATE t SET v = 'c' WHERE k = 1`)
	mustExec(t, s, `DELETE FROM t WHERE k = 2`)
	mustExec(t, s, `COMMIT`)
	mustExec(t, s, `BEGIN`)
	mustExec(t, s, `INSERT INTO t VALUES (3, 'x')`)
	mustExec(t, s, `ROLLBACK`)
	if _, err := s.Exec(ctx, `INSERT INTO t VALUES (4, 'y'), (1, 'dup')`); err == nil {
		t.Fatal("duplicate key accepted")
	}
	var txns []*changelogpb.Transaction
	if err := e.ReadLog(0, func(tx *changelogpb.Transaction) error { txns = append(txns, tx); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(txns) != 2 || txns[0].Lsn != 1 || txns[1].Lsn != 2 || e.LSN() != 2 {
		t.Fatalf("log has %d transactions (LSN head %d): %v", len(txns), e.LSN(), txns)
	}
	type event struct {
		op            changelogpb.ChangeEvent_Op
		before, after string
	}
	image := func(r *changelogpb.Row) string {
		if r == nil {
			return ""
		}
		row, err := sources.DecodeRow(r)
		if err != nil {
			t.Fatal(err)
		}
		return row.String()
	}
	var got []event
	for _, tx := range txns {
		for _, ev := range tx.Events {
			if ev.Lsn != tx.Lsn || ev.Table != "t" {
				t.Fatalf("event %v in transaction %d", ev, tx.Lsn)
			}
			got = append(got, event{ev.Op, image(ev.Before), image(ev.After)})
		}
	}
	want := []event{
		{changelogpb.ChangeEvent_INSERT, "", "1\ta"},
		{changelogpb.ChangeEvent_INSERT, "", "2\tb"},
		{changelogpb.ChangeEvent_UPDATE, "1\ta", "1\tc"},
		{changelogpb.ChangeEvent_DELETE, "2\tb", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d: %v, want %v", i, got[i], want[i])
		}
	}
}
