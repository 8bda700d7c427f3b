package modules

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const allProto = `syntax = "proto3";
package all;
import "cdc/options.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/duration.proto";
enum Color { RED = 0; GREEN = 1; BLUE = 2; }
message Inner { string label = 1; int32 weight = 2; Deeper deeper = 3; }
message Deeper { bool flag = 1; }
message All {
  int64 id = 1 [(cdc.key) = true];
  string s = 2;
  bytes b = 3;
  bool ok = 4;
  int32 i32 = 5;
  sint32 si32 = 6;
  sfixed32 sf32 = 7;
  int64 i64 = 8;
  sint64 si64 = 9;
  sfixed64 sf64 = 10;
  uint32 u32 = 11;
  fixed32 f32 = 12;
  uint64 u64 = 13;
  fixed64 f64 = 14;
  float fl = 15;
  double db = 16;
  Color color = 17;
  repeated string tags = 18;
  map<string, int32> counts = 19;
  google.protobuf.Timestamp at = 20;
  optional string opt = 21;
  Inner inner = 22;
  oneof choice { string text = 23; int64 num = 24; }
  google.protobuf.StringValue ws = 25;
  google.protobuf.Int64Value wi = 26;
  repeated Inner inners = 27;
  google.protobuf.Duration took = 28;
}
message Ack { string status = 1; uint64 lsn = 2; int64 count = 3; }
message Query { int64 id = 1; optional string opt = 2; Inner inner = 3; Color color = 4; }
message Change { uint64 lsn = 1; int64 diff = 2; All row = 3; }
service Svc {
  rpc Put(All) returns (Ack) { option (cdc.write) = UPSERT; }
  rpc Find(Query) returns (stream All);
  rpc Watch(Query) returns (stream Change);
}
`

func compileAll(t *testing.T) (*Module, *Table) {
	t.Helper()
	m, err := Compile("alltypes", map[string]string{"all.proto": allProto}, "all.proto")
	if err != nil {
		t.Fatal(err)
	}
	return m, m.Tables[0]
}

func TestAllTypesColumns(t *testing.T) {
	_, tb := compileAll(t)
	want := "id BIGINT 1, s TEXT 2, b BLOB 3, ok BOOLEAN 4, i32 INT 5, si32 INT 6, sf32 INT 7, " +
		"i64 BIGINT 8, si64 BIGINT 9, sf64 BIGINT 10, u32 INT UNSIGNED 11, f32 INT UNSIGNED 12, " +
		"u64 BIGINT UNSIGNED 13, f64 BIGINT UNSIGNED 14, fl FLOAT 15, db DOUBLE 16, color TEXT 17, " +
		"tags JSON 18, counts JSON 19, at DATETIME(6) 20, opt TEXT 21, inner_label TEXT 22.1, " +
		"inner_weight INT 22.2, inner_deeper_flag BOOLEAN 22.3.1, text TEXT 23, num BIGINT 24, " +
		"ws TEXT 25, wi BIGINT 26, inners JSON 27, took JSON 28"
	if got := columnsString(tb); got != want {
		t.Fatalf("columns =\n%s\nwant\n%s", got, want)
	}
	kinds := map[string]dataflow.Kind{"id": dataflow.KindInt, "b": dataflow.KindBytes, "ok": dataflow.KindInt,
		"fl": dataflow.KindFloat, "color": dataflow.KindString, "tags": dataflow.KindString, "at": dataflow.KindTime}
	for _, c := range tb.Columns {
		if k, ok := kinds[c.Name]; ok && c.Kind != k {
			t.Errorf("%s kind %v want %v", c.Name, c.Kind, k)
		}
	}
	if tb.Name != "alltypes_all" || len(tb.Key) != 1 || tb.Key[0] != 0 {
		t.Fatalf("table %s key %v", tb.Name, tb.Key)
	}
	checkSQL(t, tb.CreateSQL())
	if !strings.Contains(tb.CreateSQL(), "`id` BIGINT NOT NULL,") || !strings.HasSuffix(tb.CreateSQL(), ", PRIMARY KEY (`id`))") {
		t.Fatalf("CreateSQL = %s", tb.CreateSQL())
	}
}

