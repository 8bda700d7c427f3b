package dataflow

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// GroupConcatMaxLen is the length in bytes GROUP_CONCAT results are truncated to: MySQL's
// default group_concat_max_len. A cut never splits a UTF-8 character.
const GroupConcatMaxLen = 1024

// GROUP_CONCAT keeps, per group, the multiset of its value rows in its Values arrangement,
// keyed by (group, value row): the ORDER BY keys followed by the arguments, so the
// arrangement's order is the output order (values that tie in ORDER BY, or all values
// without ORDER BY, are ordered by their arguments: ascending, or descending when every
// ORDER BY key is DESC; strings compare as bytes). The accumulator keeps the group's count
// of non-NULL value rows and the current text. When an epoch changes a group's values the
// text is rebuilt by walking the arrangement in order, merged with the epoch's changes, and
// the walk stops as soon as GroupConcatMaxLen bytes are reached: the work is bounded by the
// result's length, not the group's size. Only mixed ASC/DESC ORDER BY keys read the whole
// group and sort it in memory.

// valueRow appends to dst the row an aggregate that keeps values stores for an input row:
// GROUP_CONCAT's ORDER BY keys then its arguments, other aggregates their arguments. ok is
// false when an argument is NULL: the row does not contribute.
func (a Aggregate) valueRow(dst Row, in Row) (Row, bool) {
	if a.Func == AggGroupConcat {
		for _, k := range a.Order {
			dst = append(dst, in[k.Col])
		}
	}
	for j := range a.numArgs() {
		v := in[a.argCol(j)]
		if v.IsNull() {
			return dst, false
		}
		dst = append(dst, v)
	}
	return dst, true
}

// valueWidth is the number of columns of the aggregate's value rows.
func (a Aggregate) valueWidth() int {
	if a.Func == AggGroupConcat {
		return len(a.Order) + a.numArgs()
	}
	return a.numArgs()
}

// concatEntry is one value row of a group with its count, for a mixed-direction ORDER BY.
type concatEntry struct {
	v     Row
	enc   []byte
	count Diff
}

// updateConcat maintains a GROUP_CONCAT's count and text after the step's value deltas.
func (o *Reduce) updateConcat(acc Row, cnt, val int, arr Arrangement, a Aggregate, key []byte, deltas []*valueDelta) error {
	var total Diff
	changed := false
	for _, d := range deltas {
		total += d.diff
		changed = changed || d.diff != 0
	}
	acc[cnt] = NewInt(acc[cnt].Int() + total)
	if acc[cnt].Int() <= 0 {
		acc[val] = Null
		return nil
	}
	if !changed && !acc[val].IsNull() {
		return nil
	}
	text, err := o.concat(arr, a, key, deltas)
	if err != nil {
		return fmt.Errorf("reduce values %s: %w", arr.Name(), err)
	}
	acc[val] = NewString(text)
	return nil
}

