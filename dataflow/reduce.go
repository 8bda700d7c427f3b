package dataflow

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/mysql/decimal"
)

// AggFunc is an aggregate function.
type AggFunc uint8

// The aggregate functions Reduce maintains.
const (
	AggCountStar AggFunc = iota
	AggCount
	AggSum
	AggAvg
	AggMin
	AggMax
	AggGroupConcat // GROUP_CONCAT: see reduce_concat.go
	AggBitAnd      // BIT_AND, BIT_OR, BIT_XOR: see reduce_stats.go
	AggBitOr
	AggBitXor
	AggVarPop // VAR_POP (VARIANCE), VAR_SAMP, STDDEV_POP (STD, STDDEV), STDDEV_SAMP
	AggVarSamp
	AggStddevPop
	AggStddevSamp
)

var aggNames = [...]string{"count(*)", "count", "sum", "avg", "min", "max", "group_concat",
	"bit_and", "bit_or", "bit_xor", "var_pop", "var_samp", "stddev_pop", "stddev_samp"}

// Aggregate is one aggregate of a Reduce: Func over input column Arg.
type Aggregate struct {
	Func     AggFunc
	Arg      int  // input column; ignored for AggCountStar
	ArgKind  Kind // kind of the input column
	Distinct bool

	// More lists the input columns of the arguments after the first (Arg) of
	// COUNT(DISTINCT a, b, ...) and GROUP_CONCAT(a, b, ...). A row whose arguments include a
	// NULL is skipped.
	More []int
	// Order is GROUP_CONCAT's ORDER BY, over input columns; values that tie in it (or all of
	// them, without ORDER BY) are ordered by their arguments ascending.
	Order []OrderKey
	// Separator is GROUP_CONCAT's SEPARATOR, used as is (the planner supplies MySQL's
	// default ",").
	Separator string
}

// ResultKind is the kind of the aggregate's values.
func (a Aggregate) ResultKind() Kind {
	switch a.Func {
	case AggCountStar, AggCount:
		return KindInt
	case AggSum:
		return sumKind(a.ArgKind)
	case AggAvg:
		if k := sumKind(a.ArgKind); k == KindFloat {
			return KindFloat
		}
		return KindDecimal
	case AggGroupConcat:
		return KindString
	case AggBitAnd, AggBitOr, AggBitXor:
		return KindInt
	case AggVarPop, AggVarSamp, AggStddevPop, AggStddevSamp:
		return KindFloat
	default:
		return a.ArgKind
	}
}

// needsValues reports whether the aggregate keeps a per-group multiset of its values.
func (a Aggregate) needsValues() bool {
	return a.Func == AggMin || a.Func == AggMax || a.Func == AggGroupConcat || (a.Distinct && a.Func != AggCountStar)
}

// NeedsValues reports whether a Reduce needs a Values arrangement for the aggregate.
func (a Aggregate) NeedsValues() bool { return a.needsValues() }

// slots is the number of accumulator columns the aggregate uses: its count of non-NULL
// values, then its running value (sum, extreme, text, bit counts), and for the variances the
// sum of squares.
func (a Aggregate) slots() int {
	if a.isVariance() {
		return 3
	}
	return 2
}

// numArgs is the number of argument columns of an aggregate that keeps values.
func (a Aggregate) numArgs() int { return 1 + len(a.More) }

// argCol returns the input column of argument j.
func (a Aggregate) argCol(j int) int {
	if j == 0 {
		return a.Arg
	}
	return a.More[j-1]
}

func sumKind(k Kind) Kind {
	switch k {
	case KindInt, KindNull:
		return KindInt
	case KindDecimal:
		return KindDecimal
	}
	return KindFloat
}

// Reduce maintains GROUP BY aggregates.
//
// Output rows are the group columns followed by one column per aggregate. State holds one
// accumulator row per group: the group columns, the row count, then per aggregate its count
// of non-NULL values and its running sum (or current extreme for MIN/MAX, text for
// GROUP_CONCAT, per-bit counts for BIT_AND/BIT_OR, XOR for BIT_XOR, sum and sum of squares
// for the variances), under its group's key: at most one row per key, replaced (retracted
// and added) when the group changes, so State may be laid out for that (sqlplan.Unique).
// COUNT, SUM and AVG are updated by their inverse on retraction; MIN, MAX and DISTINCT
// aggregates also keep Values[i], an ordered multiset of the aggregate's values per group
// keyed by (group, value), so a retraction of the current extreme finds the next one
// without a rescan (and a step that retracts no copy of it reads nothing there). Only
// groups touched by an epoch are read or written. A Global reduce (no GROUP BY) always has
// exactly one output row, also over an empty input.
type Reduce struct {
	GroupBy []int
	Aggs    []Aggregate
	Global  bool
	State   Arrangement
	Values  []Arrangement // per aggregate; nil where needsValues is false

	scratch reduceScratch
}