func TestRowRoundTrip(t *testing.T) {
	m, tb := compileAll(t)
	types := dynamicpb.NewTypes(m.Registry)
	parse := func(text string) *dynamicpb.Message {
		msg := dynamicpb.NewMessage(tb.Message)
		if err := (prototext.UnmarshalOptions{Resolver: types}).Unmarshal([]byte(text), msg); err != nil {
			t.Fatalf("prototext: %v", err)
		}
		return msg
	}
	full := `id: 7 s: "héllo" b: "\x00\x01" ok: true i32: -5 si32: -6 sf32: -7 i64: -8 si64: -9 sf64: -10
		u32: 4294967295 f32: 12 u64: 9223372036854775807 f64: 14 fl: 0.1 db: 2.5 color: BLUE
		tags: ["a", "b"] counts: {key: "x" value: 1} counts: {key: "a" value: 2}
		at: {seconds: 1700000000 nanos: 123456000} opt: "" inner: {label: "L" deeper: {}}
		num: 0 ws: {value: "w"} wi: {} inners: [{label: "i1"}, {weight: 3}] took: {seconds: 1 nanos: 500000000}`
	cases := []struct {
		name, text string
		check      map[string]dataflow.Datum
	}{
		{"full", full, map[string]dataflow.Datum{
			"id": dataflow.NewInt(7), "s": dataflow.NewString("héllo"), "b": dataflow.NewBytes([]byte{0, 1}),
			"ok": dataflow.NewInt(1), "i32": dataflow.NewInt(-5), "u32": dataflow.NewInt(math.MaxUint32),
			"u64": dataflow.NewInt(math.MaxInt64), "fl": dataflow.NewFloat(0.1), "db": dataflow.NewFloat(2.5),
			"color": dataflow.NewString("BLUE"), "tags": dataflow.NewString(`["a","b"]`),
			"counts": dataflow.NewString(`{"a":2,"x":1}`),
			"at":     dataflow.NewTime(time.Unix(1700000000, 123456000)),
			"opt":    dataflow.NewString(""), "inner_label": dataflow.NewString("L"), "inner_weight": dataflow.NewInt(0),
			"inner_deeper_flag": dataflow.NewInt(0), "text": dataflow.Null, "num": dataflow.NewInt(0),
			"ws": dataflow.NewString("w"), "wi": dataflow.NewInt(0),
			"inners": dataflow.NewString(`[{"label":"i1"},{"weight":3}]`), "took": dataflow.NewString(`"1.500s"`),
		}},
		{"zero", `id: 0`, map[string]dataflow.Datum{
			"id": dataflow.NewInt(0), "s": dataflow.NewString(""), "ok": dataflow.NewInt(0), "color": dataflow.NewString("RED"),
			"tags": dataflow.NewString("[]"), "counts": dataflow.NewString("{}"), "at": dataflow.Null, "opt": dataflow.Null,
			"inner_label": dataflow.Null, "inner_weight": dataflow.Null, "inner_deeper_flag": dataflow.Null,
			"text": dataflow.Null, "num": dataflow.Null, "ws": dataflow.Null, "wi": dataflow.Null, "took": dataflow.Null,
		}},
		{"unknown enum, oneof text", `id: 1 color: 42 text: "t" inner: {weight: 3}`, map[string]dataflow.Datum{
			"color": dataflow.NewString("42"), "text": dataflow.NewString("t"), "num": dataflow.Null,
			"inner_label": dataflow.NewString(""), "inner_weight": dataflow.NewInt(3), "inner_deeper_flag": dataflow.Null,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := parse(c.text)
			row, err := tb.Row(msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(row) != len(tb.Columns) {
				t.Fatalf("row has %d values", len(row))
			}
			cols := make([]string, len(tb.Columns))
			for i, col := range tb.Columns {
				cols[i] = col.Name
				if want, ok := c.check[col.Name]; ok && (row[i] != want) {
					t.Errorf("%s = %v (%v), want %v (%v)", col.Name, row[i], row[i].Kind(), want, want.Kind())
				}
			}
			back, err := tb.NewMessage(cols, row)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(back, msg) {
				t.Fatalf("round trip:\n got %v\nwant %v", prototext.Format(back), prototext.Format(msg))
			}
			// Columns in another order, upper case, plus unknown columns.
			rev := make([]string, 0, len(cols)+1)
			vals := make(dataflow.Row, 0, len(cols)+1)
			rev = append(rev, "not_a_column")
			vals = append(vals, dataflow.NewString("x"))
			for i := len(cols) - 1; i >= 0; i-- {
				rev = append(rev, strings.ToUpper(cols[i]))
				vals = append(vals, row[i])
			}
			back, err = tb.NewMessage(rev, vals)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(back, msg) {
				t.Fatalf("reordered round trip:\n got %v\nwant %v", prototext.Format(back), prototext.Format(msg))
			}
		})
	}
}

func TestRowErrors(t *testing.T) {
	m, tb := compileAll(t)
	msg := dynamicpb.NewMessage(tb.Message)
	msg.Set(tb.Message.Fields().ByName("u64"), protoreflect.ValueOfUint64(math.MaxUint64))
	_, err := tb.Row(msg)
	if err == nil || err.Error() != "field all.All.u64: value 18446744073709551615 does not fit BIGINT UNSIGNED" {
		t.Fatalf("err = %v", err)
	}
	// Wrong message type.
	if _, err := tb.Row(dynamicpb.NewMessage(method(t, m, "Put").Desc.Output())); err == nil {
		t.Fatal("wrong type accepted")
	}
	// A key inside a message: unset parent means NULL key.
	km, err := Compile("k", map[string]string{"k.proto": `syntax = "proto3"; package k; import "cdc/options.proto";
message Id { string region = 1 [(cdc.key) = true]; optional int64 n = 2 [(cdc.key) = true]; }
message R { Id id = 1; string v = 2; }
service S { rpc W(R) returns (R); }`}, "k.proto")
	if err != nil {
		t.Fatal(err)
	}
	kt := km.Tables[0]
	if len(kt.Key) != 2 || kt.CreateSQL() != "CREATE TABLE `k_r` (`id_region` TEXT NOT NULL, `id_n` BIGINT NOT NULL, `v` TEXT, PRIMARY KEY (`id_region`, `id_n`))" {
		t.Fatalf("key %v sql %s", kt.Key, kt.CreateSQL())
	}
	checkSQL(t, kt.CreateSQL())
	r := dynamicpb.NewMessage(kt.Message)
	if _, err := kt.Row(r); err == nil || err.Error() != "key field k.Id.region is not set" {
		t.Fatalf("err = %v", err)
	}
	id := r.Mutable(kt.Message.Fields().ByName("id")).Message()
	if _, err := kt.Row(r); err == nil || err.Error() != "key field k.Id.n is not set" {
		t.Fatalf("err = %v", err)
	}
	id.Set(id.Descriptor().Fields().ByName("n"), protoreflect.ValueOfInt64(0))
	row, err := kt.Row(r)
	if err != nil || row[0] != dataflow.NewString("") || row[1] != dataflow.NewInt(0) || row[2] != dataflow.NewString("") {
		t.Fatalf("row %v err %v", row, err)
	}
}

func TestNewMessageConversions(t *testing.T) {
	_, tb := compileAll(t)
	f := tb.Message.Fields()
	cases := []struct {
		col   string
		in    dataflow.Datum
		field string
		want  protoreflect.Value
		err   string
	}{
		{"i32", dataflow.NewString("12"), "i32", protoreflect.ValueOfInt32(12), ""},
		{"i32", dataflow.NewFloat(3), "i32", protoreflect.ValueOfInt32(3), ""},
		{"i32", dataflow.NewFloat(3.5), "", protoreflect.Value{}, "column i32: field all.All.i32: cannot store DOUBLE value 3.5 in a int32 field"},
		{"i32", dataflow.NewInt(1 << 40), "", protoreflect.Value{}, "column i32: field all.All.i32: value 1099511627776 is out of range"},
		{"u32", dataflow.NewInt(-1), "", protoreflect.Value{}, "column u32: field all.All.u32: value -1 is out of range"},
		{"s", dataflow.NewInt(42), "s", protoreflect.ValueOfString("42"), ""},
		{"s", dataflow.NewFloat(1.5), "s", protoreflect.ValueOfString("1.5"), ""},
		{"db", dataflow.NewString("2.25"), "db", protoreflect.ValueOfFloat64(2.25), ""},
		{"db", dataflow.NewString("abc"), "", protoreflect.Value{}, "column db: field all.All.db: cannot store TEXT value abc"},
		{"ok", dataflow.NewString("true"), "ok", protoreflect.ValueOfBool(true), ""},
		{"color", dataflow.NewInt(2), "color", protoreflect.ValueOfEnum(2), ""},
		{"color", dataflow.NewString("7"), "color", protoreflect.ValueOfEnum(7), ""},
		{"color", dataflow.NewString("PURPLE"), "", protoreflect.Value{}, "column color: field all.All.color: \"PURPLE\" is not a value of enum all.Color"},
		{"tags", dataflow.NewString("not json"), "", protoreflect.Value{}, "column tags: field all.All.tags"},
		{"tags", dataflow.NewInt(1), "", protoreflect.Value{}, "column tags: field all.All.tags: JSON text expected, got BIGINT"},
		{"at", dataflow.NewString("2024-01-02 03:04:05.5"), "", protoreflect.Value{}, ""},
		{"at", dataflow.NewFloat(1), "", protoreflect.Value{}, "column at: field all.All.at: DATETIME expected, got DOUBLE"},
	}
	for _, c := range cases {
		msg, err := tb.NewMessage([]string{c.col}, dataflow.Row{c.in})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s <- %v: err = %v, want %q", c.col, c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s <- %v: %v", c.col, c.in, err)
			continue
		}
		if c.field != "" && !msg.Get(f.ByName(protoreflect.Name(c.field))).Equal(c.want) {
			t.Errorf("%s <- %v: got %v", c.col, c.in, msg.Get(f.ByName(protoreflect.Name(c.field))))
		}
	}
	// NULLs leave nested messages unset.
	msg, err := tb.NewMessage([]string{"inner_label", "inner_weight", "id"}, dataflow.Row{dataflow.Null, dataflow.Null, dataflow.NewInt(1)})
	if err != nil || msg.Has(f.ByName("inner")) {
		t.Fatalf("nested message built for NULLs: %v", err)
	}
	if _, err := tb.NewMessage([]string{"a", "b"}, dataflow.Row{dataflow.Null}); err == nil {
		t.Fatal("length mismatch accepted")
	}
}

