package sources

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/cockroachdb/pebble"
	"github.com/genjidb/genji"
	"github.com/genjidb/genji/types"

	"github.com/cdc-dev/cdc/dataflow"
)

// Rows below Genji's SQL. A write transaction writes, reads and checks the rows of a table
// as Genji's own INSERT, UPDATE, DELETE and SELECT by key would, but without them: it
// encodes the row's key and document with Genji's encoding functions and hands them to the
// transaction's Genji batch session (the same Put and Delete that Genji's statements end in,
// so its batch size limit and rollback segment stay in charge). Genji's statements parse
// nothing here (they are prepared), but each one builds a stream of operators, converts its
// arguments and reads its catalog, and an INSERT checks that the key is new with a Get that
// reads every level of the LSM tree (this Pebble's Get consults no Bloom filter): at 1M
// chat messages that check was 18 s of a 52 s load. Here the check is a prefix seek, which
// the Bloom filters of the table store's sstables answer for most levels (genjiPebbleOptions).
//
// A table is written this way only when its Genji layout is the one createTableSQL makes
// (checked against Genji's catalog: fields, types, no defaults or CHECK constraints, the
// primary key) and it has no unique index (Genji's INSERT checks those; the store would
// have to as well). Otherwise, and when the internals below do not match the Genji in go.mod
// (checkDirectLayout at Open), the SQL path runs. Read-only and staged transactions read
// such rows by key the same way, from their snapshot (snapshotGet), and AppendLog writes
// the change log's records so (logLayout).

//go:linkname genjiEncodeInt github.com/genjidb/genji/internal/encoding.EncodeInt
func genjiEncodeInt(dst []byte, n int64) []byte

//go:linkname genjiEncodeBlob github.com/genjidb/genji/internal/encoding.EncodeBlob
func genjiEncodeBlob(dst []byte, x []byte) []byte

//go:linkname genjiDecodeInt github.com/genjidb/genji/internal/encoding.DecodeInt
func genjiDecodeInt(b []byte) (int64, int)

//go:linkname genjiDecodeBlob github.com/genjidb/genji/internal/encoding.DecodeBlob
func genjiDecodeBlob(b []byte) ([]byte, int)

// Genji's value type bytes (internal/encoding/types.go).
const (
	genjiNull   = 0x05
	genjiInt64  = 0x20
	genjiUint64 = 0xC7 // 0x20 to 0xC7: integers, the small ones in the type byte
)

// genjiTxInternal is the layout of genji.Tx: its database and its internal transaction.
type genjiTxInternal struct {
	db unsafe.Pointer
	tx unsafe.Pointer
}

// internalTx returns tx's internal transaction, typed as Begin's transactions are: a type of
// Genji's internal package this package cannot name, inferred from the method value.
func internalTx[T any](_ func(bool) (*T, error), tx *genji.Tx) *T {
	return (*T)((*genjiTxInternal)(unsafe.Pointer(tx)).tx)
}

// assertAs returns v as the type fn returns (inferred, as in internalTx).
func assertAs[T any](_ func() T, v any) (T, bool) {
	x, ok := v.(T)
	return x, ok
}

// directTable is how rows of one table are written below Genji's SQL.
type directTable struct {
	ns      []byte // the table's key prefix: its Genji store namespace, encoded
	end     []byte // the prefix of the next namespace: above every key of the table
	indexes []directIndex
	pad     bool // values are padded (Store.pad)
}

// directIndex is a non-unique index of a direct table: its key prefix and the columns of
// its entries.
type directIndex struct {
	ns   []byte
	cols []int
}

// direct is a writable transaction's state for direct rows: its Genji batch and the
// iterator its existence checks and reads seek with.
type direct struct {
	put   func(k, v []byte) error // the batch session's Put and Delete
	del   func(k []byte) error
	batch *pebble.Batch
	it    *pebble.Iterator
	// lenAfter and countAfter are the batch's size after the last direct write or iterator
	// refresh; stale is set when a write saw the batch committed early (a spill, which resets
	// it). A batch that differs from them was written by a Genji statement meanwhile.
	lenAfter   int
	countAfter uint32
	stale      bool
	resets     int // early commits seen (for tests)
}

