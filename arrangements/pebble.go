package arrangements

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Key layout of a Store. Every Pebble key starts with a namespace byte so that arrangement
// entries and engine metadata (view frontiers and the like) never collide:
//
//	nsArrangement || AppendKey(NewString(name)) || key || AppendRowKey(row)  ->  varint(count) || uvarint(len(key))
//	nsArrangement || AppendKey(NewString(name)) || key    (unique)          ->  varint(count) || uvarint(len(key)) || AppendRowKey(row)
//	nsMeta || key                                                           ->  caller's bytes
//
// The arrangement name is key-encoded, so it is self-delimiting: no arrangement's prefix is
// a prefix of another's. Key and row encodings are order-preserving, so Pebble's byte order
// is the arrangement's (key, row) order and a Get of a key prefix is a Pebble range scan.
// The key length is kept in the value because Scan must split key from row and the two
// encodings are concatenated without a separator.
//
// A unique arrangement (UniqueArrangement) holds at most one row per key and keeps it in
// the value: replacing the row overwrites one Pebble key. In the multiset layout it would
// delete one entry and create another, and the deleted entries of a key (its tombstones, a
// reduce's every past accumulator of a group) stay in the memtable and the upper levels
// until compacted away, so every read of the key stepped over all of them: reading a chat's
// count cost more with every message it had received.
const (
	nsArrangement = 'a'
	nsMeta        = 'm'
)

// Store is a Pebble database holding any number of arrangements plus a small metadata key
// space. Arrangements read committed state; changes are written through a Batch and become
// visible, all together, when it commits.
//
// The store's own bookkeeping (its arrangements by name, its cache of iterators) is safe for
// concurrent use, so that batches over disjoint arrangements (a view's hydration beside the
// engine's epochs) may be written and read from different goroutines; one Arrangement or
// one Batch is used by one goroutine at a time.
type Store struct {
	db   *pebble.DB
	opts *pebble.Options
	fs   vfs.FS
	dir  string
	mu   sync.Mutex // guards arrs, gen and free
	arrs map[string]*Arrangement
	gen  uint64 // incremented by every commit
	free []*cachedIter
	// cachedRows counts the rows the arrangements' read caches hold (readCache).
	cachedRows atomic.Int64
}

// OpenStore opens (creating if needed) a Store in dir.
func OpenStore(dir string) (*Store, error) {
	return openStore(dir, vfs.Default)
}

// OpenMemStore opens a Store on an in-memory file system, for tests and benchmarks.
func OpenMemStore() (*Store, error) {
	return openStore("", vfs.NewMem())
}

// cacheSize is the Pebble block cache of a Store. Pebble's default (8 MiB) is small enough
// that random point reads over a 100k-entry arrangement mostly miss and decompress blocks
// (a profile of concurrent inserts over the chat views spent a fifth of its time there).
const cacheSize = 256 << 20

// The LSM's shape: epochs write small batches all over the arrangements, and compactions
// were the largest cost of concurrent inserts (38% of a profile): a larger memtable flushes
// less often, larger L0 files and a larger base level compact less often, and L0 may hold
// more files before it is compacted (l0CompactAt) or writes stall (l0StopAt). With a 64
// MiB memtable (was 16) and l0CompactAt 8 (Pebble's default is 4), the p99 latencies of
// single inserts and updates over the chat views fell by half or more in side-by-side runs.
// The memtable's memory is taken as it fills.
const (
	memTableSize  = 64 << 20
	l0FileSize    = 8 << 20
	lBaseMaxBytes = 256 << 20
	l0CompactAt   = 8
	l0StopAt      = 24
)

// bloomBitsPerKey sizes the Bloom filters of every level: a commit reads the current count
// of each entry it changes (Batch.Commit), and most entries an insert makes are new, which
// the filter answers without reading a block.
const bloomBitsPerKey = 10

// uncompressedLevels is how many of the upper LSM levels are written without compression.
const uncompressedLevels = 2

