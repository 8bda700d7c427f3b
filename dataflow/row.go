package dataflow

import (
	"cmp"
	"slices"
	"strings"
)

// Time is a logical timestamp: the LSN of the change log.
type Time = uint64

// Diff is a change in multiplicity: +1 inserts a copy of a row, -1 retracts one.
type Diff = int64

// Row is a tuple of datums. Rows handed to an operator are never modified by it.
type Row []Datum

// Update is one change to a collection: Diff copies of Row at Time.
type Update struct {
	Row  Row
	Time Time
	Diff Diff
}

// String prints the row as tab-separated values.
func (r Row) String() string {
	var b strings.Builder
	for i, d := range r {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// Compare orders datums totally: first by kind, then by value within a kind. It is the order
// of their key encodings and the order consolidation sorts by; SQL comparison is in Expr.
func Compare(a, b Datum) int {
	if a.k != b.k {
		return cmp.Compare(a.k, b.k)
	}
	switch a.k {
	case KindNull:
		return 0
	case KindInt, KindTime:
		return cmp.Compare(a.i, b.i)
	case KindFloat:
		return cmp.Compare(a.Float(), b.Float())
	case KindDecimal:
		if a.s == b.s {
			return 0
		}
		return a.Decimal().Cmp(b.Decimal())
	default:
		return strings.Compare(a.s, b.s)
	}
}

// dropZeros removes the updates whose diff is zero, in place.
func dropZeros(updates []Update) []Update {
	out := updates[:0]
	for _, u := range updates {
		if u.Diff != 0 {
			out = append(out, u)
		}
	}
	return out
}

// CompareRows orders rows lexicographically by Compare.
func CompareRows(a, b Row) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// Consolidate sums the diffs of equal (row, time) pairs and drops zeros, in place. The result
// is sorted by time, then row, and shares the backing array of updates.
func Consolidate(updates []Update) []Update {
	if len(updates) == 0 {
		return updates
	}
	order := func(a, b Update) int {
		if a.Time != b.Time {
			return cmp.Compare(a.Time, b.Time)
		}
		return CompareRows(a.Row, b.Row)
	}
	// Updates often come in order already (a table's scan by primary key, and whatever
	// keeps its leading columns): one pass finds out, where sorting would cost a log factor.
	strictly := true
	for i := 1; i < len(updates) && strictly; i++ {
		strictly = order(updates[i-1], updates[i]) < 0
	}
	if strictly {
		return dropZeros(updates)
	}
	slices.SortFunc(updates, order)
	out := updates[:0]
	for _, u := range updates {
		if u.Diff == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Time == u.Time && CompareRows(out[n-1].Row, u.Row) == 0 {
			out[n-1].Diff += u.Diff
			if out[n-1].Diff == 0 {
				out = out[:n-1]
			}
			continue
		}
		out = append(out, u)
	}
	return out
}
