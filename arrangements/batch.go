package arrangements

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cockroachdb/pebble/v2"
)

// Batch collects changes to any number of arrangements of a Store, plus metadata writes,
// and commits them atomically: after a crash either all of them are present or none.
//
// Diffs are accumulated in memory per (arrangement, key, row), so an update repeated within
// a batch (in one Apply or several) is summed. Commit then writes each entry's diff as a
// merge operand that Pebble adds to its count (countMerger: an entry whose count reaches
// zero disappears), and commits one Pebble batch. Reads never see a batch's changes before
// it commits.
//
// Like Mem, an entry is identified by key||row encoding alone; an existing entry keeps the
// key/row split it was created with. Arrangements whose keys have a fixed number of columns
// (the engine's) never meet two splits of one encoding.
//
// A Batch is reusable: Commit leaves it empty. It is not safe for concurrent use.
type Batch struct {
	s       *Store
	pending map[string]*pendingEntry
	unique  map[string]*pendingUnique // by Pebble key, for unique arrangements
	meta    []metaOp
	raw     []rawOp
	ranges  []keyRange
	dropped []string // arrangements deleted whole
	buf     []byte
	bulk    *Bulk // stages the entries of its arrangements (NewBulk); nil: none
}

type rawOp struct{ key, value []byte }

type keyRange struct{ start, end []byte }

type pendingEntry struct {
	arr    *Arrangement
	keyLen int
	diff   dataflow.Diff
}

// pendingUnique is what a batch stages for one key of a unique arrangement: the rows it
// adds and retracts there, summed.
type pendingUnique struct {
	arr  *Arrangement
	rows []uniqueRow
}

// outcome is what the batch does to the key: add is the row it then holds (nil if none),
// and retracted says whether its current row is retracted. Neither: the updates summed to
// nothing. ok is false if more than one row is added, which writeUnique refuses.
func (p *pendingUnique) outcome() (add *uniqueRow, retracted, ok bool) {
	for i := range p.rows {
		switch r := &p.rows[i]; {
		case r.diff > 0:
			if add != nil {
				return nil, false, false
			}
			add = r
		case r.diff < 0:
			retracted = true
		}
	}
	return add, retracted, true
}

type uniqueRow struct {
	row  dataflow.Row
	enc  []byte // AppendRowKey(row)
	diff dataflow.Diff
}

// stageUnique adds u, of the unique arrangement a, to the batch; k is the entry's Pebble
// key (copied).
func (b *Batch) stageUnique(a *Arrangement, k []byte, u dataflow.KeyedUpdate) {
	if b.unique == nil {
		b.unique = make(map[string]*pendingUnique)
	}
	p, ok := b.unique[string(k)]
	if !ok {
		p = &pendingUnique{arr: a}
		b.unique[string(k)] = p
	}
	enc := dataflow.AppendRowKey(nil, u.Row)
	for i := range p.rows {
		if bytes.Equal(p.rows[i].enc, enc) {
			p.rows[i].diff += u.Diff
			return
		}
	}
	p.rows = append(p.rows, uniqueRow{row: u.Row, enc: enc, diff: u.Diff})
}

// writeUnique stages in pb the outcome of a key's updates: its one added row replaces the
// stored one, or its retraction deletes the key. The contract of UniqueArrangement (the
// retracted row is the stored one) saves reading the stored row.
func (b *Batch) writeUnique(pb *pebble.Batch, k string, p *pendingUnique) error {
	add, retracted, ok := p.outcome()
	if !ok {
		return fmt.Errorf("arrangements: %s: two rows staged for one key of a unique arrangement", p.arr.name)
	}
	switch {
	case add != nil:
		b.buf = appendValue(b.buf[:0], add.diff, len(k)-len(p.arr.prefix))
		b.buf = append(b.buf, add.enc...)
		return pb.Set([]byte(k), b.buf, nil)
	case retracted:
		return pb.Delete([]byte(k), nil)
	}
	return nil
}

type metaOp struct {
	key, value []byte
	del        bool
}

// NewBatch returns an empty batch.
func (s *Store) NewBatch() *Batch {
	return &Batch{s: s, pending: make(map[string]*pendingEntry)}
}

// Arrangement returns a view of the store's arrangement name whose Apply stages changes in
// b; its reads see the committed state, like Store.Arrangement.
func (b *Batch) Arrangement(name string) dataflow.Arrangement {
	return batchArrangement{Arrangement: b.s.multisetArrangement(name), b: b}
}

