package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/proto/enginepb"
)

// valueStr renders a change-log value: integers and text as they are, NULL as NULL, other
// kinds tagged so that a wrong kind shows.
func valueStr(v *changelogpb.Value) string {
	switch k := v.GetKind().(type) {
	case *changelogpb.Value_Null:
		return "NULL"
	case *changelogpb.Value_Int64:
		return fmt.Sprint(k.Int64)
	case *changelogpb.Value_Text:
		return k.Text
	case nil:
		return "NULL?"
	default:
		return fmt.Sprintf("%T:%v", k, v)
	}
}

// rowStr renders a row as its values joined by "|"; nil is "-".
func rowStr(r *changelogpb.Row) string {
	if r == nil {
		return "-"
	}
	var parts []string
	for _, v := range r.Values {
		parts = append(parts, valueStr(v))
	}
	return strings.Join(parts, "|")
}

// changesStr renders a batch's changes as "+1 row" / "-1 row", sorted.
func changesStr(b *enginepb.ChangeBatch) []string {
	var out []string
	for _, c := range b.Changes {
		out = append(out, fmt.Sprintf("%+d %s", c.Diff, rowStr(c.Row)))
	}
	slices.Sort(out)
	return out
}

func columnNames(cols []*enginepb.Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

// grpcExec runs statements through the Exec call and returns the last response.
func grpcExec(t *testing.T, ctx context.Context, client enginepb.EngineClient, stmts ...string) *enginepb.ExecResponse {
	t.Helper()
	var res *enginepb.ExecResponse
	for _, sql := range stmts {
		var err error
		if res, err = client.Exec(ctx, &enginepb.ExecRequest{Sql: sql}); err != nil {
			t.Fatalf("Exec %q: %v", sql, err)
		}
	}
	return res
}

// recvWithin receives the next message of a stream, failing the test if none arrives in d.
func recvWithin[T any](t *testing.T, stream grpc.ServerStreamingClient[T], d time.Duration) (*T, error) {
	t.Helper()
	type result struct {
		m   *T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(d):
		t.Fatalf("no message on the stream within %v", d)
		return nil, nil
	}
}

func TestGRPCEngineExecQuery(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	client := enginepb.NewEngineClient(f.dial(t))
	ctx := authCtx(t)

	grpcExec(t, ctx, client, "CREATE TABLE people (id BIGINT PRIMARY KEY, name VARCHAR(20), note VARCHAR(20))")
	ins := grpcExec(t, ctx, client, "INSERT INTO people VALUES (1, 'ann', NULL), (2, 'bob', 'x')")
	if ins.RowsAffected != 2 || ins.Lsn == 0 || len(ins.Columns) != 0 || len(ins.Rows) != 0 {
		t.Fatalf("Exec INSERT = %v, want 2 rows affected, an LSN and no result set", ins)
	}
	ins2 := grpcExec(t, ctx, client, "INSERT INTO people VALUES (3, 'cid', 'y')")
	if ins2.RowsAffected != 1 || ins2.Lsn <= ins.Lsn {
		t.Fatalf("second INSERT = %v, want 1 row and an LSN after %d", ins2, ins.Lsn)
	}
	upd := grpcExec(t, ctx, client, "UPDATE people SET note = 'z' WHERE id >= 2")
	if upd.RowsAffected != 2 || upd.Lsn <= ins2.Lsn {
		t.Fatalf("UPDATE = %v, want 2 rows and an LSN after %d", upd, ins2.Lsn)
	}

	// SELECT through Exec returns its result set.
	sel := grpcExec(t, ctx, client, "SELECT id, name, note FROM people ORDER BY id")
	if got := columnNames(sel.Columns); !slices.Equal(got, []string{"id", "name", "note"}) {
		t.Fatalf("Exec SELECT columns = %q", got)
	}
	if sel.Lsn != 0 || sel.RowsAffected != 0 {
		t.Fatalf("Exec SELECT = lsn %d, rows affected %d; a read commits nothing", sel.Lsn, sel.RowsAffected)
	}
	var rows []string
	for _, r := range sel.Rows {
		rows = append(rows, rowStr(r))
	}
	if want := []string{"1|ann|NULL", "2|bob|z", "3|cid|z"}; !slices.Equal(rows, want) {
		t.Fatalf("Exec SELECT rows = %q, want %q", rows, want)
	}

	// Query returns typed values.
	q, err := client.Query(ctx, &enginepb.QueryRequest{Sql: "SELECT id, name, note FROM people WHERE id = 1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Columns) != 3 || q.Columns[0].Type == "" || len(q.Rows) != 1 || len(q.Rows[0].Values) != 3 {
		t.Fatalf("Query = %v", q)
	}
	vals := q.Rows[0].Values
	if v, ok := vals[0].Kind.(*changelogpb.Value_Int64); !ok || v.Int64 != 1 {
		t.Errorf("id = %v, want int64 1", vals[0])
	}
	if v, ok := vals[1].Kind.(*changelogpb.Value_Text); !ok || v.Text != "ann" {
		t.Errorf("name = %v, want text ann", vals[1])
	}
	if v, ok := vals[2].Kind.(*changelogpb.Value_Null); !ok || !v.Null {
		t.Errorf("note = %v, want NULL", vals[2])
	}
	// SHOW is a row statement too.
	if q, err := client.Query(ctx, &enginepb.QueryRequest{Sql: "SHOW TABLES"}); err != nil || len(q.Rows) == 0 {
		t.Errorf("Query SHOW TABLES = %v, %v", q, err)
	}

	// Errors: what the client can do about them.
	for _, c := range []struct {
		sql  string
		code codes.Code
	}{
		{"SELEC id FROM people", codes.InvalidArgument},
		{"SELECT * FROM nope", codes.NotFound},
		{"INSERT INTO nope VALUES (1)", codes.NotFound},
		{"INSERT INTO people VALUES (1, 'dup', NULL)", codes.AlreadyExists},
		{"CREATE TABLE people (id BIGINT)", codes.AlreadyExists},
	} {
		if _, err := client.Exec(ctx, &enginepb.ExecRequest{Sql: c.sql}); status.Code(err) != c.code {
			t.Errorf("Exec %q: %v, want %v", c.sql, err, c.code)
		}
		// Query refuses writes before they run, whatever they would have done.
		want := c.code
		if !strings.HasPrefix(c.sql, "SELEC") {
			want = codes.InvalidArgument
		}
		if _, err := client.Query(ctx, &enginepb.QueryRequest{Sql: c.sql}); status.Code(err) != want {
			t.Errorf("Query %q: %v, want %v", c.sql, err, want)
		}
	}
	// Query of a statement without rows.
	if _, err := client.Query(ctx, &enginepb.QueryRequest{Sql: "CREATE TABLE other (id BIGINT PRIMARY KEY)"}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "call Exec") {
		t.Errorf("Query of CREATE TABLE: %v, want InvalidArgument", err)
	}

	// TAIL streams: Exec refuses it, and the subscription it opened is closed.
	grpcExec(t, ctx, client, "CREATE MATERIALIZED VIEW v AS SELECT name FROM people")
	for range 3 {
		if _, err := client.Exec(ctx, &enginepb.ExecRequest{Sql: "TAIL v"}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "Subscribe") {
			t.Fatalf("Exec TAIL: %v, want InvalidArgument", err)
		}
	}
	if _, err := client.Query(ctx, &enginepb.QueryRequest{Sql: "TAIL v"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Query TAIL: %v, want InvalidArgument", err)
	}
	// The server is still usable after the errors.
	if res := grpcExec(t, ctx, client, "SELECT count(*) FROM v"); len(res.Rows) != 1 || rowStr(res.Rows[0]) != "3" {
		t.Fatalf("count of v = %v", res.Rows)
	}
}

// TestGRPCEngineQueryNoRowsWrites: Query refuses a write with InvalidArgument before it runs.
func TestGRPCEngineQueryNoRowsWrites(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	client := enginepb.NewEngineClient(f.dial(t))
	ctx := authCtx(t)
	grpcExec(t, ctx, client, "CREATE TABLE t (id BIGINT PRIMARY KEY)")
	_, err := client.Query(ctx, &enginepb.QueryRequest{Sql: "INSERT INTO t VALUES (1)"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Query of INSERT: %v, want InvalidArgument", err)
	}
	res := grpcExec(t, ctx, client, "SELECT count(*) FROM t")
	if got := rowStr(res.Rows[0]); got != "0" {
		t.Fatalf("Query of an INSERT failed with InvalidArgument but committed the write: count(*) = %s", got)
	}
}

func TestGRPCEngineSubscribe(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	client := enginepb.NewEngineClient(f.dial(t))
	ctx := authCtx(t)
	const wait = 10 * time.Second

	grpcExec(t, ctx, client,
		"CREATE TABLE acct (id BIGINT PRIMARY KEY, owner VARCHAR(20), balance BIGINT)",
		"INSERT INTO acct VALUES (1, 'ann', 10), (2, 'bob', 20)",
		"CREATE TABLE other (id BIGINT PRIMARY KEY)",
		"CREATE MATERIALIZED VIEW rich AS SELECT id, owner, balance FROM acct WHERE balance >= 10",
	)

	plain, err := client.Subscribe(ctx, &enginepb.SubscribeRequest{View: "acct"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recvWithin(t, plain, wait); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "is a table") {
		t.Fatalf("Subscribe to a table: %v, want FailedPrecondition saying it is a table", err)
	}

	stream, err := client.Subscribe(ctx, &enginepb.SubscribeRequest{View: "rich", Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := recvWithin(t, stream, wait)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Snapshot || snap.Progress || snap.Lsn == 0 {
		t.Fatalf("first batch = %v, want the snapshot", snap)
	}
	if got := columnNames(snap.Columns); !slices.Equal(got, []string{"id", "owner", "balance"}) {
		t.Fatalf("snapshot columns = %q (the lsn/diff columns must not show)", got)
	}
	if got, want := changesStr(snap), []string{"+1 1|ann|10", "+1 2|bob|20"}; !slices.Equal(got, want) {
		t.Fatalf("snapshot = %q, want %q", got, want)
	}

	type step struct {
		sql  string
		want []string
	}
	steps := []step{
		{"INSERT INTO acct VALUES (3, 'cid', 30), (4, 'dan', 40)", []string{"+1 3|cid|30", "+1 4|dan|40"}},
		{"UPDATE acct SET balance = balance + 1 WHERE id IN (1, 3)", []string{"+1 1|ann|11", "+1 3|cid|31", "-1 1|ann|10", "-1 3|cid|30"}},
		{"INSERT INTO other VALUES (1)", nil},                                 // the view does not change: no batch
		{"UPDATE acct SET balance = 5 WHERE id = 2", []string{"-1 2|bob|20"}}, // leaves the view
		{"DELETE FROM acct WHERE id = 4", []string{"-1 4|dan|40"}},
	}
	var lsns []uint64 // the LSN of each step's batch (0 when none)
	last := snap.Lsn
	for _, s := range steps {
		res := grpcExec(t, ctx, client, s.sql)
		if res.Lsn <= last {
			t.Fatalf("%s: lsn %d after %d", s.sql, res.Lsn, last)
		}
		last = res.Lsn
		if s.want == nil {
			lsns = append(lsns, 0)
			continue
		}
		b, err := recvWithin(t, stream, wait)
		if err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
		if b.Lsn != res.Lsn || b.Snapshot || b.Progress || len(b.Columns) != 0 {
			t.Fatalf("%s: batch lsn %d snapshot %v progress %v columns %v, want lsn %d and changes only", s.sql, b.Lsn, b.Snapshot, b.Progress, b.Columns, res.Lsn)
		}
		if got := changesStr(b); !slices.Equal(got, s.want) {
			t.Fatalf("%s: changes %q, want %q", s.sql, got, s.want)
		}
		lsns = append(lsns, b.Lsn)
	}

	// Resume after the first INSERT: exactly the later batches, the first with columns.
	asOf := lsns[0]
	resumed, err := client.Subscribe(ctx, &enginepb.SubscribeRequest{View: "rich", AsOf: &asOf})
	if err != nil {
		t.Fatal(err)
	}
	first := true
	for i, s := range steps[1:] {
		if s.want == nil {
			continue
		}
		b, err := recvWithin(t, resumed, wait)
		if err != nil {
			t.Fatal(err)
		}
		if b.Lsn != lsns[i+1] || b.Snapshot || b.Progress {
			t.Fatalf("resumed batch = %v, want lsn %d", b, lsns[i+1])
		}
		if got := changesStr(b); !slices.Equal(got, s.want) {
			t.Fatalf("resumed batch at %d: %q, want %q", b.Lsn, got, s.want)
		}
		if got := columnNames(b.Columns); first != (len(got) == 3) {
			t.Fatalf("resumed batch at %d: columns %q (first batch: %v)", b.Lsn, got, first)
		}
		first = false
	}
	// Then the live changes follow, with nothing repeated; both streams get them.
	live := grpcExec(t, ctx, client, "INSERT INTO acct VALUES (5, 'eve', 50)")
	for _, s := range []enginepb.Engine_SubscribeClient{resumed, stream} {
		b, err := recvWithin(t, s, wait)
		if err != nil {
			t.Fatal(err)
		}
		if b.Lsn != live.Lsn || !slices.Equal(changesStr(b), []string{"+1 5|eve|50"}) {
			t.Fatalf("live batch after the catch-up = %v, want the INSERT at %d", b, live.Lsn)
		}
	}

	// Resume with a snapshot at as_of: the contents then, then the changes after.
	snapAsOf := lsns[1]
	old, err := client.Subscribe(ctx, &enginepb.SubscribeRequest{View: "rich", AsOf: &snapAsOf, Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := recvWithin(t, old, wait)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+1 1|ann|11", "+1 2|bob|20", "+1 3|cid|31", "+1 4|dan|40"}
	if !b.Snapshot || b.Lsn != snapAsOf || len(b.Columns) != 3 || !slices.Equal(changesStr(b), want) {
		t.Fatalf("snapshot as of %d = %v, want %q", snapAsOf, b, want)
	}
	if b, err := recvWithin(t, old, wait); err != nil || b.Lsn != lsns[3] || b.Snapshot || len(b.Columns) != 0 {
		t.Fatalf("after the old snapshot: %v, %v; want the batch at %d", b, err, lsns[3])
	}

	// An as_of beyond the head is refused.
	future := last + 1000
	bad, err := client.Subscribe(ctx, &enginepb.SubscribeRequest{View: "rich", AsOf: &future})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recvWithin(t, bad, wait); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Subscribe as of %d beyond the head: %v, want InvalidArgument", future, err)
	}

	// Progress: a batch after every transaction, also those that do not change the view.
	prog, err := client.Subscribe(ctx, &enginepb.SubscribeRequest{View: "rich", Progress: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := recvWithin(t, prog, wait)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Progress || p.Lsn != live.Lsn || len(p.Changes) != 0 {
		t.Fatalf("first progress batch = %v, want progress at %d", p, live.Lsn)
	}
	if got := columnNames(p.Columns); !slices.Equal(got, []string{"id", "owner", "balance"}) {
		t.Fatalf("progress stream columns = %q (progressed must not show)", got)
	}
	unrelated := grpcExec(t, ctx, client, "INSERT INTO other VALUES (2)")
	if p, err := recvWithin(t, prog, wait); err != nil || !p.Progress || p.Lsn != unrelated.Lsn || len(p.Changes) != 0 || len(p.Columns) != 0 {
		t.Fatalf("progress after an unrelated write = %v, %v; want progress at %d", p, err, unrelated.Lsn)
	}
	related := grpcExec(t, ctx, client, "DELETE FROM acct WHERE id = 5")
	if c, err := recvWithin(t, prog, wait); err != nil || c.Progress || c.Lsn != related.Lsn || !slices.Equal(changesStr(c), []string{"-1 5|eve|50"}) {
		t.Fatalf("change on the progress stream = %v, %v", c, err)
	}
	if p, err := recvWithin(t, prog, wait); err != nil || !p.Progress || p.Lsn != related.Lsn {
		t.Fatalf("progress after the change = %v, %v; want progress at %d", p, err, related.Lsn)
	}
}

// TestGRPCEngineSubscribeUnknownView checks the error of a view that does not exist.
func TestGRPCEngineSubscribeUnknownView(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	client := enginepb.NewEngineClient(f.dial(t))
	ctx := authCtx(t)
	s, err := client.Subscribe(ctx, &enginepb.SubscribeRequest{View: "nope", Snapshot: true})
	if err == nil {
		_, err = recvWithin(t, s, 10*time.Second)
	}
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Subscribe to an unknown view: %v, want NotFound naming it", err)
	}
}

func TestGRPCEngineChangeLog(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	client := enginepb.NewEngineClient(f.dial(t))
	ctx := authCtx(t)
	const wait = 10 * time.Second

	grpcExec(t, ctx, client, "CREATE TABLE kv (k BIGINT PRIMARY KEY, v VARCHAR(10))")
	ins := grpcExec(t, ctx, client, "INSERT INTO kv VALUES (1, 'a'), (2, 'b')")
	upd := grpcExec(t, ctx, client, "UPDATE kv SET v = 'bb' WHERE k = 2")
	del := grpcExec(t, ctx, client, "DELETE FROM kv WHERE k = 1")

	events := func(tx *changelogpb.Transaction) []string {
		var out []string
		for _, ev := range tx.Events {
			if ev.Lsn != tx.Lsn {
				t.Errorf("event lsn %d in transaction %d", ev.Lsn, tx.Lsn)
			}
			out = append(out, fmt.Sprintf("%s %s %s -> %s", ev.Table, ev.Op, rowStr(ev.Before), rowStr(ev.After)))
		}
		return out
	}
	want := map[uint64][]string{
		ins.Lsn: {"kv INSERT - -> 1|a", "kv INSERT - -> 2|b"},
		upd.Lsn: {"kv UPDATE 2|b -> 2|bb"},
		del.Lsn: {"kv DELETE 1|a -> -"},
	}

	stream, err := client.ChangeLog(ctx, &enginepb.ChangeLogRequest{After: 0})
	if err != nil {
		t.Fatal(err)
	}
	var seen []uint64
	var prev uint64
	for prev < del.Lsn {
		tx, err := recvWithin(t, stream, wait)
		if err != nil {
			t.Fatal(err)
		}
		if tx.Lsn <= prev {
			t.Fatalf("transaction %d after %d: not in LSN order", tx.Lsn, prev)
		}
		prev = tx.Lsn
		seen = append(seen, tx.Lsn)
		if w, ok := want[tx.Lsn]; ok {
			if got := events(tx); !slices.Equal(got, w) {
				t.Fatalf("transaction %d = %q, want %q", tx.Lsn, got, w)
			}
			if tx.CommitTimeMicros == 0 {
				t.Errorf("transaction %d has no commit time", tx.Lsn)
			}
			delete(want, tx.Lsn)
		}
	}
	if prev != del.Lsn || len(want) != 0 {
		t.Fatalf("change log ended at %d, missing %v", prev, want)
	}

	// It follows: a write made now arrives on the open stream.
	later := grpcExec(t, ctx, client, "INSERT INTO kv VALUES (3, 'c')")
	tx, err := recvWithin(t, stream, wait)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Lsn != later.Lsn || !slices.Equal(events(tx), []string{"kv INSERT - -> 3|c"}) {
		t.Fatalf("followed transaction = %d %q, want %d", tx.Lsn, events(tx), later.Lsn)
	}

	// after skips what it names and everything before it.
	from, err := client.ChangeLog(ctx, &enginepb.ChangeLogRequest{After: upd.Lsn})
	if err != nil {
		t.Fatal(err)
	}
	next := seen[slices.Index(seen, upd.Lsn)+1]
	tx, err = recvWithin(t, from, wait)
	if err != nil || tx.Lsn != next {
		t.Fatalf("ChangeLog after %d: first %v, %v; want %d", upd.Lsn, tx, err, next)
	}
	for tx.Lsn < later.Lsn {
		if tx, err = recvWithin(t, from, wait); err != nil {
			t.Fatal(err)
		}
	}
	if tx.Lsn != later.Lsn {
		t.Fatalf("ChangeLog after %d went past %d to %d", upd.Lsn, later.Lsn, tx.Lsn)
	}
}

func TestGRPCEngineModules(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	conn := f.dial(t)
	client := enginepb.NewEngineClient(conn)
	ctx := authCtx(t)

	if res := loadChat(t, conn); res.Replaced {
		t.Fatalf("first LoadModule replaced = true")
	}
	c := chatClient{conn: conn, fd: chatDescriptors(t)}
	if _, err := c.send(ctx, c.chatMessage("ann", "general", "hello")); err != nil {
		t.Fatal(err)
	}

	// An added field: the module is replaced and the table gets a column.
	added := strings.Replace(chatProto, "    string message = 3;\n", "    string message = 3;\n    string attachment = 4;\n", 1)
	if added == chatProto {
		t.Fatal("the chat .proto changed: cannot add the field")
	}
	res, err := client.LoadModule(ctx, &enginepb.LoadModuleRequest{Name: "chat", Files: map[string]string{"chat.proto": added}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Replaced || len(res.Tables) != 1 || !strings.Contains(res.Tables[0].CreateSql, "attachment") ||
		!slices.Equal(res.Services, []string{"chatpb.ChatService"}) {
		t.Fatalf("LoadModule with an added field = %v", res)
	}
	show := grpcExec(t, ctx, client, "SHOW CREATE TABLE chat_message")
	if len(show.Rows) != 1 || !strings.Contains(rowStr(show.Rows[0]), "\tattachment TEXT") {
		t.Fatalf("SHOW CREATE TABLE chat_message = %v, want the attachment column", show.Rows)
	}
	// The old row is kept, with NULL for the new column.
	rows := grpcExec(t, ctx, client, "SELECT sender, message, attachment FROM chat_message")
	if len(rows.Rows) != 1 || rowStr(rows.Rows[0]) != "ann|hello|NULL" {
		t.Fatalf("chat_message after the replace = %v", rows.Rows)
	}

	// An incompatible change is refused, naming the field, and changes nothing.
	changed := strings.Replace(added, "string message = 3;", "int64 message = 3;", 1)
	_, err = client.LoadModule(ctx, &enginepb.LoadModuleRequest{Name: "chat", Files: map[string]string{"chat.proto": changed}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "chatpb.Message.message") {
		t.Fatalf("LoadModule changing a field's type: %v, want InvalidArgument naming the field", err)
	}
	if show2 := grpcExec(t, ctx, client, "SHOW CREATE TABLE chat_message"); rowStr(show2.Rows[0]) != rowStr(show.Rows[0]) {
		t.Fatalf("a refused LoadModule changed the table: %s", rowStr(show2.Rows[0]))
	}
	// No files at all.
	if _, err := client.LoadModule(ctx, &enginepb.LoadModuleRequest{Name: "empty"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("LoadModule without files: %v", err)
	}

	list, err := client.ListModules(ctx, &enginepb.ListModulesRequest{})
	if err != nil || len(list.Modules) != 1 || list.Modules[0].Name != "chat" ||
		!slices.Equal(list.Modules[0].Tables, []string{"chat_message"}) || !slices.Equal(list.Modules[0].Services, []string{"chatpb.ChatService"}) {
		t.Fatalf("ListModules = %v, %v", list, err)
	}

	if _, err := client.DropModule(ctx, &enginepb.DropModuleRequest{Name: "chat"}); err != nil {
		t.Fatal(err)
	}
	if list, err := client.ListModules(ctx, &enginepb.ListModulesRequest{}); err != nil || len(list.Modules) != 0 {
		t.Fatalf("ListModules after DropModule = %v, %v", list, err)
	}
	if _, err := client.Exec(ctx, &enginepb.ExecRequest{Sql: "SELECT * FROM chat_message"}); status.Code(err) != codes.NotFound {
		t.Fatalf("the dropped module's table: %v, want NotFound", err)
	}
	if _, err := c.send(ctx, c.chatMessage("ann", "general", "gone")); status.Code(err) != codes.Unimplemented {
		t.Fatalf("SendMessage after DropModule: %v, want Unimplemented", err)
	}
	if _, err := client.DropModule(ctx, &enginepb.DropModuleRequest{Name: "chat"}); status.Code(err) != codes.NotFound {
		t.Fatalf("DropModule of an unknown module: %v, want NotFound", err)
	}
	if _, err := client.DropModule(ctx, &enginepb.DropModuleRequest{Name: "chat", IfExists: true}); err != nil {
		t.Fatalf("DropModule if_exists of an unknown module: %v", err)
	}
}

func TestGRPCEngineShutdownEndsStreams(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	client := enginepb.NewEngineClient(f.dial(t))
	ctx := authCtx(t)
	const wait = 10 * time.Second
	grpcExec(t, ctx, client,
		"CREATE TABLE t (id BIGINT PRIMARY KEY)",
		"INSERT INTO t VALUES (1)",
		"CREATE MATERIALIZED VIEW v AS SELECT id FROM t",
	)
	sub, err := client.Subscribe(ctx, &enginepb.SubscribeRequest{View: "v", Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := recvWithin(t, sub, wait); err != nil || !b.Snapshot {
		t.Fatalf("snapshot = %v, %v", b, err)
	}
	log, err := client.ChangeLog(ctx, &enginepb.ChangeLogRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		tx, err := recvWithin(t, log, wait)
		if err != nil {
			t.Fatal(err)
		}
		if tx.Lsn == f.e.LSN() {
			break
		}
	}

	stopped := make(chan struct{})
	go func() {
		f.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("the server did not stop with a Subscribe and a ChangeLog stream open")
	}
	if _, err := recvWithin(t, sub, wait); status.Code(err) != codes.Unavailable {
		t.Fatalf("Subscribe stream cut by shutdown ended with %v, want UNAVAILABLE", err)
	}
	if _, err := recvWithin(t, log, wait); status.Code(err) != codes.Unavailable {
		t.Fatalf("ChangeLog stream cut by shutdown ended with %v, want UNAVAILABLE", err)
	}
}