// reduceScratch holds the buffers a Reduce reuses from one step to the next. None of it is
// state: each step starts by resetting what it uses.
type reduceScratch struct {
	groups  map[string]*groupDelta
	order   []*groupDelta
	pool    []*groupDelta
	buf     []byte
	values  map[string]*valueDelta
	deltas  []*valueDelta
	vpool   []*valueDelta
	lookup  []byte
	vrow    Row
	offsets []int
	text    []byte
	merged  []concatEntry
	found   Row
	count   Diff
	capture func(Row, Diff) bool
}

// fromPool takes an item back from a pool of reusable ones, or makes a new one.
func fromPool[T any](pool *[]*T) *T {
	if n := len(*pool); n > 0 {
		t := (*pool)[n-1]
		*pool = (*pool)[:n-1]
		return t
	}
	return new(T)
}

// smallSet is how many values a step's deltas hold before they are indexed by a map: below
// it a linear search is faster and allocates nothing.
const smallSet = 16

// findValue returns this step's delta of the value with the given encoding, or nil.
func (s *reduceScratch) findValue(enc []byte) *valueDelta {
	if len(s.deltas) >= smallSet {
		return s.values[string(enc)]
	}
	for _, d := range s.deltas {
		if bytes.Equal(d.enc, enc) {
			return d
		}
	}
	return nil
}

// addValue records a new value delta, indexing all of them once there are many.
func (s *reduceScratch) addValue(d *valueDelta) {
	s.deltas = append(s.deltas, d)
	switch n := len(s.deltas); {
	case n == smallSet:
		for _, e := range s.deltas {
			s.values[string(e.enc)] = e
		}
	case n > smallSet:
		s.values[string(d.enc)] = d
	}
}

// first returns an arrangement visitor that records the first entry it is shown.
func (s *reduceScratch) first() func(Row, Diff) bool {
	if s.capture == nil {
		s.capture = func(r Row, c Diff) bool { s.found, s.count = r, c; return false }
	}
	s.found, s.count = nil, 0
	return s.capture
}

type groupDelta struct {
	key     []byte
	group   Row
	updates []Update
}

// valueDelta is the net change of one aggregated value of a group in a step.
type valueDelta struct {
	enc  []byte
	v    Row // the aggregate's value row (see valueRow)
	diff Diff
}

// Step updates the touched groups and emits the retraction of each one's old row and its
// new row.
func (o *Reduce) Step(ep *Epoch, in [][]Update) ([]Update, error) {
	order := o.groupInput(in[0])
	if o.Global && ep.Hydrate && len(order) == 0 {
		order = append(order, &groupDelta{group: Row{}})
	}
	var out []Update
	var stateUps []KeyedUpdate
	valueUps := make([][]KeyedUpdate, len(o.Aggs))
	for _, g := range order {
		old, err := o.readState(g.key)
		if err != nil {
			return nil, err
		}
		acc := o.newAccumulator(g.group, old)
		if err := o.accumulate(acc, g, valueUps); err != nil {
			return nil, err
		}
		rows := acc[len(o.GroupBy)].Int()
		if old != nil {
			out = append(out, Update{Row: o.output(old), Time: ep.Time, Diff: -1})
			stateUps = append(stateUps, KeyedUpdate{Key: g.key, Row: old, Diff: -1})
		}
		if rows > 0 || o.Global {
			if rows < 0 {
				return nil, fmt.Errorf("reduce: group has %d rows", rows)
			}
			out = append(out, Update{Row: o.output(acc), Time: ep.Time, Diff: 1})
			stateUps = append(stateUps, KeyedUpdate{Key: g.key, Row: acc, Diff: 1})
		} else if rows < 0 {
			return nil, fmt.Errorf("reduce: group has %d rows", rows)
		}
	}
	ep.Stage(o.State, stateUps)
	for i, a := range o.Values {
		if a != nil {
			ep.Stage(a, valueUps[i])
		}
	}
	return Consolidate(out), nil
}

