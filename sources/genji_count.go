package sources

import (
	"fmt"

	"github.com/cockroachdb/pebble"
)

// CountRows returns the number of rows of a table as committed, counting at most limit (it
// returns limit when there are more). It reads only the keys of the table's namespace in
// Genji's Pebble store, not Genji's documents, so it costs a small part of a scan: the
// engine uses it to order a new view's joins by the sizes of their tables.
func (t *Txn) CountRows(ts TableSchema, limit int64) (int64, error) {
	if err := t.check(false); err != nil {
		return 0, err
	}
	info, err := t.s.db.DB.Catalog.GetTableInfo(genjiTable(ts.Name))
	if err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", ts.Name, err)
	}
	ns := int64(info.StoreNamespace)
	it := t.s.db.DB.DB.NewIter(&pebble.IterOptions{LowerBound: namespacePrefix(ns), UpperBound: namespacePrefix(ns + 1)})
	var n int64
	for valid := it.First(); valid && n < limit; valid = it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", ts.Name, err)
	}
	return n, nil
}
