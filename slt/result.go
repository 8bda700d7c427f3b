package slt

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Hash returns the lowercase hex MD5 of every value followed by a newline.
func Hash(values []string) string {
	h := md5.New()
	for _, v := range values {
		h.Write([]byte(v))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SortValues flattens rows into one value list ordered by mode; rows is not modified.
//
// RowSort orders rows by comparing their printed values column by column (byte order);
// ValueSort sorts all values independently; NoSort keeps the given order.
func SortValues(rows [][]string, mode SortMode) []string {
	switch mode {
	case RowSort:
		sorted := slices.Clone(rows)
		slices.SortStableFunc(sorted, compareRows)
		return flatten(sorted)
	case ValueSort:
		vals := flatten(rows)
		slices.Sort(vals)
		return vals
	}
	return flatten(rows)
}

// compareRows orders two printed rows by their values, then by length.
func compareRows(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// flatten concatenates the rows' values.
func flatten(rows [][]string) []string {
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	out := make([]string, 0, n)
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

var hashLineRE = regexp.MustCompile(`^\s*(\d+) values hashing to ([0-9a-fA-F]{32})\s*$`)

// ParseHashLine recognizes an expected result of the form "N values hashing to H".
func ParseHashLine(expected []string) (n int, hash string, ok bool) {
	if len(expected) != 1 {
		return 0, "", false
	}
	m := hashLineRE.FindStringSubmatch(expected[0])
	if m == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, "", false
	}
	return n, strings.ToLower(m[2]), true
}

// HashLine prints the hashed form of a result: "N values hashing to H".
func HashLine(values []string) string {
	return fmt.Sprintf("%d values hashing to %s", len(values), Hash(values))
}

// CompareExpected checks sorted values against a record's expected lines.
//
// The lines are either the values themselves or one hash line; it returns nil on a match.
func CompareExpected(expected, values []string) error {
	if n, h, ok := ParseHashLine(expected); ok {
		if got := Hash(values); n != len(values) || h != got {
			return fmt.Errorf("expected %d values hashing to %s, got %d values hashing to %s", n, h, len(values), got)
		}
		return nil
	}
	if len(expected) != len(values) {
		return fmt.Errorf("expected %d values, got %d", len(expected), len(values))
	}
	for i := range values {
		if expected[i] != values[i] {
			return fmt.Errorf("value %d: expected %q, got %q", i+1, expected[i], values[i])
		}
	}
	return nil
}

// MultisetEqual reports whether two printed results hold the same rows with the same multiplicities.
func MultisetEqual(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	ka, kb := rowKeys(a), rowKeys(b)
	return slices.Equal(ka, kb)
}

// rowKeys returns one sorted key per row; printed values never contain the separator byte.
func rowKeys(rows [][]string) []string {
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = strings.Join(r, "\x1f")
	}
	slices.Sort(keys)
	return keys
}

// MatchesExpectedMultiset checks printed rows against a record's expected result in any order.
//
// known is false when the file alone cannot decide it: a hashed result of a nosort query.
func MatchesExpectedMultiset(rec *Record, rows [][]string) (known bool, err error) {
	if _, _, hashed := ParseHashLine(rec.Expected); hashed {
		if rec.Sort == NoSort {
			return false, nil
		}
		return true, CompareExpected(rec.Expected, SortValues(rows, rec.Sort))
	}
	if rec.Sort == ValueSort {
		exp := slices.Clone(rec.Expected)
		slices.Sort(exp)
		return true, CompareExpected(exp, SortValues(rows, ValueSort))
	}
	width := len(rec.Types)
	if width == 0 || len(rec.Expected)%width != 0 {
		return true, fmt.Errorf("expected %d values, not a multiple of %d columns", len(rec.Expected), width)
	}
	exp := make([][]string, 0, len(rec.Expected)/width)
	for i := 0; i < len(rec.Expected); i += width {
		exp = append(exp, rec.Expected[i:i+width])
	}
	if !MultisetEqual(exp, rows) {
		return true, fmt.Errorf("rows differ from the expected multiset: expected %d rows, got %d", len(exp), len(rows))
	}
	return true, nil
}