func openStore(dir string, fs vfs.FS) (*Store, error) {
	cache := pebble.NewCache(cacheSize)
	defer cache.Unref() // the DB holds its own reference
	// Pebble's default reaction to a checksum mismatch is to stop the process; report it as
	// an error of the read instead (see damaged).
	events := &pebble.EventListener{DataCorruption: func(pebble.DataCorruptionInfo) {}}
	opts := &pebble.Options{FS: fs, Logger: quietLogger{}, Cache: cache, EventListener: events, Merger: countMerger,
		MemTableSize: memTableSize, LBaseMaxBytes: lBaseMaxBytes,
		L0CompactionThreshold: l0CompactAt, L0StopWritesThreshold: l0StopAt}
	opts.TargetFileSizes[0] = l0FileSize
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
		// The upper levels are rewritten soon by compactions: compressing them costs
		// CPU for little space (as RocksDB's usual setting).
		if i < uncompressedLevels {
			opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
		}
	}
	opts.EnsureDefaults()
	db, err := pebble.Open(dir, opts)
	if err != nil && strings.Contains(err.Error(), "merger name from file") {
		return nil, fmt.Errorf("%w (%v)", ErrOldLayout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("arrangements: open pebble %q: %w", dir, err)
	}
	_ = fs.RemoveAll(fs.PathJoin(dir, bulkDir)) // files of a build the process did not finish
	return &Store{db: db, opts: opts, fs: fs, dir: dir, arrs: make(map[string]*Arrangement)}, nil
}

// Close closes the database. Arrangements and batches of the store must not be used after.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closeFreeIters()
	s.mu.Unlock()
	err := s.db.Close()
	s.db = nil
	return err
}

// Flush syncs committed batches to disk (the WAL). Commit(false) followed by Flush makes all
// earlier commits durable.
func (s *Store) Flush() error { return s.db.LogData(nil, pebble.Sync) }

// Arrangement returns the arrangement called name; the same name always yields the same
// arrangement. Its reads see committed state. Its Apply writes and commits a batch of its own
// (without fsync); an engine applying one epoch should use NewBatch and Batch.Arrangement
// instead so that every arrangement's changes commit atomically. The result is an
// *Arrangement.
func (s *Store) Arrangement(name string) dataflow.Arrangement { return s.multisetArrangement(name) }

// multisetArrangement is the arrangement name, no longer taken for a set (SetArrangement).
func (s *Store) multisetArrangement(name string) *Arrangement {
	a := s.arrangement(name, false)
	a.set.Store(false)
	return a
}

// UniqueArrangement is Arrangement for an arrangement with at most one row per key, laid
// out for it (see the key layout). Its updates of a key within one batch must retract the
// key's current row, if any, and add at most one row; Batch.Commit fails otherwise. Its
// reads name a key or a prefix of one (never a prefix of key and row, as a multiset
// arrangement's may). A name is used in one layout only: the first call for a name decides
// it.
func (s *Store) UniqueArrangement(name string) dataflow.Arrangement {
	return s.arrangement(name, true)
}

// SetArrangement is Arrangement for an arrangement whose entries are a set: no (key, row)
// is ever there twice, so a retraction deletes its entry without reading its count. The
// caller vouches for it (a table's rows with their primary key, a GROUP BY's output); an
// entry retracted twice, or one that was never added, would be lost or ignored instead of
// counted. A name asked for as a multiset too is one.
func (s *Store) SetArrangement(name string) dataflow.Arrangement { return s.setArrangement(name) }

func (s *Store) setArrangement(name string) *Arrangement {
	a, created := s.arrangementOf(name, false)
	if created {
		a.set.Store(true)
	}
	return a
}

func (s *Store) arrangement(name string, unique bool) *Arrangement {
	a, _ := s.arrangementOf(name, unique)
	return a
}

// arrangementOf returns the arrangement called name, and whether this call created it.
func (s *Store) arrangementOf(name string, unique bool) (a *Arrangement, created bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.arrs[name]; ok {
		return a, false
	}
	a = &Arrangement{s: s, name: name, prefix: arrangementPrefix(name), unique: unique}
	a.cache.total = &s.cachedRows
	s.arrs[name] = a
	return a, true
}

// existing returns the arrangement called name if the store has handed it out, else nil.
func (s *Store) existing(name string) *Arrangement {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arrs[name]
}

// arrangementPrefix is the prefix of every Pebble key of the arrangement name.
func arrangementPrefix(name string) []byte {
	return dataflow.AppendKey([]byte{nsArrangement}, dataflow.NewString(name))
}

// GetMeta returns the committed value of a metadata key.
func (s *Store) GetMeta(key []byte) (value []byte, ok bool, err error) {
	defer func() { err = damaged(err) }()
	k := append([]byte{nsMeta}, key...)
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	value = append([]byte(nil), v...)
	return value, true, closer.Close()
}

