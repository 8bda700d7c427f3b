package sources

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/cdc-dev/cdc/dataflow"
)

// separatorKeys writes 1,000 rows of one table twice each, with a snapshot held between
// the two versions (as open transactions hold them), so that data blocks end between two
// versions of one key, and flushes them to an sstable.
func separatorKeys(t *testing.T, db *pebble.DB) [][]byte {
	t.Helper()
	var keys [][]byte
	var snaps []*pebble.Snapshot
	for i := 0; i < 1000; i++ {
		k := genjiEncodeBlob(genjiEncodeInt(nil, 20), encodePadded(dataflow.NewString(fmt.Sprintf("row%04d", i))))
		keys = append(keys, k)
		must(t, db.Set(k, []byte("old"), pebble.NoSync))
		snaps = append(snaps, db.NewSnapshot())
		must(t, db.Set(k, []byte("new"), pebble.NoSync))
	}
	must(t, db.Flush())
	for _, s := range snaps {
		must(t, s.Close())
	}
	return keys
}

// missing counts the keys a point lookup does not find.
func missing(t *testing.T, db *pebble.DB, keys [][]byte) int {
	t.Helper()
	n := 0
	for _, k := range keys {
		v, closer, err := db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			n++
			continue
		}
		must(t, err)
		if string(v) != "new" {
			t.Fatalf("lookup of %x: %q", k[:8], v)
		}
		closer.Close()
	}
	return n
}

// TestSafeSeparator: with Genji's Separator, lookups of rows whose versions straddle data
// blocks miss them; with safeSeparator none do, and opening a store written before
// rewrites its sstables once so that none do there either.
func TestSafeSeparator(t *testing.T) {
	dir := t.TempDir()
	opts := genjiPebbleOptions(false)
	defer opts.Cache.Unref()
	genjis := *opts.Comparer
	genjis.Separator = genjiComparer.Separator
	old := *opts
	old.Comparer = &genjis
	db, err := pebble.Open(dir, &old)
	must(t, err)
	keys := separatorKeys(t, db)
	if n := missing(t, db, keys); n == 0 {
		t.Fatal("Genji's Separator lost no row: the test no longer shows the bug it guards against")
	} else {
		t.Logf("Genji's Separator: %d of %d rows not found", n, len(keys))
	}
	must(t, db.Close())

	db, err = pebble.Open(dir, opts)
	must(t, err)
	must(t, rewriteSeparators(db, dir))
	if n := missing(t, db, keys); n != 0 {
		t.Fatalf("after the rewrite, %d rows not found", n)
	}
	if _, err := os.Stat(filepath.Join(dir, separatorsMarker)); err != nil {
		t.Fatalf("no marker after the rewrite: %v", err)
	}
	for _, k := range [][]byte{spanLo, spanHi} {
		if _, _, err := db.Get(k); !errors.Is(err, pebble.ErrNotFound) {
			t.Fatalf("key %x of the rewrite left: %v", k, err)
		}
	}
	must(t, db.Close())

	fresh := t.TempDir()
	db, err = pebble.Open(fresh, opts)
	must(t, err)
	defer db.Close()
	if n := missing(t, db, separatorKeys(t, db)); n != 0 {
		t.Fatalf("safeSeparator: %d rows not found", n)
	}
}
