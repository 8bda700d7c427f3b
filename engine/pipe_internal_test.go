package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

// TestPipeSource checks the chunks a view build's scan hands over: every row once, in the
// scan's order, in chunks of the hydration step (the last shorter); and a failing step ends
// the scan with its error, after which nothing more is handed over.
func TestPipeSource(t *testing.T) {
	s := memSession(t)
	e := s.e
	e.hydrationStep = 7
	var values []string
	for i := range 100 {
		values = append(values, fmt.Sprintf("(%d)", i))
	}
	execAll(t, s, "CREATE TABLE t (k INT PRIMARY KEY)", "INSERT INTO t VALUES "+strings.Join(values, ","))
	reader, err := e.store.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var got []int64
	var sizes []int
	err = e.pipeSource("table:t", reader, func(rows []dataflow.Update) error {
		sizes = append(sizes, len(rows))
		for _, u := range rows {
			got = append(got, u.Row[0].Int())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 {
		t.Fatalf("%d rows handed over, want 100", len(got))
	}
	for i, k := range got {
		if k != int64(i) {
			t.Fatalf("row %d is %d: out of order", i, k)
		}
	}
	for i, n := range sizes {
		if n != 7 && !(i == len(sizes)-1 && n == 100%7) {
			t.Fatalf("chunk sizes %v", sizes)
		}
	}
	failed := errors.New("step failed")
	calls := 0
	err = e.pipeSource("table:t", reader, func([]dataflow.Update) error {
		if calls++; calls == 3 {
			return failed
		}
		return nil
	})
	if !errors.Is(err, failed) || calls != 3 {
		t.Fatalf("after a failing step: %v, %d calls", err, calls)
	}
	if err := e.pipeSource("table:nope", reader, func([]dataflow.Update) error { return nil }); err == nil {
		t.Fatal("a missing table scanned")
	}
}
