package sources

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/cdc-dev/cdc/dataflow"
)

// spillRows is enough rows for an index on spillTable's text column to pass Genji's 10 MiB
// batch and spill.
const spillRows = 250_000

var spillTable = TableSchema{Name: "big", Columns: []ColumnSchema{
	{Name: "id", Kind: dataflow.KindInt, NotNull: true},
	{Name: "a", Kind: dataflow.KindString},
	{Name: "b", Kind: dataflow.KindInt},
}, PrimaryKey: []int{0}}

// loadSpillTable creates spillTable with spillRows rows in transactions within the bound.
func loadSpillTable(t *testing.T, s *Store) {
	t.Helper()
	update(t, s, func(tx *Txn) { must(t, tx.CreateTable(spillTable)) })
	for i := 0; i < spillRows; {
		update(t, s, func(tx *Txn) {
			for end := min(i+20_000, spillRows); i < end; i++ {
				row := dataflow.Row{dataflow.NewInt(int64(i)), dataflow.NewString(fmt.Sprintf("%032x", i*7919)), dataflow.NewInt(int64(i % 100))}
				if _, err := tx.Insert(spillTable, row); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// storeDigest hashes every key and value of the store's Genji database but its sequences,
// which every open of a store moves on (see genji_namespaces.go).
func storeDigest(t *testing.T, s *Store) string {
	t.Helper()
	it := s.db.DB.DB.NewIter(&pebble.IterOptions{})
	defer it.Close()
	h := sha256.New()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if bytes.HasPrefix(it.Key(), namespacePrefix(2)) { // __genji_sequence
			continue
		}
		fmt.Fprintf(h, "%x=%x;", it.Key(), it.Value())
		n++
	}
	return fmt.Sprintf("%d keys %x", n, h.Sum(nil))
}

// checkSpillIndex checks that a Genji index on spillTable has an entry per row.
func checkSpillIndex(t *testing.T, s *Store, index string) {
	t.Helper()
	info, err := s.db.DB.Catalog.GetIndexInfo(genjiIndex(index))
	if err != nil {
		t.Fatalf("index %s: %v", index, err)
	}
	ns := int64(info.StoreNamespace)
	it := s.db.DB.DB.NewIter(&pebble.IterOptions{LowerBound: namespacePrefix(ns), UpperBound: namespacePrefix(ns + 1)})
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	it.Close()
	if n != spillRows {
		t.Fatalf("index %s has %d entries, want %d", index, n, spillRows)
	}
}

// assertSpills checks that the open transaction tx has spilled: otherwise the test proves
// nothing.
func assertSpills(t *testing.T, s *Store, tx *Txn) {
	t.Helper()
	if !tx.spills {
		t.Fatal("the statement did not count as large")
	}
	if sp, err := spilled(s.db.DB.DB); err != nil || !sp {
		t.Fatalf("the statement did not spill (%v, %v)", sp, err)
	}
}

func TestLargeIndexSpillsAndRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 250k rows")
	}
	dir := t.TempDir()
	s, err := OpenStore(dir)
	must(t, err)
	defer func() { s.Close() }()
	loadSpillTable(t, s)
	before := storeDigest(t, s)
	same := func(what, want string) {
		t.Helper()
		if got := storeDigest(t, s); got != want {
			t.Fatalf("%s: store %s, was %s", what, got, want)
		}
	}
	rolledBack := func(what string, fn func(tx *Txn)) {
		t.Helper()
		tx, err := s.Begin(true)
		must(t, err)
		fn(tx)
		assertSpills(t, s, tx)
		must(t, tx.Rollback())
	}

	rolledBack("CREATE INDEX", func(tx *Txn) { must(t, tx.CreateIndex("big_a", spillTable.Name, []string{"a"}, false)) })
	same("rolled back a spilled CREATE INDEX", before)
	// Built again and committed, the index is complete, also after a reopen.
	update(t, s, func(tx *Txn) { must(t, tx.CreateIndex("big_a", spillTable.Name, []string{"a"}, false)) })
	checkSpillIndex(t, s, "big_a")
	must(t, s.Close())
	s, err = OpenStore(dir)
	must(t, err)
	checkSpillIndex(t, s, "big_a")

	// Genji's truncation of a table or index cannot be restored after a spill: a large index
	// build may not follow a DROP INDEX in its transaction, nor precede one.
	small := TableSchema{Name: "small", Columns: spillTable.Columns, PrimaryKey: []int{0}}
	update(t, s, func(tx *Txn) {
		must(t, tx.CreateTable(small))
		must(t, tx.CreateIndex("small_b", small.Name, []string{"b"}, false))
	})
	func() {
		tx := begin(t, s, true)
		defer tx.Rollback()
		must(t, tx.DropIndex("small_b"))
		if err := tx.CreateIndex("big_c", spillTable.Name, []string{"a"}, false); !IsTxnTooLarge(err) {
			t.Fatalf("a large CREATE INDEX after a DROP INDEX: %v, want too large", err)
		}
	}()
	func() {
		tx := begin(t, s, true)
		defer tx.Rollback()
		must(t, tx.CreateIndex("big_c", spillTable.Name, []string{"a"}, false))
		assertSpills(t, s, tx)
		if err := tx.DropIndex("small_b"); err == nil || !strings.Contains(err.Error(), "statement of its own") {
			t.Fatalf("a DROP INDEX after a large CREATE INDEX: %v", err)
		}
		// A DROP TABLE sets its table aside instead.
		must(t, tx.DropTable(small.Name))
		if !tx.SetAside() {
			t.Fatal("a DROP TABLE after a spill did not set its table aside")
		}
	}()
	checkSpillIndex(t, s, "big_a")
}

// spillChildEnv names the store directory of TestSpilledIndexCrash's child process.
const spillChildEnv = "CDC_SPILL_CHILD_DIR"

// TestSpillChild is the child of TestSpilledIndexCrash: it builds a large index, says
// whether that spilled, and waits to be killed.
func TestSpillChild(t *testing.T) {
	dir := os.Getenv(spillChildEnv)
	if dir == "" {
		t.Skip("the child process of TestSpilledIndexCrash")
	}
	s, err := OpenStore(dir)
	must(t, err)
	tx, err := s.Begin(true)
	must(t, err)
	must(t, tx.CreateIndex("big_a", spillTable.Name, []string{"a"}, false))
	sp, err := spilled(s.db.DB.DB)
	must(t, err)
	fmt.Printf("built spilled=%v\n", sp)
	time.Sleep(time.Minute)
}

// TestSpilledIndexCrash: a process killed in a CREATE INDEX that spilled leaves the store
// as it was before, once it is opened again, and the index can then be built.
func TestSpilledIndexCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 250k rows")
	}
	dir := t.TempDir()
	s, err := OpenStore(dir)
	must(t, err)
	loadSpillTable(t, s)
	must(t, s.Close())
	s, err = OpenStore(dir)
	must(t, err)
	before := storeDigest(t, s)
	must(t, s.Close())

	cmd := exec.Command(os.Args[0], "-test.run", "^TestSpillChild$", "-test.v")
	cmd.Env = append(os.Environ(), spillChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	sc := bufio.NewScanner(out)
	said := ""
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "built ") {
			said = sc.Text()
			break
		}
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	if said != "built spilled=true" {
		t.Fatalf("child said %q, want a spilled build", said)
	}
	s, err = OpenStore(dir)
	must(t, err)
	defer s.Close()
	if after := storeDigest(t, s); after != before {
		t.Fatalf("reopened after a crash in a spilled CREATE INDEX: store %s, was %s", after, before)
	}
	if _, err := s.db.DB.Catalog.GetIndexInfo(genjiIndex("big_a")); err == nil {
		t.Fatal("the index of the crashed transaction is in the catalog")
	}
	update(t, s, func(tx *Txn) { must(t, tx.CreateIndex("big_a", spillTable.Name, []string{"a"}, false)) })
	checkSpillIndex(t, s, "big_a")
}

