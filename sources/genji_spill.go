package sources

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble"

	"github.com/cdc-dev/cdc/sqlerr"
)

// Large transactions. Genji v0.15 keeps a write transaction's batch in memory up to 10 MiB
// and then commits it early ("spills"), after writing, for every key the spilled part
// changes, the key's committed value (or a one-byte tombstone) to its rollback segment,
// namespace 3. Its Commit deletes the segment in the transaction's last, synced batch, which
// is atomic; its Rollback restores the keys from the segment. Three gaps keep that from
// being safe as it is:
//   - After a crash the segment is never restored (Genji's recovery at open is a no-op), so
//     a spilled transaction's first part stays in the database.
//   - The tombstone is also the value of every index entry, so an index entry the
//     transaction deleted or overwrote is deleted by the restore instead of kept.
//
// - A third is in Genji's deletes of a whole table or index (Tree.Truncate): the keys it
//   hands to the rollback segment alias the buffer of the iterator it deletes them with,
//   so the segment records other keys than the ones deleted.
//
// The store lets a transaction spill only where its writes are new keys and catalog rows
// (CREATE INDEX of a large table builds an index in a new namespace: chargeSpill), and not
// in a transaction that truncates a table or index before or after (truncates). It
// restores a segment left by a crash when it opens, before Genji's catalog is read
// (openGenji), restores the segment itself on Rollback (rollbackSpill), and then resets
// Genji's, which Rollback leaves holding the keys it has seen (Store.Begin clears it).

// The rollback segment's key range, namespace 3.
var (
	spillLo = namespacePrefix(3)
	spillHi = namespacePrefix(4)
)

// genjiBlob is the type byte of Genji's encoded blobs, the form of a segment entry's key.
const genjiBlob = 0xE0

// spillChunk is the size of the batches a restore writes before its last, synced one.
const spillChunk = 4 << 20

// restoreSpill restores the keys a spilled transaction changed from Genji's rollback segment
// and deletes the segment, durably; it returns how many keys it restored. Idempotent: a
// crash in the middle leaves the segment to restore again. The caller holds
// Genji's writer (or Genji is not in use yet).
func restoreSpill(db *pebble.DB) (int, error) {
	it := db.NewIter(&pebble.IterOptions{LowerBound: spillLo, UpperBound: spillHi})
	b := db.NewBatch()
	n := 0
	fail := func(err error) (int, error) {
		it.Close()
		b.Close()
		return n, fmt.Errorf("restore a spilled transaction: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()[len(spillLo):]
		if len(k) < 2 || k[0] != genjiBlob {
			return fail(fmt.Errorf("rollback segment entry %x is not a blob", it.Key()))
		}
		l, w := binary.Uvarint(k[1:])
		if w <= 0 || uint64(len(k)-1-w) != l {
			return fail(fmt.Errorf("rollback segment entry %x has a bad length", it.Key()))
		}
		key, v := k[1+w:], it.Value()
		var err error
		if bytes.Equal(v, genjiTombstone) {
			err = b.Delete(key, nil)
		} else {
			err = b.Set(key, v, nil)
		}
		if err != nil {
			return fail(err)
		}
		n++
		if b.Len() >= spillChunk {
			if err := b.Commit(pebble.NoSync); err != nil {
				return fail(err)
			}
			b.Close()
			b = db.NewBatch()
		}
	}
	if err := it.Error(); err != nil {
		return fail(err)
	}
	if err := it.Close(); err != nil {
		b.Close()
		return n, fmt.Errorf("restore a spilled transaction: %w", err)
	}
	defer b.Close()
	if n == 0 {
		return 0, nil
	}
	if err := b.DeleteRange(spillLo, spillHi, nil); err != nil {
		return n, fmt.Errorf("restore a spilled transaction: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return n, fmt.Errorf("restore a spilled transaction: %w", err)
	}
	return n, nil
}

// genjiTombstone is the rollback segment's "absent" (and the value of every index entry).
var genjiTombstone = []byte{0}

// chargeSpill accounts for n bytes of new keys a DDL statement writes that may take the
// transaction past the size bound, which it then spills; it refuses them in a transaction
// that has truncated a table or index (truncates).
func (t *Txn) chargeSpill(n int64) error {
	if t.bytes+t.reserved+n <= t.s.maxTxnBytes {
		return t.charge(n)
	}
	if t.truncated {
		return t.chargeWrite(n, 0) // refused, with the usual message
	}
	t.spills = true
	return nil
}

// truncates notes that the transaction is about to truncate a table or index (DROP INDEX,
// DROP TABLE, a table's copy), or refuses it if the transaction has spilled.
func (t *Txn) truncates() error {
	if t.spills {
		return sqlerr.New(sqlerr.NotSupported, "this statement cannot drop or rebuild a table or index after building an index larger than %d bytes; run that part as a statement of its own", t.s.maxTxnBytes)
	}
	t.truncated = true
	return nil
}

// rollbackSpill undoes what a spilled transaction committed early, before Genji's Rollback
// discards the rest: Genji's own restore iterates a batch it writes to.
func (t *Txn) rollbackSpill() error {
	if !t.spills {
		return nil
	}
	_, err := restoreSpill(t.s.db.DB.DB)
	return err
}
