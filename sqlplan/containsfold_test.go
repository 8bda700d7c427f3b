package sqlplan

import (
	"math/rand"
	"strings"
	"testing"

	"vitess.io/vitess/go/vt/sqlparser"
)

// TestContainsFold: the fast search agrees with a plain case-insensitive search on random
// text over a small alphabet (so that partial matches and both cases are frequent).
func TestContainsFold(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	words := []string{"full", "intersect", "except", "e", "ee"}
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.Intn(40))
		for i := range b {
			b[i] = "fFuUlLeExXcCpPtT '"[r.Intn(18)]
		}
		s := string(b)
		for _, w := range words {
			if got, want := containsFold(s, w), strings.Contains(strings.ToLower(s), w); got != want {
				t.Fatalf("containsFold(%q, %q) = %v, want %v", s, w, got, want)
			}
		}
	}
}

// TestParseInsertKeepsValues: an INSERT's values reach vitess as written, whatever words
// they hold, with or without a query in the statement.
func TestParseInsertKeepsValues(t *testing.T) {
	for _, sql := range []string{
		"INSERT INTO t VALUES ('count(all x) union all', 'a INTERSECT b EXCEPT c'), ('full join', 'ALL')",
		"insert into t (a, b) select 'count(all x) union all', 'a INTERSECT b EXCEPT c' from u",
		"REPLACE t VALUES ('all', 'x')",
	} {
		st, err := Parse(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		v, ok := st.(*Vitess)
		if !ok {
			t.Fatalf("%s: %T", sql, st)
		}
		got := sqlparser.String(v.Stmt)
		for _, lit := range []string{"'count(all x) union all'", "'a INTERSECT b EXCEPT c'", "'all'", "'ALL'", "'full join'"} {
			if strings.Contains(sql, lit) && !strings.Contains(got, lit) {
				t.Errorf("%s: parsed as %s, without %s", sql, got, lit)
			}
		}
	}
	if insertWithoutQuery("INSERT INTO t SELECT 1") || !insertWithoutQuery("  insert into t values (1)") {
		t.Fatal("insertWithoutQuery")
	}
}
