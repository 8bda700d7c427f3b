package sources

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble"
)

// Genji's key Separator (encoding.Separator), which Pebble calls between the last key of a
// data block and the first key of the next to make the block's index entry, returns the
// last value of the first key alone when the two keys are equal: it walks the values of
// both and, having run off the end of the first, returns what is left of it instead of the
// whole key. Pebble only checks that a separator sorts after the first key, and a bare
// value does (its type byte is above every namespace's), so the index entry is taken, and
// it sorts after the next block's keys too. The two keys are equal whenever a block ends
// between two versions of one row, which the snapshots of open transactions keep through
// flushes and compactions (an updated or deleted row). A seek into such a block's range
// then goes to the wrong block: lookups by key miss rows that are there (an UPDATE finds
// nothing; an INSERT's check that its key is new passes and the row is overwritten) and
// Genji's own SELECT by key returned another row (TestDirectRowsMatchGenji, seed 1, found
// it). safeSeparator keeps Genji's separator only where it is one: after the first key and
// before the second; otherwise it is the first key itself, always a valid separator.

// safeSeparator is the table store's Separator.
func safeSeparator(dst, a, b []byte) []byte {
	if genjiCompare(a, b) < 0 {
		sep := genjiComparer.Separator(nil, a, b)
		if genjiCompare(a, sep) <= 0 && genjiCompare(sep, b) < 0 {
			return append(dst, sep...)
		}
	}
	return append(dst, a...)
}

// separatorsMarker is the file, in the table store's directory, whose presence says that
// every sstable there was written with safeSeparator.
const separatorsMarker = "CDC-SAFE-SEPARATORS"

// Keys below and above every key of Genji's (whose keys begin with a namespace of at least
// 1): rewriteSeparators writes them so that one file spans the whole store at each level.
var (
	spanLo = namespacePrefix(0)
	spanHi = namespacePrefix(math.MaxInt64)
)

// rewriteSeparators rewrites every sstable of a table store written before safeSeparator,
// once: index entries made by Genji's separator are wrong and stay until their file is
// rewritten. Pebble's manual compaction does not rewrite files of the last level that
// nothing above overlaps, so it first writes two keys below and above all others, whose
// file then overlaps every file below it on its way down; they are deleted afterwards.
// dir is the store's directory; an in-memory store has nothing to rewrite.
func rewriteSeparators(pdb *pebble.DB, dir string) error {
	if dir == "" {
		return nil
	}
	marker := filepath.Join(dir, separatorsMarker)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	files := int64(0)
	for _, l := range pdb.Metrics().Levels {
		files += l.NumFiles
	}
	if files > 0 {
		began := time.Now()
		slog.Info("rewriting the table store's sstables: those written by earlier builds have index entries that make lookups miss rows (a Genji bug); this runs once", "files", files)
		b := pdb.NewBatch()
		_ = b.Set(spanLo, genjiTombstone, nil)
		_ = b.Set(spanHi, genjiTombstone, nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("rewrite the table store's sstables: %w", err)
		}
		if err := pdb.Compact(spanLo, spanHi, true); err != nil {
			return fmt.Errorf("rewrite the table store's sstables: %w", err)
		}
		b = pdb.NewBatch()
		_ = b.Delete(spanLo, nil)
		_ = b.Delete(spanHi, nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("rewrite the table store's sstables: %w", err)
		}
		slog.Info("rewrote the table store's sstables", "took", time.Since(began).Round(time.Millisecond))
	}
	f, err := os.Create(marker)
	if err == nil {
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("mark the table store's sstables rewritten: %w", err)
	}
	return nil
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