// Arrangement is a Pebble-backed dataflow.Arrangement. Reads see the store's committed
// state. It is not safe for concurrent use.
type Arrangement struct {
	s      *Store
	name   string
	prefix []byte
	unique bool // one row per key, kept in the value
	// set says the entries are a set (SetArrangement): retractions delete without reading.
	set   atomic.Bool
	cache readCache
	bulk  *Bulk // holds its entries until it is read or the build ends; nil: none
}

var _ dataflow.Arrangement = (*Arrangement)(nil)

// Name returns the arrangement's name.
func (a *Arrangement) Name() string { return a.name }

// Len returns the number of (key, row) entries, counting them (O(n)): commits do not know
// which entries they create or delete (see countMerger).
func (a *Arrangement) Len() int {
	n := 0
	_ = a.iterate(nil, false, func([]byte, []byte) (bool, error) { n++; return true, nil })
	return n
}

// Get visits the rows under key (or every key that key is a prefix of) in ascending order.
func (a *Arrangement) Get(key []byte, fn func(dataflow.Row, dataflow.Diff) bool) error {
	return a.get(key, false, fn)
}

// GetReverse is Get in descending order.
func (a *Arrangement) GetReverse(key []byte, fn func(dataflow.Row, dataflow.Diff) bool) error {
	return a.get(key, true, fn)
}

func (a *Arrangement) get(key []byte, reverse bool, fn func(dataflow.Row, dataflow.Diff) bool) error {
	if err := a.undefer(); err != nil {
		return err
	}
	if r, ok := a.cache.lookup(key); ok {
		r.replay(reverse, fn)
		return nil
	}
	var rows []dataflow.Row
	var counts []dataflow.Diff
	complete, small, stopped := true, true, false
	err := a.iterate(key, reverse, func(k, v []byte) (bool, error) {
		if stopped {
			// fn stopped before this entry: the read is not the key's whole content.
			complete = false
			return false, nil
		}
		_, row, count, err := a.decodeEntry(k, v)
		if err != nil {
			return false, err
		}
		if small = small && len(rows) < maxCachedRows; small {
			rows, counts = append(rows, row), append(counts, count)
		}
		if !fn(row, count) {
			// A read that stops at the key's last row (a reduce reads its one accumulator
			// row so) found all of it: one step more tells, if it is worth remembering.
			stopped = true
			return small, nil
		}
		return true, nil
	})
	if err == nil && complete && small {
		a.cache.remember(key, rows, counts, reverse)
	}
	return err
}

// Scan visits every entry in key order. The key passed to fn is a fresh copy.
func (a *Arrangement) Scan(fn func([]byte, dataflow.Row, dataflow.Diff) bool) error {
	return a.iterate(nil, false, func(k, v []byte) (bool, error) {
		key, row, count, err := a.decodeEntry(k, v)
		if err != nil {
			return false, err
		}
		return fn(append([]byte(nil), key...), row, count), nil
	})
}

// decodeEntry splits a stored entry into its key (aliasing k), its row and its count.
func (a *Arrangement) decodeEntry(k, v []byte) ([]byte, dataflow.Row, dataflow.Diff, error) {
	if a.unique {
		count, rest, err := decodeUniqueValue(v)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("arrangements: %s: %w", a.name, err)
		}
		row, err := dataflow.DecodeRow(rest, -1)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("arrangements: %s: %w", a.name, err)
		}
		return k[len(a.prefix):], row, count, nil
	}
	count, keyLen, err := decodeValue(v)
	if err != nil {
		return nil, nil, 0, err
	}
	row, err := a.decodeRow(k, keyLen)
	if err != nil {
		return nil, nil, 0, err
	}
	return k[len(a.prefix) : len(a.prefix)+keyLen], row, count, nil
}

// Apply adds the diffs and commits them at once, without fsync.
func (a *Arrangement) Apply(updates []dataflow.KeyedUpdate) error {
	b := a.s.NewBatch()
	defer b.Close()
	a.ApplyTo(b, updates)
	return b.Commit(false)
}

