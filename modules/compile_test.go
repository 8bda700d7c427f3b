package modules

import (
	"strings"
	"testing"

	"vitess.io/vitess/go/vt/sqlparser"
)

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

func compile(t *testing.T, src string) *Module {
	t.Helper()
	m, err := Compile("chat", map[string]string{"chat.proto": src}, "chat.proto")
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

func compileErr(src string) error {
	_, err := Compile("chat", map[string]string{"chat.proto": src}, "chat.proto")
	return err
}

func columnsString(t *Table) string {
	parts := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		parts[i] = c.Name + " " + c.SQLType + " " + c.Numbers
	}
	return strings.Join(parts, ", ")
}

func pathNames(p Param) string {
	return fieldNames(p.Path)
}

func method(t *testing.T, m *Module, name string) *Method {
	t.Helper()
	for _, s := range m.Services {
		for _, x := range s.Methods {
			if string(x.Desc.Name()) == name {
				return x
			}
		}
	}
	t.Fatalf("no method %s", name)
	return nil
}

func checkSQL(t *testing.T, sql string) {
	t.Helper()
	if _, err := sqlparser.NewTestParser().Parse(sql); err != nil {
		t.Errorf("vitess cannot parse %q: %v", sql, err)
	}
}

func TestChatExample(t *testing.T) {
	m := compile(t, chatProto)
	if m.Name != "chat" || m.Main != "chat.proto" || len(m.Own) != 1 || m.Own[0].Path() != "chat.proto" {
		t.Fatalf("module = %+v", m)
	}
	if _, err := m.Registry.FindFileByPath(OptionsFile); err != nil {
		// Not imported by chat.proto: the registry holds only what the module uses.
		t.Logf("registry without %s: %v", OptionsFile, err)
	}
	if _, err := m.Registry.FindDescriptorByName("chatpb.ChatService"); err != nil {
		t.Fatalf("registry: %v", err)
	}
	if len(m.Tables) != 1 {
		t.Fatalf("tables = %d", len(m.Tables))
	}
	tb := m.Tables[0]
	if tb.Name != "chat_message" || tb.Message.FullName() != "chatpb.Message" || len(tb.Key) != 0 {
		t.Fatalf("table = %s %s key %v", tb.Name, tb.Message.FullName(), tb.Key)
	}
	if got, want := columnsString(tb), "sender TEXT 1, channel_name TEXT 2.1, channel_senders_name TEXT 2.2, message TEXT 3"; got != want {
		t.Fatalf("columns = %s, want %s", got, want)
	}
	want := "CREATE TABLE `chat_message` (`sender` TEXT, `channel_name` TEXT, `channel_senders_name` TEXT, `message` TEXT)"
	if got := tb.CreateSQL(); got != want {
		t.Fatalf("CreateSQL = %s", got)
	}
	checkSQL(t, tb.CreateSQL())

	if len(m.Services) != 1 || len(m.Services[0].Methods) != 2 {
		t.Fatalf("services = %+v", m.Services)
	}
	send := method(t, m, "SendMessage")
	if send.Kind != Write || send.Table != tb || send.Mode != Insert || send.Path != "/chatpb.ChatService/SendMessage" {
		t.Fatalf("SendMessage = %+v", send)
	}
	join := method(t, m, "JoinChannel")
	if join.Kind != Subscribe || join.View != "" || join.Row != tb || join.Changes || join.Path != "/chatpb.ChatService/JoinChannel" {
		t.Fatalf("JoinChannel = %+v", join)
	}
	if len(join.Params) != 2 || join.Params[0].Column != "channel_name" || pathNames(join.Params[0]) != "name" ||
		join.Params[1].Column != "channel_senders_name" || pathNames(join.Params[1]) != "senders_name" {
		t.Fatalf("JoinChannel params = %+v", join.Params)
	}
}

