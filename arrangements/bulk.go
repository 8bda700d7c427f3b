package arrangements

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cdc-dev/cdc/dataflow"
)

// Bulk defers the writes of a view build to new arrangements until they are first read.
// The batch bound to it (NewBulk) stages the entries of those arrangements in flat
// arenas instead of its map, and the Bulk sorts them (spilling sorted runs to files in the
// background once bulkMemBytes are held) and writes them as sstables that Pebble ingests
// below its memtables. A build's largest arrangements (the messages side of a join whose
// other sides are complete, the view's contents) are written and never read until it
// ends; through the memtable they cost a flush and a compaction at every level on their
// way down, and the LSM a build leaves behind made the inserts after it pay for those
// compactions too.
//
// An arrangement's deferred entries are ingested when it is first read while it holds
// some committed ones (a read of an arrangement with none sees Pebble's empty range, which
// is its committed state; its commits do not touch its read cache until then, and
// ingesting resets it); its staged entries then move to the batch, and from then on it is
// written through Pebble as any other. Finish ingests the rest. Only multiset arrangements
// that hold nothing in Pebble may be deferred (a build's own).
//
// A Bulk and its batch belong to one goroutine (spills run on one of their own); its
// arrangements must not be read by others until Finish or Discard returns.
type Bulk struct {
	s     *Store
	b     *Batch // the batch bound to it
	dir   string
	arrs  map[*Arrangement]*deferred
	mem   int          // bytes held in memory by committed entries, over every arrangement
	files atomic.Int64 // files created, to name the next
	err   error

	spill *spillJob // running in the background; nil: none
}

// deferred is what a Bulk holds for one arrangement: entries in memory, each its key||row
// encoding in arena, and sorted runs spilled to files. The entries past committed are
// staged by a batch that has not committed yet.
type deferred struct {
	a         *Arrangement
	arena     []byte
	entries   []bulkEntry
	committed int // entries[:committed] belong to committed batches
	runs      []string
}

// bulkEntry is an entry of an arrangement: its key||row encoding (arena[off:off+n]) with the
// length of its key part, and its diff. No pointers: a build's millions of them cost the
// garbage collector nothing.
type bulkEntry struct {
	off, n, keyLen uint32
	diff           dataflow.Diff
}

// bulkMemBytes bounds the memory a Bulk's committed entries hold before they are spilled
// as sorted runs (while the next ones fill: at most about twice this is held).
var bulkMemBytes = 64 << 20 // a variable for tests

// bulkTableBytes is the size at which an ingested sstable is cut.
const bulkTableBytes = 64 << 20

// bulkDir is the directory of a store's bulk files, removed when the store opens.
const bulkDir = "bulk"

// NewBulk returns a Bulk deferring the arrangements named, which must hold nothing yet,
// for the batch b. Unique arrangements are not deferred.
func (s *Store) NewBulk(b *Batch, names []string) *Bulk {
	bk := &Bulk{s: s, b: b, dir: s.fs.PathJoin(s.dir, bulkDir), arrs: map[*Arrangement]*deferred{}}
	for _, n := range names {
		a := s.arrangement(n, false)
		if a.unique || a.bulk != nil {
			continue
		}
		a.bulk = bk
		bk.arrs[a] = &deferred{a: a}
	}
	b.bulk = bk
	return bk
}

// defers reports whether b stages a's entries in its Bulk.
func (b *Batch) defers(a *Arrangement) bool { return b.bulk != nil && a.bulk == b.bulk }

// stage adds an update of a deferred arrangement.
func (bk *Bulk) stage(a *Arrangement, u dataflow.KeyedUpdate) {
	d := bk.arrs[a]
	off := len(d.arena)
	d.arena = append(d.arena, u.Key...)
	d.arena = dataflow.AppendRowKey(d.arena, u.Row)
	d.entries = append(d.entries, bulkEntry{off: uint32(off), n: uint32(len(d.arena) - off), keyLen: uint32(len(u.Key)), diff: u.Diff})
}

// staged reports whether a batch has staged entries that it has not committed.
func (bk *Bulk) staged() bool {
	for _, d := range bk.arrs {
		if len(d.entries) > d.committed {
			return true
		}
	}
	return false
}

