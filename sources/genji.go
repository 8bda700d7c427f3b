package sources

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/genjidb/genji"
	"github.com/genjidb/genji/types"
	"google.golang.org/protobuf/proto"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sqlerr"
)

// storageFormat is the layout version kept in __cdc_meta, which a new store is created with;
// OpenStore also reads paddedFormat and refuses other versions. Format 2 stores string,
// bytes and decimal values unpadded (genji_encoding.go).
const (
	storageFormat = "2"
	paddedFormat  = "1"
)

// newStoreFormat is the format a new store is created with; tests set paddedFormat to
// exercise stores made by earlier builds.
var newStoreFormat = storageFormat

// ErrTxnDone is returned by operations on a transaction that was committed or rolled back.
var ErrTxnDone = errors.New("sources: transaction already finished")

// ErrReadOnly is returned by writes in a read-only transaction.
var ErrReadOnly = errors.New("sources: transaction is read-only")

// ErrRowNotFound is returned by Update and Delete when no row has the given key.
var ErrRowNotFound = errors.New("sources: no row with that key")

// Store is the Genji database of the engine: source tables, change log and catalog.
//
// Write transactions are serialized: Begin(true) blocks while another write transaction is
// open. Read transactions run concurrently with them and see the state committed when the
// open write transaction (if any) began. Store is safe for concurrent use; a Txn is not.
type Store struct {
	db *genji.DB

	// catMu guards Genji's in-memory catalog, which has no lock of its own: DDL (always in the
	// single write transaction) takes it exclusively, read transactions share it while Genji
	// prepares a statement and starts iterating. Writers need not take it: they are serialized.
	catMu sync.RWMutex

	maxTxnBytes int64 // bound of a transaction's estimated Genji batch, see charge

	use tableUse // tables open staged transactions use (genji_mdl.go)

	stmts stmtCache // statements of write transactions, for the next ones

	// segmentDirty: a write transaction was rolled back since the last commit, so Genji's
	// rollback segment must be cleared before the next one (Begin). Guarded by Genji's
	// writer lock.
	segmentDirty bool

	// logPrefix is the key prefix of __cdc_log's rows, which AppendLog writes below Genji's
	// SQL; nil: through its INSERT (genji_direct.go).
	logPrefix []byte

	// directOK: write transactions write rows below Genji's SQL (genji_direct.go); set at
	// Open when the internals it uses match the Genji in go.mod.
	directOK bool

	// pad: string, bytes and decimal values are padded to padTo bytes (a store of
	// paddedFormat, genji_encoding.go); set at Open.
	pad bool

	mu      sync.Mutex
	lastLSN uint64           // highest committed LSN in __cdc_log
	rowids  map[string]int64 // last rowid used per bag table (Genji name); absent = unknown
	dropSeq uint64           // set-aside tables named since Open (genji_drop.go)
}

// CatalogEntry is one object of the engine's catalog.
type CatalogEntry struct {
	Name       string
	Kind       string // e.g. "table", "view"; the engine's vocabulary
	Definition string // e.g. the DDL text
	Seq        uint64 // creation order
}

// OpenStore opens (creating if needed) the store in dir; dir "" opens an in-memory store.
func OpenStore(dir string) (*Store, error) {
	path := ":memory:"
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		path = dir
	}
	db, err := openGenji(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, rowids: map[string]int64{}, maxTxnBytes: defaultMaxTxnBytes,
		use: tableUse{users: map[string]map[*Txn]struct{}{}, fences: map[string]int{}}}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// openGenji opens Genji's database at path, first restoring what a transaction that spilled
// and did not commit before a crash left in it (genji_spill.go): Genji is opened again after
// a restore, so that it reads its catalog as it was.
func openGenji(path string) (*genji.DB, error) {
	db, err := openGenjiPebble(path)
	if err != nil {
		return nil, err
	}
	n, err := restoreSpill(db.DB.DB)
	if err != nil {
		db.Close()
		return nil, err
	}
	if n == 0 {
		return db, nil
	}
	slog.Info("restored the keys of a large transaction a crash interrupted", "path", path, "keys", n)
	if err := db.Close(); err != nil {
		return nil, err
	}
	return openGenjiPebble(path)
}

