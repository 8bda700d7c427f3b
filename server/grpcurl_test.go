package server

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// grpcurlBinary finds grpcurl: $CDC_GRPCURL_BIN (which `make test` sets, so that the test
// cannot skip there), else the cache `make grpcurl` installs into, else PATH.
func grpcurlBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CDC_GRPCURL_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CDC_GRPCURL_BIN: %v (run make grpcurl)", err)
		}
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "cdc", "bin", "grpcurl")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return p
	}
	t.Skip("grpcurl is not installed: run make grpcurl (make test does)")
	return ""
}

// grpcurl runs the real grpcurl client against the server with the token and returns its
// output.
func grpcurl(t *testing.T, bin, addr string, flags []string, verb ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{"-plaintext", "-H", "authorization: Bearer " + grpcTestPassword}, flags...), addr)
	args = append(args, verb...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestGrpcurl(t *testing.T) {
	bin := grpcurlBinary(t)
	f := startGRPC(t, t.TempDir())
	addr := f.g.Addr()

	// Load the module with grpcurl itself, through the built-in service.
	load, err := json.Marshal(map[string]any{"name": "chat", "files": map[string]string{"chat.proto": chatProto}})
	if err != nil {
		t.Fatal(err)
	}
	if out := grpcurl(t, bin, addr, []string{"-d", string(load)}, "cdc.v1.Engine/LoadModule"); !strings.Contains(out, "chat_message") {
		t.Fatalf("LoadModule printed %s", out)
	}

	// Reflection lists the run-time module beside the compiled services.
	list := grpcurl(t, bin, addr, nil, "list")
	for _, svc := range []string{"chatpb.ChatService", "cdc.v1.Engine", "grpc.health.v1.Health"} {
		if !strings.Contains(list, svc) {
			t.Fatalf("grpcurl list does not show %s:\n%s", svc, list)
		}
	}
	if out := grpcurl(t, bin, addr, nil, "describe", "chatpb.Message"); !strings.Contains(out, ".chatpb.Channel channel = 2;") {
		t.Fatalf("grpcurl describe chatpb.Message:\n%s", out)
	}

	// A streaming call: JoinChannel prints messages as they arrive.
	grpcurl(t, bin, addr, []string{"-d", `{"sender": "ann", "channel": {"name": "general"}, "message": "before"}`}, "chatpb.ChatService/SendMessage")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	join := exec.CommandContext(ctx, bin, "-plaintext", "-H", "authorization: Bearer "+grpcTestPassword,
		"-d", `{"name": "general"}`, addr, "chatpb.ChatService/JoinChannel")
	stdout, err := join.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	join.Stderr = os.Stderr
	if err := join.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		join.Process.Kill()
		join.Wait()
	}()
	messages := make(chan map[string]any)
	go func() {
		// grpcurl prints each message as indented JSON; decode them one after another.
		dec := json.NewDecoder(bufio.NewReader(stdout))
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				close(messages)
				return
			}
			messages <- m
		}
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case m, ok := <-messages:
			if !ok {
				t.Fatal("grpcurl's JoinChannel stream ended")
			}
			return m
		case <-ctx.Done():
			t.Fatal("no message on grpcurl's JoinChannel stream")
		}
		return nil
	}
	if m := next(); m["message"] != "before" {
		t.Fatalf("first streamed message = %v", m)
	}
	if out := grpcurl(t, bin, addr, []string{"-d", `{"sender": "bob", "channel": {"name": "random"}, "message": "elsewhere"}`}, "chatpb.ChatService/SendMessage"); !strings.Contains(out, `"status": "ok"`) {
		t.Fatalf("SendMessage printed %s", out)
	}
	grpcurl(t, bin, addr, []string{"-d", `{"sender": "cid", "channel": {"name": "general"}, "message": "live"}`}, "chatpb.ChatService/SendMessage")
	if m := next(); m["message"] != "live" || m["sender"] != "cid" {
		t.Fatalf("streamed message = %v, want cid's live message (and not the random channel's)", m)
	}
}