// UniqueArrangement is Arrangement for Store.UniqueArrangement's layout.
func (b *Batch) UniqueArrangement(name string) dataflow.Arrangement {
	return batchArrangement{Arrangement: b.s.arrangement(name, true), b: b}
}

// SetArrangement is Arrangement for Store.SetArrangement's.
func (b *Batch) SetArrangement(name string) dataflow.Arrangement {
	return batchArrangement{Arrangement: b.s.setArrangement(name), b: b}
}

type batchArrangement struct {
	*Arrangement
	b *Batch
}

// Apply stages the updates in the batch.
func (ba batchArrangement) Apply(updates []dataflow.KeyedUpdate) error {
	ba.ApplyTo(ba.b, updates)
	return nil
}

// SetMeta stages a write of a metadata key (for example a view's frontier).
func (b *Batch) SetMeta(key, value []byte) {
	b.meta = append(b.meta, metaOp{key: append([]byte{nsMeta}, key...), value: append([]byte(nil), value...)})
}

// DeleteMeta stages the deletion of a metadata key.
func (b *Batch) DeleteMeta(key []byte) {
	b.meta = append(b.meta, metaOp{key: append([]byte{nsMeta}, key...), del: true})
}

// DeleteArrangement stages the deletion of every entry of the arrangement name. Deletions
// take effect before the batch's other changes.
func (b *Batch) DeleteArrangement(name string) {
	prefix := arrangementPrefix(name)
	b.ranges = append(b.ranges, keyRange{prefix, bytesPrefixEnd(prefix)})
	b.dropped = append(b.dropped, name)
}

// Empty reports whether nothing is staged.
func (b *Batch) Empty() bool {
	return len(b.pending) == 0 && len(b.unique) == 0 && len(b.meta) == 0 && len(b.raw) == 0 && len(b.ranges) == 0 &&
		(b.bulk == nil || !b.bulk.staged())
}

// Close discards whatever is staged.
func (b *Batch) Close() {
	// A cleared map keeps its buckets and iterating it costs their number: after a big
	// batch (a hydration step) start afresh, or every small commit would pay for it.
	if len(b.pending) > 1024 {
		b.pending = make(map[string]*pendingEntry)
	} else {
		clear(b.pending)
	}
	if len(b.unique) > 1024 {
		b.unique = nil
	} else {
		clear(b.unique)
	}
	b.meta, b.raw, b.ranges, b.dropped = nil, nil, nil, nil
	if b.bulk != nil {
		b.bulk.rollback()
	}
}

// Commit writes everything staged in one atomic Pebble batch, fsyncing the write-ahead log
// if sync is set, and empties b. On error nothing is written and b is emptied too.
func (b *Batch) Commit(sync bool) (err error) {
	defer b.Close()
	if b.bulk != nil {
		defer func() {
			if err != nil && b.bulk.err == nil {
				b.bulk.err = err // it may hold entries of a commit that did not happen
			}
		}()
	}
	if b.Empty() {
		return nil
	}
	pb := b.s.db.NewBatch()
	defer pb.Close()
	for _, r := range b.ranges {
		if err := pb.DeleteRange(r.start, r.end, nil); err != nil {
			return err
		}
	}
	for k, p := range b.unique {
		if err := b.writeUnique(pb, k, p); err != nil {
			return err
		}
	}
	// A rising entry's diff is a merge operand; a falling one needs its count (below),
	// unless its arrangement is a set: its count is 1, and the entry goes.
	var falling []string
	pending := func(k string, p *pendingEntry) error {
		switch {
		case p.diff > 0:
			b.buf = appendValue(b.buf[:0], p.diff, p.keyLen)
			return pb.Merge([]byte(k), b.buf, nil)
		case p.diff < 0 && p.arr.set.Load():
			return pb.Delete([]byte(k), nil)
		case p.diff < 0:
			falling = append(falling, k)
		}
		return nil
	}
	if len(b.pending) < sortedFrom {
		for k, p := range b.pending {
			if err := pending(k, p); err != nil {
				return err
			}
		}
	} else {
		for _, e := range b.sortedPending() {
			if err := pending(e.key, e.p); err != nil {
				return err
			}
		}
	}
	if len(falling) > 0 {
		slices.Sort(falling)
		counts, err := b.s.newCounter(len(falling))
		if err != nil {
			return err
		}
		defer counts.close()
		for _, k := range falling {
			p := b.pending[k]
			cur, keyLen, existed, err := counts.count([]byte(k))
			if err != nil {
				return err
			}
			switch next := cur + p.diff; {
			case !existed:
				b.buf = appendValue(b.buf[:0], p.diff, p.keyLen)
				err = pb.Merge([]byte(k), b.buf, nil)
			case next == 0:
				err = pb.Delete([]byte(k), nil)
			default:
				b.buf = appendValue(b.buf[:0], next, keyLen)
				err = pb.Set([]byte(k), b.buf, nil)
			}
			if err != nil {
				return err
			}
		}
	}
	for _, r := range b.raw {
		if err := pb.Set(r.key, r.value, nil); err != nil {
			return err
		}
	}
	for _, m := range b.meta {
		var err error
		if m.del {
			err = pb.Delete(m.key, nil)
		} else {
			err = pb.Set(m.key, m.value, nil)
		}
		if err != nil {
			return err
		}
	}
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	if err := pb.Commit(opts); err != nil {
		return err
	}
	b.forgetCommitted()
	b.s.committed()
	if b.bulk != nil {
		return b.bulk.commit()
	}
	return nil
}