// init creates the internal tables of a new store, checks the format of an old one and loads
// the last LSN.
func (s *Store) init() error {
	tx, err := s.db.Begin(true)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	s.stmts.ok = checkStmtLayout(tx)
	s.directOK = directRows && checkDirectLayout(s, tx)
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS __cdc_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
		"CREATE TABLE IF NOT EXISTS __cdc_log (lsn INTEGER PRIMARY KEY, data BLOB NOT NULL)",
		// k is the padded key encoding of name (see encodePadded).
		"CREATE TABLE IF NOT EXISTS __cdc_catalog (k BLOB PRIMARY KEY, name TEXT NOT NULL, " +
			"kind TEXT NOT NULL, definition TEXT NOT NULL, seq INTEGER NOT NULL)",
		"INSERT INTO __cdc_meta (k, v) VALUES ('format', '" + newStoreFormat + "') ON CONFLICT DO NOTHING",
	} {
		if err := tx.Exec(q); err != nil {
			return err
		}
	}
	doc, err := tx.QueryDocument("SELECT v FROM __cdc_meta WHERE k = 'format'")
	if err != nil {
		return err
	}
	var format string
	if err := doc.Iterate(func(_ string, v types.Value) error {
		format, _ = v.V().(string)
		format = strings.Clone(format)
		return nil
	}); err != nil {
		return err
	}
	if format != storageFormat && format != paddedFormat {
		return fmt.Errorf("storage format %q, this build reads %q and %q", format, paddedFormat, storageFormat)
	}
	s.pad = format == paddedFormat
	last, err := queryLSN(tx, "DESC")
	if err != nil {
		return err
	}
	s.lastLSN = last
	if s.directOK {
		s.logPrefix = logLayout(s)
	}
	if namespaceCheck {
		if err := checkNamespaces(tx); err != nil {
			return err
		}
	}
	if err := s.repairIndexOwners(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// queryLSN reads the highest (order "DESC") or lowest ("ASC") LSN in __cdc_log, 0 if it
// is empty.
func queryLSN(tx *genji.Tx, order string) (uint64, error) {
	res, err := tx.Query("SELECT lsn FROM __cdc_log ORDER BY lsn " + order + " LIMIT 1")
	if err != nil {
		return 0, err
	}
	defer res.Close()
	var last int64
	err = res.Iterate(func(d types.Document) error {
		return d.Iterate(func(_ string, v types.Value) error {
			last = types.As[int64](v)
			return nil
		})
	})
	return uint64(last), err
}

// Close closes the database; it waits for an open write transaction to finish.
func (s *Store) Close() error {
	return s.db.Close()
}

// Txn is a Genji transaction of the store. Not safe for concurrent use.
type Txn struct {
	s        *Store
	tx       *genji.Tx
	writable bool
	done     bool
	ddl      bool  // the transaction changed Genji's catalog
	bytes    int64 // estimated size of the Genji batch, see charge
	// reserved is the batch bytes the reversal of the current statement's writes may take;
	// undoing is set while Undo runs. logBytes is the change-log bytes charged so far
	// (ChargeLog), stmtLogBytes the part of it charged by the current statement.
	reserved, logBytes, stmtLogBytes int64
	undoing                          bool

	plans map[string]*tablePlan // prepared statements per table; cleared by DDL
	// staged is the write set of a staged transaction (BeginStaged), nil otherwise.
	staged *staged
	// ReadLSN is the LSN of the snapshot a staged transaction's current statement reads,
	// recorded with each row it writes (StagedRow.ReadAt); the engine sets it.
	ReadLSN uint64
	// used are the tables a staged transaction's snapshot holds (genji_mdl.go); fenced the
	// tables a DDL transaction fences.
	used   map[string]bool
	fenced []string
	// unbounded: the size bound was enforced on the staged transactions replayed into this
	// one (the committer's), so its own writes are not refused for size.
	unbounded bool
	logStmt   *genji.Statement
	catPut    *genji.Statement
	lastLSN   uint64 // highest LSN appended by this transaction, 0 if none
	// setAsideTables: a DROP TABLE of the transaction set its table aside (genji_drop.go).
	setAsideTables bool
	// spills: the transaction may pass the size bound and spill; truncated: it truncated a
	// table or index, so it must not (genji_spill.go).
	spills, truncated bool
	// dir is the state of writes below Genji's SQL, made on first use (genji_direct.go).
	dir *direct
}

// Begin starts a transaction; a writable one waits until no other writable one is open.
func (s *Store) Begin(writable bool) (*Txn, error) {
	tx, err := s.db.Begin(writable)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if writable && s.segmentDirty {
		// Genji's Rollback leaves its rollback segment holding the keys the transaction
		// wrote (some of them aliasing buffers Genji reused since), and the next spill would
		// save and, on a rollback, restore them; a commit clears it. An empty commit writes
		// nothing.
		if err := tx.Commit(); err != nil {
			return nil, fmt.Errorf("begin: reset the rollback segment: %w", err)
		}
		s.segmentDirty = false
		if tx, err = s.db.Begin(true); err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
	}
	return &Txn{s: s, tx: tx, writable: writable}, nil
}

// Commit makes the transaction's writes durable (synced to disk); on a read-only transaction it
// just ends it. After an error the transaction is rolled back.
func (t *Txn) Commit() error {
	if t.done {
		return ErrTxnDone
	}
	if !t.writable {
		return t.Rollback()
	}
	t.done = true
	t.plans, t.logStmt, t.catPut = nil, nil, nil
	defer t.unfence()
	t.closeDirect()
	if err := t.commitGenji(); err != nil {
		t.rollbackGenji()
		return fmt.Errorf("commit: %w", err)
	}
	if t.lastLSN != 0 {
		t.s.mu.Lock()
		t.s.lastLSN = t.lastLSN
		t.s.mu.Unlock()
	}
	return nil
}

// Rollback discards the transaction's writes; it is a no-op after Commit or Rollback.
func (t *Txn) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	t.plans, t.logStmt, t.catPut = nil, nil, nil
	defer t.unuse()
	defer t.unfence()
	t.closeDirect()
	if err := t.rollbackGenji(); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

// commitGenji commits the Genji transaction as Genji's Transaction.Commit does (the
// session's commit, then its commit hooks and the writer's lock), without its second Close
// of the session, which builds an "already closed" error with a stack trace only to drop it:
// 10 µs of the committer's time per commit.
func (t *Txn) commitGenji() error {
	dtx := internalTx(t.s.db.DB.Begin, t.tx)
	if dtx == nil || !dtx.Writable || dtx.WriteTxMu == nil || dtx.Session == nil {
		return t.tx.Commit()
	}
	if err := dtx.Session.Commit(); err != nil {
		return err
	}
	defer dtx.WriteTxMu.Unlock()
	for i := len(dtx.OnCommitHooks) - 1; i >= 0; i-- {
		dtx.OnCommitHooks[i]()
	}
	return nil
}

func (t *Txn) rollbackGenji() error {
	if t.ddl {
		// Rolling back DDL restores Genji's catalog cache: statements prepared over the
		// rolled-back catalog must go too.
		t.s.catMu.Lock()
		defer t.s.catMu.Unlock()
		defer t.s.stmts.clear()
	}
	if t.writable {
		t.s.segmentDirty = true // still under Genji's writer lock, which Begin(true) takes
	}
	if err := t.rollbackSpill(); err != nil {
		t.tx.Rollback()
		return err
	}
	return t.tx.Rollback()
}

// check returns an error unless the transaction is open (and writable if write is set).
func (t *Txn) check(write bool) error {
	if t.done {
		return ErrTxnDone
	}
	if write && !t.writable && t.staged == nil {
		return ErrReadOnly
	}
	return nil
}

// prepare prepares q in the transaction; read-only transactions share the catalog lock.
func (t *Txn) prepare(q string) (*genji.Statement, error) {
	if !t.writable {
		t.s.catMu.RLock()
		defer t.s.catMu.RUnlock()
		return t.tx.Prepare(q)
	}
	if t.ddl {
		return t.tx.Prepare(q) // the catalog is the transaction's own until it commits
	}
	if st := t.s.stmts.get(q, t.tx); st != nil {
		return st, nil
	}
	st, err := t.tx.Prepare(q)
	if err == nil {
		t.s.stmts.put(q, st)
	}
	return st, err
}

// changeCatalog notes that the transaction is about to change Genji's catalog: its table
// plans and every cached statement are planned over the old one. Called with catMu held.
func (t *Txn) changeCatalog() {
	t.ddl = true
	t.plans = nil
	t.s.stmts.clear()
}

// query runs a prepared statement and calls fn for each result document. In a read-only
// transaction the catalog lock is held until the first document arrives (Genji reads its
// catalog when a stream starts), never while fn runs.
func (t *Txn) query(st *genji.Statement, args []any, fn func(types.Document) error) error {
	locked := false
	if !t.writable {
		t.s.catMu.RLock()
		locked = true
	}
	unlock := func() {
		if locked {
			locked = false
			t.s.catMu.RUnlock()
		}
	}
	defer unlock()
	res, err := st.Query(args...)
	if err != nil {
		return err
	}
	err = res.Iterate(func(d types.Document) error {
		unlock()
		return fn(d)
	})
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	return err
}

// execDDL runs a catalog-changing statement with the catalog lock held exclusively and drops
// the transaction's prepared statements.
func (t *Txn) execDDL(q string) error {
	t.s.catMu.Lock()
	defer t.s.catMu.Unlock()
	t.changeCatalog()
	return t.tx.Exec(q)
}

// AppendLog writes tx as the change-log record of its LSN, in this transaction. LSNs must be
// above every LSN already in the log.
func (t *Txn) AppendLog(tx *changelogpb.Transaction) error {
	if err := t.check(true); err != nil {
		return err
	}
	lsn := tx.GetLsn()
	if lsn == 0 || lsn > math.MaxInt64 {
		return fmt.Errorf("append log: invalid LSN %d", lsn)
	}
	last := t.lastLSN
	if last == 0 {
		t.s.mu.Lock()
		last = t.s.lastLSN
		t.s.mu.Unlock()
	}
	if lsn <= last {
		return fmt.Errorf("append log: LSN %d is not above the last logged LSN %d", lsn, last)
	}
	data, err := proto.Marshal(tx)
	if err != nil {
		return fmt.Errorf("append log: LSN %d: %w", lsn, err)
	}
	if extra := entry(nsBytes+valOverhead, 16+2*valOverhead+int64(len(data))) - t.logBytes; extra > 0 {
		if t.bytes+extra > t.s.maxTxnBytes+logSlack {
			return sqlerr.New(codeTxnTooLarge,
				"Transaction too large: its change-log record would take it past %d bytes; split the work into smaller transactions",
				t.s.maxTxnBytes)
		}
		t.bytes += extra
	}
	if d := t.directSession(); d != nil && t.s.logPrefix != nil {
		// The LSN is above every logged one: the key is new.
		k := genjiEncodeInt(append(make([]byte, 0, len(t.s.logPrefix)+9), t.s.logPrefix...), int64(lsn))
		doc := genjiEncodeBlob(genjiEncodeInt(make([]byte, 0, len(data)+20), int64(lsn)), data)
		if err := d.set(k, doc); err != nil {
			return fmt.Errorf("append log: LSN %d: %w", lsn, err)
		}
		t.lastLSN = lsn
		return nil
	}
	if t.logStmt == nil {
		if t.logStmt, err = t.prepare("INSERT INTO __cdc_log (lsn, data) VALUES (?, ?)"); err != nil {
			return fmt.Errorf("append log: %w", err)
		}
	}
	if err := t.logStmt.Exec(int64(lsn), data); err != nil {
		return fmt.Errorf("append log: LSN %d: %w", lsn, err)
	}
	t.lastLSN = lsn
	return nil
}

// ReadLog calls fn for every logged transaction with an LSN above after, in LSN order, from
// one consistent snapshot; an error from fn stops the scan and is returned as is.
func (s *Store) ReadLog(after uint64, fn func(*changelogpb.Transaction) error) error {
	if after >= math.MaxInt64 {
		return nil
	}
	t, err := s.Begin(false)
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	defer t.Rollback()
	st, err := t.prepare("SELECT data FROM __cdc_log WHERE lsn > ?")
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	var fnErr error
	err = t.query(st, []any{int64(after)}, func(d types.Document) error {
		var data []byte
		if err := d.Iterate(func(_ string, v types.Value) error {
			data, _ = v.V().([]byte)
			return nil
		}); err != nil {
			return err
		}
		tx := new(changelogpb.Transaction)
		if err := proto.Unmarshal(data, tx); err != nil {
			return fmt.Errorf("decode log record: %w", err)
		}
		if err := fn(tx); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("read log after %d: %w", after, err)
	}
	return nil
}

// LastLSN returns the highest committed LSN in the log, 0 if the log is empty.
func (s *Store) LastLSN() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastLSN, nil
}

// PutCatalog inserts or replaces the catalog entry name.
func (t *Txn) PutCatalog(name, kind, definition string, seq uint64) error {
	if err := t.check(true); err != nil {
		return err
	}
	if seq > math.MaxInt64 {
		return fmt.Errorf("put catalog %s: seq %d out of range", name, seq)
	}
	k := dataflow.NewString(name)
	if paddedLen(k) > maxKeyValueBytes {
		return keyTooLong()
	}
	if err := t.charge(entry(nsBytes+valOverhead+int64(len(name)),
		16+4*valOverhead+int64(len(name)+len(kind)+len(definition)))); err != nil {
		return err
	}
	var err error
	if t.catPut == nil {
		t.catPut, err = t.prepare("INSERT INTO __cdc_catalog (k, name, kind, definition, seq) " +
			"VALUES (?, ?, ?, ?, ?) ON CONFLICT DO REPLACE")
		if err != nil {
			return fmt.Errorf("put catalog %s: %w", name, err)
		}
	}
	if err := t.catPut.Exec(encodePadded(k), name, kind, definition, int64(seq)); err != nil {
		return fmt.Errorf("put catalog %s: %w", name, err)
	}
	return nil
}

// DeleteCatalog removes the catalog entry name; removing a missing entry is not an error.
func (t *Txn) DeleteCatalog(name string) error {
	if err := t.check(true); err != nil {
		return err
	}
	if err := t.charge(entry(nsBytes+valOverhead+int64(len(name)), 0)); err != nil {
		return err
	}
	k := dataflow.NewString(name)
	if paddedLen(k) > maxKeyValueBytes {
		return nil // no such entry can exist
	}
	if err := t.tx.Exec("DELETE FROM __cdc_catalog WHERE k = ?", encodePadded(k)); err != nil {
		return fmt.Errorf("delete catalog %s: %w", name, err)
	}
	return nil
}

// LoadCatalog returns every catalog entry, ordered by seq (then name).
func (s *Store) LoadCatalog() ([]CatalogEntry, error) {
	t, err := s.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	defer t.Rollback()
	st, err := t.prepare("SELECT name, kind, definition, seq FROM __cdc_catalog")
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	var out []CatalogEntry
	err = t.query(st, nil, func(d types.Document) error {
		// Genji's text values alias its read buffers, which later reads reuse: copy them.
		var e CatalogEntry
		i := 0
		err := d.Iterate(func(_ string, v types.Value) error {
			switch i {
			case 0:
				e.Name = strings.Clone(types.As[string](v))
			case 1:
				e.Kind = strings.Clone(types.As[string](v))
			case 2:
				e.Definition = strings.Clone(types.As[string](v))
			case 3:
				e.Seq = uint64(types.As[int64](v))
			}
			i++
			return nil
		})
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Seq != out[j].Seq {
			return out[i].Seq < out[j].Seq
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// asSQLError reports whether err is (or wraps) a *sqlerr.Error, which is returned unwrapped.
func asSQLError(err error) bool {
	var e *sqlerr.Error
	return errors.As(err, &e)
}