// TestPurgeLeavesNothing: the purge of a set-aside table deletes every key of the table and
// of its indexes, whatever their namespaces' encodings.
func TestPurgeLeavesNothing(t *testing.T) {
	s := openMem(t)
	s.LowerMaxTxnBytes(64 << 10)
	// Namespaces past 127 take a longer encoding.
	for i := 0; i < 140; i++ {
		ts := TableSchema{Name: fmt.Sprintf("pad%d", i), Columns: spillTable.Columns[:1], PrimaryKey: []int{0}}
		update(t, s, func(tx *Txn) { must(t, tx.CreateTable(ts)) })
	}
	before := storeDigest(t, s)
	update(t, s, func(tx *Txn) {
		must(t, tx.CreateTable(spillTable))
		must(t, tx.CreateIndex("big_a", spillTable.Name, []string{"a"}, false))
		must(t, tx.CreateIndex("big_b", spillTable.Name, []string{"b"}, false))
	})
	for i := 0; i < 3000; {
		update(t, s, func(tx *Txn) {
			for end := i + 50; i < end; i++ {
				row := dataflow.Row{dataflow.NewInt(int64(i)), dataflow.NewString(fmt.Sprintf("%032x", i)), dataflow.NewInt(int64(i % 7))}
				if _, err := tx.Insert(spillTable, row); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	update(t, s, func(tx *Txn) {
		must(t, tx.DropTable(spillTable.Name))
		if !tx.SetAside() {
			t.Fatal("the table was not set aside")
		}
	})
	trash, err := s.DroppedTables()
	if err != nil || len(trash) != 1 {
		t.Fatalf("dropped tables: %v, %v", trash, err)
	}
	update(t, s, func(tx *Txn) {
		done, err := tx.PurgeStep(trash[0])
		if err != nil || !done {
			t.Fatalf("purge: %v, %v", done, err)
		}
	})
	if after := storeDigest(t, s); after != before {
		t.Fatalf("after the purge: store %s, before the table: %s", after, before)
	}
}

// TestGenjiPebbleOptions: Genji's Pebble store is opened with the store's options
// (genji_pebble.go), as the options file Pebble writes says, and opens again.
func TestGenjiPebbleOptions(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	must(t, err)
	update(t, s, func(tx *Txn) {
		must(t, tx.CreateTable(spillTable))
		for i := 0; i < 100; i++ {
			if _, err := tx.Insert(spillTable, dataflow.Row{dataflow.NewInt(int64(i)), dataflow.NewString("x"), dataflow.NewInt(1)}); err != nil {
				t.Fatal(err)
			}
		}
	})
	must(t, s.Close())
	files, err := filepath.Glob(filepath.Join(dir, "OPTIONS-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Pebble options file in %s: %v", dir, err)
	}
	data, err := os.ReadFile(files[len(files)-1])
	must(t, err)
	for _, want := range []string{fmt.Sprintf("cache_size=%d", genjiCacheSize), fmt.Sprintf("mem_table_size=%d", genjiMemTableSize)} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Pebble options file lacks %q:\n%s", want, data)
		}
	}
	s, err = OpenStore(dir)
	must(t, err)
	defer s.Close()
	if keys, _ := scanStore(t, s, spillTable); len(keys) != 100 {
		t.Fatalf("after a reopen: %d rows, want 100", len(keys))
	}
}

// TestIndexBuildOutsideCatalogLock: CREATE INDEX builds its index without the catalog lock
// (genji_index.go), so reads of other tables go on, and the index it builds in two halves
// is Genji's own: a unique one refuses duplicates, and both survive a reopen.
func TestIndexBuildOutsideCatalogLock(t *testing.T) {
	if indexCall.err != nil {
		t.Fatal(indexCall.err)
	}
	dir := t.TempDir()
	s, err := OpenStore(dir)
	must(t, err)
	free := 0
	testBeforeIndexBuild = func(s *Store) {
		if s.catMu.TryRLock() {
			s.catMu.RUnlock()
			free++
		}
	}
	defer func() { testBeforeIndexBuild = nil }()
	update(t, s, func(tx *Txn) {
		must(t, tx.CreateTable(spillTable))
		for i := 0; i < 100; i++ {
			if _, err := tx.Insert(spillTable, dataflow.Row{dataflow.NewInt(int64(i)), dataflow.NewString(fmt.Sprint(i)), dataflow.NewInt(int64(i % 3))}); err != nil {
				t.Fatal(err)
			}
		}
		must(t, tx.CreateIndex("by_a", spillTable.Name, []string{"a"}, true))
		must(t, tx.CreateIndex("by_b", spillTable.Name, []string{"b"}, false))
	})
	if free != 2 {
		t.Fatalf("the catalog lock was free before %d of 2 index builds", free)
	}
	must(t, s.Close())
	s, err = OpenStore(dir)
	must(t, err)
	defer s.Close()
	for _, idx := range []string{"by_a", "by_b"} {
		info, err := s.db.DB.Catalog.GetIndexInfo(genjiIndex(idx))
		if err != nil {
			t.Fatalf("index %s after a reopen: %v", idx, err)
		}
		p := namespacePrefix(int64(info.StoreNamespace))
		it := s.db.DB.DB.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: namespacePrefix(int64(info.StoreNamespace) + 1)})
		n := 0
		for it.First(); it.Valid(); it.Next() {
			n++
		}
		it.Close()
		if n != 100 {
			t.Errorf("index %s has %d entries, want 100", idx, n)
		}
	}
	tx, err := s.Begin(true)
	must(t, err)
	defer tx.Rollback()
	if _, err := tx.Insert(spillTable, dataflow.Row{dataflow.NewInt(500), dataflow.NewString("7"), dataflow.NewInt(0)}); err == nil {
		t.Error("the unique index took a duplicate")
	}
}

// spilled reports whether Genji's rollback segment holds entries: a transaction open now has
// spilled (or one that crashed has left them).
func spilled(db *pebble.DB) (bool, error) {
	it := db.NewIter(&pebble.IterOptions{LowerBound: spillLo, UpperBound: spillHi})
	found := it.First()
	if err := it.Close(); err != nil {
		return false, fmt.Errorf("read the rollback segment: %w", err)
	}
	return found, nil
}