// directSession returns the transaction's direct state, made on first use, or nil when
// direct rows are off (read-only or staged transactions, or an unknown Genji layout).
func (t *Txn) directSession() *direct {
	if t.dir != nil || !t.writable || t.staged != nil || !t.s.directOK {
		return t.dir
	}
	dtx := internalTx(t.s.db.DB.Begin, t.tx)
	sess, ok := assertAs(t.s.db.DB.Store.NewBatchSession, dtx.Session)
	if !ok || sess == nil || sess.Batch == nil {
		return nil
	}
	d := &direct{batch: sess.Batch}
	d.put, d.del = sess.Put, sess.Delete
	t.dir = d
	return d
}

// closeDirect releases the transaction's iterator; the transaction is ending.
func (t *Txn) closeDirect() {
	if t.dir != nil && t.dir.it != nil {
		t.dir.it.Close()
	}
	t.dir = nil
}

// directIterOptions are the options of the iterator of direct rows: the Bloom filters of
// the last level too (Pebble skips them by default, as a lookup there usually finds its key;
// an insert's usually does not, and most of the table store is in that level).
var directIterOptions = pebble.IterOptions{UseL6Filters: true}

// seek positions the iterator at key k if it is present (in the batch or the database)
// and reports whether it is. The iterator is made again when something other than a
// direct write changed the batch since it was last brought up to date; after direct
// writes alone, SetOptions refreshes its view of the batch.
func (d *direct) seek(k []byte) (bool, error) {
	if d.it == nil || d.stale || d.batch.Len() != d.lenAfter || d.batch.Count() != d.countAfter {
		if d.it != nil {
			if err := d.it.Close(); err != nil {
				return false, err
			}
		}
		d.it = d.batch.NewIter(&directIterOptions)
		d.stale = false
	} else {
		d.it.SetOptions(&directIterOptions)
	}
	d.lenAfter, d.countAfter = d.batch.Len(), d.batch.Count()
	found := d.it.SeekPrefixGE(k) && bytes.Equal(d.it.Key(), k)
	return found, d.it.Error()
}

// set writes v at k.
func (d *direct) set(k, v []byte) error {
	before := d.batch.Len()
	err := d.put(k, v)
	d.wrote(before)
	return err
}

// delete deletes k.
func (d *direct) delete(k []byte) error {
	before := d.batch.Len()
	err := d.del(k)
	d.wrote(before)
	return err
}

// wrote records the batch's size after a direct write; before is its size before it.
func (d *direct) wrote(before int) {
	if d.batch.Len() <= before {
		d.stale = true // committed early and reset: the iterator's view of the database is old
		d.resets++
	}
	d.lenAfter, d.countAfter = d.batch.Len(), d.batch.Count()
}

// directFor returns how t writes p's rows directly, or nil to use Genji's statements.
func (t *Txn) directFor(p *tablePlan) (*direct, *directTable, error) {
	d := t.directSession()
	if d == nil {
		return nil, nil, nil
	}
	dt, err := t.layout(p)
	if dt == nil {
		return nil, nil, err
	}
	return d, dt, nil
}

// layout returns the direct layout of p's table, decided on first use; nil: Genji's
// statements.
func (t *Txn) layout(p *tablePlan) (*directTable, error) {
	if !t.s.directOK {
		return nil, nil
	}
	if !p.directChecked {
		if err := t.loadIndexes(p); err != nil {
			return nil, err
		}
		p.direct = t.directLayout(p)
		p.directChecked = true
	}
	return p.direct, nil
}