func TestParamValues(t *testing.T) {
	m, _ := compileAll(t)
	find := method(t, m, "Find")
	var names []string
	for _, p := range find.Params {
		names = append(names, p.Column+"="+pathNames(p))
	}
	if got := strings.Join(names, " "); got != "id=id opt=opt inner_label=inner.label inner_weight=inner.weight inner_deeper_flag=inner.deeper.flag color=color" {
		t.Fatalf("params = %s", got)
	}
	types := dynamicpb.NewTypes(m.Registry)
	cases := []struct {
		text, want string
	}{
		{``, ""},
		{`id: 0 color: RED`, ""},
		{`id: 3`, "id=3"},
		{`opt: ""`, "opt="},
		{`inner: {}`, ""},
		{`inner: {weight: 2 deeper: {flag: true}}`, "inner_weight=2 inner_deeper_flag=1"},
		{`id: 5 opt: "x" inner: {label: "l"} color: BLUE`, "id=5 opt=x inner_label=l color=BLUE"},
	}
	for _, c := range cases {
		req := dynamicpb.NewMessage(find.Desc.Input())
		if err := (prototext.UnmarshalOptions{Resolver: types}).Unmarshal([]byte(c.text), req); err != nil {
			t.Fatal(err)
		}
		cols, row, err := find.ParamValues(req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := range cols {
			got = append(got, cols[i]+"="+row[i].String())
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("ParamValues(%s) = %v, want %s", c.text, got, c.want)
		}
	}
}

func TestAckAndChange(t *testing.T) {
	m, tb := compileAll(t)
	put := method(t, m, "Put")
	if put.Mode != Upsert {
		t.Fatalf("mode %v", put.Mode)
	}
	ack := put.Ack(42, 3)
	if got := prototext.Format(ack); strings.Join(strings.Fields(got), " ") != `status: "ok" lsn: 42 count: 3` {
		t.Fatalf("ack = %s", got)
	}
	watch := method(t, m, "Watch")
	if !watch.Changes || watch.Row != tb {
		t.Fatalf("Watch = %+v", watch)
	}
	row, _ := tb.NewMessage([]string{"id"}, dataflow.Row{dataflow.NewInt(9)})
	ch := watch.Change(7, -1, row)
	if got := strings.Join(strings.Fields(prototext.Format(ch)), " "); got != `lsn: 7 diff: -1 row: { id: 9 }` {
		t.Fatalf("change = %s", got)
	}
	if find := method(t, m, "Find"); find.Change(1, 1, row) != row {
		t.Fatal("Change of a plain subscription should return the row")
	}
	// An Empty response gets nothing.
	cm := compile(t, chatProto)
	if got := prototext.Format(method(t, cm, "SendMessage").Ack(1, 1)); strings.Join(strings.Fields(got), " ") != `status: "ok"` {
		t.Fatalf("chat ack = %q", got)
	}
}

func TestChatRowAndParams(t *testing.T) {
	m := compile(t, chatProto)
	tb := m.Tables[0]
	msg, err := tb.NewMessage([]string{"sender", "channel_name", "message"}, dataflow.Row{
		dataflow.NewString("ann"), dataflow.NewString("general"), dataflow.NewString("hi")})
	if err != nil {
		t.Fatal(err)
	}
	row, err := tb.Row(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got := dataflow.Row(row); len(got) != 4 || got[0].Str() != "ann" || got[1].Str() != "general" || got[2] != dataflow.NewString("") || got[3].Str() != "hi" {
		t.Fatalf("row = %v", row)
	}
	join := method(t, m, "JoinChannel")
	req := dynamicpb.NewMessage(join.Desc.Input())
	req.Set(req.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString("general"))
	cols, vals, err := join.ParamValues(req)
	if err != nil || len(cols) != 1 || cols[0] != "channel_name" || vals[0] != dataflow.NewString("general") {
		t.Fatalf("params = %v %v %v", cols, vals, err)
	}
}
