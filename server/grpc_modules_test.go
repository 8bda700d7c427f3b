package server

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/cdc-dev/cdc/modules"
	"github.com/cdc-dev/cdc/proto/enginepb"
)

// inventoryProto exercises the engine's options: a key, upserts and deletes, a change
// wrapper stream and a stream of a view.
const inventoryProto = `syntax = "proto3";
package inv;
import "cdc/options.proto";

service Inventory {
  rpc Put(stream Item) returns (Ack) { option (cdc.write) = UPSERT; }
  rpc Remove(Item) returns (Ack) { option (cdc.write) = DELETE; }
  rpc Watch(Shelf) returns (stream ItemChange) {}
  rpc WatchTotals(Shelf) returns (stream Total) { option (cdc.view) = "shelf_totals"; }
}
message Item { string sku = 1 [(cdc.key) = true]; string shelf = 2; int64 qty = 3; }
message Shelf { string shelf = 1; }
message ItemChange { uint64 lsn = 1; int64 diff = 2; Item item = 3; }
message Ack { string status = 1; uint64 lsn = 2; int64 rows = 3; }
message Total { string shelf = 1; int64 total = 2; }
`

// dynClient calls a module's methods with dynamicpb messages built from field values.
type dynClient struct {
	conn *grpc.ClientConn
	fd   protoreflect.FileDescriptor
}

func (c dynClient) msg(name string, fields map[string]any) *dynamicpb.Message {
	m := dynamicpb.NewMessage(c.fd.Messages().ByName(protoreflect.Name(name)))
	for k, v := range fields {
		m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(k)), protoreflect.ValueOf(v))
	}
	return m
}

// write calls a write method with the messages and returns the ack's rows and lsn.
func (c dynClient) write(t *testing.T, ctx context.Context, method string, msgs ...*dynamicpb.Message) (rows int64, lsn uint64) {
	t.Helper()
	stream, err := c.conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/inv.Inventory/"+method)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := stream.SendMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	stream.CloseSend()
	ack := c.msg("Ack", nil)
	if err := stream.RecvMsg(ack); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	f := ack.Descriptor().Fields()
	if st := ack.Get(f.ByName("status")).String(); st != "ok" {
		t.Fatalf("%s: status %q", method, st)
	}
	return ack.Get(f.ByName("rows")).Int(), ack.Get(f.ByName("lsn")).Uint()
}

// stream starts a server-streaming call and returns a reader of its messages of type out.
func (c dynClient) stream(t *testing.T, ctx context.Context, method string, req *dynamicpb.Message, out string) func() *dynamicpb.Message {
	t.Helper()
	stream, err := c.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/inv.Inventory/"+method)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(req); err != nil {
		t.Fatal(err)
	}
	stream.CloseSend()
	return func() *dynamicpb.Message {
		t.Helper()
		m := c.msg(out, nil)
		if err := stream.RecvMsg(m); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return m
	}
}

func TestGRPCModuleOptions(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	conn := f.dial(t)
	ctx := authCtx(t)
	if _, err := enginepb.NewEngineClient(conn).LoadModule(ctx, &enginepb.LoadModuleRequest{Name: "inv", Files: map[string]string{"inv.proto": inventoryProto}}); err != nil {
		t.Fatal(err)
	}
	if _, err := enginepb.NewEngineClient(conn).Exec(ctx, &enginepb.ExecRequest{Sql: "CREATE MATERIALIZED VIEW shelf_totals AS SELECT shelf, SUM(qty) AS total FROM inv_item GROUP BY shelf"}); err != nil {
		t.Fatal(err)
	}
	mod, err := modules.Compile("inv", map[string]string{"inv.proto": inventoryProto}, "inv.proto")
	if err != nil {
		t.Fatal(err)
	}
	c := dynClient{conn: conn, fd: mod.Own[0]}
	item := func(sku, shelf string, qty int64) *dynamicpb.Message {
		return c.msg("Item", map[string]any{"sku": sku, "shelf": shelf, "qty": qty})
	}
	shelf := func(name string) *dynamicpb.Message { return c.msg("Shelf", map[string]any{"shelf": name}) }

	if rows, lsn := c.write(t, ctx, "Put", item("a", "s1", 1), item("b", "s1", 2), item("c", "s2", 5)); rows != 3 || lsn == 0 {
		t.Fatalf("Put = %d rows at LSN %d", rows, lsn)
	}
	watch := c.stream(t, ctx, "Watch", shelf("s1"), "ItemChange")
	totals := c.stream(t, ctx, "WatchTotals", shelf("s1"), "Total")
	change := func() string {
		m := watch()
		f := m.Descriptor().Fields()
		it := m.Get(f.ByName("item")).Message()
		itf := it.Descriptor().Fields()
		if m.Get(f.ByName("lsn")).Uint() == 0 {
			t.Fatalf("change without an LSN: %v", m)
		}
		return it.Get(itf.ByName("sku")).String() + "/" + it.Get(itf.ByName("shelf")).String() + " " +
			protoreflect.ValueOfInt64(m.Get(f.ByName("diff")).Int()).String() + "x" + protoreflect.ValueOfInt64(it.Get(itf.ByName("qty")).Int()).String()
	}
	total := func() int64 {
		m := totals()
		if got := m.Get(m.Descriptor().Fields().ByName("shelf")).String(); got != "s1" {
			t.Fatalf("a total of shelf %s on the stream of s1", got)
		}
		return m.Get(m.Descriptor().Fields().ByName("total")).Int()
	}
	got := map[string]bool{change(): true, change(): true}
	if !got["a/s1 1x1"] || !got["b/s1 1x2"] {
		t.Fatalf("Watch snapshot = %v", got)
	}
	if n := total(); n != 3 {
		t.Fatalf("WatchTotals snapshot = %d, want 3", n)
	}
	// An upsert of an existing key is an update: a retraction and an insertion, one LSN.
	c.write(t, ctx, "Put", item("a", "s1", 10))
	got = map[string]bool{change(): true, change(): true}
	if !got["a/s1 -1x1"] || !got["a/s1 1x10"] {
		t.Fatalf("Watch after upsert = %v", got)
	}
	// On a plain stream of a view only the new row of a group is sent.
	if n := total(); n != 12 {
		t.Fatalf("WatchTotals after upsert = %d, want 12", n)
	}
	// A change on another shelf is not delivered; a delete is.
	c.write(t, ctx, "Put", item("d", "s2", 1))
	if rows, _ := c.write(t, ctx, "Remove", item("b", "", 0)); rows != 1 {
		t.Fatalf("Remove of an existing key wrote %d rows", rows)
	}
	if rows, _ := c.write(t, ctx, "Remove", item("zzz", "", 0)); rows != 0 {
		t.Fatalf("Remove of a missing key wrote %d rows", rows)
	}
	if got := change(); got != "b/s1 -1x2" {
		t.Fatalf("Watch after delete = %s", got)
	}
	if n := total(); n != 10 {
		t.Fatalf("WatchTotals after delete = %d, want 10", n)
	}
}
