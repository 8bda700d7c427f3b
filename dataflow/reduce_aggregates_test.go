package dataflow_test

import (
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/arrangements"
	. "github.com/cdc-dev/cdc/dataflow"
)

// mixed builds an update of a row of ints, strings, floats and NULLs (nil).
func mixed(diff Diff, vs ...any) Update {
	r := make(Row, len(vs))
	for i, v := range vs {
		switch v := v.(type) {
		case nil:
			r[i] = Null
		case int:
			r[i] = NewInt(int64(v))
		case string:
			r[i] = NewString(v)
		case float64:
			r[i] = NewFloat(v)
		}
	}
	return Update{Row: r, Diff: diff}
}

// newReduce makes a Reduce with the Values arrangements its aggregates need.
func newReduce(groupBy []int, aggs ...Aggregate) *Reduce {
	r := &Reduce{GroupBy: groupBy, Aggs: aggs, Global: len(groupBy) == 0, State: arrangements.NewMem("state")}
	r.Values = make([]Arrangement, len(aggs))
	for i, a := range aggs {
		if a.NeedsValues() {
			r.Values[i] = arrangements.NewMem("values")
		}
	}
	return r
}

// Input rows are (group, value, position).
func TestReduceGroupConcatRetraction(t *testing.T) {
	red := newReduce([]int{0},
		Aggregate{Func: AggGroupConcat, Arg: 1, ArgKind: KindString, Separator: "|"},
		Aggregate{Func: AggGroupConcat, Arg: 1, ArgKind: KindString, Separator: "|", Distinct: true},
		Aggregate{Func: AggGroupConcat, Arg: 1, ArgKind: KindString, Separator: "|",
			Order: []OrderKey{{Col: 2, Desc: true}}},
		Aggregate{Func: AggCountStar})
	h := &harness{t: t, op: red}
	expect(t, h.step(false, []Update{mixed(1, 1, "b", 1), mixed(1, 1, "a", 2), mixed(1, 1, "b", 3), mixed(1, 1, nil, 4)}),
		"1,a|b|b,a|b,b|a|b,4:+1")
	// A middle value leaves.
	expect(t, h.step(false, []Update{mixed(-1, 1, "a", 2)}), "1,a|b|b,a|b,b|a|b,4:-1", "1,b|b,b,b|b,3:+1")
	// One of two copies leaves: only the texts that repeat values change.
	expect(t, h.step(false, []Update{mixed(-1, 1, "b", 1)}), "1,b,b,b,2:+1", "1,b|b,b,b|b,3:-1")
	// A value leaves and another arrives in one epoch.
	expect(t, h.step(false, []Update{mixed(-1, 1, "b", 3), mixed(1, 1, "c", 5)}), "1,b,b,b,2:-1", "1,c,c,c,2:+1")
	// A value arrives and leaves in one epoch: nothing changes.
	expect(t, h.step(false, []Update{mixed(1, 1, "d", 6), mixed(-1, 1, "d", 6)}))
	// The only value leaves: the texts become NULL while the group keeps its NULL row.
	expect(t, h.step(false, []Update{mixed(-1, 1, "c", 5)}), "1,NULL,NULL,NULL,1:+1", "1,c,c,c,2:-1")
	// Values come back to a group that had none; by position descending a(8) comes first.
	expect(t, h.step(false, []Update{mixed(1, 1, "e", 7), mixed(1, 1, "e", 7), mixed(1, 1, "a", 8)}),
		"1,NULL,NULL,NULL,1:-1", "1,a|e|e,a|e,a|e|e,4:+1")
	expect(t, h.step(false, []Update{mixed(-1, 1, "e", 7), mixed(-1, 1, "e", 7), mixed(-1, 1, "a", 8), mixed(-1, 1, nil, 4)}),
		"1,a|e|e,a|e,a|e|e,4:-1")
	for i, v := range red.Values {
		if v != nil && v.Len() != 0 {
			t.Fatalf("values %d keep %d entries after the group left", i, v.Len())
		}
	}
}

// Two arguments, mixed ORDER BY directions, and several groups across epochs. Rows are
// (group, name, n).
func TestReduceGroupConcatArgsAndMixedOrder(t *testing.T) {
	red := newReduce([]int{0},
		Aggregate{Func: AggGroupConcat, Arg: 1, ArgKind: KindString, More: []int{2}, Separator: ";",
			Order: []OrderKey{{Col: 1}, {Col: 2, Desc: true}}},
		Aggregate{Func: AggGroupConcat, Arg: 2, ArgKind: KindInt, Separator: ""},
		Aggregate{Func: AggCount, Arg: 1, ArgKind: KindString, More: []int{2}, Distinct: true})
	h := &harness{t: t, op: red}
	expect(t, h.step(false, []Update{mixed(1, 1, "x", 1), mixed(1, 1, "x", 3), mixed(1, 1, "y", 2), mixed(1, 1, "x", nil),
		mixed(1, 2, "z", 10)}),
		"1,x3;x1;y2,123,3:+1", "2,z10,10,1:+1")
	expect(t, h.step(false, []Update{mixed(-1, 1, "x", 3), mixed(1, 1, "a", 9), mixed(1, 2, "z", 10)}),
		"1,a9;x1;y2,129,3:+1", "1,x3;x1;y2,123,3:-1", "2,z10,10,1:-1", "2,z10;z10,1010,1:+1")
	expect(t, h.step(false, []Update{mixed(-1, 2, "z", 10)}), "2,z10,10,1:+1", "2,z10;z10,1010,1:-1")
}

