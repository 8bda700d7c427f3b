package arrangements

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
	"vitess.io/vitess/go/mysql/decimal"
)

type entry struct {
	key   string
	row   string // AppendRowKey encoding
	text  string // row.String()
	count dataflow.Diff
}

func collectGet(t *testing.T, a dataflow.Arrangement, key []byte, reverse bool, limit int) []entry {
	t.Helper()
	var out []entry
	fn := func(r dataflow.Row, c dataflow.Diff) bool {
		out = append(out, entry{row: string(dataflow.AppendRowKey(nil, r)), text: r.String(), count: c})
		return limit <= 0 || len(out) < limit
	}
	var err error
	if reverse {
		err = a.GetReverse(key, fn)
	} else {
		err = a.Get(key, fn)
	}
	if err != nil {
		t.Fatalf("%s: get: %v", a.Name(), err)
	}
	return out
}

func collectScan(t *testing.T, a dataflow.Arrangement) []entry {
	t.Helper()
	var out []entry
	if err := a.Scan(func(k []byte, r dataflow.Row, c dataflow.Diff) bool {
		out = append(out, entry{key: string(k), row: string(dataflow.AppendRowKey(nil, r)), text: r.String(), count: c})
		return true
	}); err != nil {
		t.Fatalf("%s: scan: %v", a.Name(), err)
	}
	return out
}

func equalEntries(a, b []entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func randDatum(r *rand.Rand) dataflow.Datum {
	switch r.IntN(5) {
	case 0:
		return dataflow.Datum{} // NULL
	case 1:
		return dataflow.NewInt(int64(r.IntN(7)) - 3)
	case 2:
		return dataflow.NewString([]string{"", "a", "ab", "b", "a\x00b", "\xff"}[r.IntN(6)])
	case 3:
		return dataflow.NewDecimal(decimal.New(int64(r.IntN(2001)-1000), -int32(r.IntN(3))))
	default:
		return dataflow.NewInt(int64(r.IntN(3)) << 40)
	}
}

func randRow(r *rand.Rand, maxCols int) dataflow.Row {
	row := make(dataflow.Row, r.IntN(maxCols+1))
	for i := range row {
		row[i] = randDatum(r)
	}
	return row
}

// TestPebbleMatchesMem applies the same random updates to Mem and to Pebble arrangements
// and compares every read after every batch.
func TestPebbleMatchesMem(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testPebbleMatchesMem(t, seed) })
	}
}

