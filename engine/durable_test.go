package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cockroachdb/pebble/v2"
)

// reopen closes e (if not nil) and opens dir again, returning the engine and its start-up log.
func reopen(t *testing.T, e *engine.Engine, dir string, opts engine.Options) (*engine.Engine, string) {
	t.Helper()
	if e != nil {
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var logs strings.Builder
	opts.Dir = dir
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	e, err := engine.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e, logs.String()
}

// chatFixture creates the chat tables and views of the running example with some rows.
func chatFixture(t *testing.T, s *engine.Session) {
	t.Helper()
	for _, q := range []string{
		`CREATE TABLE user (user_id INT PRIMARY KEY, user_login VARCHAR(32))`,
		`CREATE TABLE chat_message (id INT PRIMARY KEY, user_id INT, text VARCHAR(100))`,
		`CREATE MATERIALIZED VIEW feed AS SELECT m.id, u.user_login, m.text FROM chat_message m JOIN user u ON m.user_id = u.user_id`,
		`CREATE MATERIALIZED VIEW senders AS SELECT u.user_login, COUNT(*) AS n FROM chat_message m JOIN user u ON m.user_id = u.user_id GROUP BY u.user_login`,
		`INSERT INTO user VALUES (1, 'ann'), (2, 'bob')`,
		`INSERT INTO chat_message VALUES (1, 1, 'hi'), (2, 2, 'hello'), (3, 1, 'bye')`,
	} {
		mustExec(t, s, q)
	}
}

func TestRestartUsesStoredViews(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	chatFixture(t, s)
	before := rowsOf(t, s, "SELECT * FROM senders")
	lsn := e.LSN()

	e, logs := reopen(t, e, dir, engine.Options{})
	if strings.Contains(logs, "recomputed") || strings.Contains(logs, "replayed") {
		t.Fatalf("a clean restart recomputed or replayed views:\n%s", logs)
	}
	s = e.NewSession()
	if got := rowsOf(t, s, "SELECT * FROM senders"); !slices.Equal(got, before) {
		t.Fatalf("after restart %v, before %v", got, before)
	}
	for _, v := range e.Stats().Views {
		if v.Frontier != lsn || v.Rows == 0 {
			t.Fatalf("view %s: frontier %d rows %d after restart, want frontier %d", v.Name, v.Frontier, v.Rows, lsn)
		}
	}
	// The restarted views keep being maintained.
	mustExec(t, s, `INSERT INTO chat_message VALUES (4, 2, 'again')`)
	if got, want := rowsOf(t, s, "SELECT * FROM senders"), []string{"ann\t2", "bob\t2"}; !slices.Equal(got, want) {
		t.Fatalf("senders %v, want %v", got, want)
	}
	verifyAll(t, e)
}

// verifyAll fails unless every view equals its query.
func verifyAll(t *testing.T, e *engine.Engine) {
	t.Helper()
	results, err := e.Verify(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.OK() {
			t.Fatalf("view %s differs from its query: %+v", r.View, r)
		}
	}
}

// TestViewStoreBehindLogIsReplayed puts back an old copy of the view store, as a crash that
// lost the latest unsynced epochs would: the views catch up from the change log.
func TestViewStoreBehindLogIsReplayed(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	chatFixture(t, e.NewSession())
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	views := filepath.Join(dir, "views")
	if err := os.CopyFS(dir+"/old-views", os.DirFS(views)); err != nil {
		t.Fatal(err)
	}
	e, _ = reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, `INSERT INTO chat_message VALUES (4, 2, 'again'), (5, 1, 'more')`)
	mustExec(t, s, `UPDATE user SET user_login = 'anna' WHERE user_id = 1`)
	mustExec(t, s, `DELETE FROM chat_message WHERE id = 2`)
	want := rowsOf(t, s, "SELECT * FROM feed")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(views); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+"/old-views", views); err != nil {
		t.Fatal(err)
	}
	e, logs := reopen(t, nil, dir, engine.Options{})
	if !strings.Contains(logs, "replayed") || strings.Contains(logs, "recomputed") {
		t.Fatalf("expected a replay and no recomputation:\n%s", logs)
	}
	if got := rowsOf(t, e.NewSession(), "SELECT * FROM feed"); !slices.Equal(got, want) {
		t.Fatalf("after replay %v, want %v", got, want)
	}
	verifyAll(t, e)
}

func TestResumeFeedAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	chatFixture(t, s)
	start := e.LSN()
	a := mustExec(t, s, `INSERT INTO chat_message VALUES (4, 2, 'four')`)
	b := mustExec(t, s, `UPDATE chat_message SET text = 'uno' WHERE id = 1`)

	e, _ = reopen(t, e, dir, engine.Options{})
	s = e.NewSession()
	c := mustExec(t, s, `DELETE FROM chat_message WHERE id = 2`)

	// Exactly the changes after start, one LSN per batch, then live ones.
	sub, err := e.Subscribe(ctx, "feed", engine.SubscribeOptions{AsOf: start, HasAsOf: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d 1 4 bob four", a.LSN))
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d -1 1 ann hi", b.LSN), fmt.Sprintf("%d 1 1 ann uno", b.LSN))
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d -1 2 bob hello", c.LSN))
	d := mustExec(t, s, `INSERT INTO chat_message VALUES (5, 1, 'five')`)
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d 1 5 ann five", d.LSN))

	// With a snapshot, the view as it was at the LSN comes first.
	snap, err := e.Subscribe(ctx, "feed", engine.SubscribeOptions{AsOf: a.LSN, HasAsOf: true, Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	expectRows(t, nextRows(t, snap),
		fmt.Sprintf("%d 1 1 ann hi", a.LSN), fmt.Sprintf("%d 1 2 bob hello", a.LSN),
		fmt.Sprintf("%d 1 3 ann bye", a.LSN), fmt.Sprintf("%d 1 4 bob four", a.LSN))
	expectRows(t, nextRows(t, snap), fmt.Sprintf("%d -1 1 ann hi", b.LSN), fmt.Sprintf("%d 1 1 ann uno", b.LSN))

	// Before a view existed there is nothing to resume from.
	mustExec(t, s, `CREATE MATERIALIZED VIEW late AS SELECT id FROM chat_message`)
	if _, err := e.Subscribe(ctx, "late", engine.SubscribeOptions{AsOf: d.LSN - 1, HasAsOf: true}); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("oldest LSN available for view late, %d", d.LSN)) {
		t.Fatalf("AS OF before the view's history: %v", err)
	}
}

func TestRetentionTruncatesHistoryAndLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := engine.Options{Retention: engine.Retention{LSNs: 5}, MaintenanceInterval: 5 * time.Millisecond}
	e, _ := reopen(t, nil, dir, opts)
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (k INT PRIMARY KEY)`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW v AS SELECT k FROM t`)
	for i := 1; i <= 30; i++ {
		mustExec(t, s, fmt.Sprintf(`INSERT INTO t VALUES (%d)`, i))
	}
	head := e.LSN()
	oldest := func() uint64 {
		var first uint64
		err := e.ReadLog(head-6, func(tx *changelogpb.Transaction) error {
			if first == 0 {
				first = tx.Lsn
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := e.ReadLog(0, func(*changelogpb.Transaction) error { return nil })
		if err != nil && strings.Contains(err.Error(), fmt.Sprintf("starts at LSN %d,", head-5)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change log was not truncated to LSN %d: %v", head-5, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := oldest(); got != head-5 {
		t.Fatalf("log starts at %d, want %d", got, head-5)
	}
	if _, err := e.Subscribe(ctx, "v", engine.SubscribeOptions{AsOf: head - 6, HasAsOf: true}); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("oldest LSN available for view v, %d", head-5)) {
		t.Fatalf("AS OF below the retention: %v", err)
	}
	sub, err := e.Subscribe(ctx, "v", engine.SubscribeOptions{AsOf: head - 5, HasAsOf: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for lsn := head - 4; lsn <= head; lsn++ {
		expectRows(t, nextRows(t, sub), fmt.Sprintf("%d 1 %d", lsn, lsn-head+30))
	}
	// The truncated state survives a restart.
	e, logs := reopen(t, e, dir, opts)
	if strings.Contains(logs, "recomputed") {
		t.Fatalf("restart after truncation recomputed views:\n%s", logs)
	}
	verifyAll(t, e)
}

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]engine.Retention{"24h": {For: 24 * time.Hour}, "90m": {For: 90 * time.Minute}, "1000": {LSNs: 1000}} {
		got, err := engine.ParseRetention(in)
		if err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1h", "soon"} {
		if _, err := engine.ParseRetention(bad); err == nil {
			t.Errorf("ParseRetention(%q) succeeded", bad)
		}
	}
}

// storedArrangements lists the arrangements of a closed data directory's view store.
func storedArrangements(t *testing.T, dir string) []string {
	t.Helper()
	st, err := arrangements.OpenStore(filepath.Join(dir, "views"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	names, err := st.ArrangementNames()
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestDropViewDeletesItsState(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	chatFixture(t, s)
	mustExec(t, s, `DROP MATERIALIZED VIEW senders`)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	names := storedArrangements(t, dir)
	for _, n := range names {
		if strings.Contains(n, "senders") {
			t.Fatalf("dropped view's arrangement %s is still stored: %v", n, names)
		}
	}
	e, _ = reopen(t, nil, dir, engine.Options{})
	s = e.NewSession()
	mustExec(t, s, `DROP MATERIALIZED VIEW feed`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW feed AS SELECT id FROM chat_message WHERE id > 1`)
	if got, want := rowsOf(t, s, "SELECT * FROM feed"), []string{"2", "3"}; !slices.Equal(got, want) {
		t.Fatalf("re-created view %v, want %v", got, want)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// Shared arrangements of the old views are gone with them.
	if names := storedArrangements(t, dir); len(names) != 1 || !strings.HasSuffix(names[0], "/contents") {
		t.Fatalf("stored arrangements %v, want the new view's contents only", names)
	}
}

func TestVerifyReportsDamagedView(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	chatFixture(t, s)
	res := mustExec(t, s, `VERIFY VIEWS`)
	if len(res.Rows) != 2 || res.Rows[0][5].Str() != "ok" || res.Rows[1][5].Str() != "ok" {
		t.Fatalf("VERIFY VIEWS: %v", res.Rows)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// Damage the stored contents of feed behind the engine's back.
	st, err := arrangements.OpenStore(filepath.Join(dir, "views"))
	if err != nil {
		t.Fatal(err)
	}
	names, _ := st.ArrangementNames()
	var contents string
	for _, n := range names {
		if strings.HasPrefix(n, "view:feed#") && strings.HasSuffix(n, "/contents") {
			contents = n
		}
	}
	b := st.NewBatch()
	bogus := dataflow.Row{dataflow.NewInt(99), dataflow.NewString("eve"), dataflow.NewString("forged")}
	if err := b.Arrangement(contents).Apply([]dataflow.KeyedUpdate{{Row: bogus, Diff: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	st.Close()

	e, _ = reopen(t, nil, dir, engine.Options{})
	res = mustExec(t, e.NewSession(), `VERIFY VIEW feed`)
	if len(res.Rows) != 1 || res.Rows[0][4].Int() != 1 || res.Rows[0][3].Int() != 0 || !strings.HasPrefix(res.Rows[0][5].Str(), "DIFFERS") {
		t.Fatalf("VERIFY VIEW feed on a damaged view: %v", res.Rows)
	}
	results, err := e.Verify(context.Background(), "feed")
	if err != nil {
		t.Fatal(err)
	}
	if d := results[0].Differences; len(d) != 1 || d[0].Diff != -1 || d[0].Row.String() != bogus.String() {
		t.Fatalf("differences %v", d)
	}
}

func TestViewStoreOfAnotherFormatIsRefused(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	chatFixture(t, e.NewSession())
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := arrangements.OpenStore(filepath.Join(dir, "views"))
	if err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch()
	b.SetMeta([]byte("format"), []byte("cdc-views-0"))
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = engine.Open(context.Background(), engine.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), `format "cdc-views-0"`) || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("opening a view store of another format: %v", err)
	}
}

// TestDamagedViewStore overwrites the view store's files with garbage: start-up fails with an
// error saying what to do, and doing it (moving the store away) rebuilds every view.
func TestDamagedViewStore(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	chatFixture(t, s)
	want := rowsOf(t, s, "SELECT * FROM senders")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	views := filepath.Join(dir, "views")
	damageManifest(t, views)
	_, err := engine.Open(context.Background(), engine.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "view store") || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("opening a damaged view store: %v", err)
	}
	if err := os.Rename(views, views+".damaged"); err != nil {
		t.Fatal(err)
	}
	e, logs := reopen(t, nil, dir, engine.Options{})
	if !strings.Contains(logs, "recomputed materialized view") {
		t.Fatalf("expected the views to be recomputed:\n%s", logs)
	}
	if got := rowsOf(t, e.NewSession(), "SELECT * FROM senders"); !slices.Equal(got, want) {
		t.Fatalf("rebuilt view %v, want %v", got, want)
	}
}

// TestDamagedTableStorage: damage to the tables and change log is reported, not papered over.
func TestDamagedTableStorage(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	chatFixture(t, e.NewSession())
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	damageManifest(t, filepath.Join(dir, "genji"))
	_, err := engine.Open(context.Background(), engine.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "table storage") || !strings.Contains(err.Error(), "backup") {
		t.Fatalf("opening damaged table storage: %v", err)
	}
}

// damageManifest overwrites the Pebble MANIFEST files in dir with garbage.
func damageManifest(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	damaged := false
	for _, ent := range entries {
		if strings.HasPrefix(ent.Name(), "MANIFEST") {
			if err := os.WriteFile(filepath.Join(dir, ent.Name()), []byte("not a manifest at all"), 0o644); err != nil {
				t.Fatal(err)
			}
			damaged = true
		}
	}
	if !damaged {
		t.Fatalf("no MANIFEST in %s", dir)
	}
}

// TestResumeLongGap resumes over more history than one page, with progress rows and live
// changes arriving meanwhile.
func TestResumeLongGap(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (k INT PRIMARY KEY, g INT)`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW v AS SELECT k FROM t WHERE g = 0`)
	start := e.LSN()
	const n = 700
	for i := 1; i <= n; i++ {
		mustExec(t, s, fmt.Sprintf(`INSERT INTO t VALUES (%d, %d)`, i, i%2)) // odd LSNs do not change v
	}
	sub, err := e.Subscribe(context.Background(), "v", engine.SubscribeOptions{AsOf: start, HasAsOf: true, Progress: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	live := mustExec(t, s, `INSERT INTO t VALUES (1000, 0)`)
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d NULL 1 NULL", start))
	for i := 2; i <= n; i += 2 {
		lsn := start + uint64(i)
		expectRows(t, nextRows(t, sub), fmt.Sprintf("%d 1 0 %d", lsn, i))
		expectRows(t, nextRows(t, sub), fmt.Sprintf("%d NULL 1 NULL", lsn))
	}
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d 1 0 1000", live.LSN))
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d NULL 1 NULL", live.LSN))
}

// TestViewStoreOfAnOlderLayout: a view store written by a build that kept counts without a
// merge operator is set aside at start-up and every view is rebuilt from its tables.
func TestViewStoreOfAnOlderLayout(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, "CREATE TABLE t (id INT PRIMARY KEY, g INT)")
	mustExec(t, s, "INSERT INTO t VALUES (1, 1), (2, 1), (3, 2)")
	mustExec(t, s, "CREATE MATERIALIZED VIEW per_g AS SELECT g, COUNT(*) AS n FROM t GROUP BY g")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	views := filepath.Join(dir, "views")
	if err := os.RemoveAll(views); err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(views, &pebble.Options{Logger: quietPebble{}}) // the older layout
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	e, logs := reopen(t, nil, dir, engine.Options{})
	defer e.Close()
	if !strings.Contains(logs, "older build") {
		t.Errorf("start-up log does not say the store was set aside:\n%s", logs)
	}
	s = e.NewSession()
	expectRows(t, rowsOf(t, s, "SELECT g, n FROM per_g"), "1\t2", "2\t1")
	mustExec(t, s, "INSERT INTO t VALUES (4, 2)")
	expectRows(t, rowsOf(t, s, "SELECT g, n FROM per_g"), "1\t2", "2\t2")
	verifyAll(t, e)
}

// TestViewStoreOfAnOlderFormat: a view store of the format before reduces kept their
// accumulators in unique arrangements ("cdc-views-1") is set aside at start-up and every
// view rebuilt, not read in the wrong layout.
func TestViewStoreOfAnOlderFormat(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, "CREATE TABLE t (id INT PRIMARY KEY, g INT)")
	mustExec(t, s, "INSERT INTO t VALUES (1, 1), (2, 1), (3, 2)")
	mustExec(t, s, "CREATE MATERIALIZED VIEW per_g AS SELECT g, COUNT(*) AS n FROM t GROUP BY g")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := arrangements.OpenStore(filepath.Join(dir, "views"))
	if err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch()
	b.SetMeta([]byte("format"), []byte("cdc-views-1"))
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	st.Close()
	e, logs := reopen(t, nil, dir, engine.Options{})
	defer e.Close()
	if !strings.Contains(logs, "older build") {
		t.Errorf("start-up log does not say the store was set aside:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "views.old")); err != nil {
		t.Errorf("the older store was not kept aside: %v", err)
	}
	s = e.NewSession()
	expectRows(t, rowsOf(t, s, "SELECT g, n FROM per_g"), "1\t2", "2\t1")
	mustExec(t, s, "INSERT INTO t VALUES (4, 2)")
	expectRows(t, rowsOf(t, s, "SELECT g, n FROM per_g"), "1\t2", "2\t2")
	verifyAll(t, e)
}

// quietPebble drops Pebble's log lines.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(f string, a ...any) {
	panic(fmt.Sprintf(f, a...))
}