// snapshotGet reads the row at Genji key k of a read-only transaction's snapshot (a staged
// transaction's) into dst (when not nil) and reports whether it is there. ok is false when
// the transaction's session is not the snapshot session expected (Genji's statements then
// read). Each read has an iterator of its own: one kept across statements would pin the
// sstables of its time for as long as the transaction stays open.
func (t *Txn) snapshotGet(p *tablePlan, k []byte, dst dataflow.Row) (found, ok bool, err error) {
	it := t.snapshotIter(&directIterOptions)
	if it == nil {
		return false, false, nil
	}
	defer it.Close()
	if !it.SeekPrefixGE(k) || !bytes.Equal(it.Key(), k) {
		return false, true, it.Error()
	}
	if dst == nil {
		return true, true, nil
	}
	return true, true, decodeDocument(p, it.Value(), dst)
}

// snapshotIter returns an iterator over the snapshot of a read-only (or staged)
// transaction, nil when its session is not the snapshot session expected.
func (t *Txn) snapshotIter(opts *pebble.IterOptions) *pebble.Iterator {
	dtx := internalTx(t.s.db.DB.Begin, t.tx)
	sess, isSnap := assertAs(t.s.db.DB.Store.NewSnapshotSession, dtx.Session)
	if !isSnap || sess == nil || sess.Snapshot == nil {
		return nil
	}
	return sess.Iterator(opts)
}

// snapshotScan calls fn with the key and row of every row of p's table that the
// transaction sees (a read-only one's snapshot; a writable one's batch over the database),
// in key order, decoding them below Genji's SQL (a view's build reads every row of its
// tables, and Genji's SELECT spent most of a 1M-row scan in its document values). ok is
// false when the table is not direct or the session is not the one expected; Genji's
// SELECT then reads.
func (t *Txn) snapshotScan(p *tablePlan, fn func(key []byte, row dataflow.Row) error) (ok bool, err error) {
	dt, err := t.layout(p)
	if err != nil || dt == nil {
		return false, err
	}
	opts := &pebble.IterOptions{LowerBound: dt.ns, UpperBound: dt.end}
	var it *pebble.Iterator
	if t.writable {
		// The batch and the database under it, as Genji's SELECT in this transaction reads.
		d := t.directSession()
		if d == nil {
			return false, nil
		}
		it = d.batch.NewIter(opts)
	} else if it = t.snapshotIter(opts); it == nil {
		return false, nil
	}
	for it.First(); it.Valid(); it.Next() {
		row := make(dataflow.Row, len(p.kinds))
		if err := decodeDocument(p, it.Value(), row); err != nil {
			it.Close()
			return true, fmt.Errorf("scan %s: %w", p.ts.Name, err)
		}
		var key []byte
		if p.bag {
			id, _ := genjiDecodeInt(it.Value())
			key = dataflow.AppendKey(nil, dataflow.NewInt(id))
		} else {
			key = dataflow.AppendColumnsKey(nil, row, p.ts.PrimaryKey)
		}
		if err := fn(key, row); err != nil {
			it.Close()
			return true, err
		}
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return true, wrapErr(err, "scan %s", p.ts.Name)
}

// directLayout returns the direct layout of p's Genji table, or nil if it is not the one
// createTableSQL makes or the table has a unique index.
func (t *Txn) directLayout(p *tablePlan) *directTable {
	if !t.writable {
		t.s.catMu.RLock()
		defer t.s.catMu.RUnlock()
	}
	cat := t.s.db.DB.Catalog
	info, err := cat.GetTableInfo(p.gname)
	if err != nil || info.ReadOnly || info.FieldConstraints.AllowExtraFields || info.DocidSequenceName != "" {
		return nil
	}
	want := p.fields
	if p.bag {
		want = append([]string{rowidField}, p.fields...)
	}
	fcs := info.FieldConstraints.Ordered
	if len(fcs) != len(want) {
		return nil
	}
	for i, fc := range fcs {
		kind := dataflow.KindInt
		if p.bag {
			if i > 0 {
				kind = p.kinds[i-1]
			}
		} else {
			kind = p.kinds[i]
		}
		typ := types.IntegerValue
		if padded(kind) {
			typ = types.BlobValue
		}
		if fc.Field != want[i] || fc.Type != typ || fc.DefaultValue != nil || fc.AnonymousType != nil {
			return nil
		}
	}
	var pkPaths []string
	if p.bag {
		pkPaths = []string{rowidField}
	} else {
		for _, i := range p.ts.PrimaryKey {
			pkPaths = append(pkPaths, p.fields[i])
		}
	}
	pks := 0
	for _, tc := range info.TableConstraints {
		if tc.Check != nil || tc.Unique || !tc.PrimaryKey || len(tc.Paths) != len(pkPaths) {
			return nil
		}
		for j, path := range tc.Paths {
			if len(path) != 1 || path[0].FieldName != pkPaths[j] {
				return nil
			}
		}
		pks++
	}
	if pks != 1 {
		return nil
	}
	dt := &directTable{ns: namespacePrefix(int64(info.StoreNamespace)),
		end: namespacePrefix(int64(info.StoreNamespace) + 1), pad: t.s.pad}
	for _, ix := range p.indexes {
		if ix.unique {
			return nil
		}
		iinfo, err := cat.GetIndexInfo(ix.gname)
		if err != nil {
			return nil
		}
		dt.indexes = append(dt.indexes, directIndex{ns: namespacePrefix(int64(iinfo.StoreNamespace)), cols: ix.cols})
	}
	return dt
}

// appendGenjiValue appends the Genji encoding of a stored value (toGenji's result).
func appendGenjiValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case int64:
		return genjiEncodeInt(dst, x)
	case []byte:
		return genjiEncodeBlob(dst, x)
	}
	return append(dst, genjiNull)
}

