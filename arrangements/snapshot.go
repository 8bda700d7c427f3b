package arrangements

import (
	"errors"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cockroachdb/pebble/v2"
)

// Snapshot is one arrangement's committed state at the moment it was taken. Unlike the
// Store, it may be read from another goroutine while the store's writer goes on committing
// (Pebble snapshots are safe for concurrent use): readers take one with the engine's lock
// held and scan it after releasing it. Close releases it.
type Snapshot struct {
	a    *Arrangement // for its prefix and name only
	snap *pebble.Snapshot
}

// ErrNotPebble is returned by SnapshotOf for an arrangement that is not Pebble-backed.
var ErrNotPebble = errors.New("arrangements: not a Pebble arrangement")

// SnapshotOf takes a snapshot of a Pebble-backed arrangement (one of a Store or of a
// Batch); it must be called by the store's writer, or with it excluded.
func SnapshotOf(arr dataflow.Arrangement) (*Snapshot, error) {
	var a *Arrangement
	switch x := arr.(type) {
	case *Arrangement:
		a = x
	case batchArrangement:
		a = x.Arrangement
	default:
		return nil, ErrNotPebble
	}
	if err := a.undefer(); err != nil {
		return nil, err
	}
	return &Snapshot{a: a, snap: a.s.db.NewSnapshot()}, nil
}

// Scan visits every entry in key order, as Arrangement.Scan does.
func (sn *Snapshot) Scan(fn func([]byte, dataflow.Row, dataflow.Diff) bool) (err error) {
	defer func() { err = damaged(err) }()
	it, err := sn.snap.NewIter(&pebble.IterOptions{LowerBound: sn.a.prefix, UpperBound: bytesPrefixEnd(sn.a.prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if zeroCount(v) {
			continue
		}
		key, row, count, err := sn.a.decodeEntry(it.Key(), v)
		if err != nil {
			return err
		}
		if !fn(append([]byte(nil), key...), row, count) {
			return nil
		}
	}
	return it.Error()
}

// Close releases the snapshot.
func (sn *Snapshot) Close() error { return sn.snap.Close() }
