package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/slt"
	"github.com/cdc-dev/cdc/sqlplan"
)

// fuzzSchema is the schema FuzzExec runs every input against: three tables with a few
// rows, a materialized view over a join and one over a GROUP BY.
var fuzzSchema = []string{
	"CREATE TABLE a (id INT PRIMARY KEY, x INT, s VARCHAR(10), d DECIMAL(8,2), ts DATETIME)",
	"CREATE TABLE b (id INT, y BIGINT, t TEXT)",
	"CREATE TABLE t (id INT PRIMARY KEY)",
	"CREATE TABLE big (n INT)",
	"INSERT INTO a VALUES (1, 10, 'one', 1.50, '2026-01-02 03:04:05'), (2, NULL, 'two', -2.25, NULL), (3, 10, NULL, NULL, '2026-02-01')",
	"INSERT INTO b VALUES (1, -5, 'x'), (1, 7, ''), (NULL, 0, 'z'), (3, NULL, NULL)",
	"INSERT INTO t VALUES (5)",
	"INSERT INTO big VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15), (16)",
	"CREATE MATERIALIZED VIEW ab AS SELECT a.id, a.s, b.y, b.t FROM a JOIN b ON a.id = b.id",
	"CREATE MATERIALIZED VIEW byx AS SELECT x, COUNT(*) AS n, SUM(d) AS total, MAX(s) AS top FROM a GROUP BY x",
}

// fuzzTimeout bounds the statements of one input.
const fuzzTimeout = 2 * time.Second

// fuzzGrace is how long past fuzzTimeout the statements may take to notice it before the
// input fails as one that hangs.
const fuzzGrace = 20 * time.Second

// fuzzProbes are the seed inputs beyond the sqllogictest statements: slow, odd or huge ones.
func fuzzProbes() []string {
	return []string{
		"SELECT COUNT(*) FROM big a, big b",
		"SELECT COUNT(*) FROM big a, big b WHERE a.id <> b.id",
		"CREATE MATERIALIZED VIEW x AS SELECT * FROM a, b",
		"CREATE TABLE `\xff\xfe` (id INT)",
		"CREATE TABLE `a\x00b` (id INT)",
		"BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); COMMIT",
		"SET max_execution_time = 2000",
		"SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1",
		"KILL QUERY 1",
		"INSERT INTO b VALUES (9, 9, '" + strings.Repeat("x", 1<<20) + "')",
		"BEGIN; UPDATE a SET x = x + 1; DELETE FROM b WHERE id = 1; INSERT INTO b VALUES (2, 2, 'w'); COMMIT",
		"BEGIN; DELETE FROM a; ROLLBACK; VERIFY VIEWS",
		"DROP MATERIALIZED VIEW ab; CREATE MATERIALIZED VIEW ab AS SELECT b.t, COUNT(*) FROM b LEFT JOIN a ON a.id = b.id GROUP BY b.t",
	}
}

// sltScripts returns the SQL of every statement and query record of ../testdata/*.slt, each
// alone, and windows of consecutive records after the file's CREATE TABLE statements, so
// that queries find their tables.
func sltScripts(tb testing.TB) []string {
	tb.Helper()
	scripts, err := slt.ParseGlob(filepath.Join("..", "testdata", "*.slt"))
	if err != nil {
		tb.Fatal(err)
	}
	const window = 12
	var out []string
	for _, recs := range scripts {
		stmts := slt.Statements([][]slt.Record{recs})
		var creates []string
		for _, q := range stmts {
			if strings.HasPrefix(strings.ToUpper(q), "CREATE TABLE") {
				creates = append(creates, q)
			}
		}
		out = append(out, stmts...)
		for i := 0; i < len(stmts); i += window {
			part := append(append([]string(nil), creates...), stmts[i:min(i+window, len(stmts))]...)
			out = append(out, strings.Join(part, ";\n"))
		}
	}
	return out
}

// needsNetwork reports whether a statement is one FuzzExec leaves out: sources and sinks
// reach object stores.
func needsNetwork(stmt string) bool {
	st, err := sqlplan.Parse(stmt)
	if err != nil {
		return false
	}
	switch st.(type) {
	case *sqlplan.CreateSource, *sqlplan.CreateSink:
		return true
	}
	return false
}

// openFuzzEngine opens an in-memory engine holding fuzzSchema.
func openFuzzEngine(tb testing.TB) *engine.Engine {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := engine.Open(ctx, engine.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatalf("open engine: %v", err)
	}
	s := e.NewSession()
	defer s.Close()
	for _, sql := range fuzzSchema {
		if _, err := s.Exec(ctx, sql); err != nil {
			e.Close()
			tb.Fatalf("%s: %v", sql, err)
		}
	}
	return e
}

// isInternal reports whether err is a panic or another internal error reaching a user.
func isInternal(err error) bool {
	return err != nil && strings.Contains(err.Error(), "internal error")
}

// FuzzExec runs arbitrary statements on a fresh in-memory engine holding fuzzSchema. No
// statement may fail with an internal error (a recovered panic), and afterwards every
// materialized view must equal its query evaluated from scratch.
func FuzzExec(f *testing.F) {
	for _, s := range sltScripts(f) {
		f.Add(s)
	}
	for _, s := range fuzzProbes() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		stmts, err := engine.SplitStatements(script)
		if err != nil || len(stmts) == 0 {
			return
		}
		for _, st := range stmts {
			if needsNetwork(st) {
				return
			}
		}
		e := openFuzzEngine(t)
		defer e.Close()
		done := make(chan error, 1)
		go func() { done <- runFuzzStatements(e, stmts) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(fuzzTimeout + fuzzGrace):
			t.Fatalf("statements still running %v after their %v deadline", fuzzGrace, fuzzTimeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), fuzzGrace)
		defer cancel()
		res, err := e.Verify(ctx, "")
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		for _, r := range res {
			if !r.OK() {
				t.Errorf("view %s at LSN %d: %d rows missing, %d unexpected: %v", r.View, r.LSN, r.Missing, r.Unexpected, r.Differences)
			}
		}
	})
}

// runFuzzStatements runs the statements on one session under fuzzTimeout and returns the
// first internal error; other errors are the expected answers to bad input.
func runFuzzStatements(e *engine.Engine, stmts []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), fuzzTimeout)
	defer cancel()
	s := e.NewSession()
	defer s.Close()
	for _, sql := range stmts {
		res, err := s.Exec(ctx, sql)
		if isInternal(err) {
			return fmt.Errorf("%s: %w", sql, err)
		}
		if res != nil && res.Tail != nil {
			res.Tail.Close()
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil
		}
	}
	return nil
}