func TestReduceGroupConcatTruncation(t *testing.T) {
	red := newReduce(nil, Aggregate{Func: AggGroupConcat, Arg: 0, ArgKind: KindString, Separator: ","})
	h := &harness{t: t, op: red}
	// Four values of 300 bytes (150 two-byte characters): 1203 bytes, cut at 1024 would split
	// a character of the fourth value, so the result has 1023 bytes.
	var in []Update
	for _, c := range []string{"é", "ü", "ö", "ä"} {
		in = append(in, mixed(1, strings.Repeat(c, 150)))
	}
	h.step(true, nil)
	ep := NewEpoch(100, nil)
	out, err := red.Step(ep, [][]Update{in})
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Commit(); err != nil {
		t.Fatal(err)
	}
	var got string
	for _, u := range out {
		if u.Diff > 0 {
			got = u.Row[0].Str()
		}
	}
	// Values are ordered by their bytes: ä, é, ö, ü.
	want := strings.Repeat("ä", 150) + "," + strings.Repeat("é", 150) + "," + strings.Repeat("ö", 150) + "," + strings.Repeat("ü", 60)
	if got != want {
		t.Fatalf("got %d bytes %q..., want %d bytes", len(got), got[:10], len(want))
	}
	// The first value leaves: the text is rebuilt and now ends inside the last value.
	ep = NewEpoch(101, nil)
	out, err = red.Step(ep, [][]Update{{mixed(-1, strings.Repeat("ä", 150))}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range out {
		if u.Diff > 0 {
			got = u.Row[0].Str()
		}
	}
	want = strings.Repeat("é", 150) + "," + strings.Repeat("ö", 150) + "," + strings.Repeat("ü", 150)
	if got != want {
		t.Fatalf("after the retraction got %d bytes, want %d", len(got), len(want))
	}
}

func TestReduceCountDistinctTuples(t *testing.T) {
	red := newReduce([]int{0}, Aggregate{Func: AggCount, Arg: 1, ArgKind: KindInt, More: []int{2}, Distinct: true})
	h := &harness{t: t, op: red}
	expect(t, h.step(false, []Update{up(1, 1, 1, 1), up(1, 1, 1, 1), up(1, 1, 1, 2), up(1, 1, 2, 1),
		mixed(1, 1, nil, 3), mixed(1, 1, 2, nil)}), "1,3:+1")
	// One copy of (1, 1) leaves: still there. A tuple with a NULL leaves: never counted.
	expect(t, h.step(false, []Update{up(-1, 1, 1, 1), mixed(-1, 1, 2, nil)}))
	expect(t, h.step(false, []Update{up(-1, 1, 1, 1), up(1, 1, 2, 2)}))
	expect(t, h.step(false, []Update{up(-1, 1, 1, 2)}), "1,2:+1", "1,3:-1")
	expect(t, h.step(false, []Update{up(-1, 1, 2, 1), up(-1, 1, 2, 2)}), "1,0:+1", "1,2:-1")
}

func TestReduceBitAggregates(t *testing.T) {
	red := newReduce([]int{0}, Aggregate{Func: AggBitAnd, Arg: 1, ArgKind: KindInt},
		Aggregate{Func: AggBitOr, Arg: 1, ArgKind: KindInt}, Aggregate{Func: AggBitXor, Arg: 1, ArgKind: KindInt})
	h := &harness{t: t, op: red}
	expect(t, h.step(false, []Update{up(1, 1, 3), up(1, 1, 5), up(1, 1, 5), mixed(1, 1, nil)}), "1,1,7,3:+1")
	// One copy of a duplicate leaves.
	expect(t, h.step(false, []Update{up(-1, 1, 5)}), "1,1,7,3:-1", "1,1,7,6:+1")
	// The value that alone had bits 0 and 1 set leaves, another arrives in the same epoch.
	expect(t, h.step(false, []Update{up(-1, 1, 3), up(1, 1, 12)}), "1,1,7,6:-1", "1,4,13,9:+1")
	expect(t, h.step(false, []Update{up(-1, 1, 12)}), "1,4,13,9:-1", "1,5,5,5:+1")
	// The last value leaves; the NULL row keeps the group: BIT_AND of nothing is all ones.
	expect(t, h.step(false, []Update{up(-1, 1, 5)}), "1,-1,0,0:+1", "1,5,5,5:-1")
	// Negative numbers are 64-bit patterns.
	expect(t, h.step(false, []Update{up(1, 1, -1), up(1, 1, -2)}), "1,-1,0,0:-1", "1,-2,-1,1:+1")
	expect(t, h.step(false, []Update{up(-1, 1, -1), up(-1, 1, -2), mixed(-1, 1, nil)}), "1,-2,-1,1:-1")
	if n := red.State.Len(); n != 0 {
		t.Fatalf("state keeps %d entries", n)
	}
}

func TestReduceVariances(t *testing.T) {
	aggs := func(k Kind) []Aggregate {
		return []Aggregate{{Func: AggVarPop, Arg: 1, ArgKind: k}, {Func: AggVarSamp, Arg: 1, ArgKind: k},
			{Func: AggStddevPop, Arg: 1, ArgKind: k}, {Func: AggStddevSamp, Arg: 1, ArgKind: k}}
	}
	red := newReduce([]int{0}, aggs(KindInt)...)
	h := &harness{t: t, op: red}
	expect(t, h.step(false, []Update{up(1, 1, 1), up(1, 1, 3), mixed(1, 1, nil)}), "1,1,2,1,1.4142135623730951:+1")
	// A large value arrives and leaves again: exact sums leave no trace of it.
	expect(t, h.step(false, []Update{up(1, 1, 1<<60)}), "1,1,2,1,1.4142135623730951:-1",
		"1,2.9538399906331462e+35,4.430759985949719e+35,5.434924093888659e+17,6.656395410392714e+17:+1")
	expect(t, h.step(false, []Update{up(-1, 1, 1<<60)}), "1,1,2,1,1.4142135623730951:+1",
		"1,2.9538399906331462e+35,4.430759985949719e+35,5.434924093888659e+17,6.656395410392714e+17:-1")
	// One value left: the sample ones are NULL.
	expect(t, h.step(false, []Update{up(-1, 1, 1)}), "1,0,NULL,0,NULL:+1", "1,1,2,1,1.4142135623730951:-1")
	// No value left (the NULL row keeps the group): all NULL.
	expect(t, h.step(false, []Update{up(-1, 1, 3)}), "1,0,NULL,0,NULL:-1", "1,NULL,NULL,NULL,NULL:+1")

	red = newReduce([]int{0}, aggs(KindFloat)...)
	h = &harness{t: t, op: red}
	expect(t, h.step(false, []Update{mixed(1, 1, 0.5), mixed(1, 1, 1.5)}), "1,0.25,0.5,0.5,0.7071067811865476:+1")
	// 1.5 and 2.5 have the same variance: the old row and the new one cancel.
	expect(t, h.step(false, []Update{mixed(-1, 1, 0.5), mixed(1, 1, 2.5)}))
	expect(t, h.step(false, []Update{mixed(-1, 1, 1.5)}), "1,0,NULL,0,NULL:+1", "1,0.25,0.5,0.5,0.7071067811865476:-1")
}

func TestReduceNewAggregatesGlobalOverEmptyInput(t *testing.T) {
	red := newReduce(nil, Aggregate{Func: AggGroupConcat, Arg: 0, ArgKind: KindInt, Separator: ","},
		Aggregate{Func: AggBitAnd, Arg: 0, ArgKind: KindInt}, Aggregate{Func: AggBitOr, Arg: 0, ArgKind: KindInt},
		Aggregate{Func: AggStddevSamp, Arg: 0, ArgKind: KindInt},
		Aggregate{Func: AggCount, Arg: 0, ArgKind: KindInt, More: []int{0}, Distinct: true})
	h := &harness{t: t, op: red}
	expect(t, h.step(true, nil), "NULL,-1,0,NULL,0:+1")
	expect(t, h.step(false, []Update{up(1, 6), up(1, 10)}), "6,10,2,14,2.8284271247461903,2:+1", "NULL,-1,0,NULL,0:-1")
	expect(t, h.step(false, []Update{up(-1, 6), up(-1, 10)}), "6,10,2,14,2.8284271247461903,2:-1", "NULL,-1,0,NULL,0:+1")
}

func TestAggregatesStringNewAggregates(t *testing.T) {
	got := AggregatesString([]Aggregate{
		{Func: AggGroupConcat, Arg: 1, More: []int{2}, Separator: ";", Order: []OrderKey{{Col: 3, Desc: true}}},
		{Func: AggGroupConcat, Arg: 1, Separator: ",", Distinct: true},
		{Func: AggCount, Arg: 1, More: []int{2}, Distinct: true},
		{Func: AggBitXor, Arg: 4}, {Func: AggVarSamp, Arg: 5}})
	want := `group_concat(#1, #2 order by #3 desc separator ";"), group_concat(distinct #1 separator ","), count(distinct #1, #2), bit_xor(#4), var_samp(#5)`
	if got != want {
		t.Fatalf("got %s", got)
	}
}