const optionsProto = `syntax = "proto3";
package shop;
import "cdc/options.proto";
import "google/protobuf/empty.proto";
service Shop {
  rpc Put(Item) returns (Ack) { option (cdc.write) = UPSERT; }
  rpc Remove(Item) returns (Ack) { option (cdc.write) = DELETE; }
  rpc Add(stream Item) returns (Ack) { option (cdc.write) = INSERT; }
  rpc Log(Event) returns (google.protobuf.Empty);
  rpc Totals(Filter) returns (stream Total) { option (cdc.view) = "shop_totals"; }
  rpc Items(google.protobuf.Empty) returns (stream ItemChange);
  rpc ByOwner(Owner) returns (stream Item);
}
message Owner { string region = 1; int64 shelf = 2; }
message Item {
  option (cdc.table) = "Items";
  string sku = 1 [(cdc.key) = true];
  Owner owner = 2;
  int64 qty = 3;
}
message Event { string what = 1; Owner where = 2; }
message Ack { string status = 1; uint64 lsn = 2; int32 rows = 3; string other = 4; }
message Filter { string region = 1; Inner inner = 2; }
message Inner { int32 level = 1; }
message Total { string region = 1; int64 total = 2; }
message ItemChange { uint64 lsn = 1; int64 diff = 2; Item item = 3; }
`

func TestOptions(t *testing.T) {
	m, err := Compile("shop", map[string]string{"shop.proto": optionsProto}, "shop.proto")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tables) != 2 {
		t.Fatalf("tables = %d", len(m.Tables))
	}
	items, events := m.Tables[0], m.Tables[1]
	// table option (lower-cased) and default name
	if items.Name != "items" || events.Name != "shop_event" {
		t.Fatalf("names = %s, %s", items.Name, events.Name)
	}
	// key option
	if len(items.Key) != 1 || items.Columns[items.Key[0]].Name != "sku" || len(events.Key) != 0 {
		t.Fatalf("keys = %v %v", items.Key, events.Key)
	}
	want := "CREATE TABLE `items` (`sku` TEXT NOT NULL, `owner_region` TEXT, `owner_shelf` BIGINT, `qty` BIGINT, PRIMARY KEY (`sku`))"
	if got := items.CreateSQL(); got != want {
		t.Fatalf("CreateSQL = %s", got)
	}
	checkSQL(t, items.CreateSQL())
	checkSQL(t, events.CreateSQL())
	// write option
	for name, mode := range map[string]WriteMode{"Put": Upsert, "Remove": Delete, "Add": Insert, "Log": Insert} {
		if x := method(t, m, name); x.Kind != Write || x.Mode != mode {
			t.Errorf("%s: kind %v mode %v, want Write %v", name, x.Kind, x.Mode, mode)
		}
	}
	if method(t, m, "Put").Table != items || method(t, m, "Log").Table != events {
		t.Errorf("write tables")
	}
	// view option
	tot := method(t, m, "Totals")
	if tot.Kind != Subscribe || tot.View != "shop_totals" || tot.Changes || tot.Row == nil || tot.Row.Message.FullName() != "shop.Total" {
		t.Fatalf("Totals = %+v", tot)
	}
	if got := columnsString(tot.Row); got != "region TEXT 1, total BIGINT 2" {
		t.Fatalf("Totals row = %s", got)
	}
	if len(tot.Params) != 2 || tot.Params[0].Column != "region" || tot.Params[1].Column != "inner_level" || pathNames(tot.Params[1]) != "inner.level" {
		t.Fatalf("Totals params = %+v", tot.Params)
	}
	// change wrapper
	ch := method(t, m, "Items")
	if !ch.Changes || ch.Row != items || ch.View != "" || len(ch.Params) != 0 {
		t.Fatalf("Items = %+v", ch)
	}
	// params by column name
	by := method(t, m, "ByOwner")
	if by.Changes || by.Row != items || len(by.Params) != 2 || by.Params[0].Column != "owner_region" || by.Params[1].Column != "owner_shelf" {
		t.Fatalf("ByOwner = %+v", by.Params)
	}
}

func TestOptionsOnlyWithImport(t *testing.T) {
	// Without the import, the option names do not resolve: a compile error.
	err := compileErr(`syntax = "proto3"; package p; message M { string a = 1 [(cdc.key) = true]; }`)
	if err == nil || !strings.Contains(err.Error(), "cdc.key") {
		t.Fatalf("err = %v", err)
	}
}

