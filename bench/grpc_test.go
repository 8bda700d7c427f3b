package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/cdc-dev/cdc/modules"
	"github.com/cdc-dev/cdc/server"
)

// grpcChatProto is the specification's example module (as in server/grpc_test.go).
const grpcChatProto = `syntax = "proto3";

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

// BenchmarkGRPCChatFeed measures, over gRPC on loopback, the time from a SendMessage call
// (one message on channel "general", the call returns after commit) until each of the
// JoinChannel subscribers of "general" has received it, with 1 and 100 subscribers. It
// reports p50, p99 and mean over every (message, subscriber) delay, and p50 and p99 of the
// delay to the last subscriber of each message; ns/op is the whole send and fan-out. With
// channels=100 the 100 subscribers are on 100 channels and the messages go round the
// channels: each reaches one subscriber, found by the feed's index of parameter values.
func BenchmarkGRPCChatFeed(b *testing.B) {
	for _, c := range []struct{ subs, channels int }{{1, 1}, {100, 1}, {100, 100}} {
		name := fmt.Sprintf("subscribers=%d", c.subs)
		if c.channels > 1 {
			name += fmt.Sprintf("/channels=%d", c.channels)
		}
		b.Run(name, func(b *testing.B) { grpcChatFeed(b, c.subs, c.channels) })
	}
}

// grpcReceipt is one message read by one subscriber, keyed by the message's text.
type grpcReceipt struct {
	text string
	at   time.Time
	err  error
}

func grpcChatFeed(b *testing.B, subs, channels int) {
	channel := func(i int) string { return "c" + strconv.Itoa(i%channels) }
	perMessage := subs / channels // the subscribers of one channel
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := openOnDisk(ctx, b)
	defer e.Close()
	files := map[string]string{"chat.proto": grpcChatProto}
	if _, _, err := e.LoadModule(ctx, "chat", files, "chat.proto", false); err != nil {
		b.Fatal(err)
	}
	g, err := server.NewGRPC(e, server.GRPCConfig{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- g.Serve(serveCtx) }()
	defer func() { stopServe(); <-served }() // before e.Close

	// Client side: descriptors compiled from the .proto, no generated code.
	mod, err := modules.Compile("chat", files, "chat.proto")
	if err != nil {
		b.Fatal(err)
	}
	msgDesc := mod.Own[0].Messages().ByName("Message")
	chanDesc := mod.Own[0].Messages().ByName("Channel")
	ackDesc := mod.Own[0].Messages().ByName("MessageAck")
	fSender, fChannel, fText := msgDesc.Fields().ByName("sender"), msgDesc.Fields().ByName("channel"), msgDesc.Fields().ByName("message")
	fName := chanDesc.Fields().ByName("name")

	dial := func() *grpc.ClientConn {
		conn, err := grpc.NewClient(g.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		return conn
	}
	// Each subscriber is its own client (connection); the sender has one too.
	streamCtx, stopStreams := context.WithCancel(ctx)
	var readers sync.WaitGroup
	var conns []*grpc.ClientConn
	defer func() {
		stopStreams()
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
	}()
	receipts := make(chan grpcReceipt, subs*64)
	for i := range subs {
		mine := channel(i)
		conn := dial()
		conns = append(conns, conn)
		stream, err := conn.NewStream(streamCtx, &grpc.StreamDesc{ServerStreams: true}, "/chatpb.ChatService/JoinChannel")
		if err != nil {
			b.Fatal(err)
		}
		req := dynamicpb.NewMessage(chanDesc)
		req.Set(fName, protoreflect.ValueOfString(mine))
		if err := stream.SendMsg(req); err != nil {
			b.Fatal(err)
		}
		if err := stream.CloseSend(); err != nil {
			b.Fatal(err)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				m := dynamicpb.NewMessage(msgDesc)
				err := stream.RecvMsg(m)
				r := grpcReceipt{at: time.Now()} // before decoding the fields
				if err != nil {
					r.err = err
				} else if ch := m.Get(fChannel).Message().Get(fName).String(); ch != mine {
					r.err = fmt.Errorf("a message of channel %q on the stream of %s", ch, mine)
				} else {
					r.text = m.Get(fText).String()
				}
				select {
				case receipts <- r:
				case <-streamCtx.Done():
					return
				}
				if r.err != nil {
					return
				}
			}
		}()
	}
	sender := dial()
	conns = append(conns, sender)
	send := func(text, to string) {
		stream, err := sender.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/chatpb.ChatService/SendMessage")
		if err != nil {
			b.Fatal(err)
		}
		m := dynamicpb.NewMessage(msgDesc)
		m.Set(fSender, protoreflect.ValueOfString("ann"))
		m.Mutable(fChannel).Message().Set(fName, protoreflect.ValueOfString(to))
		m.Set(fText, protoreflect.ValueOfString(text))
		if err := stream.SendMsg(m); err != nil {
			b.Fatal(err)
		}
		if err := stream.CloseSend(); err != nil {
			b.Fatal(err)
		}
		if err := stream.RecvMsg(dynamicpb.NewMessage(ackDesc)); err != nil {
			b.Fatalf("SendMessage %q: %v", text, err)
		}
	}
	// await waits until n subscribers have received text and returns the receive times.
	await := func(text string, n int, at []time.Time) []time.Time {
		at = at[:0]
		timeout := time.NewTimer(10 * time.Second)
		defer timeout.Stop()
		for len(at) < n {
			select {
			case r := <-receipts:
				if r.err != nil {
					b.Fatalf("subscriber: %v", r.err)
				}
				if r.text != text {
					b.Fatalf("a subscriber received %q while waiting for %q", r.text, text)
				}
				at = append(at, r.at)
			case <-timeout.C:
				b.Fatalf("%d of %d subscribers received %q", len(at), n, text)
			}
		}
		return at
	}

	// Warm-up: once every subscriber got this message (from its snapshot or as a change),
	// all the streams are established.
	at := make([]time.Time, 0, subs)
	for c := range channels {
		send("warm-up", channel(c))
		at = await("warm-up", perMessage, at)
	}

	delays := make([]time.Duration, 0, b.N*perMessage)
	last := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		text := strconv.Itoa(i)
		t0 := time.Now()
		send(text, channel(i))
		at = await(text, perMessage, at)
		var slowest time.Duration
		for _, t := range at {
			d := t.Sub(t0)
			delays = append(delays, d)
			slowest = max(slowest, d)
		}
		last = append(last, slowest)
	}
	b.StopTimer()

	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	pct := func(ds []time.Duration, p float64) float64 {
		return ms(ds[int(p*float64(len(ds)-1))])
	}
	slices.Sort(delays)
	slices.Sort(last)
	var sum time.Duration
	for _, d := range delays {
		sum += d
	}
	b.ReportMetric(pct(delays, 0.50), "p50-ms")
	b.ReportMetric(pct(delays, 0.99), "p99-ms")
	b.ReportMetric(ms(sum)/float64(len(delays)), "mean-ms")
	b.ReportMetric(pct(last, 0.50), "p50-last-ms")
	b.ReportMetric(pct(last, 0.99), "p99-last-ms")
}