// appendDatum appends the Genji encoding of a datum as the store keeps it (padded: in a
// store of paddedFormat).
func appendDatum(dst []byte, d dataflow.Datum, pad bool) []byte {
	switch d.Kind() {
	case dataflow.KindInt:
		return genjiEncodeInt(dst, d.Int())
	case dataflow.KindTime:
		return genjiEncodeInt(dst, d.TimeMicros())
	case dataflow.KindFloat:
		return genjiEncodeInt(dst, floatToStored(d.Float()))
	case dataflow.KindDecimal, dataflow.KindString, dataflow.KindBytes:
		if pad {
			return genjiEncodeBlob(dst, encodePadded(d))
		}
		return appendKeyBlob(dst, d)
	}
	return append(dst, genjiNull)
}

// appendKeyBlob appends a Genji BLOB holding d's key encoding, as genjiEncodeBlob of
// dataflow.AppendKey would, without a copy: the length prefix is reserved for the bound of
// the length and the encoding moved when its length takes another number of bytes.
func appendKeyBlob(dst []byte, d dataflow.Datum) []byte {
	w := uvarintLen(uint64(unpaddedLen(d)))
	head := len(dst)
	dst = append(dst, genjiBlob)
	dst = append(dst, make([]byte, w)...)
	body := len(dst)
	dst = dataflow.AppendKey(dst, d)
	n := len(dst) - body
	if aw := uvarintLen(uint64(n)); aw != w {
		if aw > w {
			dst = append(dst, make([]byte, aw-w)...)
		}
		copy(dst[head+1+aw:], dst[body:body+n])
		dst = dst[:head+1+aw+n]
	}
	binary.PutUvarint(dst[head+1:], uint64(n))
	return dst
}

// uvarintLen is the length of x's uvarint encoding.
func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// rowKey returns the Genji key of a row: the table's prefix and its primary key values (or
// its row id).
func (dt *directTable) rowKey(p *tablePlan, id int64, row dataflow.Row) []byte {
	k := append(make([]byte, 0, 64), dt.ns...)
	if p.bag {
		return genjiEncodeInt(k, id)
	}
	for _, i := range p.ts.PrimaryKey {
		k = appendDatum(k, row[i], dt.pad)
	}
	return k
}