// commit makes the staged entries committed, and spills them once they pass the bound.
func (bk *Bulk) commit() error {
	if bk.err != nil {
		return bk.err
	}
	for _, d := range bk.arrs {
		bk.mem += len(d.arena[entriesEnd(d.entries[:d.committed]):]) + 16*(len(d.entries)-d.committed)
		d.committed = len(d.entries)
	}
	if bk.mem < bulkMemBytes {
		return nil
	}
	if err := bk.wait(); err != nil {
		return err
	}
	job := &spillJob{done: make(chan struct{})}
	for _, d := range bk.arrs {
		if len(d.entries) == 0 {
			continue
		}
		path, f, err := bk.create("run")
		if err != nil {
			bk.err = err
			return err
		}
		job.parts = append(job.parts, spillPart{d: d, arena: d.arena, entries: d.entries, path: path, f: f})
		d.arena, d.entries, d.committed = nil, nil, 0
	}
	bk.mem = 0
	bk.spill = job
	go job.run()
	return nil
}

// entriesEnd is where the arena of the entries ends.
func entriesEnd(es []bulkEntry) int {
	if len(es) == 0 {
		return 0
	}
	last := es[len(es)-1]
	return int(last.off + last.n)
}

// rollback drops the entries staged and not committed.
func (bk *Bulk) rollback() {
	for _, d := range bk.arrs {
		d.arena = d.arena[:entriesEnd(d.entries[:d.committed])]
		d.entries = d.entries[:d.committed]
	}
}

// spillJob writes sorted runs in the background.
type spillJob struct {
	parts []spillPart
	err   error
	done  chan struct{}
}

type spillPart struct {
	d       *deferred
	arena   []byte
	entries []bulkEntry
	path    string
	f       vfs.File
}

func (j *spillJob) run() {
	defer close(j.done)
	for _, p := range j.parts {
		if err := writeRun(p.f, p.arena, sortEntries(p.arena, p.entries)); err != nil && j.err == nil {
			j.err = fmt.Errorf("arrangements: %s: write a sorted run: %w", p.d.a.name, err)
		}
	}
}

// wait waits for the spill in the background, if any, and records its runs.
func (bk *Bulk) wait() error {
	j := bk.spill
	if j == nil {
		return bk.err
	}
	<-j.done
	bk.spill = nil
	for _, p := range j.parts {
		p.d.runs = append(p.d.runs, p.path)
	}
	if j.err != nil && bk.err == nil {
		bk.err = j.err
	}
	return bk.err
}

