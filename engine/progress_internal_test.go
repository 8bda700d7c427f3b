package engine

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBuildLogsProgress checks what a large build writes to the log: its start with the
// rows it reads, its progress while it runs, and its end; a small one writes nothing.
func TestBuildLogsProgress(t *testing.T) {
	defer func(rows int64, every time.Duration) { buildLogRows, buildLogEvery = rows, every }(buildLogRows, buildLogEvery)
	buildLogRows = 500
	var buf bytes.Buffer
	e, err := Open(context.Background(), Options{Dir: t.TempDir(), HydrationStep: 100, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession()
	defer s.Close()
	var values []string
	for i := range 1000 {
		values = append(values, "("+strconv.Itoa(i)+")")
	}
	execAll(t, s, "CREATE TABLE t (k INT PRIMARY KEY)", "CREATE TABLE small (k INT PRIMARY KEY)", "INSERT INTO t VALUES "+strings.Join(values, ","),
		"INSERT INTO small VALUES (1)")
	buf.Reset()
	execAll(t, s, "CREATE MATERIALIZED VIEW small_v AS SELECT k FROM small")
	if buf.Len() != 0 {
		t.Errorf("the build of a one-row view logged:\n%s", buf.String())
	}
	buildLogEvery = 0 // every step
	execAll(t, s, "CREATE MATERIALIZED VIEW v AS SELECT k FROM t WHERE k % 2 = 0")
	log := buf.String()
	for _, want := range []string{
		`msg="building materialized view" view=v rows_to_read=1000`,
		`msg="building materialized view" view=v rows_read=500 rows_to_read=1000 rows=250`,
		`msg="built materialized view" view=v rows_read=1000 rows=500`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log has no %s:\n%s", want, log)
		}
	}
}
