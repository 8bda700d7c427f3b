package dataflow_test

import (
	"errors"
	"testing"

	"github.com/cdc-dev/cdc/arrangements"
	. "github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// crossJoinGraph is a graph of one cross join of sources "a" and "b".
func crossJoinGraph() *Graph {
	g := &Graph{}
	a := g.Add(&Input{Source: "a"})
	b := g.Add(&Input{Source: "b"})
	g.Add(&Join{Left: arrangements.NewMem("a"), Right: arrangements.NewMem("b")}, a, b)
	return g
}

func rowsOfInts(n int) []Update {
	us := make([]Update, n)
	for i := range us {
		us[i] = Update{Row: Row{NewInt(int64(i))}, Diff: 1}
	}
	return us
}

// TestBudgetStopsCrossJoin: a cross join that would hold more than the budget fails with
// ER_CAPACITY_EXCEEDED while it produces, long before it has produced everything.
func TestBudgetStopsCrossJoin(t *testing.T) {
	ep := NewEpoch(1, map[string][]Update{"a": rowsOfInts(1000), "b": rowsOfInts(1000)})
	ep.Hydrate = true
	ep.Budget = &Budget{Limit: 1 << 20}
	_, err := crossJoinGraph().Step(ep)
	if sqlerr.As(err).Code != sqlerr.CapacityExceeded {
		t.Fatalf("cross join of 1000 x 1000 rows within 1 MiB: %v, want error %d", err, sqlerr.CapacityExceeded)
	}
	if ep.Budget.Used() > 1<<20 {
		t.Errorf("the budget charged %d bytes, past its limit", ep.Budget.Used())
	}
	// The same join within a large enough budget gives every pair.
	ep = NewEpoch(1, map[string][]Update{"a": rowsOfInts(100), "b": rowsOfInts(100)})
	ep.Hydrate = true
	ep.Budget = &Budget{Limit: 1 << 30}
	out, err := crossJoinGraph().Step(ep)
	if err != nil || len(out) != 100*100 {
		t.Fatalf("100 x 100 within 1 GiB: %d rows, %v", len(out), err)
	}
	if ep.Budget.Used() == 0 {
		t.Error("nothing was charged")
	}
}

// TestBudgetInterrupt: the Interrupt check stops a join in the middle, with its error, and
// is called every 1024 rows, not per row.
func TestBudgetInterrupt(t *testing.T) {
	stop := errors.New("interrupted")
	calls := 0
	ep := NewEpoch(1, map[string][]Update{"a": rowsOfInts(1000), "b": rowsOfInts(1000)})
	ep.Hydrate = true
	ep.Budget = &Budget{Interrupt: func() error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	}}
	_, err := crossJoinGraph().Step(ep)
	if !errors.Is(err, stop) {
		t.Fatalf("got %v, want the interrupt's error", err)
	}
	if calls != 3 {
		t.Errorf("Interrupt called %d times", calls)
	}
	// Without a budget nothing is bounded.
	ep = NewEpoch(1, map[string][]Update{"a": rowsOfInts(300), "b": rowsOfInts(300)})
	ep.Hydrate = true
	if out, err := crossJoinGraph().Step(ep); err != nil || len(out) != 300*300 {
		t.Fatalf("no budget: %d rows, %v", len(out), err)
	}
}

// TestJoinWhereHoldsOnlyWhatItKeeps: a cross join with a filter evaluated inside it holds
// only the pairs the filter keeps, so a product far past the budget runs within it, gives
// exactly the filtered pairs (in both orders of arrival), and stays interruptible.
func TestJoinWhereHoldsOnlyWhatItKeeps(t *testing.T) {
	sum, err := Arith("+", Col(0, KindInt, "a"), Col(1, KindInt, "b"))
	if err != nil {
		t.Fatal(err)
	}
	where, err := NewCompare("=", sum, Lit(NewInt(999)))
	if err != nil {
		t.Fatal(err)
	}
	graph := func() *Graph {
		g := &Graph{}
		a := g.Add(&Input{Source: "a"})
		b := g.Add(&Input{Source: "b"})
		g.Add(&Join{Left: arrangements.NewMem("a"), Right: arrangements.NewMem("b"), Where: where}, a, b)
		return g
	}
	ep := NewEpoch(1, map[string][]Update{"a": rowsOfInts(1000), "b": rowsOfInts(1000)})
	ep.Hydrate = true
	ep.Budget = &Budget{Limit: 1 << 20}
	out, err := graph().Step(ep)
	if err != nil || len(out) != 1000 {
		t.Fatalf("filtered cross join of 1000 x 1000 rows within 1 MiB: %d rows, %v", len(out), err)
	}
	for _, u := range out {
		if u.Row[0].Int()+u.Row[1].Int() != 999 || u.Diff != 1 {
			t.Fatalf("pair %v diff %d does not pass the filter", u.Row, u.Diff)
		}
	}
	// Incrementally: a first, then b, then a retraction of a row of a.
	h := &harness{t: t, op: &Join{Left: arrangements.NewMem("l"), Right: arrangements.NewMem("r"), Where: where}}
	expect(t, h.step(false, []Update{up(1, 9), up(1, 4)}, nil))
	expect(t, h.step(false, nil, []Update{up(1, 990), up(1, 995), up(1, 7)}), "4,995:+1", "9,990:+1")
	expect(t, h.step(false, []Update{up(-1, 9)}, nil), "9,990:-1")
	// Dropped pairs count as work for the interrupt.
	stop := errors.New("interrupted")
	ep = NewEpoch(1, map[string][]Update{"a": rowsOfInts(1000), "b": rowsOfInts(1000)})
	ep.Hydrate = true
	ep.Budget = &Budget{Interrupt: func() error { return stop }}
	if _, err := graph().Step(ep); !errors.Is(err, stop) {
		t.Fatalf("got %v, want the interrupt's error", err)
	}
}
