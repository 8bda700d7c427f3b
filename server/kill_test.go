package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// connID returns the server's id of conn.
func connID(t *testing.T, ctx context.Context, conn *sql.Conn) uint64 {
	t.Helper()
	var id uint64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// selectOne runs SELECT 1 on conn.
func selectOne(ctx context.Context, conn *sql.Conn) error {
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	if one != 1 {
		return fmt.Errorf("SELECT 1 = %d", one)
	}
	return nil
}

// waitConns waits up to 5s for the server to have at most n open connections.
func waitConns(t *testing.T, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.openConns() > n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := srv.openConns(); got > n {
		t.Errorf("server has %d open connections, want at most %d", got, n)
	}
}

func TestKillQueryEndsTail(t *testing.T) {
	srv := startServerFull(t, "")
	ctx := testCtx(t)
	db := openDB(t, srv.Addr(), "root", "")
	mustExec(t, ctx, db,
		"CREATE TABLE t (id INT PRIMARY KEY)",
		"INSERT INTO t VALUES (1)",
		"CREATE MATERIALIZED VIEW v AS SELECT id FROM t",
	)

	connA, err := openDB(t, srv.Addr(), "root", "").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer connA.Close()
	idA := connID(t, ctx, connA)
	rows, err := connA.QueryContext(ctx, "TAIL v")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no snapshot row: %v", rows.Err())
	}

	// KILL QUERY of an idle connection does nothing; of the TAIL's, it ends the TAIL.
	connB, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer connB.Close()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", connID(t, ctx, connB))); err != nil {
		t.Fatalf("KILL QUERY of an idle connection: %v", err)
	}
	if err := selectOne(ctx, connB); err != nil {
		t.Errorf("idle connection after KILL QUERY: %v", err)
	}
	if _, err := connB.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", idA)); err != nil {
		t.Fatalf("KILL QUERY %d: %v", idA, err)
	}
	for rows.Next() {
	}
	var me *mysql.MySQLError
	if err := rows.Err(); !errors.As(err, &me) || me.Number != 1317 || string(me.SQLState[:]) != "70100" {
		t.Errorf("TAIL after KILL QUERY: got %v, want MySQL error 1317 (70100)", err)
	}
	rows.Close()
	if err := selectOne(ctx, connA); err != nil {
		t.Errorf("connection after KILL QUERY: %v", err)
	}
	if got := connID(t, ctx, connA); got != idA {
		t.Errorf("connection id changed from %d to %d: the connection was replaced", idA, got)
	}

	// Unknown ids.
	for _, q := range []string{"KILL 999999", "KILL QUERY 999999", "kill connection 999999"} {
		_, err := db.ExecContext(ctx, q)
		if !errors.As(err, &me) || me.Number != 1094 || me.Message != "Unknown thread id: 999999" {
			t.Errorf("%s: got %v, want MySQL error 1094 Unknown thread id: 999999", q, err)
		}
	}
	if _, err := db.ExecContext(ctx, "KILL QUERY nobody"); !errors.As(err, &me) || me.Number != 1064 {
		t.Errorf("KILL QUERY nobody: got %v, want MySQL error 1064", err)
	}
}

func TestKillConnection(t *testing.T) {
	srv := startServerFull(t, "")
	ctx := testCtx(t)
	db := openDB(t, srv.Addr(), "root", "")
	mustExec(t, ctx, db,
		"CREATE TABLE t (id INT PRIMARY KEY)",
		"CREATE MATERIALIZED VIEW v AS SELECT id FROM t",
	)
	other := openDB(t, srv.Addr(), "root", "")

	// An idle connection, killed with KILL CONNECTION and with plain KILL.
	for _, form := range []string{"KILL CONNECTION %d", "KILL %d"} {
		conn, err := other.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id := connID(t, ctx, conn)
		if _, err := db.ExecContext(ctx, fmt.Sprintf(form, id)); err != nil {
			t.Fatalf(form+": %v", id, err)
		}
		if err := selectOne(ctx, conn); err == nil {
			t.Errorf(form+": the connection still answers", id)
		}
		conn.Close()
	}

	// A connection streaming a TAIL.
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := connID(t, ctx, conn)
	rows, err := conn.QueryContext(ctx, "TAIL v WITH (SNAPSHOT = false)")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if rows.Err() == nil {
		t.Errorf("TAIL ended without an error after KILL CONNECTION")
	}
	rows.Close()
	conn.Close()
	other.Close()
	// Only db's connection is left.
	waitConns(t, srv, 1)

	// KILL of the own connection ends it.
	self, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self.ExecContext(ctx, fmt.Sprintf("KILL %d", connID(t, ctx, self))); err == nil {
		t.Errorf("KILL of the own connection succeeded")
	}
	self.Close()
	sameRows(t, "after kills", queryStrings(t, ctx, db, "SELECT 1"), [][]string{{"1"}})
}