// ApplyTo stages the diffs in b; they take effect when b commits. Keys and rows are copied
// (encoded) so callers may reuse them at once.
func (a *Arrangement) ApplyTo(b *Batch, updates []dataflow.KeyedUpdate) {
	for _, u := range updates {
		if u.Diff == 0 {
			continue
		}
		if b.defers(a) {
			b.bulk.stage(a, u)
			continue
		}
		b.buf = append(append(b.buf[:0], a.prefix...), u.Key...)
		if a.unique {
			b.stageUnique(a, b.buf, u)
			continue
		}
		b.buf = dataflow.AppendRowKey(b.buf, u.Row)
		b.addPending(a, b.buf, len(u.Key), u.Diff)
	}
}

// addPending adds diff to the pending entry of a whose Pebble key is k (copied).
func (b *Batch) addPending(a *Arrangement, k []byte, keyLen int, diff dataflow.Diff) {
	if p, ok := b.pending[string(k)]; ok {
		p.diff += diff
		return
	}
	b.pending[string(k)] = &pendingEntry{arr: a, keyLen: keyLen, diff: diff}
}

func (a *Arrangement) decodeRow(k []byte, keyLen int) (dataflow.Row, error) {
	start := len(a.prefix) + keyLen
	if start > len(k) {
		return nil, fmt.Errorf("arrangements: %s: corrupt entry: key length %d beyond entry", a.name, keyLen)
	}
	row, err := dataflow.DecodeRow(k[start:], -1)
	if err != nil {
		return nil, fmt.Errorf("arrangements: %s: %w", a.name, err)
	}
	return row, nil
}

// iterate visits the Pebble entries of the arrangement that start with key, ascending or
// descending.
func (a *Arrangement) iterate(key []byte, reverse bool, fn func(k, v []byte) (bool, error)) (err error) {
	if err := a.undefer(); err != nil {
		return err
	}
	defer func() { err = damaged(err) }()
	ci, err := a.s.acquireIter(a.prefix, key)
	if err != nil {
		return err
	}
	defer a.s.releaseIter(ci)
	it := ci.it
	var valid bool
	if reverse {
		valid = it.Last()
	} else {
		valid = it.First()
	}
	for ; valid; valid = step(it, reverse) {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if zeroCount(v) {
			continue // merged to nothing, not yet compacted away
		}
		more, err := fn(it.Key(), v)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return it.Error()
}

// cachedIter is a Pebble iterator kept for reuse: creating one costs more than a point
// read. An iterator sees the state of its creation, so cached iterators are closed whenever
// a batch commits (gen changes).
type cachedIter struct {
	it           *pebble.Iterator
	gen          uint64
	lower, upper []byte
}

const maxFreeIters = 4

// acquireIter returns an iterator bounded to the keys that start with prefix||key. Reads
// may nest (fn of a Get may call Get), so each read takes its own iterator.
func (s *Store) acquireIter(prefix, key []byte) (*cachedIter, error) {
	var ci *cachedIter
	s.mu.Lock()
	if n := len(s.free); n > 0 {
		ci = s.free[n-1]
		s.free = s.free[:n-1]
		s.mu.Unlock()
	} else {
		gen := s.gen
		s.mu.Unlock()
		it, err := s.db.NewIter(nil)
		if err != nil {
			return nil, err
		}
		ci = &cachedIter{it: it, gen: gen}
	}
	ci.lower = append(append(ci.lower[:0], prefix...), key...)
	ci.upper = append(ci.upper[:0], ci.lower...)
	i := len(ci.upper) - 1
	for i >= 0 && ci.upper[i] == 0xff {
		i--
	}
	if i < 0 { // cannot happen: arrangement prefixes start with nsArrangement
		s.releaseIter(ci)
		return nil, errors.New("arrangements: unbounded prefix")
	}
	ci.upper = ci.upper[:i+1]
	ci.upper[i]++
	ci.it.SetBounds(ci.lower, ci.upper)
	return ci, nil
}

func (s *Store) releaseIter(ci *cachedIter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ci.gen != s.gen || len(s.free) >= maxFreeIters || s.db == nil {
		ci.it.Close()
		return
	}
	s.free = append(s.free, ci)
}

// committed makes later reads see a commit: cached iterators still see the old state.
func (s *Store) committed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.closeFreeIters()
}

func (s *Store) closeFreeIters() {
	for _, ci := range s.free {
		ci.it.Close()
	}
	clear(s.free)
	s.free = s.free[:0]
}

func step(it *pebble.Iterator, reverse bool) bool {
	if reverse {
		return it.Prev()
	}
	return it.Next()
}

