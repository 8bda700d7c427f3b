package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cdc-dev/cdc/engine"
)

// startServer runs an in-memory engine behind the server on a free port and returns its
// address; cleanup stops both.
func startServer(t *testing.T, password string) string {
	return startServerFull(t, password).Addr()
}

// startServerFull is startServer returning the server.
func startServerFull(t *testing.T, password string) *Server {
	t.Helper()
	srv := newTestServer(t, Config{Password: password})
	serveInTest(t, srv)
	return srv
}

// newTestServer creates a server on a free port of 127.0.0.1 over an in-memory engine, with
// cfg's other settings (user root and discarded logs unless set); cleanup closes the
// listener (if Serve never ran) and the engine, after the cleanup serveInTest registers.
func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e, err := engine.Open(ctx, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = "127.0.0.1:0"
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	srv, err := New(e, cfg)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.listener.Close()
		if err := e.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	return srv
}

// serveInTest runs srv.Serve until cleanup, which checks that it returns.
func serveInTest(t *testing.T, srv *Server) {
	t.Helper()
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after shutdown")
		}
	})
}

// openConns counts the server's open connections.
func (s *Server) openConns() int {
	s.h.conns.mu.Lock()
	defer s.h.conns.mu.Unlock()
	return len(s.h.conns.open)
}

