package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlplan"
)

// viewState keeps the engine's arrangements, view contents and view histories: in a Pebble
// store for a data directory, in memory otherwise.
//
// With Pebble, every change of an epoch (arrangement deltas of every view, each changed
// view's delta in its history, its row count and the new frontier) is staged in one batch
// and committed at once, so after a crash the store holds every view as of the same LSN.
// Batches are written without fsync: the change log in Genji is the durable truth and a
// restart replays it from the stored frontier. The maintenance loop syncs the store and
// remembers the frontier it synced, below which the log may be truncated.
//
// Used with Engine.mu held.
type viewState struct {
	store *arrangements.Store // nil: memory
	batch *arrangements.Batch
	// frontier is the LSN every stored view is complete to (committed, maybe not synced).
	frontier uint64
	// synced is the frontier of the last synced batch.
	synced uint64
	// historyFrom is the oldest LSN a feed may resume from: histories hold the changes
	// after it.
	historyFrom uint64
	// undoPruned is the LSN up to which undo records were last pruned (see undo.go).
	undoPruned uint64
}

// Metadata keys of the Pebble store.
var (
	metaFormat      = []byte("format")
	metaFrontier    = []byte("frontier")
	metaHistoryFrom = []byte("history-from")
	metaViewPrefix  = []byte("view/")
)

// stateFormat names the layout of the Pebble store. A store written in an older layout
// (olderFormats) is set aside and its views rebuilt; another is refused at start-up.
const stateFormat = "cdc-views-2"

// olderFormats are the layouts of earlier builds: "cdc-views-1" kept a reduce's
// accumulators in the multiset layout (arrangements.Store.UniqueArrangement).
var olderFormats = []string{"cdc-views-1"}

// errOlderFormat is the error of load on a store of an older layout.
var errOlderFormat = errors.New("the view store was written in an older layout")

// openViewState opens the Pebble store in dir, or a memory state for dir "".
func openViewState(dir string, log *slog.Logger) (*viewState, error) {
	if dir == "" {
		return &viewState{}, nil
	}
	// Derived state in an older layout is set aside and the views rebuilt from their tables
	// (recover recomputes every view without stored state).
	setAside := func() error {
		old := dir + ".old"
		log.Warn("the view store was written by an older build: it is moved aside and every materialized view is rebuilt from its tables", "store", dir, "moved to", old)
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("set aside the view store %s: %w", dir, err)
		}
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("set aside the view store %s: %w", dir, err)
		}
		return nil
	}
	store, err := arrangements.OpenStore(dir)
	if errors.Is(err, arrangements.ErrOldLayout) {
		if err := setAside(); err != nil {
			return nil, err
		}
		store, err = arrangements.OpenStore(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("the view store %s cannot be opened (%w). It holds only derived state: "+
			"move it away and start again to rebuild every materialized view from its tables", dir, err)
	}
	st := &viewState{store: store, batch: store.NewBatch()}
	err = st.load(dir)
	if errors.Is(err, errOlderFormat) {
		store.Close()
		if err := setAside(); err != nil {
			return nil, err
		}
		return openViewState(dir, log)
	}
	if err != nil {
		store.Close()
		return nil, err
	}
	return st, nil
}

func (st *viewState) load(dir string) error {
	format, ok, err := st.store.GetMeta(metaFormat)
	if err != nil {
		return fmt.Errorf("read view store %s: %w", dir, err)
	}
	if !ok {
		names, err := st.store.ArrangementNames()
		if err != nil {
			return fmt.Errorf("read view store %s: %w", dir, err)
		}
		if len(names) > 0 {
			return fmt.Errorf("the view store %s has no format marker: it was not written by cdc", dir)
		}
		b := st.store.NewBatch()
		b.SetMeta(metaFormat, []byte(stateFormat))
		return b.Commit(true)
	}
	if slices.Contains(olderFormats, string(format)) {
		return errOlderFormat
	}
	if string(format) != stateFormat {
		return fmt.Errorf("the view store %s has format %q and this build reads %q: "+
			"move it away and start again to rebuild every materialized view from its tables", dir, format, stateFormat)
	}
	if st.frontier, err = st.uint64Meta(metaFrontier); err != nil {
		return fmt.Errorf("read view store %s: %w", dir, err)
	}
	if st.historyFrom, err = st.uint64Meta(metaHistoryFrom); err != nil {
		return fmt.Errorf("read view store %s: %w", dir, err)
	}
	st.synced = st.frontier
	return nil
}

