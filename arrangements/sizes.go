package arrangements

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cdc-dev/cdc/dataflow"
)

// Size is the room one arrangement or history takes in a Store.
type Size struct {
	Name    string
	History bool   // a view's change history (TAIL ... AS OF), not an arrangement
	Entries int64  // live keys
	Bytes   uint64 // on disk, as Pebble estimates it for the name's key range
}

// Sizes counts and measures every arrangement and history of the store, in name order
// (arrangements first). compact first compacts the whole store, so that Bytes is the
// state's size rather than that of its not yet compacted writes; it is slow on a large
// store and meant for measurement.
func (s *Store) Sizes(ctx context.Context, compact bool) (_ []Size, err error) {
	defer func() { err = damaged(err) }()
	if compact {
		if err := s.db.Compact(ctx, nil, []byte{0xff}, true); err != nil {
			return nil, fmt.Errorf("arrangements: compact: %w", err)
		}
	}
	var out []Size
	for _, ns := range []byte{nsArrangement, nsHistory} {
		names, err := s.names(ns)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			lo := dataflow.AppendKey([]byte{ns}, dataflow.NewString(n))
			hi := bytesPrefixEnd(lo)
			bytes, err := s.db.EstimateDiskUsage(lo, hi)
			if err != nil {
				return nil, err
			}
			entries, err := s.countKeys(lo, hi)
			if err != nil {
				return nil, err
			}
			out = append(out, Size{Name: n, History: ns == nsHistory, Entries: entries, Bytes: bytes})
		}
	}
	return out, nil
}

func (s *Store) countKeys(lo, hi []byte) (int64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	var n int64
	for valid := it.First(); valid; valid = it.Next() {
		if lo[0] == nsArrangement {
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return 0, err
			}
			if zeroCount(v) {
				continue
			}
		}
		n++
	}
	if err := it.Error(); err != nil {
		it.Close()
		return 0, err
	}
	return n, it.Close()
}
