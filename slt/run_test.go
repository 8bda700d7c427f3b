package slt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeScript writes src to a file in a temporary directory and returns its path.
func writeScript(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.slt")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runFake runs src on db in mode and returns the counts and the diagnostics.
func runFake(t *testing.T, db *fakeDB, mode, src string) (Counts, string) {
	t.Helper()
	var out bytes.Buffer
	c, err := runFile(context.Background(), writeScript(t, src), Options{Mode: mode, Seed: 1, Out: &out}, db.open)
	if err != nil {
		t.Fatalf("runFile: %v", err)
	}
	return c, out.String()
}

const queryModeScript = `hash-threshold 4

statement ok
CREATE TABLE t1(a INTEGER, b TEXT)

statement ok
INSERT INTO t1 VALUES(3,'c'),(1,'a'),(2,'b')

statement error
INSERT INTO nosuch VALUES(1)

statement ok
INSERT INTO nosuch VALUES(1)

skipif mysql
statement ok
garbage

onlyif sqlite
query I nosort
garbage

query IT rowsort
SELECT a, b FROM t1
----
6 values hashing to c84f8aeceada6a51da4b3bb1000ecc8b

query I nosort
SELECT a FROM t1 ORDER BY a
----
1
2
3

query I valuesort label-x
SELECT a FROM t1 WHERE a > 1
----
2
3

query I rowsort label-x
SELECT a FROM t1 WHERE a > 0
----
1
2
3

query I nosort
SELECT a FROM t1 WHERE a > 1
----
2
3

query II nosort
SELECT a FROM t1
----
1

query I nosort
SELECT nosuchcol FROM t1
----

halt

statement ok
garbage
`

func TestRunQueryMode(t *testing.T) {
	c, out := runFake(t, newFakeDB(), ModeQuery, queryModeScript)
	if want := (Counts{Passed: 6, Failed: 5, Skipped: 2}); c != want {
		t.Errorf("counts %v, want %v\n%s", c, want, out)
	}
	for _, want := range []string{
		"script.slt:12: [query] statement failed",
		"label-x: got 3 values hashing to",
		`value 1: expected "2", got "3"`,
		"query returned 1 columns, the record declares 2",
		"script.slt:59: [query] query failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, out)
		}
	}
}

const viewModeScript = `statement ok
CREATE TABLE t1(a INTEGER, b TEXT)

statement ok
INSERT INTO t1 VALUES(1,'x'),(2,'y'),(2,'y')

query IT rowsort
SELECT a, b FROM t1
----
1
x
2
y
2
y

query I nosort
SELECT a FROM t1 WHERE a > 1 ORDER BY a
----
2
2

statement ok
CREATE TABLE t2(c INTEGER)

query I nosort
SELECT c FROM t2
----

statement ok
INSERT INTO t2 VALUES(5)

query I nosort
SELECT c FROM t2
----
5

query I nosort
SELECT 7
----
7
`

// indexOf returns the position of the first logged statement with prefix, or -1.
func indexOf(log []string, prefix string) int {
	for i, s := range log {
		if strings.HasPrefix(s, prefix) {
			return i
		}
	}
	return -1
}

func TestRunViewMode(t *testing.T) {
	db := newFakeDB()
	c, out := runFake(t, db, ModeView, viewModeScript)
	if want := (Counts{Passed: 9}); c != want {
		t.Fatalf("counts %v, want %v\n%s", c, want, out)
	}
	// Views appear as soon as their tables exist, before their rows arrive.
	if v, ins := indexOf(db.log, "CREATE MATERIALIZED VIEW `slt_v1`"), indexOf(db.log, "INSERT INTO t1"); v < 0 || v > ins {
		t.Errorf("slt_v1 created at %d, the insert is at %d", v, ins)
	}
	if v, ins := indexOf(db.log, "CREATE MATERIALIZED VIEW `slt_v4`"), indexOf(db.log, "INSERT INTO t2"); v < 0 || v > ins || v < indexOf(db.log, "CREATE TABLE t2") {
		t.Errorf("slt_v4 created at %d, the insert is at %d", v, ins)
	}
	if v := indexOf(db.log, "CREATE MATERIALIZED VIEW `slt_v5` AS SELECT 7"); v < 0 || v > indexOf(db.log, "CREATE TABLE t1") {
		t.Errorf("the constant view was created at %d, want before the first statement", v)
	}
	if indexOf(db.log, "CREATE MATERIALIZED VIEW `slt_v2` AS SELECT a FROM t1 WHERE a > 1\n") >= 0 ||
		indexOf(db.log, "CREATE MATERIALIZED VIEW `slt_v2` AS SELECT a FROM t1 WHERE a > 1") < 0 {
		t.Errorf("the view should drop the trailing ORDER BY: %q", db.log)
	}
	deletes := 0
	for _, s := range db.log {
		if strings.HasPrefix(s, "DELETE FROM") {
			deletes++
		}
	}
	if deletes != 4 {
		t.Errorf("%d end-of-file deletes, want 4", deletes)
	}
	for name, tab := range db.tables {
		if len(tab.rows) != 0 {
			t.Errorf("table %s still has %d rows", name, len(tab.rows))
		}
	}
	if !strings.Contains(strings.Join(db.log, "\n"), "DELETE FROM `t1` WHERE `a` <=> 2 AND `b` <=> 'y' LIMIT 1") {
		t.Errorf("no delete of (2,'y'): %q", db.log)
	}
}