// argsKey returns the Genji key of the row with primary key values args (keyArgs').
func (dt *directTable) argsKey(args []any) []byte {
	k := append(make([]byte, 0, 64), dt.ns...)
	for _, a := range args {
		k = appendGenjiValue(k, a)
	}
	return k
}

// document returns the Genji document of a row: its fields' values in order.
func (dt *directTable) document(p *tablePlan, id int64, row dataflow.Row) []byte {
	doc := make([]byte, 0, 16+len(row)*16)
	if p.bag {
		doc = genjiEncodeInt(doc, id)
	}
	for _, d := range row {
		doc = appendDatum(doc, d, dt.pad)
	}
	return doc
}

// indexKey returns the key of a row's entry in an index: the index's prefix, the values of
// its columns (padded: see appendDatum) and the row's Genji key as a blob (Genji's
// Index.Set).
func (ix *directIndex) indexKey(row dataflow.Row, rowKey []byte, pad bool) []byte {
	k := append(make([]byte, 0, 64+len(rowKey)), ix.ns...)
	for _, c := range ix.cols {
		k = appendDatum(k, row[c], pad)
	}
	return genjiEncodeBlob(k, rowKey)
}

// decodeDocument decodes a Genji document of p's table into dst (skipping a row id).
func decodeDocument(p *tablePlan, doc []byte, dst dataflow.Row) error {
	if p.bag {
		n, err := skipGenjiValue(doc)
		if err != nil {
			return err
		}
		doc = doc[n:]
	}
	for i, k := range p.kinds {
		if len(doc) == 0 {
			return fmt.Errorf("decode row of %s: short document", p.ts.Name)
		}
		switch b := doc[0]; {
		case b == genjiNull:
			dst[i] = dataflow.Null
			doc = doc[1:]
		case b == genjiBlob:
			v, n := genjiDecodeBlob(doc)
			if !padded(k) {
				return fmt.Errorf("decode row of %s: stored blob for a %s column", p.ts.Name, k)
			}
			d, err := decodePadded(v, k)
			if err != nil {
				return err
			}
			dst[i], doc = d, doc[n:]
		case b >= genjiInt64 && b <= genjiUint64:
			x, n := genjiDecodeInt(doc)
			switch k {
			case dataflow.KindInt:
				dst[i] = dataflow.NewInt(x)
			case dataflow.KindTime:
				dst[i] = dataflow.NewTimeMicros(x)
			case dataflow.KindFloat:
				dst[i] = dataflow.NewFloat(storedToFloat(x))
			default:
				return fmt.Errorf("decode row of %s: stored integer for a %s column", p.ts.Name, k)
			}
			doc = doc[n:]
		default:
			return fmt.Errorf("decode row of %s: unexpected value type %#x", p.ts.Name, b)
		}
	}
	if len(doc) != 0 {
		return fmt.Errorf("decode row of %s: %d bytes after the last field", p.ts.Name, len(doc))
	}
	return nil
}

// skipGenjiValue returns the length of the integer at the start of b.
func skipGenjiValue(b []byte) (int, error) {
	if len(b) == 0 || b[0] < genjiInt64 || b[0] > genjiUint64 {
		return 0, fmt.Errorf("decode row: expected a row id")
	}
	_, n := genjiDecodeInt(b)
	return n, nil
}

// get reads the row at Genji key k into dst (when not nil) and reports whether it is
// there.
func (d *direct) get(p *tablePlan, k []byte, dst dataflow.Row) (bool, error) {
	found, err := d.seek(k)
	if err != nil || !found || dst == nil {
		return found, err
	}
	return true, decodeDocument(p, d.it.Value(), dst)
}