func TestChangeWrapperByName(t *testing.T) {
	src := `syntax = "proto3"; package p;
service S {
  rpc W(Row) returns (Row);
  rpc A(Row) returns (stream Change);
  rpc B(Row) returns (stream NotChange);
}
message Row { string a = 1; int32 b = 2; }
message Change { int64 diff = 2; uint64 lsn = 1; Row row = 3; }
message NotChange { uint64 lsn = 1; int32 diff = 2; Row row = 3; }
`
	err := compileErr(src)
	// NotChange is not a change wrapper (diff is int32) and not a table.
	if err == nil || !strings.Contains(err.Error(), "method p.S.B: message p.NotChange is not stored by any write method") {
		t.Fatalf("err = %v", err)
	}
	src = strings.Replace(src, "  rpc B(Row) returns (stream NotChange);\n", "", 1)
	m := compile(t, src)
	a := method(t, m, "A")
	if !a.Changes || a.Row != m.Tables[0] {
		t.Fatalf("A = %+v", a)
	}
	// Request Row: its leaves match the row's columns by name.
	if len(a.Params) != 2 || a.Params[0].Column != "a" || a.Params[1].Column != "b" {
		t.Fatalf("A params = %+v", a.Params)
	}
}

func TestSyntaxError(t *testing.T) {
	src := "syntax = \"proto3\";\npackage p;\nmessage M {\n  string a = ;\n}\n"
	err := compileErr(src)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.HasPrefix(err.Error(), "compile module chat: chat.proto:4:14: syntax error") {
		t.Fatalf("err = %v", err)
	}
}

func TestErrors(t *testing.T) {
	const head = "syntax = \"proto3\";\npackage p;\nimport \"cdc/options.proto\";\nimport \"google/protobuf/empty.proto\";\n"
	cases := []struct {
		name, src, want string
	}{
		{"bidi", `service S { rpc X(M) returns (stream M); rpc Y(stream M) returns (stream M); } message M { string a = 1; }`,
			"method p.S.Y: bidirectional streaming is not supported"},
		{"recursive", `service S { rpc W(A) returns (A); } message A { B b = 1; } message B { A a = 1; }`,
			"message p.A is recursive through field b.a: a table cannot flatten it"},
		{"self recursive", `service S { rpc W(A) returns (A); } message A { string x = 1; A next = 2; }`,
			"message p.A is recursive through field next: a table cannot flatten it"},
		{"subscribe not stored", `service S { rpc X(M) returns (stream M); } message M { string a = 1; }`,
			"method p.S.X: message p.M is not stored by any write method of the module and the method has no (cdc.view)"},
		{"write empty", `service S { rpc W(google.protobuf.Empty) returns (google.protobuf.Empty); }`,
			"method p.S.W: request message google.protobuf.Empty has no fields"},
		{"write own empty", `service S { rpc W(E) returns (E); } message E {}`,
			"method p.S.W: request message p.E has no fields"},
		{"duplicate table", `service S { rpc W(A) returns (A); rpc V(B) returns (B); } message A { option (cdc.table) = "t"; string a = 1; } message B { option (cdc.table) = "T"; string b = 1; }`,
			"message p.B: table name t is already used by message p.A"},
		{"key repeated", `service S { rpc W(A) returns (A); } message A { repeated string a = 1 [(cdc.key) = true]; }`,
			"field p.A.a: (cdc.key) cannot mark a repeated or map field"},
		{"key map", `service S { rpc W(A) returns (A); } message A { map<string, int32> a = 1 [(cdc.key) = true]; }`,
			"field p.A.a: (cdc.key) cannot mark a repeated or map field"},
		{"key message", `service S { rpc W(A) returns (A); } message A { B b = 1 [(cdc.key) = true]; } message B { string x = 1; }`,
			"field p.A.b: (cdc.key) cannot mark a message field"},
		{"duplicate column", `service S { rpc W(A) returns (A); } message A { string b_x = 1; B b = 2; } message B { string x = 1; }`,
			"message p.A: fields b_x and b.x both flatten to column b_x"},
		{"upsert without key", `service S { rpc W(A) returns (A) { option (cdc.write) = UPSERT; } } message A { string a = 1; }`,
			"method p.S.W: (cdc.write) = UPSERT needs a key"},
		{"view on write", `service S { rpc W(A) returns (A) { option (cdc.view) = "v"; } } message A { string a = 1; }`,
			"method p.S.W: (cdc.view) applies only to server-streaming methods"},
		{"param without column", `service S { rpc W(A) returns (A); rpc X(F) returns (stream A); } message A { string a = 1; } message F { string zzz = 1; }`,
			"method p.S.X: request field p.F.zzz (zzz) matches no column of table chat_a"},
		{"param of another kind", `service S { rpc W(A) returns (A); rpc X(F) returns (stream A); } message A { string a = 1; } message F { int32 a = 1; }`,
			"method p.S.X: request field p.F.a is INT but column a of table chat_a is TEXT"},
		{"bad table option", `service S { rpc W(A) returns (A); } message A { option (cdc.table) = "a-b"; string a = 1; }`,
			"message p.A: (cdc.table) = \"a-b\" is not an SQL identifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := compileErr(head + c.src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "compile module chat: ") {
				t.Fatalf("err = %v: no module prefix", err)
			}
		})
	}
}