// groupInput splits the input by group key, in sorted key order. The groups and their keys
// are scratch, valid until the next step.
func (o *Reduce) groupInput(in []Update) []*groupDelta {
	sc := &o.scratch
	if sc.groups == nil {
		sc.groups = make(map[string]*groupDelta)
	}
	clear(sc.groups)
	sc.pool = append(sc.pool, sc.order...)
	sc.order = sc.order[:0]
	for _, u := range in {
		sc.buf = AppendColumnsKey(sc.buf[:0], u.Row, o.GroupBy)
		g, ok := sc.groups[string(sc.buf)]
		if !ok {
			g = fromPool(&sc.pool)
			g.key = append(g.key[:0], sc.buf...)
			g.group = g.group[:0]
			for _, c := range o.GroupBy {
				g.group = append(g.group, u.Row[c])
			}
			g.updates = g.updates[:0]
			sc.groups[string(g.key)] = g
			sc.order = append(sc.order, g)
		}
		g.updates = append(g.updates, u)
	}
	slices.SortFunc(sc.order, func(a, b *groupDelta) int { return bytes.Compare(a.key, b.key) })
	return sc.order
}

func (o *Reduce) readState(key []byte) (Row, error) {
	if err := o.State.Get(key, o.scratch.first()); err != nil {
		return nil, fmt.Errorf("reduce state %s: %w", o.State.Name(), err)
	}
	return o.scratch.found, nil
}

// newAccumulator copies old, or makes the accumulator of an empty group.
func (o *Reduce) newAccumulator(group Row, old Row) Row {
	if old != nil {
		return slices.Clone(old)
	}
	acc := make(Row, 0, len(o.GroupBy)+1+2*len(o.Aggs))
	acc = append(acc, group...)
	acc = append(acc, NewInt(0))
	for _, a := range o.Aggs {
		acc = append(acc, NewInt(0))
		for range a.slots() - 1 {
			acc = append(acc, Null)
		}
	}
	return acc
}

// offsets returns the accumulator column of each aggregate's first slot.
func (o *Reduce) offsets() []int {
	sc := &o.scratch
	if len(sc.offsets) != len(o.Aggs) {
		sc.offsets = make([]int, len(o.Aggs))
		next := len(o.GroupBy) + 1
		for i, a := range o.Aggs {
			sc.offsets[i] = next
			next += a.slots()
		}
	}
	return sc.offsets
}

// accumulate applies a group's updates to its accumulator and collects value changes.
func (o *Reduce) accumulate(acc Row, g *groupDelta, valueUps [][]KeyedUpdate) error {
	base := len(o.GroupBy)
	var rows Diff
	for _, u := range g.updates {
		rows += u.Diff
	}
	acc[base] = NewInt(acc[base].Int() + rows)
	for i, a := range o.Aggs {
		cnt := o.offsets()[i]
		val := cnt + 1
		switch {
		case a.Func == AggCountStar:
			acc[cnt] = NewInt(acc[cnt].Int() + rows)
		case a.needsValues():
			ups, err := o.accumulateValues(acc, cnt, val, i, a, g)
			if err != nil {
				return err
			}
			valueUps[i] = append(valueUps[i], ups...)
		case a.isBitwise():
			accumulateBits(acc, cnt, a, g.updates)
		case a.isVariance():
			if err := accumulateMoments(acc, cnt, a, g.updates); err != nil {
				return err
			}
		default:
			for _, u := range g.updates {
				v := u.Row[a.Arg]
				if v.IsNull() {
					continue
				}
				acc[cnt] = NewInt(acc[cnt].Int() + u.Diff)
				if a.Func == AggSum || a.Func == AggAvg {
					s, err := addScaled(acc[val], v, u.Diff, sumKind(a.ArgKind))
					if err != nil {
						return err
					}
					acc[val] = s
				}
			}
			if acc[cnt].Int() == 0 {
				acc[val] = Null
			}
		}
	}
	return nil
}

