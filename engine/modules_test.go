package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/modules"
)

// chatProto is the specification's example module.
const chatProto = `syntax = "proto3";
option go_package = "./chatpb";
package chatpb;
service ChatService {
    rpc JoinChannel(Channel) returns (stream Message) {}
    rpc SendMessage(stream Message) returns (MessageAck) {}
}
message Channel { string name = 1; string senders_name = 2; }
message Message { string sender = 1; Channel channel = 2; string message = 3; }
message MessageAck { string status = 1; }
`

// chatMethod finds a method of the loaded chat module.
func chatMethod(t *testing.T, e *engine.Engine, name string) *modules.Method {
	t.Helper()
	_, m, ok := e.ModuleMethod("/chatpb.ChatService/" + name)
	if !ok {
		t.Fatalf("method %s not found", name)
	}
	return m
}

// send writes chat messages as SendMessage does.
func send(t *testing.T, e *engine.Engine, msgs ...[3]string) uint64 {
	t.Helper()
	m := chatMethod(t, e, "SendMessage")
	var rows []dataflow.Row
	for _, msg := range msgs {
		rows = append(rows, dataflow.Row{dataflow.NewString(msg[0]), dataflow.NewString(msg[1]), dataflow.NewString(""), dataflow.NewString(msg[2])})
	}
	res, err := e.WriteRows(context.Background(), m.Table.Name, m.Mode, []string{"sender", "channel_name", "channel_senders_name", "message"}, rows)
	if err != nil {
		t.Fatal(err)
	}
	return res.LSN
}

// nextTexts reads one batch and returns its rows' message column with their diffs.
func nextTexts(t *testing.T, sub *engine.Subscription) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cols := sub.Columns()
	at := slices.IndexFunc(cols, func(c engine.Column) bool { return c.Name == "message" })
	var out []string
	for _, r := range sub.Rows(b) {
		out = append(out, r[1].String()+" "+r[at].Str())
	}
	slices.Sort(out)
	return out
}