// insert writes a new row and its index entries; a row already at its key is
// reported as exists, with nothing written.
func (d *direct) insert(p *tablePlan, dt *directTable, id int64, row dataflow.Row) (exists bool, err error) {
	k := dt.rowKey(p, id, row)
	if exists, err = d.seek(k); err != nil || exists {
		return exists, err
	}
	if err := d.set(k, dt.document(p, id, row)); err != nil {
		return false, err
	}
	for i := range dt.indexes {
		if err := d.set(dt.indexes[i].indexKey(row, k, dt.pad), genjiTombstone); err != nil {
			return false, err
		}
	}
	return false, nil
}

// remove deletes the row old at Genji key k and its index entries.
func (d *direct) remove(dt *directTable, k []byte, old dataflow.Row) error {
	if err := d.delete(k); err != nil {
		return err
	}
	for i := range dt.indexes {
		if err := d.delete(dt.indexes[i].indexKey(old, k, dt.pad)); err != nil {
			return err
		}
	}
	return nil
}

// replace writes row over old at Genji key k (the key does not change) and moves the index
// entries whose values changed.
func (d *direct) replace(p *tablePlan, dt *directTable, id int64, k []byte, old, row dataflow.Row) error {
	if err := d.set(k, dt.document(p, id, row)); err != nil {
		return err
	}
	for i := range dt.indexes {
		ix := &dt.indexes[i]
		same := true
		for _, c := range ix.cols {
			same = same && identical(old[c], row[c])
		}
		if same {
			continue
		}
		if err := d.delete(ix.indexKey(old, k, dt.pad)); err != nil {
			return err
		}
		if err := d.set(ix.indexKey(row, k, dt.pad), genjiTombstone); err != nil {
			return err
		}
	}
	return nil
}

// directRows is cleared by tests that compare the two paths.
var directRows = true

// checkDirectLayout reports whether tx, a write transaction of s, has the layout
// directSession reads: the internal transaction is writable and of s's store, and its
// session is a batch session with a batch.
func checkDirectLayout(s *Store, tx *genji.Tx) bool {
	in := (*genjiTxInternal)(unsafe.Pointer(tx))
	if in.tx == nil || in.db != unsafe.Pointer(s.db) {
		return false
	}
	dtx := internalTx(s.db.DB.Begin, tx)
	if !dtx.Writable || dtx.Store != s.db.DB.Store {
		return false
	}
	sess, ok := assertAs(s.db.DB.Store.NewBatchSession, dtx.Session)
	return ok && sess != nil && sess.Batch != nil && sess.DB == s.db.DB.DB
}

// logLayout returns the key prefix of the change log's rows if its Genji table is the one
// init creates (lsn INTEGER, data BLOB NOT NULL, primary key lsn, no index), else nil.
func logLayout(s *Store) []byte {
	cat := s.db.DB.Catalog
	info, err := cat.GetTableInfo("__cdc_log")
	if err != nil || info.ReadOnly || info.FieldConstraints.AllowExtraFields || len(cat.ListIndexes("__cdc_log")) != 0 {
		return nil
	}
	fcs := info.FieldConstraints.Ordered
	if len(fcs) != 2 || fcs[0].Field != "lsn" || fcs[0].Type != types.IntegerValue ||
		fcs[1].Field != "data" || fcs[1].Type != types.BlobValue {
		return nil
	}
	for _, fc := range fcs {
		if fc.DefaultValue != nil || fc.AnonymousType != nil {
			return nil
		}
	}
	if len(info.TableConstraints) != 1 {
		return nil
	}
	tc := info.TableConstraints[0]
	if !tc.PrimaryKey || tc.Check != nil || len(tc.Paths) != 1 || len(tc.Paths[0]) != 1 || tc.Paths[0][0].FieldName != "lsn" {
		return nil
	}
	return namespacePrefix(int64(info.StoreNamespace))
}