// writeRun writes the sorted entries to f and closes it.
func writeRun(f vfs.File, arena []byte, es []bulkEntry) error {
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for _, e := range es {
		buf = binary.AppendUvarint(buf[:0], uint64(e.n))
		buf = append(buf, arena[e.off:e.off+e.n]...)
		buf = binary.AppendVarint(buf, e.diff)
		buf = binary.AppendUvarint(buf, uint64(e.keyLen))
		if _, err := w.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sortEntries sorts entries by their encoding and sums those of one encoding, dropping
// zero sums; it reuses es.
func sortEntries(arena []byte, es []bulkEntry) []bulkEntry {
	key := func(e bulkEntry) []byte { return arena[e.off : e.off+e.n] }
	slices.SortFunc(es, func(x, y bulkEntry) int { return bytes.Compare(key(x), key(y)) })
	out := es[:0]
	for _, e := range es {
		n := len(out)
		switch {
		case n > 0 && bytes.Equal(key(out[n-1]), key(e)):
			out[n-1].diff += e.diff
		case n > 0 && out[n-1].diff == 0:
			out[n-1] = e
		default:
			out = append(out, e)
		}
	}
	if n := len(out); n > 0 && out[n-1].diff == 0 {
		out = out[:n-1]
	}
	return out
}

// create makes a new file of the Bulk, of the kind named; it is safe for concurrent use.
func (bk *Bulk) create(kind string) (string, vfs.File, error) {
	if err := bk.s.fs.MkdirAll(bk.dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("arrangements: create %s: %w", bk.dir, err)
	}
	path := bk.s.fs.PathJoin(bk.dir, fmt.Sprintf("%p-%06d.%s", bk, bk.files.Add(1), kind))
	f, err := bk.s.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return "", nil, fmt.Errorf("arrangements: create %s: %w", path, err)
	}
	return path, f, nil
}

// release ingests a's committed deferred entries, if it holds any, moves its staged ones to
// the batch, and writes a through Pebble from then on; called before a read of a.
func (bk *Bulk) release(a *Arrangement) error {
	if err := bk.wait(); err != nil {
		return err
	}
	d := bk.arrs[a]
	if d.committed == 0 && len(d.runs) == 0 {
		return nil // Pebble's empty range is its committed state: keep deferring
	}
	staged, arena := slices.Clone(d.entries[d.committed:]), d.arena
	d.entries = d.entries[:d.committed]
	if err := bk.ingest(context.Background(), []*deferred{d}); err != nil {
		bk.err = err
		return err
	}
	b := bk.b
	for _, e := range staged {
		b.buf = append(append(b.buf[:0], a.prefix...), arena[e.off:e.off+e.n]...)
		b.addPending(a, b.buf, int(e.keyLen), e.diff)
	}
	return nil
}

// Finish ingests every deferred entry; the arrangements are ordinary from then on. It is
// called once the build has committed its last batch.
func (bk *Bulk) Finish(ctx context.Context) error {
	if err := bk.wait(); err != nil {
		bk.Discard()
		return err
	}
	ds := make([]*deferred, 0, len(bk.arrs))
	for _, d := range bk.arrs {
		if d.committed < len(d.entries) {
			bk.Discard()
			return errors.New("arrangements: a bulk finished with entries staged and not committed")
		}
		ds = append(ds, d)
	}
	err := bk.ingest(ctx, ds)
	bk.Discard()
	return err
}

// Discard drops whatever is deferred and removes the Bulk's files.
func (bk *Bulk) Discard() {
	_ = bk.wait()
	for a, d := range bk.arrs {
		for _, r := range d.runs {
			_ = bk.s.fs.Remove(r)
		}
		a.bulk = nil
		delete(bk.arrs, a)
	}
	if bk.b != nil && bk.b.bulk == bk {
		bk.b.bulk = nil
	}
}

// ingest writes the deferred entries of ds as sstables, an arrangement per goroutine, and
// has Pebble ingest them all at once; the arrangements stop being deferred.
func (bk *Bulk) ingest(ctx context.Context, ds []*deferred) error {
	type result struct {
		tables []string
		err    error
	}
	results := make([]result, len(ds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, d := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			tables, err := bk.writeTables(ctx, d)
			results[i] = result{tables, err}
		}()
	}
	wg.Wait()
	var tables []string
	var err error
	for i, r := range results {
		tables = append(tables, r.tables...)
		if r.err != nil && err == nil {
			err = fmt.Errorf("arrangements: %s: write its sstables: %w", ds[i].a.name, r.err)
		}
	}
	for _, d := range ds {
		for _, r := range d.runs {
			_ = bk.s.fs.Remove(r)
		}
		d.runs, d.arena, d.entries, d.committed = nil, nil, nil, 0
		d.a.bulk = nil
		d.a.cache.reset() // it may hold what a read saw before these entries
		delete(bk.arrs, d.a)
	}
	if err == nil && len(tables) > 0 {
		if err = bk.s.db.Ingest(ctx, tables); err != nil {
			err = fmt.Errorf("arrangements: ingest %d sstables: %w", len(tables), err)
		} else {
			bk.s.committed()
			return nil
		}
	}
	for _, t := range tables {
		_ = bk.s.fs.Remove(t)
	}
	return err
}

// writeTables writes d's entries, merged, as sstables of at most about bulkTableBytes; it
// stops when ctx is done.
func (bk *Bulk) writeTables(ctx context.Context, d *deferred) (tables []string, err error) {
	var w *sstable.Writer
	defer func() {
		if w != nil {
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
	}()
	key := slices.Clone(d.a.prefix)
	var value []byte
	n := 0
	err = bk.merge(d, func(k []byte, diff dataflow.Diff, keyLen int) error {
		if n++; n%(1<<16) == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if w == nil {
			path, f, err := bk.create("sst")
			if err != nil {
				return err
			}
			tables = append(tables, path)
			w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), bk.s.writerOptions())
		}
		key = append(key[:len(d.a.prefix)], k...)
		value = appendValue(value[:0], diff, keyLen)
		if err := w.Set(key, value); err != nil {
			return err
		}
		if w.Raw().EstimatedSize() >= bulkTableBytes {
			err := w.Close()
			w = nil
			return err
		}
		return nil
	})
	return tables, err
}

