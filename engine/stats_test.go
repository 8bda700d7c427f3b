package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

func TestStats(t *testing.T) {
	ctx := context.Background()
	observed := map[string]int{}
	e := openEngine(t, engine.Options{ObserveEpoch: func(view string, d time.Duration) { observed[view]++ }})
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (k INT PRIMARY KEY, g INT)`)
	mustExec(t, s, `CREATE TABLE u (x INT)`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW v AS SELECT g FROM t`)
	sub, err := e.Subscribe(ctx, "v", engine.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	mustExec(t, s, `INSERT INTO t VALUES (1, 5), (2, 5)`)
	mustExec(t, s, `INSERT INTO u VALUES (1)`)
	mustExec(t, s, `UPDATE t SET g = 6 WHERE k = 1`)
	st := e.Stats()
	if st.LogHead != 3 || st.Commits != 3 || st.Sessions != 1 || len(st.Views) != 1 {
		t.Fatalf("stats %+v", st)
	}
	v := st.Views[0]
	want := engine.ViewStats{Name: "v", Frontier: 3, Rows: 2, Epochs: 2, Subscribers: 1, RowsSent: 3}
	if v != want {
		t.Fatalf("view stats %+v, want %+v", v, want)
	}
	if observed["v"] != 2 {
		t.Fatalf("epoch observations %v", observed)
	}
	s.Close()
	s.Close()
	if n := e.Stats().Sessions; n != 0 {
		t.Fatalf("sessions %d after Close", n)
	}
}
