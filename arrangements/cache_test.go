package arrangements

import (
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

// memStore opens a Store in memory, closed when the test ends.
func memStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenMemStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestReadCache checks that a small key's read is remembered and answered from memory, and
// that every commit that changes what the read found (an entry of the key, of a longer key
// the read was a prefix of, the arrangement's deletion) is seen by the next read.
func TestReadCache(t *testing.T) {
	s := memStore(t)
	a := s.Arrangement("dim").(*Arrangement)
	k := func(vs ...int64) []byte {
		var b []byte
		for _, v := range vs {
			b = dataflow.AppendKey(b, dataflow.NewInt(v))
		}
		return b
	}
	row := func(v int64) dataflow.Row { return dataflow.Row{dataflow.NewInt(v)} }
	apply := func(ups ...dataflow.KeyedUpdate) {
		t.Helper()
		if err := a.Apply(ups); err != nil {
			t.Fatal(err)
		}
	}
	get := func(key []byte) []entry {
		t.Helper()
		return collectGet(t, a, key, false, 0)
	}
	cached := func(key []byte) bool {
		_, ok := a.cache.lookup(key)
		return ok
	}
	apply(dataflow.KeyedUpdate{Key: k(1, 10), Row: row(100), Diff: 1}, dataflow.KeyedUpdate{Key: k(2, 20), Row: row(200), Diff: 1})
	if got := get(k(1)); len(got) != 1 || !cached(k(1)) {
		t.Fatalf("read of key 1: %v, cached %v", got, cached(k(1)))
	}
	// Answered from memory: the entry is gone from Pebble behind the cache's back (never
	// done by the engine), and the read still finds it.
	if err := s.db.DeleteRange(a.prefix, bytesPrefixEnd(a.prefix), nil); err != nil {
		t.Fatal(err)
	}
	if got := get(k(1)); len(got) != 1 {
		t.Fatalf("cached read: %v", got)
	}
	apply(dataflow.KeyedUpdate{Key: k(1, 10), Row: row(100), Diff: 1}, dataflow.KeyedUpdate{Key: k(2, 20), Row: row(200), Diff: 1})
	// A change of a longer key forgets its prefixes' reads; the other key's stays.
	get(k(1))
	get(k(2))
	get(k(1, 10))
	apply(dataflow.KeyedUpdate{Key: k(1, 11), Row: row(101), Diff: 1})
	if cached(k(1)) || !cached(k(1, 10)) || !cached(k(2)) {
		t.Fatalf("after a change under key 1: cached 1 %v, (1,10) %v, 2 %v", cached(k(1)), cached(k(1, 10)), cached(k(2)))
	}
	if got := get(k(1)); len(got) != 2 {
		t.Fatalf("read of key 1 after a change: %v", got)
	}
	// A read stopped early or of a key with many rows is not remembered.
	if collectGet(t, a, k(2), false, 1); !cached(k(2)) {
		t.Fatal("the earlier complete read of key 2 was dropped")
	}
	for i := range int64(maxCachedRows + 1) {
		apply(dataflow.KeyedUpdate{Key: k(3, i), Row: row(i), Diff: 1})
	}
	if got := get(k(3)); len(got) != maxCachedRows+1 || cached(k(3)) {
		t.Fatalf("read of a large key: %d rows, cached %v", len(got), cached(k(3)))
	}
	apply(dataflow.KeyedUpdate{Key: k(4), Row: row(4), Diff: 1}, dataflow.KeyedUpdate{Key: k(4), Row: row(5), Diff: 1})
	if collectGet(t, a, k(4), false, 1); cached(k(4)) {
		t.Fatal("a read stopped early was remembered")
	}
	// A read stopped at the key's last row found all of it.
	apply(dataflow.KeyedUpdate{Key: k(5), Row: row(5), Diff: 1})
	if got := collectGet(t, a, k(5), false, 1); len(got) != 1 || !cached(k(5)) {
		t.Fatalf("a read stopped at the key's one row: %v, cached %v", got, cached(k(5)))
	}
	// The store counts the rows every cache holds: under key 1 (two), (1, 10), 2 and 5.
	if n := s.cachedRows.Load(); n != 5 {
		t.Fatalf("the store counts %d cached rows, want 5", n)
	}
	// Deleting the arrangement forgets everything.
	b := s.NewBatch()
	b.DeleteArrangement("dim")
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	if n := s.cachedRows.Load(); n != 0 {
		t.Fatalf("after the arrangement's deletion the store counts %d cached rows", n)
	}
	if got := get(k(2)); len(got) != 0 {
		t.Fatalf("read after the arrangement's deletion: %v", got)
	}
}

// TestReadCacheBound reads more keys than an arrangement's cache holds: it stays at its
// bound (keys picked at random make room) and the store's count follows it.
func TestReadCacheBound(t *testing.T) {
	s := memStore(t)
	a := s.Arrangement("dim").(*Arrangement)
	n := maxCachedKeys + 100
	ups := make([]dataflow.KeyedUpdate, n)
	for i := range ups {
		ups[i] = dataflow.KeyedUpdate{Key: dataflow.AppendKey(nil, dataflow.NewInt(int64(i))), Row: dataflow.Row{dataflow.NewInt(int64(i))}, Diff: 1}
	}
	if err := a.Apply(ups); err != nil {
		t.Fatal(err)
	}
	for i := range ups {
		if got := collectGet(t, a, ups[i].Key, false, 0); len(got) != 1 {
			t.Fatalf("key %d: %v", i, got)
		}
	}
	a.cache.mu.Lock()
	keys := len(a.cache.rows)
	a.cache.mu.Unlock()
	if keys != maxCachedKeys || s.cachedRows.Load() != int64(keys) {
		t.Fatalf("after %d reads the cache holds %d keys and the store counts %d rows; want %d of each", n, keys, s.cachedRows.Load(), maxCachedKeys)
	}
}

// TestUniqueWriteThrough checks that a commit replacing the row of a unique arrangement's
// key that a read remembered leaves the new row in the cache (the next read is answered
// from memory, with the new row), that a removed key is remembered as empty, that updates
// which cancel out change nothing, and that a key no read remembered stays out.
func TestUniqueWriteThrough(t *testing.T) {
	s := memStore(t)
	key := func(v int64) []byte { return dataflow.AppendKey(nil, dataflow.NewInt(v)) }
	row := func(v int64) dataflow.Row { return dataflow.Row{dataflow.NewInt(v)} }
	a := s.UniqueArrangement("acc").(*Arrangement)
	cur := map[string]dataflow.Row{}
	uniqueApply(t, s, "acc", cur, map[string]dataflow.Row{string(key(1)): row(10), string(key(2)): row(20)})
	// A reduce reads its accumulator row and stops: that is the key's whole content.
	if got := collectGet(t, a, key(1), false, 1); len(got) != 1 {
		t.Fatalf("read of key 1: %v", got)
	}
	cachedRow := func(k []byte) (string, bool) {
		r, ok := a.cache.lookup(k)
		if !ok || len(r.rows) == 0 {
			return "", ok
		}
		return r.rows[0].String(), ok
	}
	if _, ok := cachedRow(key(1)); !ok {
		t.Fatal("a read of a unique key's one row was not remembered")
	}
	uniqueApply(t, s, "acc", cur, map[string]dataflow.Row{string(key(1)): row(11), string(key(2)): row(21)})
	if r, ok := cachedRow(key(1)); !ok || r != row(11).String() {
		t.Fatalf("after the commit key 1 is cached %v as %q, want %q", ok, r, row(11).String())
	}
	if _, ok := cachedRow(key(2)); ok {
		t.Fatal("a key no read remembered was put in the cache by a write")
	}
	// Answered from memory: gone from Pebble behind the cache's back, still found.
	if err := s.db.DeleteRange(a.prefix, bytesPrefixEnd(a.prefix), nil); err != nil {
		t.Fatal(err)
	}
	if got := collectGet(t, a, key(1), false, 0); len(got) != 1 || got[0].text != row(11).String() {
		t.Fatalf("cached read of key 1: %v", got)
	}
	uniqueApply(t, s, "acc", cur, map[string]dataflow.Row{string(key(1)): row(12)})
	// Retracting and adding the same row cancels out: the key keeps its row.
	b := s.NewBatch()
	ua := b.UniqueArrangement("acc")
	if err := ua.Apply([]dataflow.KeyedUpdate{{Key: key(1), Row: row(12), Diff: -1}, {Key: key(1), Row: row(12), Diff: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	if r, ok := cachedRow(key(1)); !ok || r != row(12).String() {
		t.Fatalf("after updates that cancel out, key 1 is cached %v as %q", ok, r)
	}
	uniqueApply(t, s, "acc", cur, map[string]dataflow.Row{string(key(1)): nil})
	if r, ok := a.cache.lookup(key(1)); !ok || len(r.rows) != 0 {
		t.Fatalf("a removed key is cached %v with %d rows, want cached and empty", ok, len(r.rows))
	}
	if got := collectGet(t, a, key(1), false, 0); len(got) != 0 {
		t.Fatalf("read of a removed key: %v", got)
	}
}
