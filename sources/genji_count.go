package sources

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// exactRows is how many rows CountRows counts one by one before it estimates the rest.
const exactRows = 1 << 14

// CountRows returns the number of rows of a table as committed, at most limit: exact up to
// exactRows, and past that estimated from the disk space of the table's keys against that
// of its first exactRows (counting on, up to limit, when they are not on disk yet). It
// reads only the keys of the table's namespace in Genji's Pebble store, not Genji's
// documents, so it costs a small part of a scan, and a large table costs what a small one
// does: the engine uses it to order a new view's joins by the sizes of their tables.
func (t *Txn) CountRows(ts TableSchema, limit int64) (int64, error) {
	if err := t.check(false); err != nil {
		return 0, err
	}
	info, err := t.s.db.DB.Catalog.GetTableInfo(genjiTable(ts.Name))
	if err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", ts.Name, err)
	}
	ns := int64(info.StoreNamespace)
	lo, hi := namespacePrefix(ns), namespacePrefix(ns+1)
	db := t.s.db.DB.DB
	it := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	n, err := countKeys(db, it, lo, hi, limit)
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", ts.Name, err)
	}
	return n, nil
}

// countKeys counts the keys of it, bounded to [lo, hi), as CountRows does.
func countKeys(db *pebble.DB, it *pebble.Iterator, lo, hi []byte, limit int64) (int64, error) {
	var n int64
	valid := it.First()
	for ; valid && n < min(limit, exactRows); valid = it.Next() {
		n++
	}
	if !valid || n >= limit {
		return n, it.Error()
	}
	mid := bytes.Clone(it.Key())
	head, err := db.EstimateDiskUsage(lo, mid)
	if err != nil {
		return 0, err
	}
	total, err := db.EstimateDiskUsage(lo, hi)
	if err != nil {
		return 0, err
	}
	if head > 0 && total > head {
		return min(limit, max(n+1, int64(float64(n)*float64(total)/float64(head)))), nil
	}
	for ; valid && n < limit; valid = it.Next() {
		n++
	}
	return n, it.Error()
}