func TestRunViewModeDeterministic(t *testing.T) {
	deletes := func(seed int64) string {
		db := newFakeDB()
		var out bytes.Buffer
		if _, err := runFile(context.Background(), writeScript(t, viewModeScript), Options{Mode: ModeView, Seed: seed, Out: &out}, db.open); err != nil {
			t.Fatal(err)
		}
		var d []string
		for _, s := range db.log {
			if strings.HasPrefix(s, "DELETE") {
				d = append(d, s)
			}
		}
		return strings.Join(d, "\n")
	}
	if a, b := deletes(7), deletes(7); a != b {
		t.Errorf("the same seed gave different delete orders:\n%s\n--\n%s", a, b)
	}
}

func TestRunViewModeStaleDeletes(t *testing.T) {
	db := newFakeDB()
	db.staleDeletes = true
	c, out := runFake(t, db, ModeView, viewModeScript)
	// slt_v1..slt_v4 read tables and go stale; each counts once; the constant view stays right.
	if want := (Counts{Passed: 9, Failed: 4}); c != want {
		t.Fatalf("counts %v, want %v\n%s", c, want, out)
	}
	for _, v := range []string{"slt_v1", "slt_v2", "slt_v3", "slt_v4"} {
		if strings.Count(out, "view "+v+" after") != 1 {
			t.Errorf("want one maintenance failure for %s:\n%s", v, out)
		}
	}
}

func TestRunViewModeWrongView(t *testing.T) {
	db := newFakeDB()
	db.wrongView = true
	c, out := runFake(t, db, ModeView, viewModeScript)
	if c.Failed < 3 {
		t.Fatalf("counts %v: want the three views with doubled rows to fail\n%s", c, out)
	}
	if !strings.Contains(out, "script.slt:7: [view] view slt_v1: rows differ from the expected multiset") {
		t.Errorf("no view diagnostic at the query:\n%s", out)
	}
}

const dropScript = `statement ok
CREATE TABLE t1(a INTEGER)

statement ok
INSERT INTO t1 VALUES(1)

query I nosort
SELECT a FROM t1
----
1

statement ok
DROP TABLE t1

statement ok
CREATE TABLE t1(a INTEGER)

statement ok
INSERT INTO t1 VALUES(2)

query I nosort
SELECT a FROM t1
----
2

statement ok
CREATE TABLE sneaky(a INTEGER)

statement ok
DROP TABLE sneaky

query I nosort
SELECT a FROM t1
----
2
`

func TestRunViewModeDrop(t *testing.T) {
	db := newFakeDB()
	c, out := runFake(t, db, ModeView, dropScript)
	if want := (Counts{Passed: 10}); c != want {
		t.Fatalf("counts %v, want %v\n%s", c, want, out)
	}
	// slt_v2 reads the second t1: it is created once, after that t1 is, before its row arrives.
	var creates []int
	for i, s := range db.log {
		if strings.HasPrefix(s, "CREATE MATERIALIZED VIEW `slt_v2`") {
			creates = append(creates, i)
		}
	}
	if len(creates) != 1 || creates[0] < indexOf(db.log, "DROP TABLE t1") || creates[0] > indexOf(db.log, "INSERT INTO t1 VALUES(2)") {
		t.Errorf("slt_v2 created at %v: %q", creates, db.log)
	}
	if _, ok := db.views["slt_v3"]; !ok {
		t.Errorf("slt_v3 should have been re-created after the refused DROP TABLE sneaky: %q", db.log)
	}
}

func TestRunViewModeNeverCreated(t *testing.T) {
	c, out := runFake(t, newFakeDB(), ModeView, "query I nosort\nSELECT a FROM missing\n----\n1\n")
	if want := (Counts{Failed: 1}); c != want {
		t.Fatalf("counts %v, want %v\n%s", c, want, out)
	}
	if !strings.Contains(out, "view slt_v1 was never created") {
		t.Errorf("diagnostics:\n%s", out)
	}
}

func TestRunFileErrors(t *testing.T) {
	db := newFakeDB()
	// A malformed record fails alone and the script goes on.
	if c, err := runFile(context.Background(), writeScript(t, "frobnicate\n\nstatement ok\nCREATE TABLE t (a INT)\n"), Options{}, db.open); err != nil || c != (Counts{Passed: 1, Failed: 1}) {
		t.Errorf("malformed record: counts %v, err = %v", c, err)
	}
	if _, err := runFile(context.Background(), writeScript(t, "halt\n"), Options{Mode: "table"}, db.open); err == nil {
		t.Error("unknown mode: want an error")
	}
	if _, err := runFile(context.Background(), filepath.Join(t.TempDir(), "absent.slt"), Options{}, db.open); err == nil {
		t.Error("missing file: want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := runFile(ctx, writeScript(t, "statement ok\nCREATE TABLE t(a INTEGER)\n"), Options{}, db.open); err == nil {
		t.Error("canceled context: want an error")
	}
}

func TestRunLabels(t *testing.T) {
	src := `statement ok
CREATE TABLE t1(a INTEGER)

statement ok
INSERT INTO t1 VALUES(1),(2)

query I rowsort label-1
SELECT nosuch FROM t1
----
1
2

query I rowsort label-1
SELECT a FROM t1
----
1
2

query I valuesort label-1
SELECT a FROM t1 ORDER BY a
----
2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0

query I rowsort label-2
SELECT a FROM t1 WHERE a > 1
----
2

query I rowsort label-1
SELECT a FROM t1 WHERE a > 1
----
2
`
	c, out := runFake(t, newFakeDB(), ModeQuery, src)
	// The failing first query registers nothing, so label-1 is set by the second; the last
	// query matches its listed result but not label-1's.
	if want := (Counts{Passed: 5, Failed: 2}); c != want {
		t.Fatalf("counts %v, want %v\n%s", c, want, out)
	}
	if !strings.Contains(out, "script.slt:29: [query] label-1: got 1 values hashing to") {
		t.Errorf("diagnostics:\n%s", out)
	}
}
