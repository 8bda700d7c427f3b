package engine

import (
	"maps"
	"testing"
)

// A view's record keeps its join row counts, and records of earlier builds (without them)
// and damaged ones decode as such.
func TestViewRecordRoundTrip(t *testing.T) {
	v := &view{created: 7, fingerprint: "0123456789abcdef01234567", joinRows: map[string]int64{"msg": 1 << 21, "user": 3, "chat": 0}}
	rec, ok, err := decodeViewRecord(v.record(-2))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if rec.created != 7 || rec.rows != -2 || rec.fingerprint != v.fingerprint || !maps.Equal(rec.joinRows, v.joinRows) {
		t.Fatalf("decoded %+v", rec)
	}
	old := &view{created: 7, fingerprint: v.fingerprint}
	if rec, _, err := decodeViewRecord(old.record(5)); err != nil || rec.fingerprint != v.fingerprint || rec.joinRows != nil {
		t.Fatalf("a record without join row counts decoded as %+v, %v", rec, err)
	}
	full := v.record(1)
	for n := len(full) - 1; n > len(old.record(1)); n-- {
		if _, _, err := decodeViewRecord(full[:n]); err == nil {
			t.Fatalf("a record cut to %d of %d bytes decoded", n, len(full))
		}
	}
	if _, _, err := decodeViewRecord(append(full, 0)); err == nil {
		t.Fatal("a record with a trailing byte decoded")
	}
}

// A view counts the rows only of the relations it joins: creating a view of one large table
// must not scan its keys for nothing.
func TestViewCountsOnlyJoinedRelations(t *testing.T) {
	s := memSession(t)
	execAll(t, s,
		"CREATE TABLE m (id INT PRIMARY KEY, chat INT)",
		"CREATE TABLE c (chat INT PRIMARY KEY, topic TEXT)",
		"CREATE TABLE unused (id INT PRIMARY KEY)",
		"INSERT INTO c VALUES (1, 'a')",
		"INSERT INTO m VALUES (1, 1), (2, 1), (3, 1)",
		"CREATE MATERIALIZED VIEW one AS SELECT id FROM m WHERE chat = 1",
		"CREATE MATERIALIZED VIEW two AS SELECT m.id, c.topic FROM m JOIN c ON m.chat = c.chat WHERE m.id IN (SELECT id FROM unused) OR m.id > 0",
	)
	e := s.e
	if got := e.views["one"].joinRows; len(got) != 0 {
		t.Fatalf("a view of one table counted %v", got)
	}
	if got, want := e.views["two"].joinRows, map[string]int64{"m": 3, "c": 1}; !maps.Equal(got, want) {
		t.Fatalf("a join counted %v, want %v", got, want)
	}
}