func testPebbleMatchesMem(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 42))
	s, err := OpenMemStore()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// "a" and "ab" check that one arrangement's prefix does not leak into another's.
	names := []string{"a", "ab", ""}
	mems := make([]*Mem, len(names))
	for i, n := range names {
		mems[i] = NewMem(n)
	}
	// Key domain, per arrangement: a fixed number of key columns (an encoding key||row has a
	// single split only then), 1 for "a", 2 for "ab", 0 for "" (rows found by their prefix).
	// Reads also probe one-column prefixes, first columns of rows, and a missing key.
	keyCols := []int{1, 2, 0}
	keys := make([][][]byte, len(names))
	probes := make([][][]byte, len(names))
	for ai, kc := range keyCols {
		for range 10 {
			kr := make(dataflow.Row, kc)
			for i := range kr {
				kr[i] = randDatum(r)
			}
			k := dataflow.AppendRowKey(nil, kr)
			keys[ai] = append(keys[ai], k)
			probes[ai] = append(probes[ai], k)
			if kc > 0 {
				probes[ai] = append(probes[ai], dataflow.AppendKey(nil, kr[0]))
			}
		}
		for range 10 {
			probes[ai] = append(probes[ai], dataflow.AppendKey(nil, randDatum(r)))
		}
		probes[ai] = append(probes[ai], nil, dataflow.AppendKey(nil, dataflow.NewString("missing")))
	}

	// Model of the counts, per arrangement, to keep them >= 0.
	type live struct {
		key []byte
		row dataflow.Row
	}
	counts := make([]map[string]dataflow.Diff, len(names))
	lives := make([][]live, len(names))
	for i := range counts {
		counts[i] = make(map[string]dataflow.Diff)
	}

	for round := range 150 {
		batch := s.NewBatch()
		direct := r.IntN(4) == 0
		staged := make([][]dataflow.KeyedUpdate, len(names))
		for range 1 + r.IntN(25) {
			ai := r.IntN(len(names))
			var u dataflow.KeyedUpdate
			if len(lives[ai]) > 0 && r.IntN(5) < 2 {
				l := lives[ai][r.IntN(len(lives[ai]))]
				enc := string(dataflow.AppendRowKey(append([]byte{}, l.key...), l.row))
				c := counts[ai][enc]
				if c == 0 {
					continue
				}
				u = dataflow.KeyedUpdate{Key: l.key, Row: l.row, Diff: -(1 + dataflow.Diff(r.Int64N(int64(c))))}
			} else {
				u = dataflow.KeyedUpdate{Key: keys[ai][r.IntN(len(keys[ai]))], Row: randRow(r, 3), Diff: 1 + dataflow.Diff(r.IntN(3))}
			}
			enc := string(dataflow.AppendRowKey(append([]byte{}, u.Key...), u.Row))
			if counts[ai][enc] == 0 {
				lives[ai] = append(lives[ai], live{u.Key, u.Row})
			}
			counts[ai][enc] += u.Diff
			staged[ai] = append(staged[ai], u)
		}
		// Pebble: stage per arrangement, in one or two Apply calls (duplicates across calls).
		for ai, ups := range staged {
			if len(ups) == 0 {
				continue
			}
			var pa dataflow.Arrangement
			if direct {
				pa = s.Arrangement(names[ai])
			} else {
				pa = batch.Arrangement(names[ai])
			}
			cut := r.IntN(len(ups) + 1)
			if err := pa.Apply(ups[:cut]); err != nil {
				t.Fatal(err)
			}
			if err := pa.Apply(ups[cut:]); err != nil {
				t.Fatal(err)
			}
		}
		if !direct {
			// Staged changes are invisible until commit.
			for ai, n := range names {
				if got, want := s.Arrangement(n).Len(), mems[ai].Len(); got != want {
					t.Fatalf("round %d %q: Len before commit = %d, want %d", round, n, got, want)
				}
			}
			if err := batch.Commit(false); err != nil {
				t.Fatal(err)
			}
		}
		for ai, ups := range staged {
			if err := mems[ai].Apply(ups); err != nil {
				t.Fatal(err)
			}
		}

		for ai, n := range names {
			pa, ma := s.Arrangement(n), mems[ai]
			if got, want := pa.Len(), ma.Len(); got != want {
				t.Fatalf("round %d %q: Len = %d, want %d", round, n, got, want)
			}
			if got, want := collectScan(t, pa), collectScan(t, ma); !equalEntries(got, want) {
				t.Fatalf("round %d %q: Scan\n got %v\nwant %v", round, n, got, want)
			}
			for _, k := range probes[ai] {
				for _, reverse := range []bool{false, true} {
					for _, limit := range []int{0, 1} {
						got := collectGet(t, pa, k, reverse, limit)
						want := collectGet(t, ma, k, reverse, limit)
						if !equalEntries(got, want) {
							t.Fatalf("round %d %q: Get(%x, reverse=%v, limit=%d)\n got %v\nwant %v", round, n, k, reverse, limit, got, want)
						}
					}
				}
			}
		}
	}
	// Len agrees too (entries merged to a zero count are not counted).
	for ai, n := range names {
		t.Logf("%q: %d entries, %d distinct (key, row) seen", n, mems[ai].Len(), len(counts[ai]))
		a := s.Arrangement(n).(*Arrangement)
		if got, want := a.Len(), mems[ai].Len(); got != want {
			t.Fatalf("%q: recounted Len = %d, want %d", n, got, want)
		}
	}
}

func TestPebbleReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := dataflow.AppendKey(nil, dataflow.NewInt(7))
	ups := []dataflow.KeyedUpdate{
		{Key: key, Row: dataflow.Row{dataflow.NewString("x"), dataflow.Datum{}}, Diff: 2},
		{Key: key, Row: dataflow.Row{dataflow.NewDecimal(decimal.New(-125, -2))}, Diff: 1},
		{Key: nil, Row: dataflow.Row{dataflow.NewInt(1)}, Diff: 3},
	}
	b := s.NewBatch()
	if err := b.Arrangement("v1").Apply(ups); err != nil {
		t.Fatal(err)
	}
	b.SetMeta([]byte("frontier/v1"), []byte{1, 2, 3})
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	want := collectScan(t, s.Arrangement("v1"))
	if len(want) != 3 {
		t.Fatalf("scan before close: %v", want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := s.Arrangement("v1")
	if got := collectScan(t, a); !equalEntries(got, want) {
		t.Fatalf("after reopen\n got %v\nwant %v", got, want)
	}
	if a.Len() != 3 {
		t.Fatalf("Len after reopen = %d", a.Len())
	}
	v, ok, err := s.GetMeta([]byte("frontier/v1"))
	if err != nil || !ok || !bytes.Equal(v, []byte{1, 2, 3}) {
		t.Fatalf("GetMeta = %v %v %v", v, ok, err)
	}
	if _, ok, _ := s.GetMeta([]byte("frontier/v2")); ok {
		t.Fatal("GetMeta of a missing key found it")
	}
	// Removing everything deletes the entries.
	neg := make([]dataflow.KeyedUpdate, len(ups))
	for i, u := range ups {
		neg[i] = dataflow.KeyedUpdate{Key: u.Key, Row: u.Row, Diff: -u.Diff}
	}
	if err := a.Apply(neg); err != nil {
		t.Fatal(err)
	}
	if got := collectScan(t, a); len(got) != 0 || a.Len() != 0 {
		t.Fatalf("after removing all: %v, Len %d", got, a.Len())
	}
}

// BenchmarkPebbleApplyGet measures a one-row apply+commit (no fsync) and a point Get in an
// arrangement of 100k entries.
func BenchmarkPebbleApplyGet(b *testing.B) {
	const n = 100_000
	for _, fs := range []string{"mem", "disk"} {
		var s *Store
		var err error
		if fs == "mem" {
			s, err = OpenMemStore()
		} else {
			s, err = OpenStore(b.TempDir())
		}
		if err != nil {
			b.Fatal(err)
		}
		row := func(i int) dataflow.Row {
			return dataflow.Row{dataflow.NewInt(int64(i)), dataflow.NewString("some payload text")}
		}
		keyOf := func(i int) []byte { return dataflow.AppendKey(nil, dataflow.NewInt(int64(i))) }
		for start := 0; start < n; start += 10_000 {
			batch := s.NewBatch()
			ups := make([]dataflow.KeyedUpdate, 0, 10_000)
			for i := start; i < start+10_000; i++ {
				ups = append(ups, dataflow.KeyedUpdate{Key: keyOf(i), Row: row(i), Diff: 1})
			}
			if err := batch.Arrangement("bench").Apply(ups); err != nil {
				b.Fatal(err)
			}
			if err := batch.Commit(false); err != nil {
				b.Fatal(err)
			}
		}
		a := s.Arrangement("bench")
		if a.Len() != n {
			b.Fatalf("Len = %d", a.Len())
		}
		// commit applies ups in one batch and commits it.
		commit := func(b *testing.B, batch *Batch, ups []dataflow.KeyedUpdate) {
			if err := batch.Arrangement("bench").Apply(ups); err != nil {
				b.Fatal(err)
			}
			if err := batch.Commit(false); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fs+"/ApplyCommit", func(b *testing.B) {
			batch := s.NewBatch()
			up := make([]dataflow.KeyedUpdate, 1)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				j := (i * 7919) % n
				up[0] = dataflow.KeyedUpdate{Key: keyOf(j), Row: row(j), Diff: 1}
				commit(b, batch, up)
			}
		})
		// A replacement retracts an entry (whose count the commit reads) and adds another.
		b.Run(fs+"/ReplaceCommit", func(b *testing.B) {
			batch := s.NewBatch()
			up := make([]dataflow.KeyedUpdate, 2)
			replace := func(j, from, to int) {
				up[0] = dataflow.KeyedUpdate{Key: keyOf(j), Row: row(from), Diff: -1}
				up[1] = dataflow.KeyedUpdate{Key: keyOf(j), Row: row(to), Diff: 1}
				commit(b, batch, up)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				j := (i * 7919) % n
				replace(j, j, j+n)
				replace(j, j+n, j)
			}
		})
		b.Run(fs+"/Get", func(b *testing.B) {
			keys := make([][]byte, 1024)
			for i := range keys {
				keys[i] = keyOf((i * 7919) % n)
			}
			found := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := a.Get(keys[i%len(keys)], func(dataflow.Row, dataflow.Diff) bool { found++; return true }); err != nil {
					b.Fatal(err)
				}
			}
			if found == 0 {
				b.Fatal("nothing found")
			}
		})
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDamagedTableIsAnError: a checksum mismatch in a stored table is an ErrDamaged error of
// the read that met it, not a stopped process and not wrong rows.
func TestDamagedTableIsAnError(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ups := make([]dataflow.KeyedUpdate, 20000)
	for i := range ups {
		ups[i] = dataflow.KeyedUpdate{Row: dataflow.Row{dataflow.NewInt(int64(i)), dataflow.NewString(fmt.Sprintf("row %d of some length", i))}, Diff: 1}
	}
	b := s.NewBatch()
	if err := b.Arrangement("v").Apply(ups); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Flush(); err != nil { // into a table file
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table file written")
	}
	f, err := os.OpenFile(tables[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xde, 0xad}, 64), 4096); err != nil {
		t.Fatal(err)
	}
	f.Close()

	if s, err = OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Arrangement("v").Scan(func([]byte, dataflow.Row, dataflow.Diff) bool { return true })
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "move the view store directory away") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("scanning a damaged table: %v", err)
	}
}
