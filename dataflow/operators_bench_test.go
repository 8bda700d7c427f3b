package dataflow_test

import (
	"testing"

	"github.com/cdc-dev/cdc/arrangements"
	. "github.com/cdc-dev/cdc/dataflow"
)

const benchRows = 1_000_000

// BenchmarkJoinStepOneUpdate is the per-update cost of the join operator alone: one new left
// row probing a right arrangement of a million rows, then the epoch's commit.
func BenchmarkJoinStepOneUpdate(b *testing.B) {
	right := arrangements.NewMem("r")
	ups := make([]KeyedUpdate, benchRows)
	for i := range ups {
		r := ints(int64(i), int64(i))
		ups[i] = KeyedUpdate{Key: AppendColumnsKey(nil, r, []int{0}), Row: r, Diff: 1}
	}
	if err := right.Apply(ups); err != nil {
		b.Fatal(err)
	}
	j := &Join{LeftKey: []int{1}, RightKey: []int{0}, Left: arrangements.NewMem("l"), Right: right}
	in := [][]Update{{{Row: ints(0, 0, 7), Diff: 1}}, nil}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in[0][0].Row = ints(int64(benchRows+i), int64(i%benchRows), 7)
		ep := NewEpoch(Time(i+1), nil)
		out, err := j.Step(ep, in)
		if err != nil || len(out) != 1 {
			b.Fatalf("%v %v", out, err)
		}
		if err := ep.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReduceStepOneUpdate is the per-update cost of GROUP BY with COUNT, SUM and MIN:
// one row moves its value within a group of a thousand.
func BenchmarkReduceStepOneUpdate(b *testing.B) {
	red := &Reduce{GroupBy: []int{0}, Aggs: []Aggregate{{Func: AggCountStar}, {Func: AggSum, Arg: 1, ArgKind: KindInt},
		{Func: AggMin, Arg: 1, ArgKind: KindInt}},
		State: arrangements.NewMem("state"), Values: []Arrangement{nil, nil, arrangements.NewMem("min")}}
	var load []Update
	for i := 0; i < benchRows; i++ {
		load = append(load, Update{Row: ints(int64(i%1000), int64(i)), Diff: 1, Time: 1})
	}
	ep := NewEpoch(1, nil)
	if _, err := red.Step(ep, [][]Update{load}); err != nil {
		b.Fatal(err)
	}
	if err := ep.Commit(); err != nil {
		b.Fatal(err)
	}
	in := [][]Update{{{Diff: -1}, {Diff: 1}}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g := int64(i % 1000)
		// Retract the group's current minimum and insert a larger value: the MIN path.
		in[0][0].Row = ints(g, g+int64(i/1000)*1000)
		in[0][1].Row = ints(g, g+int64(i/1000)*1000+benchRows)
		ep := NewEpoch(Time(i+2), nil)
		if _, err := red.Step(ep, in); err != nil {
			b.Fatal(err)
		}
		if err := ep.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTopKStepOneUpdate is the per-update cost of a global top-10 (ORDER BY score DESC
// LIMIT 10) over a million rows: each update inserts a row that enters the top 10 and
// deletes one that leaves it, so the window changes every time.
func BenchmarkTopKStepOneUpdate(b *testing.B) {
	o := &TopK{Order: []OrderKey{{Col: 1, Desc: true}}, Limit: 10,
		State: arrangements.NewMem("topk"), Out: arrangements.NewMem("topk_out")}
	ep := NewEpoch(1, nil)
	ep.Hydrate = true
	initial := make([]Update, benchRows)
	for i := range initial {
		initial[i] = Update{Row: ints(int64(i), int64(i)), Diff: 1}
	}
	if _, err := o.Step(ep, [][]Update{initial}); err != nil {
		b.Fatal(err)
	}
	if err := ep.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		top := int64(benchRows + i)
		in := [][]Update{{{Row: ints(top, top), Diff: 1}, {Row: ints(top-10, top-10), Diff: -1}}}
		ep := NewEpoch(Time(i+2), nil)
		out, err := o.Step(ep, in)
		if err != nil || len(out) != 2 {
			b.Fatalf("%v %v", out, err)
		}
		if err := ep.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
