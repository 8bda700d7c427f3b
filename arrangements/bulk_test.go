package arrangements

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

// TestBulkMatchesBatches drives a store whose batch defers its arrangements to a Bulk and a
// store written by plain batches through the same random steps (commits and discarded
// batches, reads between and within steps, retractions, spills of a few kilobytes) and
// checks that every read and the final contents agree, that the arrangements are ordinary
// after Finish, and that no bulk file is left behind.
func TestBulkMatchesBatches(t *testing.T) {
	defer func(n int) { bulkMemBytes = n }(bulkMemBytes)
	bulkMemBytes = 4 << 10
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testBulkMatchesBatches(t, seed) })
	}
}

func testBulkMatchesBatches(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	plain, err := OpenMemStore()
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	dir := t.TempDir()
	bulk, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Close()
	names := []string{"x", "y", "z"}
	pb, bb := plain.NewBatch(), bulk.NewBatch()
	bk := bulk.NewBulk(bb, names)
	key := func() []byte { return dataflow.AppendKey(nil, dataflow.NewInt(int64(r.IntN(8)))) }
	read := func(name string) {
		t.Helper()
		k := key()
		want := collectGet(t, pb.Arrangement(name), k, false, 0)
		if got := collectGet(t, bb.Arrangement(name), k, false, 0); !equalEntries(got, want) {
			t.Fatalf("read %s %x: bulk store has %v, plain %v", name, k, got, want)
		}
	}
	apply := func(name string, us []dataflow.KeyedUpdate) {
		if err := pb.Arrangement(name).Apply(us); err != nil {
			t.Fatal(err)
		}
		if err := bb.Arrangement(name).Apply(us); err != nil {
			t.Fatal(err)
		}
	}
	step := func() {
		for range r.IntN(40) {
			name := names[r.IntN(len(names))]
			if r.IntN(30) == 0 {
				read(name) // within the step: staged entries must stay unseen
			}
			d := dataflow.Diff(r.IntN(3) + 1)
			if r.IntN(3) == 0 {
				d = -d
			}
			row := dataflow.Row{dataflow.NewInt(int64(r.IntN(20))), dataflow.NewString(fmt.Sprintf("row %d", r.IntN(5)))}
			apply(name, []dataflow.KeyedUpdate{{Key: key(), Row: row, Diff: d}})
		}
		if r.IntN(10) == 0 {
			pb.Close()
			bb.Close()
			return
		}
		if err := pb.Commit(false); err != nil {
			t.Fatal(err)
		}
		if err := bb.Commit(false); err != nil {
			t.Fatal(err)
		}
	}
	// z is read from the start (while empty it stays deferred), y only late.
	for i := range 300 {
		step()
		read("z")
		if i > 250 {
			read("y")
		}
	}
	if err := bk.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 20 { // ordinary batches after the build, over the ingested entries
		step()
	}
	for _, name := range names {
		want := collectScan(t, plain.Arrangement(name))
		if got := collectScan(t, bulk.Arrangement(name)); !equalEntries(got, want) {
			t.Fatalf("%s: bulk store has %d entries, plain %d:\n%v\n%v", name, len(got), len(want), got, want)
		}
		if len(want) == 0 {
			t.Fatalf("%s: the test wrote nothing that lasted", name)
		}
	}
	left, err := os.ReadDir(filepath.Join(dir, bulkDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("%d bulk files left behind", len(left))
	}
}

// TestBulkFilesGoAtOpen checks that the sorted runs of a build that never finished (the
// process died) are removed when the store opens again, and that Discard removes them too.
func TestBulkFilesGoAtOpen(t *testing.T) {
	defer func(n int) { bulkMemBytes = n }(bulkMemBytes)
	bulkMemBytes = 1 << 10
	dir := t.TempDir()
	files := func() int {
		left, err := os.ReadDir(filepath.Join(dir, bulkDir))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return len(left)
	}
	build := func(s *Store) *Bulk {
		b := s.NewBatch()
		bk := s.NewBulk(b, []string{"x"})
		for i := range 200 {
			us := []dataflow.KeyedUpdate{{Key: dataflow.AppendKey(nil, dataflow.NewInt(int64(i))), Row: dataflow.Row{dataflow.NewInt(int64(i))}, Diff: 1}}
			if err := b.Arrangement("x").Apply(us); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(false); err != nil {
				t.Fatal(err)
			}
		}
		if err := bk.wait(); err != nil {
			t.Fatal(err)
		}
		if files() == 0 {
			t.Fatal("the build spilled no run")
		}
		return bk
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	build(s).Discard()
	if n := files(); n != 0 {
		t.Fatalf("Discard left %d files", n)
	}
	build(s) // and the process dies
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := files(); n != 0 {
		t.Fatalf("%d files of an unfinished build survived opening the store", n)
	}
	if got := collectScan(t, s.Arrangement("x")); len(got) != 0 {
		t.Fatalf("the unfinished build left %d entries", len(got))
	}
}
