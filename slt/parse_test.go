package slt

import (
	"slices"
	"strings"
	"testing"
)

const sampleScript = `# a comment
hash-threshold 8

statement ok
CREATE TABLE t1(a INTEGER,
  b TEXT)

skipif mysql # not compatible
statement error
INSERT INTO t1 VALUES(1)

onlyif mysql # aggregate syntax:
query IT rowsort label-1
SELECT a, b
  FROM t1
----
1
x
2
(empty)

query R nosort
SELECT 1.5
----
1 values hashing to 0123456789abcdef0123456789abcdef

query I valuesort
SELECT 1

onlyif sqlite
halt

halt
`

func TestParse(t *testing.T) {
	recs, err := Parse(strings.NewReader(sampleScript))
	if err != nil {
		t.Fatal(err)
	}
	kinds := []RecordKind{KindHashThreshold, KindStatement, KindStatement, KindQuery, KindQuery, KindQuery, KindHalt, KindHalt}
	if len(recs) != len(kinds) {
		t.Fatalf("got %d records, want %d: %+v", len(recs), len(kinds), recs)
	}
	for i, k := range kinds {
		if recs[i].Kind != k {
			t.Errorf("record %d: kind %v, want %v", i, recs[i].Kind, k)
		}
	}
	if recs[0].Threshold != 8 || recs[0].Line != 2 {
		t.Errorf("hash-threshold record: %+v", recs[0])
	}
	if r := recs[1]; r.SQL != "CREATE TABLE t1(a INTEGER,\n  b TEXT)" || r.ExpectError || r.Line != 4 {
		t.Errorf("statement ok: %+v", r)
	}
	if r := recs[2]; !r.ExpectError || r.Runs(EngineName) || !r.Runs("sqlite") || r.Line != 8 {
		t.Errorf("skipif statement error: %+v", r)
	}
	q := recs[3]
	if q.Types != "IT" || q.Sort != RowSort || q.Label != "label-1" || !q.HasExpected ||
		!slices.Equal(q.Expected, []string{"1", "x", "2", "(empty)"}) || q.SQL != "SELECT a, b\n  FROM t1" {
		t.Errorf("query: %+v", q)
	}
	if !q.Runs(EngineName) || q.Runs("sqlite") {
		t.Errorf("onlyif mysql: runs(mysql)=%v runs(sqlite)=%v", q.Runs(EngineName), q.Runs("sqlite"))
	}
	if r := recs[4]; r.Types != "R" || r.Sort != NoSort || len(r.Expected) != 1 {
		t.Errorf("hashed query: %+v", r)
	}
	if r := recs[5]; r.Sort != ValueSort || r.HasExpected || r.Expected != nil {
		t.Errorf("query without result: %+v", r)
	}
	if recs[6].Runs(EngineName) || !recs[7].Runs(EngineName) {
		t.Errorf("halt conditions: %+v %+v", recs[6], recs[7])
	}
}

func TestParseDefaultsAndCRLF(t *testing.T) {
	recs, err := Parse(strings.NewReader("query I\r\nSELECT 1\r\n----\r\n1\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Sort != NoSort || recs[0].SQL != "SELECT 1" || !slices.Equal(recs[0].Expected, []string{"1"}) {
		t.Fatalf("got %+v", recs)
	}
}

func TestParseErrors(t *testing.T) {
	for _, src := range []string{
		"statement maybe\nSELECT 1\n",
		"statement ok\n\n",
		"query X rowsort\nSELECT 1\n",
		"query I sideways\nSELECT 1\n",
		"query\nSELECT 1\n",
		"hash-threshold many\n",
		"skipif\nstatement ok\nSELECT 1\n",
		"onlyif mysql\n\nstatement ok\nSELECT 1\n",
		"frobnicate\n",
	} {
		recs, err := Parse(strings.NewReader(src))
		if err != nil || len(recs) == 0 || recs[0].Kind != KindInvalid {
			t.Errorf("Parse(%q) = %+v, %v; want a first record of KindInvalid", src, recs, err)
		} else if !strings.HasPrefix(recs[0].Problem, "line ") {
			t.Errorf("Parse(%q) problem %q does not name a line", src, recs[0].Problem)
		}
	}
}

func TestRecordRuns(t *testing.T) {
	for _, c := range []struct {
		conds []Condition
		want  bool
	}{
		{nil, true},
		{[]Condition{{OnlyIf: true, Engine: "mysql"}}, true},
		{[]Condition{{OnlyIf: true, Engine: "sqlite"}}, false},
		{[]Condition{{Engine: "mysql"}}, false},
		{[]Condition{{Engine: "postgresql"}}, true},
		{[]Condition{{Engine: "postgresql"}, {OnlyIf: true, Engine: "mssql"}}, false},
	} {
		r := Record{Conditions: c.conds}
		if got := r.Runs(EngineName); got != c.want {
			t.Errorf("Runs(%+v) = %v, want %v", c.conds, got, c.want)
		}
	}
}
