package sources

import (
	"sync"
	"unsafe"

	"github.com/genjidb/genji"
)

// stmtCache keeps the statements write transactions prepare (the INSERT of a table, the
// change log's append) for the write transactions after them: Genji prepares a statement
// in a transaction, and preparing the same few statements again in every transaction was a
// tenth of the committer's time for single-row transactions (parsing and planning one
// INSERT costs about as much as running it).
//
// A prepared statement holds a plan made from Genji's catalog as it was (a table's indexes,
// its fields), and the transaction it runs in; it holds no state of a run. So a statement
// is reused in another transaction by a copy bound to that transaction (bind), and the
// cache is emptied whenever the catalog changes: DDL (changeCatalog), and the rollback of
// a transaction that ran DDL. Write transactions are serialized, so no two use the cache at
// once; the mutex only keeps the cache consistent for the race detector and for DDL.
type stmtCache struct {
	ok    bool // stmtTxOffset holds for this Genji (set at Open): otherwise nothing is cached
	mu    sync.Mutex
	stmts map[string]*genji.Statement
}

// stmtTxOffset is where a genji.Statement keeps its transaction: its last field (pq, db,
// tx), a pointer. checkStmtLayout verifies it against the Genji in go.mod at Open.
const stmtTxOffset = unsafe.Sizeof(genji.Statement{}) - unsafe.Sizeof((*genji.Tx)(nil))

// checkStmtLayout reports whether a statement prepared in tx keeps tx at stmtTxOffset.
func checkStmtLayout(tx *genji.Tx) bool {
	st, err := tx.Prepare("SELECT 1")
	if err != nil {
		return false
	}
	return stmtTx(st) == tx
}

// stmtTx returns the transaction a statement runs in.
func stmtTx(st *genji.Statement) *genji.Tx {
	return *(**genji.Tx)(unsafe.Add(unsafe.Pointer(st), stmtTxOffset))
}

// bind returns a copy of st that runs in tx.
func bind(st *genji.Statement, tx *genji.Tx) *genji.Statement {
	c := new(genji.Statement)
	*c = *st
	*(**genji.Tx)(unsafe.Add(unsafe.Pointer(c), stmtTxOffset)) = tx
	return c
}

// get returns the statement of text q bound to tx, or nil.
func (c *stmtCache) get(q string, tx *genji.Tx) *genji.Statement {
	if !c.ok {
		return nil
	}
	c.mu.Lock()
	st := c.stmts[q]
	c.mu.Unlock()
	if st == nil {
		return nil
	}
	return bind(st, tx)
}

// maxCachedStmts bounds the cache: a few statements per table.
const maxCachedStmts = 4096

// put keeps st, prepared from text q.
func (c *stmtCache) put(q string, st *genji.Statement) {
	if !c.ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts == nil || len(c.stmts) >= maxCachedStmts {
		c.stmts = make(map[string]*genji.Statement)
	}
	c.stmts[q] = st
}

// clear forgets every statement: the catalog changed.
func (c *stmtCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stmts = nil
}