// accumulateValues maintains an aggregate that keeps its values: DISTINCT aggregates see a
// value enter or leave when its count crosses zero; MIN and MAX find their new extreme.
func (o *Reduce) accumulateValues(acc Row, cnt, val, i int, a Aggregate, g *groupDelta) ([]KeyedUpdate, error) {
	arr := o.Values[i]
	sc := &o.scratch
	// Net change per value in this step, sorted by value encoding.
	if sc.values == nil {
		sc.values = make(map[string]*valueDelta)
	}
	clear(sc.values)
	sc.vpool = append(sc.vpool, sc.deltas...)
	sc.deltas = sc.deltas[:0]
	for _, u := range g.updates {
		var ok bool
		if sc.vrow, ok = a.valueRow(sc.vrow[:0], u.Row); !ok {
			continue
		}
		sc.buf = AppendRowKey(sc.buf[:0], sc.vrow)
		d := sc.findValue(sc.buf)
		if d == nil {
			d = fromPool(&sc.vpool)
			d.enc, d.v, d.diff = append(d.enc[:0], sc.buf...), append(d.v[:0], sc.vrow...), 0
			sc.addValue(d)
		}
		d.diff += u.Diff
	}
	deltas := sc.deltas
	slices.SortFunc(deltas, func(x, y *valueDelta) int { return bytes.Compare(x.enc, y.enc) })
	ups := make([]KeyedUpdate, 0, len(deltas))
	width := a.valueWidth()
	cells := make(Row, len(deltas)*width) // one backing array for the staged value rows
	oldCount := func(enc []byte) (Diff, error) {
		sc.lookup = append(append(sc.lookup[:0], g.key...), enc...)
		err := arr.Get(sc.lookup, sc.first())
		return sc.count, err
	}
	for _, d := range deltas {
		if d.diff == 0 {
			continue
		}
		j := len(ups) * width
		row := cells[j : j+width : j+width]
		copy(row, d.v)
		ups = append(ups, KeyedUpdate{Key: g.key, Row: row, Diff: d.diff})
		if a.Func == AggMin || a.Func == AggMax || a.Func == AggGroupConcat {
			continue
		}
		before, err := oldCount(d.enc)
		if err != nil {
			return nil, err
		}
		after := before + d.diff
		var sign Diff
		switch {
		case before <= 0 && after > 0:
			sign = 1
		case before > 0 && after <= 0:
			sign = -1
		default:
			continue
		}
		acc[cnt] = NewInt(acc[cnt].Int() + sign)
		if a.Func == AggSum || a.Func == AggAvg {
			s, err := addScaled(acc[val], d.v[0], sign, sumKind(a.ArgKind))
			if err != nil {
				return nil, err
			}
			acc[val] = s
		}
	}
	if a.Func == AggGroupConcat {
		return ups, o.updateConcat(acc, cnt, val, arr, a, g.key, deltas)
	}
	if a.Func != AggMin && a.Func != AggMax {
		if acc[cnt].Int() == 0 {
			acc[val] = Null
		}
		return ups, nil
	}
	// MIN/MAX: the first value, in the aggregate's direction, whose count stays positive.
	var total Diff
	for _, d := range deltas {
		total += d.diff
	}
	before := acc[cnt].Int()
	acc[cnt] = NewInt(before + total)
	if acc[cnt].Int() == 0 {
		acc[val] = Null
		return ups, nil
	}
	var best Datum
	found := false
	better := func(v Datum) bool {
		if !found {
			return true
		}
		c := Compare(v, best)
		return (a.Func == AggMin && c < 0) || (a.Func == AggMax && c > 0)
	}
	if before > 0 && keepsExtreme(deltas, acc[val]) {
		// The current extreme stays (no retraction touches it): only the added values can
		// beat it, and reading the stored values is not needed.
		best, found = acc[val], true
		for _, d := range deltas {
			if d.diff > 0 && better(d.v[0]) {
				best = d.v[0]
			}
		}
		acc[val] = best
		return ups, nil
	}
	visit := func(r Row, n Diff) bool {
		sc.buf = AppendKey(sc.buf[:0], r[0])
		if d := sc.findValue(sc.buf); d != nil {
			n += d.diff
		}
		if n > 0 {
			best, found = r[0], true
			return false
		}
		return true
	}
	var err error
	if a.Func == AggMin {
		err = arr.Get(g.key, visit)
	} else {
		err = arr.GetReverse(g.key, visit)
	}
	if err != nil {
		return nil, fmt.Errorf("reduce values %s: %w", arr.Name(), err)
	}
	for _, d := range deltas {
		if d.diff <= 0 || !better(d.v[0]) {
			continue
		}
		before, err := oldCount(d.enc)
		if err != nil {
			return nil, err
		}
		if before+d.diff > 0 {
			best, found = d.v[0], true
		}
	}
	if !found {
		return nil, fmt.Errorf("reduce %s: group has values but no extreme", arr.Name())
	}
	acc[val] = best
	return ups, nil
}

