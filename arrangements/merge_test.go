package arrangements

import (
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cdc-dev/cdc/dataflow"
)

// TestCountsMergeAway: an entry whose diffs sum to zero is gone, also when its count was
// built by merge operands over a value in an sstable, and from the store after a
// compaction; one brought back after that counts from zero again.
func TestCountsMergeAway(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := dataflow.AppendKey(nil, dataflow.NewInt(1))
	row := dataflow.Row{dataflow.NewString("r")}
	apply := func(diff dataflow.Diff) {
		t.Helper()
		b := s.NewBatch()
		if err := b.Arrangement("a").Apply([]dataflow.KeyedUpdate{{Key: key, Row: row, Diff: diff}}); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(false); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (n int, total dataflow.Diff) {
		t.Helper()
		for _, e := range collectScan(t, s.Arrangement("a")) {
			n++
			total += e.count
		}
		return n, total
	}
	apply(2)
	if err := s.db.Flush(); err != nil { // the base value in an sstable, the operands above it
		t.Fatal(err)
	}
	apply(-1)
	apply(-1)
	if n, _ := count(); n != 0 {
		t.Fatalf("entries after diffs summing to zero: %d", n)
	}
	if err := s.db.Compact(t.Context(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for valid := it.First(); valid; valid = it.Next() {
		if string(it.Key()[:1]) == string([]byte{nsArrangement}) {
			keys++
		}
	}
	it.Close()
	if keys != 0 {
		t.Fatalf("%d arrangement keys left after a compaction", keys)
	}
	apply(3)
	if n, total := count(); n != 1 || total != 3 {
		t.Fatalf("after bringing the entry back: %d entries, count %d", n, total)
	}
}

// TestOldLayoutRefused: a store written without countMerger is reported as ErrOldLayout.
func TestOldLayoutRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir); err == nil || !errors.Is(err, ErrOldLayout) {
		t.Fatalf("opening a store of the older layout: %v", err)
	}
}
