package dataflow_test

import (
	"testing"

	"github.com/cdc-dev/cdc/arrangements"
	. "github.com/cdc-dev/cdc/dataflow"
)

func newTopK(groupBy []int, order []OrderKey, limit, offset int64) *TopK {
	return &TopK{GroupBy: groupBy, Order: order, Limit: limit, Offset: offset,
		State: arrangements.NewMem("topk"), Out: arrangements.NewMem("topk_out")}
}

func TestTopKRowLeavesAndEnters(t *testing.T) {
	// Rows (group, score): the two highest scores per group.
	h := &harness{t: t, op: newTopK([]int{0}, []OrderKey{{Col: 1, Desc: true}}, 2, 0)}
	expect(t, h.step(true, []Update{up(1, 1, 10), up(1, 1, 30), up(1, 1, 20), up(1, 2, 5)}),
		"1,20:+1", "1,30:+1", "2,5:+1")
	// The k-th row leaves: the next one takes its place; other groups are not touched.
	expect(t, h.step(false, []Update{up(-1, 1, 20)}), "1,10:+1", "1,20:-1")
	// A row enters above the window: the last one drops out.
	expect(t, h.step(false, []Update{up(1, 1, 40)}), "1,10:-1", "1,40:+1")
	// A change below the window changes nothing.
	expect(t, h.step(false, []Update{up(1, 1, 1), up(-1, 1, 10)}))
	// Duplicates count: two copies of the top row fill the window.
	expect(t, h.step(false, []Update{up(1, 1, 40)}), "1,30:-1", "1,40:+1")
	// A group empties.
	expect(t, h.step(false, []Update{up(-1, 2, 5)}), "2,5:-1")
}

func TestTopKOffsetTiesAndNulls(t *testing.T) {
	// Rows (score, id) ascending by score, ties by whole row; NULL sorts first; skip one,
	// keep two.
	h := &harness{t: t, op: newTopK(nil, []OrderKey{{Col: 0}}, 2, 1)}
	null := Update{Row: Row{Null, NewInt(9)}, Diff: 1}
	expect(t, h.step(false, []Update{null, up(1, 5, 2), up(1, 5, 1), up(1, 7, 3)}), "5,1:+1", "5,2:+1")
	// The NULL row leaves the skipped position: everything moves up one.
	null.Diff = -1
	expect(t, h.step(false, []Update{null}), "5,1:-1", "7,3:+1")
	// No limit: everything from the offset on.
	h = &harness{t: t, op: newTopK(nil, []OrderKey{{Col: 0, Desc: true}}, -1, 1)}
	expect(t, h.step(false, []Update{up(1, 1), up(1, 2), up(1, 3)}), "1:+1", "2:+1")
	expect(t, h.step(false, []Update{up(-1, 3)}), "2:-1")
}

func TestRankRenumbersTouchedGroup(t *testing.T) {
	// Rows (group, score): ROW_NUMBER() OVER (PARTITION BY group ORDER BY score).
	h := &harness{t: t, op: &Rank{GroupBy: []int{0}, Order: []OrderKey{{Col: 1}}, Func: RowNumber,
		State: arrangements.NewMem("rank"), Out: arrangements.NewMem("rank_out")}}
	expect(t, h.step(false, []Update{up(1, 1, 10), up(1, 1, 30), up(1, 2, 5)}), "1,10,1:+1", "1,30,2:+1", "2,5,1:+1")
	// A row entering first renumbers the rows after it, in its group only.
	expect(t, h.step(false, []Update{up(1, 1, 1)}), "1,1,1:+1", "1,10,1:-1", "1,10,2:+1", "1,30,2:-1", "1,30,3:+1")
	// Copies of a row get their own numbers; a tie under RANK would share one.
	expect(t, h.step(false, []Update{up(1, 2, 5)}), "2,5,2:+1")
	expect(t, h.step(false, []Update{up(-1, 1, 1)}), "1,1,1:-1", "1,10,1:+1", "1,10,2:-1", "1,30,2:+1", "1,30,3:-1")
}