// sortedFrom is the number of pending entries from which Commit writes them in key order:
// Pebble's memtable inserts a batch's entries in its order, each from where the one before
// it went (arenaskl.Inserter), so sorted entries take a short step each where random ones
// search the whole skiplist. A view build's steps write hundreds of thousands of entries;
// sorting a few costs more than it saves.
const sortedFrom = 4096

type keyedEntry struct {
	key string
	p   *pendingEntry
}

// sortedPending lists the pending entries with their keys, in key order (sorted with their
// entries: looking each key up again would cost what the sort saves).
func (b *Batch) sortedPending() []keyedEntry {
	all := make([]keyedEntry, 0, len(b.pending))
	for k, p := range b.pending {
		all = append(all, keyedEntry{k, p})
	}
	slices.SortFunc(all, func(x, y keyedEntry) int { return strings.Compare(x.key, y.key) })
	return all
}

// forgetCommitted drops from the arrangements' read caches every entry the batch changed.
func (b *Batch) forgetCommitted() {
	for _, name := range b.dropped {
		if a := b.s.existing(name); a != nil {
			a.cache.reset()
		}
	}
	for k, p := range b.pending {
		p.arr.cache.forget(k[len(p.arr.prefix):]) // key || row: a read may name a prefix of either
	}
	for k, p := range b.unique {
		// The key's committed content is known (writeUnique): a key the cache holds is
		// replaced rather than read again, so a reduce's hot groups stay in memory.
		switch add, retracted, _ := p.outcome(); {
		case add != nil:
			p.arr.cache.replace(k[len(p.arr.prefix):], []dataflow.Row{add.row}, []dataflow.Diff{add.diff})
		case retracted:
			p.arr.cache.replace(k[len(p.arr.prefix):], nil, nil)
		default: // the updates cancelled out: nothing was written
		}
	}
}

// counter reads the committed counts of entries, in ascending key order. A few are point
// reads (Get, which the Bloom filters answer for absent keys); more share one iterator, a
// point seek per key (SeekPrefixGE) that reuses the iterator's positioned levels and blocks.
// Creating the iterator costs more than a few point reads: most commits retract one or two
// entries (a view row that changes).
type counter struct {
	db *pebble.DB
	it *pebble.Iterator // nil: point reads
}

// counterIterFrom is the number of counts from which a counter uses an iterator.
const counterIterFrom = 8

func (s *Store) newCounter(n int) (*counter, error) {
	if n < counterIterFrom {
		return &counter{db: s.db}, nil
	}
	it, err := s.db.NewIter(nil)
	if err != nil {
		return nil, damaged(err)
	}
	return &counter{db: s.db, it: it}, nil
}

func (c *counter) close() {
	if c.it != nil {
		_ = c.it.Close()
	}
}

// count returns the committed count and key length of a full entry key.
func (c *counter) count(k []byte) (_ dataflow.Diff, _ int, _ bool, err error) {
	defer func() { err = damaged(err) }()
	var v []byte
	if c.it == nil {
		var closer io.Closer
		v, closer, err = c.db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			return 0, 0, false, nil
		}
		if err != nil {
			return 0, 0, false, err
		}
		defer closer.Close()
	} else {
		if !c.it.SeekPrefixGE(k) || !bytes.Equal(c.it.Key(), k) {
			return 0, 0, false, c.it.Error()
		}
		if v, err = c.it.ValueAndErr(); err != nil {
			return 0, 0, false, err
		}
	}
	count, keyLen, err := decodeValue(v)
	if err != nil {
		return 0, 0, false, err
	}
	return count, keyLen, true, nil
}