func (st *viewState) uint64Meta(key []byte) (uint64, error) {
	v, ok, err := st.store.GetMeta(key)
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("corrupt metadata %s", key)
	}
	return binary.BigEndian.Uint64(v), nil
}

func (st *viewState) close() error {
	if st.store == nil {
		return nil
	}
	err := st.store.Flush()
	if cerr := st.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// durable reports whether views outlive the process.
func (st *viewState) durable() bool { return st.store != nil }

// arrangement returns the arrangement called name: Pebble-backed (its changes staged in the
// epoch batch) or in memory.
func (st *viewState) arrangement(name string, kind sqlplan.ArrangementKind) dataflow.Arrangement {
	return st.arrangementIn(nil, name, kind)
}

// hydrationBatch is a batch of its own for a new view's hydration, which runs without the
// engine's lock beside the epoch batch; nil in memory.
func (st *viewState) hydrationBatch() *arrangements.Batch {
	if st.store == nil {
		return nil
	}
	return st.store.NewBatch()
}

// arrangementIn is the arrangement called name with its changes staged in b (the epoch
// batch when b is nil), or a new one in memory.
func (st *viewState) arrangementIn(b *arrangements.Batch, name string, kind sqlplan.ArrangementKind) dataflow.Arrangement {
	if st.store == nil {
		return arrangements.NewMem(name)
	}
	if b == nil {
		b = st.batch
	}
	switch {
	case kind.Use() == sqlplan.Unique:
		return b.UniqueArrangement(name)
	case kind.IsSet():
		return b.SetArrangement(name)
	}
	return b.Arrangement(name)
}

// discard drops whatever is staged and not committed.
func (st *viewState) discard() {
	if st.store != nil {
		st.batch.Close()
	}
}

// commitEpoch commits the staged arrangement changes of an epoch with each changed view's
// delta, its row count (already updated) and the new frontier.
func (st *viewState) commitEpoch(lsn uint64, views []*view, changes map[*view][]dataflow.Update) error {
	if st.store == nil {
		return nil
	}
	for _, v := range views {
		if us := changes[v]; len(us) > 0 {
			st.batch.AppendHistory(v.historyName(), lsn, us)
			st.batch.SetMeta(v.metaKey(), v.record(v.rows))
		}
	}
	st.batch.SetMeta(metaFrontier, beUint64(lsn))
	if err := st.batch.Commit(false); err != nil {
		return fmt.Errorf("write epoch %d to the view store: %w", lsn, err)
	}
	st.frontier = lsn
	return nil
}

// commitStep commits the staged state of one hydration step of a view not yet registered,
// staged in b (nil in memory).
func (st *viewState) commitStep(b *arrangements.Batch) error {
	if b == nil {
		return nil
	}
	return b.Commit(false)
}

// deleteArrangements deletes arrangements (of a view whose hydration failed, or temporary
// ones); a failure only leaves garbage that the next start-up collects.
func (st *viewState) deleteArrangements(names []string) {
	if st.store == nil || len(names) == 0 {
		return
	}
	st.batch.Close()
	for _, n := range names {
		st.batch.DeleteArrangement(n)
	}
	_ = st.batch.Commit(false)
}

// commitView commits a new view's hydrated state and its record, synced. The view was built
// at the log head, where every other view is too, so that is the store's frontier.
func (st *viewState) commitView(v *view) error {
	if st.store == nil {
		return nil
	}
	st.batch.SetMeta(v.metaKey(), v.record(v.rows))
	st.batch.SetMeta(metaFrontier, beUint64(v.frontier))
	// Synced, unlike epochs: a crash right after CREATE MATERIALIZED VIEW answered would
	// otherwise lose the view's whole state and rebuild it at the next start.
	if err := st.batch.Commit(true); err != nil {
		return fmt.Errorf("write materialized view %s to the view store: %w", v.name, err)
	}
	st.frontier = v.frontier
	st.synced = max(st.synced, v.frontier)
	return nil
}

// dropView deletes a view's state and the shared arrangements nobody uses any more.
func (st *viewState) dropView(v *view, unusedShared []string) error {
	if st.store == nil {
		return nil
	}
	for _, name := range v.owned {
		st.batch.DeleteArrangement(name)
	}
	for _, name := range unusedShared {
		st.batch.DeleteArrangement(name)
	}
	st.batch.DeleteHistory(v.historyName())
	st.batch.DeleteMeta(v.metaKey())
	if err := st.batch.Commit(false); err != nil {
		return fmt.Errorf("delete materialized view %s from the view store: %w", v.name, err)
	}
	return nil
}

// viewRecord is what the store keeps about a view besides its arrangements.
type viewRecord struct {
	created     uint64 // LSN its history starts at
	rows        int64
	fingerprint string
	joinRows    map[string]int64 // view.joinRows
}

// fingerprintLen is the length of a fingerprint (hex of 12 bytes).
const fingerprintLen = 24

// loadViewRecord reads the record of the view with catalog id, if there is one.
func (st *viewState) loadViewRecord(id uint64) (viewRecord, bool, error) {
	v, ok, err := st.store.GetMeta(viewMetaKey(id))
	if err != nil || !ok {
		return viewRecord{}, false, err
	}
	return decodeViewRecord(v)
}

// decodeViewRecord decodes view.record's encoding: the history's start, the row count, the
// fingerprint and then (absent in records of earlier builds) the join row counts.
func decodeViewRecord(v []byte) (viewRecord, bool, error) {
	bad := errors.New("corrupt view record")
	created, n := binary.Uvarint(v)
	if n <= 0 {
		return viewRecord{}, false, bad
	}
	rows, m := binary.Varint(v[n:])
	if m <= 0 {
		return viewRecord{}, false, bad
	}
	rest := v[n+m:]
	rec := viewRecord{created: created, rows: rows, fingerprint: string(rest)}
	if len(rest) <= fingerprintLen {
		return rec, true, nil
	}
	rec.fingerprint, rest = string(rest[:fingerprintLen]), rest[fingerprintLen:]
	count, k := binary.Uvarint(rest)
	if k <= 0 || count > uint64(len(rest)) {
		return viewRecord{}, false, bad
	}
	rest = rest[k:]
	rec.joinRows = make(map[string]int64, count)
	for range count {
		l, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < l {
			return viewRecord{}, false, bad
		}
		name := string(rest[k : k+int(l)])
		rest = rest[k+int(l):]
		r, k2 := binary.Varint(rest)
		if k2 <= 0 {
			return viewRecord{}, false, bad
		}
		rest = rest[k2:]
		rec.joinRows[name] = r
	}
	if len(rest) != 0 {
		return viewRecord{}, false, bad
	}
	return rec, true, nil
}

func viewMetaKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), metaViewPrefix...), id)
}

