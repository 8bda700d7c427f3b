package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/modules"
	"github.com/cdc-dev/cdc/proto/enginepb"
)

// chatProto is the specification's example module, as written there.
const chatProto = `syntax = "proto3";

option go_package = "./chatpb";

package chatpb;

service ChatService {
    rpc JoinChannel(Channel) returns (stream Message) {}
    rpc SendMessage(stream Message) returns (MessageAck) {}
}

message Channel {
    string name = 1;
    string senders_name = 2;
}

message Message {
    string sender = 1;
    Channel channel = 2;
    string message = 3;
}

message MessageAck {
    string status = 1;
}
`

const grpcTestPassword = "s3cret"

// grpcFixture is an engine on a data directory behind a gRPC server.
type grpcFixture struct {
	dir  string
	e    *engine.Engine
	g    *GRPC
	stop func()
}

// startGRPC opens the engine on dir and serves it over gRPC until the test ends (or stop).
func startGRPC(t *testing.T, dir string) *grpcFixture {
	t.Helper()
	e, err := engine.Open(context.Background(), engine.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGRPC(e, GRPCConfig{Addr: "127.0.0.1:0", Password: grpcTestPassword})
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	f := &grpcFixture{dir: dir, e: e, g: g}
	stopped := false
	f.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("grpc Serve: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	}
	t.Cleanup(f.stop)
	return f
}

// dial connects to the fixture; calls made with authCtx carry the token.
func (f *grpcFixture) dial(t *testing.T) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(f.g.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func authCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+grpcTestPassword)
}

// chatDescriptors compiles the chat module client-side: the client has no generated code.
func chatDescriptors(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	mod, err := modules.Compile("chat", map[string]string{"chat.proto": chatProto}, "chat.proto")
	if err != nil {
		t.Fatal(err)
	}
	return mod.Own[0]
}

// chatClient calls the chat module's methods with dynamicpb messages.
type chatClient struct {
	conn *grpc.ClientConn
	fd   protoreflect.FileDescriptor
}

func (c chatClient) message(name string) *dynamicpb.Message {
	return dynamicpb.NewMessage(c.fd.Messages().ByName(protoreflect.Name(name)))
}

func (c chatClient) chatMessage(sender, channel, text string) *dynamicpb.Message {
	m := c.message("Message")
	m.Set(m.Descriptor().Fields().ByName("sender"), protoreflect.ValueOfString(sender))
	ch := m.Mutable(m.Descriptor().Fields().ByName("channel")).Message()
	ch.Set(ch.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(channel))
	m.Set(m.Descriptor().Fields().ByName("message"), protoreflect.ValueOfString(text))
	return m
}

// send calls SendMessage with the messages (one client stream, one transaction) and
// returns the ack's status.
func (c chatClient) send(ctx context.Context, msgs ...*dynamicpb.Message) (string, error) {
	stream, err := c.conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/chatpb.ChatService/SendMessage")
	if err != nil {
		return "", err
	}
	for _, m := range msgs {
		if err := stream.SendMsg(m); err != nil {
			return "", err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	ack := c.message("MessageAck")
	if err := stream.RecvMsg(ack); err != nil {
		return "", err
	}
	return ack.Get(ack.Descriptor().Fields().ByName("status")).String(), nil
}

// join calls JoinChannel and returns a function that reads the next streamed message as
// "sender: text".
func (c chatClient) join(t *testing.T, ctx context.Context, channel string) func() (string, error) {
	t.Helper()
	stream, err := c.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/chatpb.ChatService/JoinChannel")
	if err != nil {
		t.Fatal(err)
	}
	req := c.message("Channel")
	req.Set(req.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(channel))
	if err := stream.SendMsg(req); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	return func() (string, error) {
		m := c.message("Message")
		if err := stream.RecvMsg(m); err != nil {
			return "", err
		}
		f := m.Descriptor().Fields()
		ch := m.Get(f.ByName("channel")).Message()
		if got := ch.Get(ch.Descriptor().Fields().ByName("name")).String(); got != channel {
			return "", errors.New("a message of channel " + got + " on the stream of " + channel)
		}
		return m.Get(f.ByName("sender")).String() + ": " + m.Get(f.ByName("message")).String(), nil
	}
}

// expect reads n messages from a stream and compares them as a set with want.
func expect(t *testing.T, what string, next func() (string, error), want ...string) {
	t.Helper()
	var got []string
	for range want {
		s, err := next()
		if err != nil {
			t.Fatalf("%s: after %q: %v", what, got, err)
		}
		got = append(got, s)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// loadChat loads the chat module through the built-in service.
func loadChat(t *testing.T, conn *grpc.ClientConn) *enginepb.LoadModuleResponse {
	t.Helper()
	res, err := enginepb.NewEngineClient(conn).LoadModule(authCtx(t), &enginepb.LoadModuleRequest{Name: "chat", Files: map[string]string{"chat.proto": chatProto}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGRPCChatModule(t *testing.T) {
	dir := t.TempDir()
	f := startGRPC(t, dir)
	conn := f.dial(t)
	res := loadChat(t, conn)
	if len(res.Tables) != 1 || res.Tables[0].Name != "chat_message" || !slices.Equal(res.Services, []string{"chatpb.ChatService"}) {
		t.Fatalf("LoadModule = %v", res)
	}
	c := chatClient{conn: conn, fd: chatDescriptors(t)}
	ctx := authCtx(t)
	if st, err := c.send(ctx, c.chatMessage("ann", "general", "hello"), c.chatMessage("bob", "random", "first")); err != nil || st != "ok" {
		t.Fatalf("SendMessage = %q, %v", st, err)
	}
	general := c.join(t, ctx, "general")
	random := c.join(t, ctx, "random")
	expect(t, "general's past messages", general, "ann: hello")
	expect(t, "random's past messages", random, "bob: first")
	if _, err := c.send(ctx, c.chatMessage("cid", "random", "r2")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.send(ctx, c.chatMessage("ann", "general", "g2"), c.chatMessage("dan", "general", "g3")); err != nil {
		t.Fatal(err)
	}
	expect(t, "general's new messages", general, "ann: g2", "dan: g3")
	expect(t, "random's new messages", random, "cid: r2")

	// SQL sees the module's table; the feed is a materialized view.
	sess := f.e.NewSession()
	defer sess.Close()
	r, err := sess.Exec(ctx, "SELECT channel_name, count(*) FROM chat_message GROUP BY channel_name ORDER BY channel_name")
	if err != nil {
		t.Fatal(err)
	}
	if got := [2]string{r.Rows[0].String(), r.Rows[1].String()}; got != [2]string{"general\t3", "random\t2"} {
		t.Fatalf("rows per channel = %q", got)
	}
}

func TestGRPCRestart(t *testing.T) {
	dir := t.TempDir()
	f := startGRPC(t, dir)
	conn := f.dial(t)
	loadChat(t, conn)
	c := chatClient{conn: conn, fd: chatDescriptors(t)}
	ctx := authCtx(t)
	if _, err := c.send(ctx, c.chatMessage("ann", "general", "before")); err != nil {
		t.Fatal(err)
	}
	// The trailer of a write carries its LSN: a subscriber resumes after it.
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/chatpb.ChatService/SendMessage")
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(c.chatMessage("bob", "general", "marker")); err != nil {
		t.Fatal(err)
	}
	stream.CloseSend()
	if err := stream.RecvMsg(c.message("MessageAck")); err != nil {
		t.Fatal(err)
	}
	lsn := stream.Trailer().Get(mdLSN)
	if len(lsn) != 1 || lsn[0] == "0" {
		t.Fatalf("trailer %s = %q", mdLSN, lsn)
	}
	join := c.join(t, ctx, "general")
	expect(t, "snapshot before restart", join, "ann: before", "bob: marker")
	f.stop()
	if _, err := join(); status.Code(err) != codes.Unavailable {
		t.Fatalf("a stream cut by shutdown ended with %v, want UNAVAILABLE", err)
	}

	f = startGRPC(t, dir)
	conn = f.dial(t)
	c.conn = conn
	list, err := enginepb.NewEngineClient(conn).ListModules(ctx, &enginepb.ListModulesRequest{})
	if err != nil || len(list.Modules) != 1 || list.Modules[0].Name != "chat" {
		t.Fatalf("ListModules after restart = %v, %v", list, err)
	}
	if _, err := c.send(ctx, c.chatMessage("cid", "general", "after")); err != nil {
		t.Fatal(err)
	}
	resumeCtx := metadata.AppendToOutgoingContext(ctx, mdAsOf, lsn[0])
	resumed := c.join(t, resumeCtx, "general")
	expect(t, "resumed after the marker's LSN", resumed, "cid: after")
	fresh := c.join(t, ctx, "general")
	expect(t, "snapshot after restart", fresh, "ann: before", "bob: marker", "cid: after")
}

func TestGRPCBadInput(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	conn := f.dial(t)
	client := enginepb.NewEngineClient(conn)
	ctx := authCtx(t)

	// Authentication: every call needs the token, reflection and health included.
	noToken, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wrong := metadata.AppendToOutgoingContext(noToken, "authorization", "Bearer nope")
	for _, c := range []context.Context{noToken, wrong} {
		if _, err := client.ListModules(c, &enginepb.ListModulesRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("ListModules without the right token: %v", err)
		}
		if _, err := healthpb.NewHealthClient(conn).Check(c, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("health check without the right token: %v", err)
		}
		rs, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(c)
		if err == nil {
			rs.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}})
			_, err = rs.Recv()
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("reflection without the right token: %v", err)
		}
	}
	if h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check = %v, %v", h, err)
	}

	// A .proto with a syntax error: the error names file, line and column.
	broken := strings.Replace(chatProto, "message Channel {", "message Channel {{", 1)
	_, err := client.LoadModule(ctx, &enginepb.LoadModuleRequest{Name: "chat", Files: map[string]string{"chat.proto": broken}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "chat.proto:12:18: syntax error") {
		t.Fatalf("LoadModule of a syntax error: %v", err)
	}
	// An unsupported construct: a clear error, not a panic.
	bidi := strings.Replace(chatProto, "rpc JoinChannel(Channel) returns (stream Message) {}", "rpc Talk(stream Message) returns (stream Message) {}", 1)
	_, err = client.LoadModule(ctx, &enginepb.LoadModuleRequest{Name: "chat", Files: map[string]string{"chat.proto": bidi}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "bidirectional") {
		t.Fatalf("LoadModule of a bidirectional method: %v", err)
	}
	loadChat(t, conn)

	// Malformed request bytes: INVALID_ARGUMENT, and the server keeps serving.
	raw := grpc.ForceCodecV2(rawCodec{})
	for _, method := range []string{"/chatpb.ChatService/SendMessage", "/chatpb.ChatService/JoinChannel"} {
		stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method, raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.SendMsg(&rawFrame{b: []byte{0x0a, 0xff, 0xff, 0xff}}); err != nil {
			t.Fatal(err)
		}
		stream.CloseSend()
		err = stream.RecvMsg(&rawFrame{})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "malformed") {
			t.Fatalf("%s with malformed bytes: %v", method, err)
		}
	}
	// The same for the compiled service.
	for _, method := range []string{"/cdc.v1.Engine/Exec", "/cdc.v1.Engine/ChangeLog"} {
		stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.SendMsg(&rawFrame{b: []byte{0x0a, 0xff, 0xff, 0xff}}); err != nil {
			t.Fatal(err)
		}
		stream.CloseSend()
		err = stream.RecvMsg(&rawFrame{})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "malformed") {
			t.Fatalf("%s with malformed bytes: %v", method, err)
		}
	}
	// A method nobody serves.
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/chatpb.ChatService/Nope", raw)
	if err == nil {
		stream.SendMsg(&rawFrame{})
		stream.CloseSend()
		err = stream.RecvMsg(&rawFrame{})
	}
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
	c := chatClient{conn: conn, fd: chatDescriptors(t)}
	if st, err := c.send(ctx, c.chatMessage("ann", "general", "still serving")); err != nil || st != "ok" {
		t.Fatalf("SendMessage after bad input = %q, %v", st, err)
	}
}

// rawFrame and rawCodec send bytes as they are.
type rawFrame struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*rawFrame).b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*rawFrame).b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

func TestGRPCMetrics(t *testing.T) {
	e, err := engine.Open(context.Background(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m := NewMetrics()
	g, err := NewGRPC(e, GRPCConfig{Addr: "127.0.0.1:0", Password: grpcTestPassword, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	conn, err := grpc.NewClient(g.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := enginepb.NewEngineClient(conn)
	good := authCtx(t)
	client.ListModules(good, &enginepb.ListModulesRequest{})
	client.ListModules(good, &enginepb.ListModulesRequest{})
	client.ListModules(context.Background(), &enginepb.ListModulesRequest{})
	client.Exec(good, &enginepb.ExecRequest{Sql: "SELEC"})
	conn.Invoke(good, "/no.Such/Method", &enginepb.ListModulesRequest{}, &enginepb.ListModulesResponse{})
	for _, c := range []struct {
		method, code string
		want         float64
	}{
		{"/cdc.v1.Engine/ListModules", "OK", 2},
		{"/cdc.v1.Engine/ListModules", "Unauthenticated", 1},
		{"/cdc.v1.Engine/Exec", "InvalidArgument", 1},
		{"unknown", "Unimplemented", 1},
	} {
		if got := testutil.ToFloat64(m.grpcCalls.WithLabelValues(c.method, c.code)); got != c.want {
			t.Errorf("cdc_grpc_calls_total{method=%q,code=%q} = %v, want %v", c.method, c.code, got, c.want)
		}
	}
	if got := testutil.ToFloat64(m.grpcAuthFailures); got != 1 {
		t.Errorf("cdc_grpc_auth_failures_total = %v, want 1", got)
	}
}

func TestGRPCPanicIsInternal(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+grpcTestPassword))
	_, err := f.g.authorizeUnary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}, func(context.Context, any) (any, error) {
		panic("boom")
	})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a panicking unary call: %v, want INTERNAL", err)
	}
	// The server keeps serving.
	if _, err := enginepb.NewEngineClient(f.dial(t)).ListModules(authCtx(t), &enginepb.ListModulesRequest{}); err != nil {
		t.Fatal(err)
	}
}

func TestGRPCWriteIsAllOrNothing(t *testing.T) {
	f := startGRPC(t, t.TempDir())
	conn := f.dial(t)
	loadChat(t, conn)
	c := chatClient{conn: conn, fd: chatDescriptors(t)}
	ctx := authCtx(t)
	// Two good messages, then bytes that do not decode, on one client stream: the call
	// fails and neither message is stored.
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/chatpb.ChatService/SendMessage", grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*dynamicpb.Message{c.chatMessage("ann", "general", "one"), c.chatMessage("bob", "general", "two")} {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.SendMsg(&rawFrame{b: b}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.SendMsg(&rawFrame{b: []byte{0xff}}); err != nil {
		t.Fatal(err)
	}
	stream.CloseSend()
	if err := stream.RecvMsg(&rawFrame{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a stream with malformed bytes: %v, want INVALID_ARGUMENT", err)
	}
	sess := f.e.NewSession()
	defer sess.Close()
	res, err := sess.Exec(ctx, "SELECT COUNT(*) FROM chat_message")
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Rows[0][0].Int(); n != 0 {
		t.Fatalf("%d messages stored from a failed call, want 0", n)
	}
}
