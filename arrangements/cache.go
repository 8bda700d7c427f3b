package arrangements

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cdc-dev/cdc/dataflow"
)

// readCache remembers the rows of an arrangement's small keys as its reads found them, so
// that the next read of the key is a map lookup instead of a Pebble seek: a join looks up
// the other side of every change (a message's user, chat and membership), and the other
// side of most joins is a dimension that rarely changes. A read of a key that fn stops
// early, or with more than maxCachedRows rows, is not remembered. Batch.Commit forgets
// every key a commit changes (and every key that is a prefix of it: reads may name a
// prefix of the arrangement's key) before later reads, so the cache always holds committed
// state. Its memory is bounded per arrangement and, over all of them, per store.
type readCache struct {
	mu    sync.Mutex
	rows  map[string]cachedRows
	n     int64         // rows remembered
	total *atomic.Int64 // rows remembered by every arrangement of the store
}

// cachedRows is what a read found under a key, in ascending order.
type cachedRows struct {
	rows   []dataflow.Row
	counts []dataflow.Diff
}

// Bounds of a read cache.
const (
	maxCachedRows      = 8       // rows of one key
	maxCachedKeys      = 1 << 16 // keys of one arrangement
	maxStoreCachedRows = 1 << 18 // rows of every arrangement of a store
)

// lookup returns the remembered rows of key.
func (c *readCache) lookup(key []byte) (cachedRows, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.rows[string(key)]
	return r, ok
}

// remember keeps what a complete read of key found; reverse says the rows are in
// descending order.
func (c *readCache) remember(key []byte, rows []dataflow.Row, counts []dataflow.Diff, reverse bool) {
	if reverse {
		slices.Reverse(rows)
		slices.Reverse(counts)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rememberLocked(key, rows, counts)
}

// rememberLocked is remember of rows in ascending order. Called with c.mu held.
func (c *readCache) rememberLocked(key []byte, rows []dataflow.Row, counts []dataflow.Diff) {
	// At a bound, a key of the arrangement picked at random (Go's map order) makes room.
	if len(c.rows) >= maxCachedKeys || c.total.Load()+int64(len(rows)) > maxStoreCachedRows {
		for k := range c.rows {
			c.drop(k)
			break
		}
		if c.total.Load()+int64(len(rows)) > maxStoreCachedRows {
			return // the store's rows are held by other arrangements
		}
	}
	if c.rows == nil {
		c.rows = make(map[string]cachedRows)
	}
	if old, ok := c.rows[string(key)]; ok {
		c.count(-int64(len(old.rows)))
	}
	c.rows[string(key)] = cachedRows{rows: rows, counts: counts}
	c.count(int64(len(rows)))
}

// count adds d to the rows remembered. Called with c.mu held.
func (c *readCache) count(d int64) {
	c.n += d
	c.total.Add(d)
}

// dropAll forgets everything. Called with c.mu held.
func (c *readCache) dropAll() {
	c.count(-c.n)
	c.rows = nil
}

// drop forgets key. Called with c.mu held.
func (c *readCache) drop(key string) {
	if r, ok := c.rows[key]; ok {
		c.count(-int64(len(r.rows)))
		delete(c.rows, key)
	}
}

// forget drops what is remembered under every prefix of entry (an entry's key and row
// encodings, concatenated) that ends at a column: a read of any of them found the entry.
func (c *readCache) forget(entry string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetLocked(entry)
}

// forgetLocked is forget. Called with c.mu held.
func (c *readCache) forgetLocked(entry string) {
	if len(c.rows) == 0 {
		return
	}
	c.drop("")
	b := []byte(entry)
	for rest := b; len(rest) > 0; {
		_, next, err := dataflow.DecodeKey(rest)
		if err != nil {
			// Not an encoding the reads could have named column by column: start afresh.
			c.dropAll()
			return
		}
		rest = next
		c.drop(entry[:len(b)-len(rest)])
	}
}

// replace is forget(key) for a key whose content after a commit is known to be rows: if
// the cache held the key, it now holds rows (none: the key is gone); a key it did not hold
// stays out, so that writes alone never fill the cache.
func (c *readCache) replace(key string, rows []dataflow.Row, counts []dataflow.Diff) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, held := c.rows[key]
	c.forgetLocked(key)
	if held {
		c.rememberLocked([]byte(key), rows, counts)
	}
}

// reset forgets everything (the arrangement was deleted).
func (c *readCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropAll()
}

// replay calls fn with remembered rows, in ascending or descending order, until it returns
// false.
func (r cachedRows) replay(reverse bool, fn func(dataflow.Row, dataflow.Diff) bool) {
	if reverse {
		for i := len(r.rows) - 1; i >= 0; i-- {
			if !fn(r.rows[i], r.counts[i]) {
				return
			}
		}
		return
	}
	for i := range r.rows {
		if !fn(r.rows[i], r.counts[i]) {
			return
		}
	}
}
