package arrangements

import (
	"io"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cdc-dev/cdc/dataflow"
)

// countMerger makes an entry's value a sum: a commit writes the diff of an entry whose
// count grows as a Pebble merge operand (count delta and key length, the encoding of a
// stored value), which Pebble adds to the entry's value when it reads or compacts it, so
// that only the entries whose count falls are read (to delete those that reach zero): a
// point read per changed entry was a fifth of the commit path's time, and most entries an
// insert makes are new. (Pebble v2.1.7's DeletableValueMerger, which would delete zero sums
// in compactions, trips an assertion of its compaction iterator, so it is not used.)
var countMerger = &pebble.Merger{
	Name: "cdc.count.v1",
	Merge: func(_, value []byte) (pebble.ValueMerger, error) {
		m := &countMerge{}
		return m, m.add(value)
	},
}

// countMerge is the sum of the operands merged so far.
type countMerge struct {
	count  dataflow.Diff
	keyLen int
}

func (m *countMerge) add(v []byte) error {
	count, keyLen, err := decodeValue(v)
	if err != nil {
		return err
	}
	m.count += count
	m.keyLen = keyLen
	return nil
}

// MergeNewer adds a newer operand.
func (m *countMerge) MergeNewer(v []byte) error { return m.add(v) }

// MergeOlder adds an older operand (or the entry's stored value).
func (m *countMerge) MergeOlder(v []byte) error { return m.add(v) }

// Finish returns the sum.
func (m *countMerge) Finish(bool) ([]byte, io.Closer, error) {
	return appendValue(nil, m.count, m.keyLen), nil, nil
}
