package arrangements

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cockroachdb/pebble/v2"
)

// A history is the log of a collection's consolidated changes, one record per LSN:
//
//	nsHistory || AppendKey(NewString(name)) || bigEndian(lsn)  ->  uvarint(n) { varint(diff) uvarint(len) AppendRowKey(row) }*n
//
// The engine keeps one per materialized view, so that a subscriber can resume a feed from
// an LSN in the past (TAIL ... AS OF). Records are written by a Batch together with the
// arrangement changes of the same epoch.
const nsHistory = 'h'

func historyPrefix(name string) []byte {
	return dataflow.AppendKey([]byte{nsHistory}, dataflow.NewString(name))
}

func historyKey(name string, lsn uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(name), lsn)
}

// AppendHistory stages the record of a history at lsn. Rows are encoded at once, so the
// caller may reuse updates.
func (b *Batch) AppendHistory(name string, lsn uint64, updates []dataflow.Update) {
	v := binary.AppendUvarint(nil, uint64(len(updates)))
	for _, u := range updates {
		v = binary.AppendVarint(v, u.Diff)
		row := dataflow.AppendRowKey(nil, u.Row)
		v = binary.AppendUvarint(v, uint64(len(row)))
		v = append(v, row...)
	}
	b.raw = append(b.raw, rawOp{key: historyKey(name, lsn), value: v})
}

// TruncateHistory stages the deletion of a history's records at LSNs below lsn.
func (b *Batch) TruncateHistory(name string, below uint64) {
	b.ranges = append(b.ranges, keyRange{historyKey(name, 0), historyKey(name, below)})
}

// DropHistoryFrom stages the deletion of a history's records at LSNs from lsn on.
func (b *Batch) DropHistoryFrom(name string, from uint64) {
	b.ranges = append(b.ranges, keyRange{historyKey(name, from), bytesPrefixEnd(historyPrefix(name))})
}

// DeleteHistory stages the deletion of a whole history.
func (b *Batch) DeleteHistory(name string) {
	p := historyPrefix(name)
	b.ranges = append(b.ranges, keyRange{p, bytesPrefixEnd(p)})
}

// ReadHistory calls fn for each record of a history with after < LSN <= upTo, in LSN order.
// The updates passed to fn are fresh and carry the record's LSN as their Time.
func (s *Store) ReadHistory(name string, after, upTo uint64, fn func(lsn uint64, updates []dataflow.Update) error) (err error) {
	defer func() { err = damaged(err) }()
	if after >= upTo {
		return nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: historyKey(name, after+1), UpperBound: historyKey(name, upTo+1)})
	if err != nil {
		return fmt.Errorf("arrangements: read history %s: %w", name, err)
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		k := it.Key()
		lsn := binary.BigEndian.Uint64(k[len(k)-8:])
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		us, err := decodeHistory(v, lsn)
		if err != nil {
			return fmt.Errorf("arrangements: history %s at LSN %d: %w", name, lsn, err)
		}
		if err := fn(lsn, us); err != nil {
			return err
		}
	}
	return it.Error()
}

func decodeHistory(v []byte, lsn uint64) ([]dataflow.Update, error) {
	n, m := binary.Uvarint(v)
	if m <= 0 || n > uint64(len(v)) {
		return nil, errors.New("corrupt record length")
	}
	v = v[m:]
	us := make([]dataflow.Update, 0, n)
	for i := uint64(0); i < n; i++ {
		diff, m := binary.Varint(v)
		if m <= 0 {
			return nil, errors.New("corrupt diff")
		}
		v = v[m:]
		l, m := binary.Uvarint(v)
		if m <= 0 || l > uint64(len(v)-m) {
			return nil, errors.New("corrupt row length")
		}
		row, err := dataflow.DecodeRow(v[m:m+int(l)], -1)
		if err != nil {
			return nil, err
		}
		v = v[m+int(l):]
		us = append(us, dataflow.Update{Row: row, Time: lsn, Diff: diff})
	}
	if len(v) != 0 {
		return nil, errors.New("trailing bytes")
	}
	return us, nil
}

// bytesPrefixEnd is prefixEnd for keys that always have an end (they start with a namespace
// byte below 0xff).
func bytesPrefixEnd(p []byte) []byte {
	end, _ := prefixEnd(string(p))
	return []byte(end)
}