// openDB opens a database/sql handle on the server.
func openDB(t *testing.T, addr, user, password string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/?timeout=5s&readTimeout=20s&writeTimeout=5s", user, password, addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testCtx is a context that ends the test's statements if they hang.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustExec runs statements, failing the test on error.
func mustExec(t *testing.T, ctx context.Context, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// queryStrings runs a query and returns its rows as strings ("NULL" for NULL).
func queryStrings(t *testing.T, ctx context.Context, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		out = append(out, scanStrings(t, rows))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// scanStrings scans the current row as strings.
func scanStrings(t *testing.T, rows *sql.Rows) []string {
	t.Helper()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(cols))
	for i, v := range vals {
		out[i] = "NULL"
		if v.Valid {
			out[i] = v.String
		}
	}
	return out
}

// sameRows compares query output with the expected rows.
func sameRows(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func TestQueryAndViews(t *testing.T) {
	addr := startServer(t, "secret")
	db := openDB(t, addr, "root", "secret")
	ctx := testCtx(t)
	mustExec(t, ctx, db,
		"CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), score DOUBLE)",
		"INSERT INTO t VALUES (1, 'a', 1.5), (2, 'b', NULL), (3, 'a', 2)",
		"CREATE MATERIALIZED VIEW v AS SELECT name, COUNT(*) AS n FROM t GROUP BY name",
	)
	res, err := db.ExecContext(ctx, "UPDATE t SET name = 'c' WHERE id = 2")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("UPDATE rows affected = %d, want 1", n)
	}
	sameRows(t, "table", queryStrings(t, ctx, db, "SELECT id, name, score FROM t ORDER BY id"),
		[][]string{{"1", "a", "1.5"}, {"2", "c", "NULL"}, {"3", "a", "2"}})
	sameRows(t, "view", queryStrings(t, ctx, db, "SELECT name, n FROM v ORDER BY name"),
		[][]string{{"a", "2"}, {"c", "1"}})

	// Typed scans work with the column types sent.
	var id int64
	var score float64
	if err := db.QueryRowContext(ctx, "SELECT id, score FROM t WHERE id = 1").Scan(&id, &score); err != nil {
		t.Fatal(err)
	}
	if id != 1 || score != 1.5 {
		t.Errorf("scan: id=%d score=%v", id, score)
	}

	// What clients ask on connect.
	sameRows(t, "version_comment", queryStrings(t, ctx, db, "SELECT @@version_comment LIMIT 1"), [][]string{{"cdc"}})
	sameRows(t, "database", queryStrings(t, ctx, db, "select database()"), [][]string{{"cdc"}})
	sameRows(t, "databases", queryStrings(t, ctx, db, "SHOW DATABASES"), [][]string{{"cdc"}})
	mustExec(t, ctx, db, "SET NAMES utf8mb4", "SET autocommit=1", "USE cdc")
}

func TestErrors(t *testing.T) {
	addr := startServer(t, "secret")
	db := openDB(t, addr, "root", "secret")
	ctx := testCtx(t)
	mustExec(t, ctx, db, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	_, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1062 || string(me.SQLState[:]) != "23000" {
		t.Errorf("duplicate key: got %v, want MySQL error 1062 (23000)", err)
	}
	_, err = db.QueryContext(ctx, "SELECT * FROM missing")
	if !errors.As(err, &me) || me.Number != 1146 || string(me.SQLState[:]) != "42S02" {
		t.Errorf("missing table: got %v, want MySQL error 1146 (42S02)", err)
	}
	// The connection still works after errors.
	sameRows(t, "after errors", queryStrings(t, ctx, db, "SELECT id FROM t"), [][]string{{"1"}})
}

func TestWrongPassword(t *testing.T) {
	addr := startServer(t, "secret")
	ctx := testCtx(t)
	for _, c := range []struct{ user, password string }{{"root", "wrong"}, {"root", ""}, {"other", "secret"}} {
		err := openDB(t, addr, c.user, c.password).PingContext(ctx)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1045 {
			t.Errorf("user %q password %q: got %v, want MySQL error 1045", c.user, c.password, err)
		}
	}
	if err := openDB(t, addr, "root", "secret").PingContext(ctx); err != nil {
		t.Errorf("right password: %v", err)
	}
}

func TestEmptyPassword(t *testing.T) {
	addr := startServer(t, "")
	ctx := testCtx(t)
	if err := openDB(t, addr, "root", "").PingContext(ctx); err != nil {
		t.Errorf("empty password: %v", err)
	}
}

func TestTail(t *testing.T) {
	srv := startServerFull(t, "")
	addr := srv.Addr()
	db := openDB(t, addr, "root", "")
	ctx := testCtx(t)
	mustExec(t, ctx, db,
		"CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO t VALUES (1, 'a')",
		"CREATE MATERIALIZED VIEW v AS SELECT id, name FROM t",
	)

	tailDB := openDB(t, addr, "root", "")
	tailCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := tailDB.Conn(tailCtx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(tailCtx, "TAIL v")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if fmt.Sprint(cols) != "[lsn diff id name]" {
		t.Errorf("TAIL columns = %v", cols)
	}
	if !rows.Next() {
		t.Fatalf("no snapshot row: %v", rows.Err())
	}
	snap := scanStrings(t, rows)
	if snap[1] != "1" || snap[2] != "1" || snap[3] != "a" {
		t.Errorf("snapshot row = %v, want [lsn 1 1 a]", snap)
	}

	res, err := db.ExecContext(ctx, "INSERT INTO t VALUES (2, 'b')")
	if err != nil {
		t.Fatal(err)
	}
	_ = res
	if !rows.Next() {
		t.Fatalf("no change row: %v", rows.Err())
	}
	got := scanStrings(t, rows)
	var snapLSN, lsn int64
	fmt.Sscan(snap[0], &snapLSN)
	fmt.Sscan(got[0], &lsn)
	if lsn <= snapLSN || got[1] != "1" || got[2] != "2" || got[3] != "b" {
		t.Errorf("change row = %v, want [lsn>%d 1 2 b]", got, snapLSN)
	}

	mustExec(t, ctx, db, "DELETE FROM t WHERE id = 1")
	if !rows.Next() {
		t.Fatalf("no retraction row: %v", rows.Err())
	}
	if got := scanStrings(t, rows); got[1] != "-1" || got[2] != "1" || got[3] != "a" {
		t.Errorf("retraction row = %v, want [lsn -1 1 a]", got)
	}

	// Cancelling ends the stream; the server notices and the other connection still works.
	before := srv.openConns()
	cancel()
	for rows.Next() {
	}
	rows.Close()
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.openConns() >= before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.openConns(); n >= before {
		t.Errorf("server still has %d connections after the TAIL client left (had %d)", n, before)
	}
	sameRows(t, "after tail", queryStrings(t, ctx, db, "SELECT id, name FROM v"), [][]string{{"2", "b"}})
}

func TestTailMissingView(t *testing.T) {
	addr := startServer(t, "")
	db := openDB(t, addr, "root", "")
	ctx := testCtx(t)
	_, err := db.QueryContext(ctx, "TAIL nope")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1146 {
		t.Errorf("TAIL of a missing view: got %v, want MySQL error 1146", err)
	}
}

// TestShutdownEndsTail checks that shutting the server down ends a streaming TAIL.
func TestShutdownEndsTail(t *testing.T) {
	ctx := testCtx(t)
	e, err := engine.Open(ctx, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv, err := New(e, Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx) }()
	db := openDB(t, srv.Addr(), "root", "")
	mustExec(t, ctx, db, "CREATE TABLE t (id INT PRIMARY KEY)", "CREATE MATERIALIZED VIEW v AS SELECT id FROM t")
	rows, err := db.QueryContext(ctx, "TAIL v")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return with a TAIL streaming")
	}
	for rows.Next() {
	}
	if rows.Err() == nil {
		t.Errorf("TAIL ended without an error after shutdown")
	}
}