func TestModuleName(t *testing.T) {
	for _, name := range []string{"", "1abc", "a-b", "a b", strings.Repeat("x", 49), "é"} {
		if _, err := Compile(name, map[string]string{"chat.proto": chatProto}, "chat.proto"); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	for _, name := range []string{"a", "_x9", strings.Repeat("x", 48)} {
		if _, err := Compile(name, map[string]string{"chat.proto": chatProto}, "chat.proto"); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if _, err := Compile("chat", map[string]string{"chat.proto": chatProto}, "other.proto"); err == nil {
		t.Errorf("missing main accepted")
	}
}

func TestMultipleFiles(t *testing.T) {
	files := map[string]string{
		"main.proto": `syntax = "proto3"; package p; import "types.proto";
service Main { rpc Put(Row) returns (Ack); }`,
		"types.proto": `syntax = "proto3"; package p;
message Row { string a = 1; }
message Ack { string status = 1; }
service Extra { rpc Rows(Row) returns (stream Row); }`,
	}
	m, err := Compile("multi", files, "main.proto")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Own) != 2 || m.Own[0].Path() != "main.proto" || m.Own[1].Path() != "types.proto" {
		t.Fatalf("own = %v", m.Own)
	}
	if len(m.Services) != 2 || m.Services[0].Desc.Name() != "Main" || m.Services[1].Desc.Name() != "Extra" {
		t.Fatalf("services = %v", m.Services)
	}
	if x := method(t, m, "Rows"); x.Row != m.Tables[0] || len(x.Params) != 1 {
		t.Fatalf("Rows = %+v", x)
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"ChatMessage": "chat_message", "Message": "message", "HTTPRequest": "http_request",
		"already_snake": "already_snake", "V2Item": "v2_item", "ItemV2": "item_v2", "ABC": "abc",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestGarbageNeverPanics(t *testing.T) {
	inputs := []string{
		"",
		"syntax = \"proto3\"; message {",
		"\x00\x01\x02\xff\xfe garbage \x80",
		"syntax = \"proto2\"; package p; message M { required group G = 1 { optional int32 x = 2; } } service S { rpc W(M) returns (M); }",
		"syntax = \"proto3\"; import \"missing.proto\";",
		"syntax = \"proto3\"; import \"chat.proto\";",
		"syntax = \"proto3\"; package p; service S { rpc W(stream M) returns (stream M); } message M {}",
		"syntax = \"proto3\"; package p; message M { M m = 1; } service S { rpc W(M) returns (M); }",
		"edition = \"2023\"; package p; message M { string a = 1; } service S { rpc W(M) returns (M); }",
		"syntax = \"proto3\"; package p; import \"cdc/options.proto\"; message M { string a = 1 [(cdc.key) = 5]; }",
		strings.Repeat("message M { ", 200),
	}
	for _, src := range inputs {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("panic on %q: %v", src, r)
				}
			}()
			_, _ = Compile("chat", map[string]string{"chat.proto": src}, "chat.proto")
		}()
	}
}
