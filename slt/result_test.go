package slt

import (
	"slices"
	"testing"
)

func TestHash(t *testing.T) {
	// Digests computed by hand: printf '1\n2\n' | md5sum, and so on.
	for _, c := range []struct {
		vals []string
		want string
	}{
		{[]string{"1", "2"}, "6ddb4095eb719e2a9f0a3f95677d24e0"},
		{[]string{"a", "NULL", "(empty)"}, "72b876ccbd3d5d4fafd6e014287fa23c"},
		{nil, "d41d8cd98f00b204e9800998ecf8427e"},
	} {
		if got := Hash(c.vals); got != c.want {
			t.Errorf("Hash(%q) = %s, want %s", c.vals, got, c.want)
		}
	}
	if got, want := HashLine([]string{"1", "2"}), "2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0"; got != want {
		t.Errorf("HashLine = %q, want %q", got, want)
	}
}

func TestSortValues(t *testing.T) {
	rows := [][]string{{"2", "a"}, {"10", "b"}, {"2", "NULL"}, {"1", "z"}}
	orig := [][]string{{"2", "a"}, {"10", "b"}, {"2", "NULL"}, {"1", "z"}}
	for _, c := range []struct {
		mode SortMode
		want []string
	}{
		{NoSort, []string{"2", "a", "10", "b", "2", "NULL", "1", "z"}},
		// Printed values compare as strings: "10" < "2", "NULL" < "a".
		{RowSort, []string{"1", "z", "10", "b", "2", "NULL", "2", "a"}},
		{ValueSort, []string{"1", "10", "2", "2", "NULL", "a", "b", "z"}},
	} {
		if got := SortValues(rows, c.mode); !slices.Equal(got, c.want) {
			t.Errorf("SortValues(%v) = %q, want %q", c.mode, got, c.want)
		}
	}
	if !equalRows(rows, orig) {
		t.Errorf("SortValues modified its input: %q", rows)
	}
}

func TestCompareExpected(t *testing.T) {
	vals := []string{"1", "2"}
	for _, c := range []struct {
		expected []string
		ok       bool
	}{
		{[]string{"1", "2"}, true},
		{[]string{"2", "1"}, false},
		{[]string{"1"}, false},
		{[]string{"2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0"}, true},
		{[]string{"2 values hashing to 6DDB4095EB719E2A9F0A3F95677D24E0"}, true},
		{[]string{"3 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0"}, false},
		{[]string{"2 values hashing to 00000000000000000000000000000000"}, false},
	} {
		if err := CompareExpected(c.expected, vals); (err == nil) != c.ok {
			t.Errorf("CompareExpected(%q) = %v, want ok=%v", c.expected, err, c.ok)
		}
	}
	if _, _, ok := ParseHashLine([]string{"1 values hashing to xyz"}); ok {
		t.Error("ParseHashLine accepted a malformed hash")
	}
}

func TestMultisets(t *testing.T) {
	a := [][]string{{"1", "x"}, {"1", "x"}, {"2", "y"}}
	if !MultisetEqual(a, [][]string{{"2", "y"}, {"1", "x"}, {"1", "x"}}) {
		t.Error("reordered rows should be equal")
	}
	if MultisetEqual(a, [][]string{{"2", "y"}, {"2", "y"}, {"1", "x"}}) {
		t.Error("different multiplicities should differ")
	}
	if MultisetEqual([][]string{{"1x"}}, [][]string{{"1", "x"}}) {
		t.Error("different row widths should differ")
	}

	listed := &Record{Types: "IT", Sort: RowSort, HasExpected: true, Expected: []string{"1", "x", "1", "x", "2", "y"}}
	if known, err := MatchesExpectedMultiset(listed, [][]string{{"2", "y"}, {"1", "x"}, {"1", "x"}}); !known || err != nil {
		t.Errorf("listed rows: known=%v err=%v", known, err)
	}
	if _, err := MatchesExpectedMultiset(listed, [][]string{{"1", "x"}, {"2", "y"}}); err == nil {
		t.Error("missing duplicate: want a mismatch")
	}
	nosort := &Record{Types: "I", Sort: NoSort, Expected: []string{"3", "1", "2"}}
	if _, err := MatchesExpectedMultiset(nosort, [][]string{{"1"}, {"2"}, {"3"}}); err != nil {
		t.Errorf("nosort listed values compare as a multiset: %v", err)
	}
	values := &Record{Types: "II", Sort: ValueSort, Expected: []string{"1", "2", "3", "4"}}
	if _, err := MatchesExpectedMultiset(values, [][]string{{"4", "2"}, {"3", "1"}}); err != nil {
		t.Errorf("valuesort: %v", err)
	}
	hashed := &Record{Types: "I", Sort: RowSort, Expected: []string{HashLine([]string{"1", "2"})}}
	if known, err := MatchesExpectedMultiset(hashed, [][]string{{"2"}, {"1"}}); !known || err != nil {
		t.Errorf("hashed rowsort: known=%v err=%v", known, err)
	}
	hashedNoSort := &Record{Types: "I", Sort: NoSort, Expected: hashed.Expected}
	if known, _ := MatchesExpectedMultiset(hashedNoSort, [][]string{{"2"}, {"1"}}); known {
		t.Error("a hashed nosort result cannot be compared as a multiset")
	}
}