func appendValue(dst []byte, count dataflow.Diff, keyLen int) []byte {
	dst = binary.AppendVarint(dst, count)
	return binary.AppendUvarint(dst, uint64(keyLen))
}

// zeroCount reports whether a stored value holds a count of zero (its varint is one 0 byte).
func zeroCount(v []byte) bool { return len(v) > 0 && v[0] == 0 }

// decodeUniqueValue splits the value of a unique arrangement's entry into its count and its
// row's encoding.
func decodeUniqueValue(v []byte) (dataflow.Diff, []byte, error) {
	count, n := binary.Varint(v)
	if n <= 0 {
		return 0, nil, errors.New("corrupt entry count")
	}
	_, m := binary.Uvarint(v[n:])
	if m <= 0 {
		return 0, nil, errors.New("corrupt entry key length")
	}
	return count, v[n+m:], nil
}

func decodeValue(v []byte) (dataflow.Diff, int, error) {
	count, n := binary.Varint(v)
	if n <= 0 {
		return 0, 0, errors.New("arrangements: corrupt entry count")
	}
	keyLen, m := binary.Uvarint(v[n:])
	if m <= 0 || n+m != len(v) {
		return 0, 0, errors.New("arrangements: corrupt entry key length")
	}
	return count, int(keyLen), nil
}

// undefer makes a's committed entries readable if a Bulk holds them; called before a read.
func (a *Arrangement) undefer() error {
	if a.bulk == nil {
		return nil
	}
	return a.bulk.release(a)
}

// writerOptions are those of an sstable the store ingests: its bottom level's, without
// what only a compaction into that level may write.
func (s *Store) writerOptions() sstable.WriterOptions {
	o := s.opts.MakeWriterOptions(len(s.opts.Levels)-1, s.db.TableFormat())
	o.WritingToLowestLevel = false
	return o
}

// quietLogger drops Pebble's informational messages and keeps errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)              {}
func (quietLogger) Errorf(format string, args ...any) { log.Printf("pebble: "+format, args...) }
func (quietLogger) Fatalf(format string, args ...any) { log.Fatalf("pebble: "+format, args...) }

// ArrangementNames lists the arrangements that have entries, in name order.
func (s *Store) ArrangementNames() ([]string, error) { return s.names(nsArrangement) }

// HistoryNames lists the histories that have records, in name order.
func (s *Store) HistoryNames() ([]string, error) { return s.names(nsHistory) }

// names lists the distinct key-encoded names that follow the namespace byte ns.
func (s *Store) names(ns byte) (_ []string, err error) {
	defer func() { err = damaged(err) }()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{ns}, UpperBound: []byte{ns + 1}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []string
	for valid := it.First(); valid; {
		d, _, err := dataflow.DecodeKey(it.Key()[1:])
		if err != nil {
			return nil, fmt.Errorf("arrangements: corrupt key %q: %w", it.Key(), err)
		}
		out = append(out, d.Str())
		valid = it.SeekGE(bytesPrefixEnd(dataflow.AppendKey([]byte{ns}, d)))
	}
	return out, it.Error()
}

// ScanMeta calls fn for every metadata key that starts with prefix, in key order; key and
// value are only valid during the call.
func (s *Store) ScanMeta(prefix []byte, fn func(key, value []byte) error) (err error) {
	defer func() { err = damaged(err) }()
	lower := append([]byte{nsMeta}, prefix...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: bytesPrefixEnd(lower)})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(it.Key()[1:], v); err != nil {
			return err
		}
	}
	return it.Error()
}

// ErrOldLayout is the error of OpenStore on a store written by a build that kept entry
// counts without countMerger: its state is usable by that build only.
var ErrOldLayout = errors.New("arrangements: the store was written by an older build, which kept counts another way")

// ErrDamaged marks the errors of reads that met on-disk corruption (a checksum mismatch).
var ErrDamaged = errors.New("the view store is damaged")

// damaged turns a corruption error of Pebble into ErrDamaged with what to do about it.
func damaged(err error) error {
	if err == nil || errors.Is(err, ErrDamaged) || !pebble.IsCorruptionError(err) {
		return err
	}
	detail, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Errorf("%w (%s): it holds only derived state, so stop the engine, move the view store directory away "+
		"and start again to rebuild every materialized view from its tables", ErrDamaged, detail)
}
