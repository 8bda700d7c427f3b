package dataflow_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cdc-dev/cdc/arrangements"
	. "github.com/cdc-dev/cdc/dataflow"
)

// countingArrangement counts the reads of an arrangement.
type countingArrangement struct {
	Arrangement
	reads int
}

func (c *countingArrangement) Get(key []byte, fn func(Row, Diff) bool) error {
	c.reads++
	return c.Arrangement.Get(key, fn)
}

func (c *countingArrangement) GetReverse(key []byte, fn func(Row, Diff) bool) error {
	c.reads++
	return c.Arrangement.GetReverse(key, fn)
}

// TestReduceMinMaxMatchesRecompute inserts and retracts random values (few distinct ones,
// so extremes are often duplicated and retracted) into a few groups, and checks MIN and MAX
// after every step against the multiset they summarize. Steps that only add values to a
// group that has some read no stored values.
func TestReduceMinMaxMatchesRecompute(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { minMaxRandom(t, seed) })
	}
}

func minMaxRandom(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 3))
	minVals := &countingArrangement{Arrangement: arrangements.NewMem("min")}
	maxVals := &countingArrangement{Arrangement: arrangements.NewMem("max")}
	red := &Reduce{GroupBy: []int{0}, Aggs: []Aggregate{
		{Func: AggMin, Arg: 1, ArgKind: KindInt}, {Func: AggMax, Arg: 1, ArgKind: KindInt}},
		State: arrangements.NewMem("state"), Values: []Arrangement{minVals, maxVals}}
	h := &harness{t: t, op: red}
	bags := map[int64][]int64{} // group -> its values
	view := map[int64]string{}  // group -> its output row, as the steps left it
	for step := 0; step < 300; step++ {
		var in []Update
		touched := map[int64]bool{}
		insertsOnly := true
		for range 1 + r.IntN(4) {
			g := int64(r.IntN(3))
			if vs := bags[g]; len(vs) > 0 && r.IntN(2) == 0 {
				i := r.IntN(len(vs))
				in = append(in, up(-1, g, vs[i]))
				bags[g] = slices.Delete(vs, i, i+1)
				insertsOnly = false
			} else {
				if len(bags[g]) == 0 {
					insertsOnly = false // a new group has no extreme yet
				}
				v := int64(r.IntN(6))
				in = append(in, up(1, g, v))
				bags[g] = append(bags[g], v)
			}
			touched[g] = true
		}
		before := minVals.reads + maxVals.reads
		out := h.step(false, in)
		// Retractions first: the output is in row order.
		slices.SortStableFunc(out, func(a, b string) int { return cmpSign(a) - cmpSign(b) })
		for _, s := range out {
			var g, lo, hi, diff int64
			if _, err := fmt.Sscanf(s, "%d,%d,%d:%d", &g, &lo, &hi, &diff); err != nil {
				t.Fatalf("step %d: output %q: %v", step, s, err)
			}
			row := fmt.Sprintf("%d,%d,%d", g, lo, hi)
			switch {
			case diff > 0:
				view[g] = row
			case view[g] == row:
				delete(view, g)
			default:
				t.Fatalf("step %d: retracted %s, which group %d does not hold (%q)", step, s, g, view[g])
			}
		}
		for g := range touched {
			vs := bags[g]
			if len(vs) == 0 {
				if _, ok := view[g]; ok {
					t.Fatalf("step %d: empty group %d still has a row %s", step, g, view[g])
				}
				continue
			}
			if want := fmt.Sprintf("%d,%d,%d", g, slices.Min(vs), slices.Max(vs)); view[g] != want {
				t.Fatalf("step %d: group %d is %q, want %q (values %v)", step, g, view[g], want, vs)
			}
		}
		if reads := minVals.reads + maxVals.reads - before; insertsOnly && reads != 0 {
			t.Fatalf("step %d of insertions into groups with values read the stored values %d times", step, reads)
		}
	}
}

// cmpSign orders a printed update's retraction (0) before its addition (1).
func cmpSign(s string) int {
	if s[len(s)-2] == '-' {
		return 0
	}
	return 1
}