// keepsExtreme reports whether a group's current extreme survives the step's value
// changes: no value equal to it is retracted. (A retracted value equal to it may leave
// other copies, but finding out needs a read.)
func keepsExtreme(deltas []*valueDelta, extreme Datum) bool {
	if extreme.IsNull() {
		return false
	}
	for _, d := range deltas {
		if d.diff < 0 && Compare(d.v[0], extreme) == 0 {
			return false
		}
	}
	return true
}

// output computes the output row of an accumulator.
func (o *Reduce) output(acc Row) Row {
	base := len(o.GroupBy)
	row := make(Row, base+len(o.Aggs))
	copy(row, acc[:base])
	for i, a := range o.Aggs {
		off := o.offsets()[i]
		cnt, val := acc[off], acc[off+1]
		switch a.Func {
		case AggCountStar, AggCount:
			row[base+i] = cnt
		case AggAvg:
			row[base+i] = average(val, cnt.Int())
		case AggBitAnd, AggBitOr, AggBitXor:
			row[base+i] = bitsResult(a.Func, cnt.Int(), val)
		case AggVarPop, AggVarSamp, AggStddevPop, AggStddevSamp:
			row[base+i] = variance(a.Func, cnt.Int(), val, acc[off+2])
		default:
			row[base+i] = val
		}
	}
	return row
}

// average divides a sum by a count as MySQL's AVG does: DOUBLE stays DOUBLE, exact sums
// become DECIMAL with four more digits of scale.
func average(sum Datum, n int64) Datum {
	if n == 0 || sum.IsNull() {
		return Null
	}
	switch sum.Kind() {
	case KindFloat:
		return NewFloat(sum.Float() / float64(n))
	case KindInt:
		return decDatum(decimal.NewFromInt(sum.Int()).Div(decimal.NewFromInt(n), 4), 4)
	}
	scale := decScale(sum.s) + 4
	return decDatum(sum.Decimal().Div(decimal.NewFromInt(n), scale), scale)
}

// addScaled returns sum + v*diff in the sum's kind; NULL sum counts as zero.
func addScaled(sum, v Datum, diff Diff, kind Kind) (Datum, error) {
	switch kind {
	case KindInt:
		x := v.Int()
		if v.Kind() != KindInt {
			f, _ := v.ToFloat()
			x = int64(f)
		}
		prod, ok := mulInt(x, diff)
		if !ok {
			return Null, sqlerr.New(sqlerr.DataOutOfRange, "BIGINT value is out of range in 'sum'")
		}
		s := sum.Int()
		r := s + prod
		if (r > s) != (prod > 0) && prod != 0 {
			return Null, sqlerr.New(sqlerr.DataOutOfRange, "BIGINT value is out of range in 'sum'")
		}
		return NewInt(r), nil
	case KindDecimal:
		var dv decimal.Decimal
		var scale int32
		switch v.Kind() {
		case KindInt:
			dv = decimal.NewFromInt(v.Int())
		case KindDecimal:
			dv, scale = v.Decimal(), decScale(v.s)
		default:
			f, _ := v.ToFloat()
			dv = decimal.NewFromFloat(f)
		}
		dv = dv.Mul(decimal.NewFromInt(diff))
		if sum.IsNull() {
			return decDatum(dv, scale), nil
		}
		return decDatum(sum.Decimal().Add(dv), max(scale, decScale(sum.s))), nil
	default:
		f, _ := v.ToFloat()
		s := 0.0
		if !sum.IsNull() {
			s = sum.Float()
		}
		return NewFloat(s + f*float64(diff)), nil
	}
}

// mulInt multiplies with overflow detection.
func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == -1<<63) || (b == -1 && a == -1<<63) {
		return 0, false
	}
	return c, true
}

// Explain prints the grouping and aggregates.
func (o *Reduce) Explain() string {
	name := "Reduce"
	if o.Global {
		name = "Reduce global"
	}
	return fmt.Sprintf("%s group=%v aggs=[%s] state=%s", name, o.GroupBy, AggregatesString(o.Aggs), o.State.Name())
}

// AggregatesString prints aggregates as count(*), sum(#2), min(distinct #0), ...
func AggregatesString(aggs []Aggregate) string {
	parts := make([]string, len(aggs))
	for i, a := range aggs {
		d := ""
		if a.Distinct {
			d = "distinct "
		}
		switch {
		case a.Func == AggCountStar:
			parts[i] = "count(*)"
		case a.Func == AggGroupConcat:
			parts[i] = groupConcatString(a)
		default:
			parts[i] = fmt.Sprintf("%s(%s%s)", aggNames[a.Func], d, argsString(a))
		}
	}
	return strings.Join(parts, ", ")
}
