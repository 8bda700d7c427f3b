package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

// TestMetricsAndHealth runs the server with metrics over real HTTP and MySQL connections and
// checks the engine's counters, the epoch and group commit histograms and the failed-login
// counter.
func TestMetricsAndHealth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := NewMetrics()
	e, err := engine.Open(ctx, engine.Options{Dir: t.TempDir(), ObserveEpoch: m.ObserveEpoch,
		ObserveGroupCommit: m.ObserveGroupCommit, MaintenanceInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := m.Attach(e); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	waitHTTP, err := m.StartHTTP(serveCtx, "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(e, Config{Addr: "127.0.0.1:0", User: "root", Password: "pw", Logger: log, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(serveCtx)
	httpAddr := m.Addr()

	db := openDB(t, srv.Addr(), "root", "pw")
	mustExec(t, ctx, db, `CREATE TABLE t (k INT PRIMARY KEY, g INT)`,
		`CREATE MATERIALIZED VIEW v AS SELECT g, COUNT(*) AS n FROM t GROUP BY g`,
		`INSERT INTO t VALUES (1, 1), (2, 1), (3, 2)`, `DELETE FROM t WHERE k = 3`)
	bad := openDB(t, srv.Addr(), "root", "wrong")
	if err := bad.PingContext(ctx); err == nil {
		t.Fatal("wrong password accepted")
	}

	// The view store is synced within a maintenance interval.
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		body = get(t, "http://"+httpAddr+"/metrics")
		if strings.Contains(body, "cdc_view_store_synced_lsn 2\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view store was not synced to LSN 2:\n%s", body)
		}
	}
	for _, want := range []string{
		"cdc_history_oldest_lsn 0\n",
		"cdc_log_head_lsn 2\n",
		"cdc_commits_total 2\n",
		`cdc_view_frontier_lsn{view="v"} 2` + "\n",
		`cdc_view_lag_lsn{view="v"} 0` + "\n",
		`cdc_view_rows{view="v"} 1` + "\n",
		`cdc_view_epochs_total{view="v"} 2` + "\n",
		`cdc_view_epoch_duration_seconds_count{view="v"} 2` + "\n",
		`cdc_view_subscribers{view="v"} 0` + "\n",
		// The INSERT and the DELETE, one transaction each.
		"cdc_group_commit_transactions_sum 2\n",
		"cdc_group_commit_transactions_count 2\n",
		"cdc_group_commit_sync_seconds_count 2\n",
		"cdc_mysql_auth_failures_total 1\n",
		"cdc_sessions ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if got := get(t, "http://"+httpAddr+"/healthz"); got != "ok\n" {
		t.Errorf("healthz: %q", got)
	}
	stop()
	if err := waitHTTP(); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