// merge visits d's entries in order of their encoding, each once with its summed diff
// (none zero).
func (bk *Bulk) merge(d *deferred, fn func(k []byte, diff dataflow.Diff, keyLen int) error) error {
	h := &runHeap{}
	defer h.close()
	if mem := sortEntries(d.arena, d.entries); len(mem) > 0 {
		h.its = append(h.its, &runIter{arena: d.arena, mem: mem})
	}
	for _, path := range d.runs {
		f, err := bk.s.fs.Open(path)
		if err != nil {
			return err
		}
		h.its = append(h.its, &runIter{f: f, r: bufio.NewReaderSize(f, 1<<20)})
	}
	live := h.its[:0]
	for _, it := range h.its {
		ok, err := it.next()
		if err != nil {
			return err
		}
		if ok {
			live = append(live, it)
		} else {
			it.closeFile()
		}
	}
	h.its = live
	heap.Init(h)
	var cur []byte
	var diff dataflow.Diff
	keyLen, have := 0, false
	for h.Len() > 0 {
		it := h.its[0]
		if have && bytes.Equal(cur, it.key) {
			diff += it.diff
		} else {
			if have && diff != 0 {
				if err := fn(cur, diff, keyLen); err != nil {
					return err
				}
			}
			cur, diff, keyLen, have = append(cur[:0], it.key...), it.diff, it.keyLen, true
		}
		ok, err := it.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			it.closeFile()
			heap.Pop(h)
		}
	}
	if have && diff != 0 {
		return fn(cur, diff, keyLen)
	}
	return nil
}

// runIter reads the entries of a sorted run, from a file or from memory; key is valid
// until the next call of next.
type runIter struct {
	arena []byte
	mem   []bulkEntry
	f     vfs.File
	r     *bufio.Reader

	key    []byte
	diff   dataflow.Diff
	keyLen int
}

func (it *runIter) next() (bool, error) {
	if it.r == nil {
		if len(it.mem) == 0 {
			return false, nil
		}
		e := it.mem[0]
		it.mem = it.mem[1:]
		it.key, it.diff, it.keyLen = it.arena[e.off:e.off+e.n], e.diff, int(e.keyLen)
		return true, nil
	}
	n, err := binary.ReadUvarint(it.r)
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read a sorted run: %w", err)
	}
	it.key = slices.Grow(it.key[:0], int(n))[:n]
	if _, err := io.ReadFull(it.r, it.key); err != nil {
		return false, fmt.Errorf("read a sorted run: %w", err)
	}
	if it.diff, err = binary.ReadVarint(it.r); err != nil {
		return false, fmt.Errorf("read a sorted run: %w", err)
	}
	keyLen, err := binary.ReadUvarint(it.r)
	if err != nil {
		return false, fmt.Errorf("read a sorted run: %w", err)
	}
	it.keyLen = int(keyLen)
	return true, nil
}

func (it *runIter) closeFile() {
	if it.f != nil {
		_ = it.f.Close()
		it.f = nil
	}
}

// runHeap orders runs by their current entry.
type runHeap struct{ its []*runIter }

func (h *runHeap) Len() int           { return len(h.its) }
func (h *runHeap) Less(i, j int) bool { return bytes.Compare(h.its[i].key, h.its[j].key) < 0 }
func (h *runHeap) Swap(i, j int)      { h.its[i], h.its[j] = h.its[j], h.its[i] }
func (h *runHeap) Push(x any)         { h.its = append(h.its, x.(*runIter)) }
func (h *runHeap) Pop() any {
	it := h.its[len(h.its)-1]
	h.its = h.its[:len(h.its)-1]
	return it
}

func (h *runHeap) close() {
	for _, it := range h.its {
		it.closeFile()
	}
}