func (v *view) metaKey() []byte { return viewMetaKey(v.id) }

// historyName names the view's history in the store.
func (v *view) historyName() string { return fmt.Sprintf("mv%d", v.id) }

// record encodes the view's record with the given row count.
func (v *view) record(rows int64) []byte {
	b := binary.AppendUvarint(nil, v.created)
	b = binary.AppendVarint(b, rows)
	b = append(b, v.fingerprint...)
	if len(v.joinRows) == 0 {
		return b
	}
	names := make([]string, 0, len(v.joinRows))
	for n := range v.joinRows {
		names = append(names, n)
	}
	slices.Sort(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
		b = binary.AppendVarint(b, v.joinRows[n])
	}
	return b
}

// arrangementPrefix is the prefix of the names of a view's own arrangements. The catalog id
// makes it unique: a view dropped and created again under the same name never meets the
// state of its predecessor.
func arrangementPrefix(id uint64, name string) string {
	return fmt.Sprintf("view:%s#%d/", strings.ToLower(name), id)
}

// fingerprint identifies the layout of a view's stored state: the same query lowered the
// same way into arrangements of the same names. Stored state with another fingerprint
// (another build's planner, say) is not used.
func fingerprint(sql, explain string, names []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s", stateFormat, sql, explain, strings.Join(names, "\n"))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// beUint64 encodes a metadata number.
func beUint64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