// concat builds a group's GROUP_CONCAT text from its arrangement (the state before this
// step) and the step's deltas, sorted by encoding.
func (o *Reduce) concat(arr Arrangement, a Aggregate, key []byte, deltas []*valueDelta) (string, error) {
	sc := &o.scratch
	b := sc.text[:0]
	n := 0
	full := false
	emit := func(v Row, count Diff) {
		if count <= 0 || full {
			return
		}
		reps := Diff(1)
		if !a.Distinct {
			reps = count
		}
		for ; reps > 0; reps-- {
			start := len(b)
			if n > 0 {
				b = append(b, a.Separator...)
			}
			for _, d := range v[len(a.Order):] {
				b = appendText(b, d)
			}
			n++
			if len(b) >= GroupConcatMaxLen {
				full = true
				return
			}
			if len(b) == start {
				break // neither value nor separator adds anything: more copies change nothing
			}
		}
	}
	asc, desc := 0, 0
	for _, k := range a.Order {
		if k.Desc {
			desc++
		} else {
			asc++
		}
	}
	var err error
	switch {
	case asc > 0 && desc > 0:
		err = o.concatMixed(arr, a, key, deltas, emit)
	case desc == 0:
		j := 0
		err = arr.Get(key, func(r Row, c Diff) bool {
			sc.lookup = AppendRowKey(sc.lookup[:0], r)
			for ; j < len(deltas) && bytes.Compare(deltas[j].enc, sc.lookup) < 0; j++ {
				emit(deltas[j].v, deltas[j].diff)
			}
			if j < len(deltas) && bytes.Equal(deltas[j].enc, sc.lookup) {
				c += deltas[j].diff
				j++
			}
			emit(r, c)
			return !full
		})
		for ; j < len(deltas); j++ {
			emit(deltas[j].v, deltas[j].diff)
		}
	default:
		j := len(deltas) - 1
		err = arr.GetReverse(key, func(r Row, c Diff) bool {
			sc.lookup = AppendRowKey(sc.lookup[:0], r)
			for ; j >= 0 && bytes.Compare(deltas[j].enc, sc.lookup) > 0; j-- {
				emit(deltas[j].v, deltas[j].diff)
			}
			if j >= 0 && bytes.Equal(deltas[j].enc, sc.lookup) {
				c += deltas[j].diff
				j--
			}
			emit(r, c)
			return !full
		})
		for ; j >= 0; j-- {
			emit(deltas[j].v, deltas[j].diff)
		}
	}
	if err != nil {
		return "", err
	}
	if len(b) > GroupConcatMaxLen {
		cut := GroupConcatMaxLen
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = b[:cut]
	}
	sc.text = b
	return string(b), nil
}

// concatMixed reads every value of the group, applies the deltas, sorts them by the ORDER
// BY keys in their directions (ties by encoding) and emits them in that order.
func (o *Reduce) concatMixed(arr Arrangement, a Aggregate, key []byte, deltas []*valueDelta, emit func(Row, Diff)) error {
	sc := &o.scratch
	entries := sc.merged[:0]
	j := 0
	err := arr.Get(key, func(r Row, c Diff) bool {
		enc := AppendRowKey(nil, r)
		for ; j < len(deltas) && bytes.Compare(deltas[j].enc, enc) < 0; j++ {
			entries = append(entries, concatEntry{v: slices.Clone(deltas[j].v), enc: slices.Clone(deltas[j].enc), count: deltas[j].diff})
		}
		if j < len(deltas) && bytes.Equal(deltas[j].enc, enc) {
			c += deltas[j].diff
			j++
		}
		entries = append(entries, concatEntry{v: r, enc: enc, count: c})
		return true
	})
	for ; j < len(deltas); j++ {
		entries = append(entries, concatEntry{v: slices.Clone(deltas[j].v), enc: slices.Clone(deltas[j].enc), count: deltas[j].diff})
	}
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(x, y concatEntry) int {
		for i, k := range a.Order {
			c := Compare(x.v[i], y.v[i])
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return bytes.Compare(x.enc, y.enc)
	})
	for _, e := range entries {
		emit(e.v, e.count)
	}
	clear(entries)
	sc.merged = entries[:0]
	return nil
}

// appendText appends a non-NULL value as text, as MySQL converts it in string context.
func appendText(b []byte, d Datum) []byte {
	if d.k == KindString || d.k == KindBytes || d.k == KindDecimal {
		return append(b, d.s...)
	}
	return append(b, toStr(d)...)
}

// argsString prints an aggregate's argument columns: #1 or #1, #2.
func argsString(a Aggregate) string {
	parts := make([]string, a.numArgs())
	for j := range parts {
		parts[j] = fmt.Sprintf("#%d", a.argCol(j))
	}
	return strings.Join(parts, ", ")
}

// groupConcatString prints a GROUP_CONCAT: group_concat(distinct #1, #2 order by #0 desc separator ';').
func groupConcatString(a Aggregate) string {
	var sb strings.Builder
	sb.WriteString("group_concat(")
	if a.Distinct {
		sb.WriteString("distinct ")
	}
	sb.WriteString(argsString(a))
	for i, k := range a.Order {
		if i == 0 {
			sb.WriteString(" order by ")
		} else {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "#%d", k.Col)
		if k.Desc {
			sb.WriteString(" desc")
		}
	}
	fmt.Fprintf(&sb, " separator %q)", a.Separator)
	return sb.String()
}
