package dataflow_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/arrangements"
	. "github.com/cdc-dev/cdc/dataflow"
)

// harness runs one operator over epochs of input changes, committing each epoch.
type harness struct {
	t    *testing.T
	op   Operator
	time Time
}

// step feeds one epoch (one batch per input) and returns the output printed as "row:diff".
func (h *harness) step(hydrate bool, inputs ...[]Update) []string {
	h.t.Helper()
	h.time++
	ep := NewEpoch(h.time, nil)
	ep.Hydrate = hydrate
	for _, in := range inputs {
		for i := range in {
			in[i].Time = h.time
		}
	}
	out, err := h.op.Step(ep, inputs)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := ep.Commit(); err != nil {
		h.t.Fatal(err)
	}
	out = Consolidate(out)
	s := make([]string, len(out))
	for i, u := range out {
		if u.Time != h.time {
			h.t.Fatalf("output at time %d, want %d", u.Time, h.time)
		}
		s[i] = fmt.Sprintf("%s:%+d", strings.ReplaceAll(u.Row.String(), "\t", ","), u.Diff)
	}
	slices.Sort(s)
	return s
}

func ints(vs ...int64) Row {
	r := make(Row, len(vs))
	for i, v := range vs {
		r[i] = NewInt(v)
	}
	return r
}

func up(diff Diff, vs ...int64) Update { return Update{Row: ints(vs...), Diff: diff} }

