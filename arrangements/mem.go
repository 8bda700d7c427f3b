// Package arrangements implements dataflow.Arrangement: in memory (tests, one-shot queries)
// and, later, backed by Pebble.
package arrangements

import (
	"strings"

	"github.com/RaduBerinde/btreemap"
	"github.com/cdc-dev/cdc/dataflow"
)

// Mem is an in-memory arrangement ordered like its Pebble counterpart: entries sorted by
// key encoding, then row encoding. It is not safe for concurrent use.
type Mem struct {
	name string
	tree *btreemap.BTreeMap[string, *memEntry]
	buf  []byte
}

type memEntry struct {
	keyLen int
	row    dataflow.Row
	count  dataflow.Diff
}

// NewMem returns an empty in-memory arrangement.
func NewMem(name string) *Mem {
	return &Mem{name: name, tree: btreemap.New[string, *memEntry](32, strings.Compare)}
}

// Name returns the arrangement's name.
func (m *Mem) Name() string { return m.name }

// Len returns the number of (key, row) entries.
func (m *Mem) Len() int { return m.tree.Len() }

// Get visits the rows under key in ascending order.
func (m *Mem) Get(key []byte, fn func(dataflow.Row, dataflow.Diff) bool) error {
	k := string(key)
	for _, e := range m.tree.Ascend(btreemap.GE(k), upper(k)) {
		if !fn(e.row, e.count) {
			break
		}
	}
	return nil
}

// GetReverse visits the rows under key in descending order.
func (m *Mem) GetReverse(key []byte, fn func(dataflow.Row, dataflow.Diff) bool) error {
	k := string(key)
	for _, e := range m.tree.Descend(upper(k), btreemap.GE(k)) {
		if !fn(e.row, e.count) {
			break
		}
	}
	return nil
}

// Scan visits every entry in order.
func (m *Mem) Scan(fn func([]byte, dataflow.Row, dataflow.Diff) bool) error {
	for ck, e := range m.tree.Ascend(btreemap.Min[string](), btreemap.Max[string]()) {
		if !fn([]byte(ck[:e.keyLen]), e.row, e.count) {
			break
		}
	}
	return nil
}

// Apply adds the updates' diffs, removing entries whose count reaches zero.
func (m *Mem) Apply(updates []dataflow.KeyedUpdate) error {
	for _, u := range updates {
		if u.Diff == 0 {
			continue
		}
		m.buf = append(m.buf[:0], u.Key...)
		m.buf = dataflow.AppendRowKey(m.buf, u.Row)
		if _, e, ok := m.tree.Get(string(m.buf)); ok {
			e.count += u.Diff
			if e.count == 0 {
				m.tree.Delete(string(m.buf))
			}
			continue
		}
		m.tree.ReplaceOrInsert(string(m.buf), &memEntry{keyLen: len(u.Key), row: u.Row, count: u.Diff})
	}
	return nil
}

// upper is the exclusive upper bound of the keys that start with prefix.
func upper(prefix string) btreemap.UpperBound[string] {
	if end, ok := prefixEnd(prefix); ok {
		return btreemap.LT(end)
	}
	return btreemap.Max[string]()
}

// prefixEnd returns the smallest string greater than every string with the prefix.
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
