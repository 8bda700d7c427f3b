package arrangements

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

// uniqueApply commits, in one batch, the replacement of each key's row by rows[key] (a nil
// row removes the key), the way a reduce replaces its accumulators: the current row is
// retracted and the new one added. It returns the updates it applied.
func uniqueApply(t *testing.T, s *Store, name string, cur map[string]dataflow.Row, rows map[string]dataflow.Row) []dataflow.KeyedUpdate {
	t.Helper()
	b := s.NewBatch()
	a := b.UniqueArrangement(name)
	var ups []dataflow.KeyedUpdate
	for k, r := range rows {
		if old, ok := cur[k]; ok {
			ups = append(ups, dataflow.KeyedUpdate{Key: []byte(k), Row: old, Diff: -1})
		}
		if r != nil {
			ups = append(ups, dataflow.KeyedUpdate{Key: []byte(k), Row: r, Diff: 1})
			cur[k] = r
		} else {
			delete(cur, k)
		}
	}
	if err := a.Apply(ups); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	return ups
}

// TestUniqueArrangementMatchesMem replaces and removes the rows of random keys, batch after
// batch, and checks a unique arrangement's Get, GetReverse, Scan, Len and a snapshot
// against a Mem arrangement given the same updates, before and after a reopen.
func TestUniqueArrangementMatchesMem(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	mem := NewMem("u")
	cur := map[string]dataflow.Row{}
	r := rand.New(rand.NewPCG(5, 9))
	keys := make([][]byte, 40)
	for i := range keys {
		keys[i] = dataflow.AppendKey(nil, dataflow.NewInt(int64(r.IntN(1000)-500)))
	}
	check := func(s *Store) {
		t.Helper()
		u := s.UniqueArrangement("u")
		if got, want := collectScan(t, u), collectScan(t, mem); !equalEntries(got, want) {
			t.Fatalf("scan\n got %v\nwant %v", got, want)
		}
		if u.Len() != mem.Len() {
			t.Fatalf("Len %d, want %d", u.Len(), mem.Len())
		}
		for _, k := range keys {
			for _, rev := range []bool{false, true} {
				if got, want := collectGet(t, u, k, rev, 0), collectGet(t, mem, k, rev, 0); !equalEntries(got, want) {
					t.Fatalf("get %x reverse=%v\n got %v\nwant %v", k, rev, got, want)
				}
			}
		}
		// The empty key is a prefix of every key: Get visits them all in order.
		if got, want := collectGet(t, u, nil, false, 0), collectGet(t, mem, nil, false, 0); !equalEntries(got, want) {
			t.Fatalf("get of every key\n got %v\nwant %v", got, want)
		}
		sn, err := SnapshotOf(u)
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Close()
		var snap []entry
		if err := sn.Scan(func(k []byte, row dataflow.Row, c dataflow.Diff) bool {
			snap = append(snap, entry{key: string(k), row: string(dataflow.AppendRowKey(nil, row)), text: row.String(), count: c})
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if want := collectScan(t, mem); !equalEntries(snap, want) {
			t.Fatalf("snapshot\n got %v\nwant %v", snap, want)
		}
	}
	for round := 0; round < 200; round++ {
		rows := map[string]dataflow.Row{}
		for range 1 + r.IntN(6) {
			k := keys[r.IntN(len(keys))]
			if r.IntN(4) == 0 {
				rows[string(k)] = nil
			} else {
				rows[string(k)] = randRow(r, 4)
			}
		}
		if err := mem.Apply(uniqueApply(t, s, "u", cur, rows)); err != nil {
			t.Fatal(err)
		}
		if round%50 == 0 {
			check(s)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
}

// TestUniqueArrangementReadsOneEntry replaces one key's row 2,000 times and checks that a
// read of the key steps over one Pebble entry, where the multiset layout steps over every
// row the key ever had (deleted, but still in the memtable): the cost of reading a
// reduce's group must not grow with the changes the group has seen.
func TestUniqueArrangementReadsOneEntry(t *testing.T) {
	s := memStore(t)
	key := dataflow.AppendKey(nil, dataflow.NewString("chat-1"))
	replace := func(arr func(*Batch) dataflow.Arrangement) {
		var old dataflow.Row
		for i := range 2000 {
			row := dataflow.Row{dataflow.NewString("chat-1"), dataflow.NewInt(int64(i))}
			ups := []dataflow.KeyedUpdate{{Key: key, Row: row, Diff: 1}}
			if old != nil {
				ups = append(ups, dataflow.KeyedUpdate{Key: key, Row: old, Diff: -1})
			}
			b := s.NewBatch()
			if err := arr(b).Apply(ups); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(false); err != nil {
				t.Fatal(err)
			}
			old = row
		}
	}
	points := func(a dataflow.Arrangement) uint64 {
		pa := a.(batchArrangement).Arrangement
		ci, err := s.acquireIter(pa.prefix, key)
		if err != nil {
			t.Fatal(err)
		}
		defer ci.it.Close()
		if !ci.it.First() {
			t.Fatalf("%s: no entry", a.Name())
		}
		_, row, _, err := pa.decodeEntry(ci.it.Key(), ci.it.Value())
		if err != nil || row[1].Int() != 1999 {
			t.Fatalf("%s: read %v, %v", a.Name(), row, err)
		}
		return ci.it.Stats().InternalStats.PointCount
	}
	replace(func(b *Batch) dataflow.Arrangement { return b.UniqueArrangement("unique") })
	replace(func(b *Batch) dataflow.Arrangement { return b.Arrangement("multiset") })
	if n := points(s.NewBatch().UniqueArrangement("unique")); n > 2 {
		t.Errorf("reading the key of a unique arrangement stepped over %d entries, want 1", n)
	}
	// The reason for the layout: the multiset one steps over every deleted row.
	if n := points(s.NewBatch().Arrangement("multiset")); n < 1000 {
		t.Errorf("reading the key of a multiset arrangement stepped over %d entries; the test no longer shows the cost it guards against", n)
	}
}

// TestUniqueArrangementRefusesTwoRows checks that a batch adding two rows under one key of
// a unique arrangement fails to commit and writes nothing.
func TestUniqueArrangementRefusesTwoRows(t *testing.T) {
	s := memStore(t)
	key := dataflow.AppendKey(nil, dataflow.NewInt(1))
	b := s.NewBatch()
	if err := b.UniqueArrangement("u").Apply([]dataflow.KeyedUpdate{
		{Key: key, Row: dataflow.Row{dataflow.NewInt(1)}, Diff: 1},
		{Key: key, Row: dataflow.Row{dataflow.NewInt(2)}, Diff: 1},
	}); err != nil {
		t.Fatal(err)
	}
	b.SetMeta([]byte("m"), []byte("v"))
	if err := b.Commit(false); err == nil || !strings.Contains(err.Error(), "two rows") {
		t.Fatalf("commit = %v, want the error of two rows for one key", err)
	}
	if n := s.UniqueArrangement("u").Len(); n != 0 {
		t.Fatalf("%d entries written", n)
	}
	if _, ok, _ := s.GetMeta([]byte("m")); ok {
		t.Fatal("the batch's metadata was written")
	}
}
