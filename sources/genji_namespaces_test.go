package sources

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

// crashChildEnv makes the test binary a child that creates one table (and an index) in the
// store named by the variable, commits, and exits without closing the store: a crash, as
// far as Genji can tell.
const crashChildEnv = "CDC_SOURCES_CRASH_CHILD"

// skipNamespaceCheckEnv makes the child behave as builds before the namespace check did.
const skipNamespaceCheckEnv = "CDC_SOURCES_SKIP_NAMESPACE_CHECK"

func init() {
	spec := os.Getenv(crashChildEnv)
	if spec == "" {
		return
	}
	namespaceCheck = os.Getenv(skipNamespaceCheckEnv) == ""
	dir, name, _ := strings.Cut(spec, "|")
	if err := crashChild(dir, name); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0) // no Close: Genji never writes the true value of its sequences
}

func crashChild(dir, name string) error {
	s, err := OpenStore(dir)
	if err != nil {
		return err
	}
	tx, err := s.Begin(true)
	if err != nil {
		return err
	}
	ts := nsTable(name)
	if err := tx.CreateTable(ts); err != nil {
		return err
	}
	first := int64(1)
	if !namespaceCheck {
		// The damaged store of old builds: the second table lands on the first one's
		// namespace, where keys 1 and 2 are taken.
		first = int64(10 * len(name))
	}
	for i := first; i < first+2; i++ {
		if _, err := tx.Insert(ts, dataflow.Row{dataflow.NewInt(i), dataflow.NewString(name)}); err != nil {
			return err
		}
	}
	if namespaceCheck {
		if err := tx.CreateIndex(name+"_owner", name, []string{"owner"}, false); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func nsTable(name string) TableSchema {
	return TableSchema{Name: name, PrimaryKey: []int{0}, Columns: []ColumnSchema{
		{Name: "id", Kind: dataflow.KindInt}, {Name: "owner", Kind: dataflow.KindString}}}
}

// TestNamespacesAfterCrash: tables and indexes created by processes that crashed never share
// storage with the ones created after them (issue 12: `audit` returned the rows of
// `accounts`).
func TestNamespacesAfterCrash(t *testing.T) {
	dir := t.TempDir()
	names := []string{"accounts", "audit", "ledger"}
	for _, name := range names {
		cmd := exec.Command(os.Args[0], "-test.run", "^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir+"|"+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child creating %s: %v\n%s", name, err, out)
		}
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx := begin(t, s, true)
	// One more table after the last crash.
	must(t, tx.CreateTable(nsTable("fresh")))
	for _, name := range append(names, "fresh") {
		_, rows := scanAll(t, tx, nsTable(name))
		want := 2
		if name == "fresh" {
			want = 0
		}
		if len(rows) != want {
			t.Errorf("table %s has %d rows, want %d: %v", name, len(rows), want, rows)
		}
		for _, r := range rows {
			if r[1].String() != name {
				t.Errorf("table %s holds a row of another table: %v", name, r)
			}
		}
	}
	uses, err := namespaces(tx.tx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	for _, u := range uses {
		if other, ok := seen[u.ns]; ok {
			t.Errorf("%s and %s share namespace %d", other, u.name, u.ns)
		}
		seen[u.ns] = u.name
	}
	must(t, tx.Rollback()) // before the deferred Close, which waits for it
}

// TestNamespacesSharedRefused: a store whose catalog already has two entries on one
// namespace (written by an earlier build) does not open, and says which.
func TestNamespacesSharedRefused(t *testing.T) {
	dir := t.TempDir()
	// Reproduce the old damage: two crashes in a row, each creating a table, with the check
	// disabled in the children.
	for _, name := range []string{"accounts", "audit"} {
		cmd := exec.Command(os.Args[0], "-test.run", "^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir+"|"+name, skipNamespaceCheckEnv+"=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child creating %s: %v\n%s", name, err, out)
		}
	}
	_, err := OpenStore(dir)
	if err == nil {
		t.Fatal("a store with two tables on one namespace opened")
	}
	if !strings.Contains(err.Error(), "`accounts`") || !strings.Contains(err.Error(), "`audit`") || !strings.Contains(err.Error(), "share namespace") {
		t.Errorf("error does not name the tables sharing a namespace: %v", err)
	}
}

// TestIndexesAfterReopen: a UNIQUE index created before a restart is still enforced after
// it, and an index can still be dropped (Genji's catalog cache used to hold the indexes'
// table names in reused read buffers).
func TestIndexesAfterReopen(t *testing.T) {
	failures := 0
	for round := range 8 {
		dir := t.TempDir()
		s, err := OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		ts := nsTable("tbl_with_indexes")
		update(t, s, func(tx *Txn) {
			must(t, tx.CreateTable(ts))
			_, err := tx.Insert(ts, dataflow.Row{dataflow.NewInt(1), dataflow.NewString("a")})
			must(t, err)
			must(t, tx.CreateIndex("owner_unique", ts.Name, []string{"owner"}, true))
			must(t, tx.CreateIndex("owner_plain", ts.Name, []string{"owner"}, false))
		})
		must(t, s.Close())
		// Two restarts, reading what the engine reads at start.
		for k := range 2 {
			if s, err = OpenStore(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LoadCatalog(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.StoredTableNames(); err != nil {
				t.Fatal(err)
			}
			rtx := begin(t, s, false)
			scanAll(t, rtx, ts)
			must(t, rtx.Rollback())
			if k == 0 {
				must(t, s.Close())
			}
		}
		tx, err := s.Begin(true)
		if err != nil {
			t.Fatal(err)
		}
		// Reads that reuse Genji's buffers.
		scanAll(t, tx, ts)
		if _, err := s.LoadCatalog(); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Insert(ts, dataflow.Row{dataflow.NewInt(2), dataflow.NewString("a")}); err == nil {
			failures++
			t.Errorf("round %d: the UNIQUE index accepted a duplicate after a restart", round)
		}
		if err := tx.DropIndex("owner_plain"); err != nil {
			failures++
			t.Errorf("round %d: DROP INDEX after a restart: %v", round, err)
		}
		must(t, tx.Rollback())
		must(t, s.Close())
		if failures > 3 {
			return
		}
	}
}
