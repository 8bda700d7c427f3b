package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestDropLargeTable: a DROP TABLE whose rows and index entries are too many to delete in
// one transaction (the bound lowered to 128 KiB here, 8 MiB by default) still drops the
// table at once: it is set aside in the dropping transaction and purged in bounded steps,
// after which its name and its index's name are free. A purge that a crash interrupted
// (left undone here) is finished when the engine opens again.
func TestDropLargeTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *Engine {
		e, err := Open(ctx, Options{Dir: dir, MaxTxnBytes: 128 << 10})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := open()
	defer func() { e.Close() }()
	exec := func(s *Session, q string) *Result {
		t.Helper()
		res, err := s.Exec(ctx, q)
		if err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
		return res
	}
	fill := func(s *Session, table string) {
		exec(s, "CREATE TABLE "+table+" (id INT PRIMARY KEY, g INT, txt VARCHAR(100))")
		exec(s, "CREATE INDEX "+table+"_g ON "+table+" (g)")
		for start := 0; start < 6000; start += 100 {
			var b strings.Builder
			b.WriteString("INSERT INTO " + table + " VALUES ")
			for i := start; i < start+100; i++ {
				if i > start {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "(%d, %d, 'a message of some length to fill the table, number %d')", i, i%10, i)
			}
			exec(s, b.String())
		}
	}
	dropped := func() []string {
		t.Helper()
		names, err := e.store.DroppedTables()
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	s := e.NewSession()
	fill(s, "big")
	exec(s, "CREATE TABLE other (id INT PRIMARY KEY)")
	exec(s, "DROP TABLE big")
	if names := dropped(); len(names) != 0 {
		t.Errorf("after DROP TABLE, tables left to purge: %v", names)
	}
	if res := exec(s, "SHOW TABLES"); len(res.Rows) != 1 || res.Rows[0].String() != "other" {
		t.Errorf("SHOW TABLES after the drop: %v", res.Rows)
	}
	fill(s, "big") // the table's and its index's names are free again
	if res := exec(s, "SELECT COUNT(*) FROM big WHERE g = 3"); res.Rows[0].String() != "600" {
		t.Errorf("the new table: %v", res.Rows)
	}

	// A crash after the DROP's commit, before its purge.
	e.noPurge = true
	exec(s, "DROP TABLE big")
	if names := dropped(); len(names) != 1 {
		t.Fatalf("tables set aside and not purged: %v, want 1", names)
	}
	s.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = open()
	if names := dropped(); len(names) != 0 {
		t.Errorf("after a restart, tables left to purge: %v", names)
	}
	s = e.NewSession()
	defer s.Close()
	fill(s, "big")
	exec(s, "INSERT INTO other VALUES (1)")
	if res := exec(s, "SELECT COUNT(*) FROM big"); res.Rows[0].String() != "6000" {
		t.Errorf("the table made again: %v", res.Rows)
	}
}