func TestChatModule(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, "CREATE MODULE chat FROM '"+strings.ReplaceAll(chatProto, "'", "''")+"'")
	if got := rowsOf(t, s, "SHOW MODULES"); len(got) != 1 || got[0] != "chat\tchat_message\tchatpb.ChatService" {
		t.Fatalf("SHOW MODULES = %q", got)
	}
	res := mustExec(t, s, "SHOW CREATE TABLE chat_message")
	if got := res.Rows[0][1].Str(); !strings.Contains(got, "channel_name") || !strings.Contains(got, "channel_senders_name") {
		t.Fatalf("SHOW CREATE TABLE chat_message = %s", got)
	}
	send(t, e, [3]string{"ann", "general", "hi"}, [3]string{"bob", "random", "yo"})

	join := chatMethod(t, e, "JoinChannel")
	ctx := context.Background()
	general, err := e.SubscribeMethod(ctx, join, []string{"channel_name"}, dataflow.Row{dataflow.NewString("general")}, engine.SubscribeOptions{Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	random, err := e.SubscribeMethod(ctx, join, []string{"channel_name"}, dataflow.Row{dataflow.NewString("random")}, engine.SubscribeOptions{Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := nextTexts(t, general); !slices.Equal(got, []string{"1 hi"}) {
		t.Fatalf("general snapshot = %q", got)
	}
	if got := nextTexts(t, random); !slices.Equal(got, []string{"1 yo"}) {
		t.Fatalf("random snapshot = %q", got)
	}
	send(t, e, [3]string{"cid", "random", "r1"})
	lsn := send(t, e, [3]string{"ann", "general", "g1"}, [3]string{"bob", "general", "g2"})
	if got := nextTexts(t, general); !slices.Equal(got, []string{"1 g1", "1 g2"}) {
		t.Fatalf("general batch = %q (the random channel's message must not be delivered)", got)
	}
	if got := nextTexts(t, random); !slices.Equal(got, []string{"1 r1"}) {
		t.Fatalf("random batch = %q", got)
	}
	if got := rowsOf(t, s, "SELECT count(*) FROM chat_message"); got[0] != "5" {
		t.Fatalf("count = %v", got)
	}

	// Restart: the module, its table and the feed come back; a subscriber resumes by LSN.
	s.Close()
	e, _ = reopen(t, e, dir, engine.Options{})
	send(t, e, [3]string{"dan", "general", "after restart"})
	join = chatMethod(t, e, "JoinChannel")
	resumed, err := e.SubscribeMethod(ctx, join, []string{"channel_name"}, dataflow.Row{dataflow.NewString("general")}, engine.SubscribeOptions{AsOf: lsn, HasAsOf: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := nextTexts(t, resumed); !slices.Equal(got, []string{"1 after restart"}) {
		t.Fatalf("resumed batch = %q", got)
	}

	// DROP TABLE of a module's table is refused; DROP MODULE drops it with its feed.
	s = e.NewSession()
	defer s.Close()
	if _, err := s.Exec(ctx, "DROP TABLE chat_message"); err == nil || !strings.Contains(err.Error(), "DROP MODULE") {
		t.Fatalf("DROP TABLE of a module table: %v", err)
	}
	resumed.Close()
	mustExec(t, s, "DROP MODULE chat")
	if got := rowsOf(t, s, "SHOW TABLES"); len(got) != 0 {
		t.Fatalf("tables after DROP MODULE: %q", got)
	}
	if got := rowsOf(t, s, "SHOW MATERIALIZED VIEWS"); len(got) != 0 {
		t.Fatalf("views after DROP MODULE: %q", got)
	}
}

func TestModuleUpgrade(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	create := func(verb, src string) error {
		_, err := s.Exec(context.Background(), verb+" MODULE chat FROM '"+strings.ReplaceAll(src, "'", "''")+"'")
		return err
	}
	if err := create("CREATE", chatProto); err != nil {
		t.Fatal(err)
	}
	send(t, e, [3]string{"ann", "general", "old"})
	join := chatMethod(t, e, "JoinChannel")
	sub, err := e.SubscribeMethod(context.Background(), join, []string{"channel_name"}, dataflow.Row{dataflow.NewString("general")}, engine.SubscribeOptions{Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	nextTexts(t, sub)

	if err := create("CREATE", chatProto); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("CREATE MODULE of a loaded module: %v", err)
	}
	for _, bad := range []struct{ from, to, want string }{
		{"string message = 3;", "int64 message = 3;", "chatpb.Message.message"},
		{"string message = 3;", "string text = 3;", "number 3"},
		{"string sender = 1;", "string sender = 1 [(cdc.key) = true];", "key"},
	} {
		src := strings.Replace(chatProto, bad.from, bad.to, 1)
		src = strings.Replace(src, "package chatpb;", "package chatpb; import \"cdc/options.proto\";", 1)
		err := create("CREATE OR REPLACE", src)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("replacing %q by %q: %v, want an error naming %s", bad.from, bad.to, err, bad.want)
		}
	}
	// An added field becomes a nullable column; old rows read NULL; the feed is remade.
	wider := strings.Replace(chatProto, "string message = 3;", "string message = 3; string attachment = 4;", 1)
	if err := create("CREATE OR REPLACE", wider); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sub.Next(ctx); err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Fatalf("a subscriber of the widened table's feed: %v, want its end", err)
	}
	m := chatMethod(t, e, "SendMessage")
	if _, err := e.WriteRows(context.Background(), m.Table.Name, m.Mode, []string{"sender", "channel_name", "message", "attachment"},
		[]dataflow.Row{{dataflow.NewString("bob"), dataflow.NewString("general"), dataflow.NewString("new"), dataflow.NewString("cat.png")}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ann\tgeneral\t\told\tNULL", "bob\tgeneral\tNULL\tnew\tcat.png"}
	if got := rowsOf(t, s, "SELECT * FROM chat_message"); !slices.Equal(got, want) {
		t.Fatalf("rows after widening = %q, want %q", got, want)
	}
	sub, err = e.SubscribeMethod(context.Background(), chatMethod(t, e, "JoinChannel"), []string{"channel_name"}, dataflow.Row{dataflow.NewString("general")}, engine.SubscribeOptions{Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	if cols := sub.Columns(); cols[len(cols)-1].Name != "attachment" {
		t.Fatalf("feed columns after widening: %v", cols)
	}
	sub.Close()
	s.Close()

	// The widened module and table survive a restart.
	e, _ = reopen(t, e, dir, engine.Options{})
	s = e.NewSession()
	defer s.Close()
	if got := rowsOf(t, s, "SELECT * FROM chat_message"); !slices.Equal(got, want) {
		t.Fatalf("rows after restart = %q, want %q", got, want)
	}
	res := mustExec(t, s, "SHOW CREATE MODULE chat")
	if !strings.Contains(res.Rows[0][1].Str(), "attachment = 4") {
		t.Fatalf("SHOW CREATE MODULE after restart: %s", res.Rows[0][1].Str())
	}
}