func expect(t *testing.T, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestJoinRetractionsAndSameEpochChanges(t *testing.T) {
	h := &harness{t: t, op: &Join{LeftKey: []int{0}, RightKey: []int{0},
		Left: arrangements.NewMem("l"), Right: arrangements.NewMem("r")}}
	expect(t, h.step(false, []Update{up(1, 1, 10)}, nil))
	// Both sides change in one epoch: dL⋈R_old + L_old⋈dR + dL⋈dR.
	expect(t, h.step(false, []Update{up(1, 1, 11)}, []Update{up(1, 1, 100)}),
		"1,10,1,100:+1", "1,11,1,100:+1")
	// The last match of a key disappears.
	expect(t, h.step(false, nil, []Update{up(-1, 1, 100)}),
		"1,10,1,100:-1", "1,11,1,100:-1")
	// A NULL key never matches.
	null := Update{Row: Row{Null, NewInt(5)}, Diff: 1}
	expect(t, h.step(false, []Update{null}, []Update{{Row: Row{Null, NewInt(6)}, Diff: 1}}))
}

func TestReduceMinMaxRetraction(t *testing.T) {
	red := &Reduce{GroupBy: []int{0}, Aggs: []Aggregate{
		{Func: AggMin, Arg: 1, ArgKind: KindInt}, {Func: AggMax, Arg: 1, ArgKind: KindInt}, {Func: AggCountStar}},
		State: arrangements.NewMem("state"), Values: []Arrangement{arrangements.NewMem("min"), arrangements.NewMem("max"), nil}}
	h := &harness{t: t, op: red}
	expect(t, h.step(false, []Update{up(1, 1, 5), up(1, 1, 3), up(1, 1, 9)}), "1,3,9,3:+1")
	// Retracting the current minimum finds the next one without a rescan of the input.
	expect(t, h.step(false, []Update{up(-1, 1, 3)}), "1,3,9,3:-1", "1,5,9,2:+1")
	// The minimum leaves and a new one arrives in the same epoch.
	expect(t, h.step(false, []Update{up(-1, 1, 5), up(1, 1, 7)}), "1,5,9,2:-1", "1,7,9,2:+1")
	// Duplicated values: one copy leaving keeps the extreme.
	expect(t, h.step(false, []Update{up(1, 1, 9)}), "1,7,9,2:-1", "1,7,9,3:+1")
	expect(t, h.step(false, []Update{up(-1, 1, 9)}), "1,7,9,2:+1", "1,7,9,3:-1")
	// The group goes to zero rows: only its retraction is emitted.
	expect(t, h.step(false, []Update{up(-1, 1, 9), up(-1, 1, 7)}), "1,7,9,2:-1")
	if n := red.State.Len(); n != 0 {
		t.Fatalf("state keeps %d entries for an empty group", n)
	}
}

func TestReduceGlobalOverEmptyInput(t *testing.T) {
	red := &Reduce{Global: true, Aggs: []Aggregate{{Func: AggCountStar}, {Func: AggSum, Arg: 0, ArgKind: KindInt},
		{Func: AggMin, Arg: 0, ArgKind: KindInt}, {Func: AggAvg, Arg: 0, ArgKind: KindInt}},
		State: arrangements.NewMem("state"), Values: []Arrangement{nil, nil, arrangements.NewMem("min"), nil}}
	h := &harness{t: t, op: red}
	// COUNT 0, SUM NULL, MIN NULL, AVG NULL: the one row of an aggregate over nothing.
	expect(t, h.step(true, nil), "0,NULL,NULL,NULL:+1")
	expect(t, h.step(false, []Update{up(1, 4), up(1, 6)}), "0,NULL,NULL,NULL:-1", "2,10,4,5.0000:+1")
	expect(t, h.step(false, []Update{up(-1, 4), up(-1, 6)}), "0,NULL,NULL,NULL:+1", "2,10,4,5.0000:-1")
}

func TestReduceDistinctAggregates(t *testing.T) {
	red := &Reduce{GroupBy: []int{0}, Aggs: []Aggregate{{Func: AggCount, Arg: 1, ArgKind: KindInt, Distinct: true},
		{Func: AggSum, Arg: 1, ArgKind: KindInt, Distinct: true}},
		State: arrangements.NewMem("state"), Values: []Arrangement{arrangements.NewMem("c"), arrangements.NewMem("s")}}
	h := &harness{t: t, op: red}
	expect(t, h.step(false, []Update{up(1, 1, 2), up(1, 1, 2), up(1, 1, 3)}), "1,2,5:+1")
	// One of two copies of 2 leaves: the distinct values do not change, so nothing is emitted.
	expect(t, h.step(false, []Update{up(-1, 1, 2)}))
	expect(t, h.step(false, []Update{up(-1, 1, 2)}), "1,1,3:+1", "1,2,5:-1")
}

func TestDistinctTransitions(t *testing.T) {
	h := &harness{t: t, op: &Distinct{State: arrangements.NewMem("d")}}
	expect(t, h.step(false, []Update{up(1, 7), up(1, 7)}), "7:+1")
	expect(t, h.step(false, []Update{up(-1, 7)}))
	expect(t, h.step(false, []Update{up(-1, 7), up(1, 8)}), "7:-1", "8:+1")
}

func TestSharedArrangementStagedOnce(t *testing.T) {
	shared := arrangements.NewMem("shared")
	a := &Join{Left: shared, Right: arrangements.NewMem("r1")}
	b := &Join{Left: shared, Right: arrangements.NewMem("r2")}
	ep := NewEpoch(1, nil)
	in := []Update{up(1, 1)}
	for _, j := range []*Join{a, b} {
		if _, err := j.Step(ep, [][]Update{in, nil}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ep.Commit(); err != nil {
		t.Fatal(err)
	}
	var count Diff
	shared.Scan(func(_ []byte, _ Row, c Diff) bool { count += c; return true })
	if count != 1 {
		t.Fatalf("shared arrangement holds the row %d times, want 1", count)
	}
}

func TestConsolidate(t *testing.T) {
	got := Consolidate([]Update{up(1, 2), up(1, 1), up(-1, 2), up(-1, 2), up(1, 1)})
	if len(got) != 2 || got[0].Diff != 2 || got[1].Diff != -1 {
		t.Fatalf("got %v", got)
	}
}

func TestKeyEncodingOrder(t *testing.T) {
	vals := []Datum{Null, NewInt(-5), NewInt(0), NewInt(7), NewFloat(-1.5), NewFloat(0), NewFloat(2.25),
		NewString(""), NewString("a"), NewString("a\x00b"), NewString("ab"), NewBytes([]byte{0, 1})}
	for _, s := range []string{"-12.5", "-0.5", "0", "0.05", "0.5", "1", "12.5", "100"} {
		d, err := NewDecimalText(s)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, d)
	}
	for _, a := range vals {
		ka := AppendKey(nil, a)
		back, rest, err := DecodeKey(ka)
		if err != nil || len(rest) != 0 || Compare(back, a) != 0 {
			t.Fatalf("round trip of %v: %v %v %v", a, back, rest, err)
		}
		for _, b := range vals {
			kb := AppendKey(nil, b)
			if sign(strings.Compare(string(ka), string(kb))) != sign(Compare(a, b)) {
				t.Errorf("order of %v (%s) and %v (%s) differs between keys and Compare", a, a.Kind(), b, b.Kind())
			}
		}
	}
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// TestReduceManyValuesInOneStep crosses the size at which a step indexes its value deltas.
func TestReduceManyValuesInOneStep(t *testing.T) {
	red := &Reduce{GroupBy: []int{0}, Aggs: []Aggregate{{Func: AggMin, Arg: 1, ArgKind: KindInt},
		{Func: AggCount, Arg: 1, ArgKind: KindInt, Distinct: true}},
		State: arrangements.NewMem("state"), Values: []Arrangement{arrangements.NewMem("min"), arrangements.NewMem("d")}}
	h := &harness{t: t, op: red}
	var in []Update
	for v := int64(100); v > 0; v-- {
		in = append(in, up(1, 1, v), up(1, 1, v))
	}
	expect(t, h.step(false, in), "1,1,100:+1")
	in = nil
	for v := int64(1); v <= 50; v++ {
		in = append(in, up(-1, 1, v), up(-1, 1, v))
	}
	in = append(in, up(-1, 1, 51))
	expect(t, h.step(false, in), "1,1,100:-1", "1,51,50:+1")
}

// Consolidate equals summing diffs per (time, row) and dropping zeros, for inputs in order
// (its one-pass path) and out of order, with equal rows and zero diffs among them.
func TestConsolidateMatchesSums(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 2000 {
		n := r.IntN(12)
		in := make([]Update, n)
		for i := range in {
			in[i] = Update{Row: Row{NewInt(int64(r.IntN(4))), NewString(string(rune('a' + r.IntN(3))))}, Time: uint64(r.IntN(2)), Diff: Diff(r.IntN(5) - 2)}
		}
		if trial%2 == 0 {
			slices.SortFunc(in, func(a, b Update) int {
				return cmp.Or(cmp.Compare(a.Time, b.Time), CompareRows(a.Row, b.Row))
			})
		}
		want := map[string]Diff{}
		for _, u := range in {
			want[fmt.Sprint(u.Time, u.Row)] += u.Diff
		}
		for k, d := range want {
			if d == 0 {
				delete(want, k)
			}
		}
		got := Consolidate(slices.Clone(in))
		for i, u := range got {
			if u.Diff == 0 || want[fmt.Sprint(u.Time, u.Row)] != u.Diff {
				t.Fatalf("%v consolidated to %v", in, got)
			}
			if i > 0 && cmp.Or(cmp.Compare(got[i-1].Time, u.Time), CompareRows(got[i-1].Row, u.Row)) >= 0 {
				t.Fatalf("%v consolidated out of order: %v", in, got)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%v consolidated to %v, want %v", in, got, want)
		}
	}
}
