package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// rawConn connects to the server and reads its handshake packet.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatalf("reading the handshake: %v", err)
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
		t.Fatalf("reading the handshake: %v", err)
	}
	return c
}

// drain reads from c until the server closes it or the deadline passes; it reports whether
// the server closed the connection.
func drain(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return err == nil // EOF
}

// stillServes checks that a fresh client can log in and query.
func stillServes(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db := openDB(t, srv.Addr(), "root", "")
	sameRows(t, "fresh client", queryStrings(t, ctx, db, "SELECT 1"), [][]string{{"1"}})
	db.Close()
}

func TestBadInputGarbage(t *testing.T) {
	srv := startServerFull(t, "")

	// Garbage that forms a short packet: the server rejects it and closes the connection.
	c := rawConn(t, srv.Addr())
	garbage := []byte{0x0a, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xfe, 0x00, 0x80, 0x7f, 0x01}
	if _, err := c.Write(garbage); err != nil {
		t.Fatal(err)
	}
	if !drain(c, 5*time.Second) {
		t.Errorf("server did not close a connection that sent a garbage handshake response")
	}
	c.Close()
	stillServes(t, srv)

	// Text instead of a handshake response (its first bytes read as a length of ~5 MB):
	// the client goes away before the server has the packet.
	c = rawConn(t, srv.Addr())
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	stillServes(t, srv)

	// Garbage without reading the handshake at all.
	raw, err := net.DialTimeout("tcp", srv.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	raw.Write([]byte(strings.Repeat("\x00\xff garbage ", 100)))
	drain(raw, 2*time.Second)
	raw.Close()
	stillServes(t, srv)
	waitConns(t, srv, 0)
}

func TestBadInputHugeLength(t *testing.T) {
	srv := startServerFull(t, "")
	for _, hdr := range [][]byte{
		{0xff, 0xff, 0xff, 1},       // the largest packet length, then nothing
		{0xff, 0xff, 0xff, 7, 1, 2}, // and a wrong sequence number
		{0x00, 0x00, 0x40, 1, 'x'},  // 4 MB announced, one byte sent
		{0x05, 0x00},                // half a header
	} {
		c := rawConn(t, srv.Addr())
		if _, err := c.Write(hdr); err != nil {
			t.Fatal(err)
		}
		c.Close()
		stillServes(t, srv)
	}
	waitConns(t, srv, 0)
}

func TestBadInputClientLeavesMidResult(t *testing.T) {
	srv := startServerFull(t, "")
	ctx := testCtx(t)
	db := openDB(t, srv.Addr(), "root", "")
	const n, batch = 5000, 250
	mustExec(t, ctx, db, "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(300))")
	pad := strings.Repeat("p", 200)
	for i := 0; i < n; i += batch {
		var b strings.Builder
		b.WriteString("INSERT INTO big VALUES ")
		for j := i; j < i+batch; j++ {
			if j > i {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, '%s')", j, pad)
		}
		mustExec(t, ctx, db, b.String())
	}

	for _, how := range []string{"cancel", "close"} {
		leaver := openDB(t, srv.Addr(), "root", "")
		qctx, cancel := context.WithCancel(ctx)
		rows, err := leaver.QueryContext(qctx, "SELECT id, pad FROM big")
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("%s: no first row: %v", how, rows.Err())
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if how == "cancel" {
				cancel() // the driver closes the connection
				rows.Close()
			} else {
				rows.Close() // reads the rest of the result, then the connection goes back to the pool
			}
			leaver.Close()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: closing a client in the middle of a large result hung", how)
		}
		cancel()
		sameRows(t, how+": count", queryStrings(t, ctx, db, "SELECT COUNT(*) FROM big"), [][]string{{fmt.Sprint(n)}})
	}
	stillServes(t, srv)
	waitConns(t, srv, 1) // db's
}

// TestBadInputSplitterPanic: texts that panic vitess's statement splitter (a semicolon, then
// an unterminated string holding a doubled quote; found by FuzzMySQLPackets) get a syntax
// error on a connection with CLIENT_MULTI_STATEMENTS, as a query and as a prepare, and the
// connection goes on serving.
func TestBadInputSplitterPanic(t *testing.T) {
	srv := startServerFull(t, "")
	db, err := sql.Open("mysql", fmt.Sprintf("root:@tcp(%s)/?timeout=5s&readTimeout=20s&multiStatements=true", srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := testCtx(t)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{";'''0", "SELECT 1; SELECT 'a''b"} {
		_, err := conn.ExecContext(ctx, q)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1064 {
			t.Errorf("exec %q: %v, want error 1064", q, err)
		}
		if _, err := conn.PrepareContext(ctx, q); !errors.As(err, &me) || me.Number != 1064 {
			t.Errorf("prepare %q: %v, want error 1064", q, err)
		}
		var one int
		if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("after %q the connection answered SELECT 1 with %d, %v", q, one, err)
		}
	}
	rows, err := conn.QueryContext(ctx, "SELECT 1; SELECT 2")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for more := true; more; more = rows.NextResultSet() {
		for rows.Next() {
			var v int
			rows.Scan(&v)
			got = append(got, v)
		}
	}
	rows.Close()
	if !slices.Equal(got, []int{1, 2}) {
		t.Errorf("multi-statement query returned %v, want [1 2]", got)
	}
}
