package sources

import (
	"fmt"
	"unsafe"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/genjidb/genji"
)

// Genji v0.15 opens its Pebble store with Pebble's defaults (an 8 MiB block cache, a 4 MiB
// memtable) and has no option to change them. Its writes read each key first (an insert
// checks that it is new, a spill reads the old value, genji_spill.go), and with those
// defaults most of these reads decompress blocks of several L0 files (this Pebble's Get
// does not consult Bloom filters): a 1M-row load spent a quarter of its time there and
// CREATE INDEX of 1M rows two thirds. So the store opens Pebble itself, with Genji's key
// comparer, a larger cache and memtable, and hands it to Genji's database.New, which
// Genji's own Open calls the same way. Both live in Genji's internal
// packages, so they are reached with go:linkname, and database.New's options and result,
// whose types cannot be named here, are passed as pointers to a struct of the same layout.
// The Genji version is pinned in go.mod; TestGenjiPebbleOptions fails if this stops
// matching it.

//go:linkname genjiDatabaseNew github.com/genjidb/genji/internal/database.New
func genjiDatabaseNew(pdb *pebble.DB, opts unsafe.Pointer) (unsafe.Pointer, error)

//go:linkname genjiLoadCatalog github.com/genjidb/genji/internal/database/catalogstore.LoadCatalog
func genjiLoadCatalog(tx unsafe.Pointer) (unsafe.Pointer, error)

//go:linkname genjiComparer github.com/genjidb/genji/internal/database.DefaultComparer
var genjiComparer *pebble.Comparer

// genjiDatabaseOptions has the layout of Genji's database.Options.
type genjiDatabaseOptions struct {
	CatalogLoader func(tx unsafe.Pointer) (unsafe.Pointer, error)
	EncryptionKey []byte
}

// Genji's Pebble settings. The cache holds the blocks an insert's existence check reads;
// at 1M chat messages (a table store of about 900 MB) a 128 MiB cache missed on most of them:
// BenchmarkChatBuild's single-row inserts after the build took 396 and 571 µs with it, 230
// and 400 µs with 512 MiB (loads 39.5 and 43.5 s, 37.3 and 40.6 s). Pebble fills the cache
// as it reads, so a small store never takes it all.
//
// The shape of the LSM tree is the view store's (arrangements/pebble.go): a base level of
// 256 MiB, L0 files of 8 MiB compacted 8 at a time, so that a byte is rewritten fewer
// times on its way down. BenchmarkChatBuild's 1M-message load, alternating runs: 27.2,
// 26.9, 33.6 s against 33.5 and 38.2 s with Pebble's defaults (compactions 15 s of CPU
// against 18 s); a 64 MiB memtable saved more compaction but slowed the committer (its
// inserts into a deeper skiplist) as much.
const (
	genjiCacheSize      = 512 << 20
	genjiMemTableSize   = 16 << 20
	genjiLBaseMaxBytes  = 256 << 20
	genjiL0FileSize     = 8 << 20
	genjiL0CompactAt    = 8
	genjiL0StopWritesAt = 24
)

// genjiBloomBitsPerKey sizes the Bloom filters of the table store's sstables, which the
// existence checks of direct rows consult (genji_direct.go): with 10 bits a key, about 1% of
// the levels that do not hold a new key are read anyway.
const genjiBloomBitsPerKey = 10

// genjiPebbleOptions are the options the store opens Genji's Pebble with: Genji's comparer
// with a Split (the whole key is the prefix: prefix seeks are point lookups), which Bloom
// filters and SeekPrefixGE need, and a Separator that is one (genji_separator.go); and
// filters at every level. Sstables written before have no filter and are read as before
// until compactions rewrite them.
func genjiPebbleOptions(inMemory bool) *pebble.Options {
	cmp := *genjiComparer
	cmp.Compare = genjiCompare // genji_compare.go
	cmp.Split = func(a []byte) int { return len(a) }
	cmp.Separator = safeSeparator // genji_separator.go
	opts := &pebble.Options{Comparer: &cmp, Cache: pebble.NewCache(genjiCacheSize),
		MemTableSize: genjiMemTableSize, LBaseMaxBytes: genjiLBaseMaxBytes,
		L0CompactionThreshold: genjiL0CompactAt, L0StopWritesThreshold: genjiL0StopWritesAt}
	opts.Levels = make([]pebble.LevelOptions, 7)
	opts.Levels[0].TargetFileSize = genjiL0FileSize
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(genjiBloomBitsPerKey)
	}
	if inMemory {
		opts.FS = vfs.NewMem()
	}
	return opts.EnsureDefaults()
}

// openGenjiPebble opens Genji's database at path (":memory:" in memory) over a Pebble store
// opened with genjiPebbleOptions.
func openGenjiPebble(path string) (*genji.DB, error) {
	if genjiComparer == nil {
		return nil, fmt.Errorf("open genji: its key comparer is not linked")
	}
	popts := genjiPebbleOptions(path == ":memory:")
	defer popts.Cache.Unref() // the DB holds its own reference
	dir := path
	if path == ":memory:" {
		dir = ""
	}
	pdb, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, fmt.Errorf("open genji's pebble store: %w", err)
	}
	if err := rewriteSeparators(pdb, dir); err != nil {
		pdb.Close()
		return nil, err
	}
	p, err := genjiDatabaseNew(pdb, unsafe.Pointer(&genjiDatabaseOptions{CatalogLoader: genjiLoadCatalog}))
	if err != nil {
		pdb.Close()
		return nil, err
	}
	db := &genji.DB{}
	*(*unsafe.Pointer)(unsafe.Pointer(&db.DB)) = p
	return db, nil
}
