package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/server"
)

// moduleChatProto is the chat module of the specification, with its Channel moved to an
// imported file.
const moduleChatProto = `syntax = "proto3";

option go_package = "./chatpb";

package chatpb;

import "common/types.proto";

service ChatService {
    rpc JoinChannel(common.Channel) returns (stream Message) {}
    rpc SendMessage(stream Message) returns (MessageAck) {}
}

message Message {
    string sender = 1;
    common.Channel channel = 2;
    string message = 3;
}

message MessageAck {
    string status = 1;
}
`

const moduleCommonProto = `syntax = "proto3";

option go_package = "./commonpb";

package common;

message Channel {
    string name = 1;
    string senders_name = 2;
}
`

// captureStdout runs fn and returns what it printed on os.Stdout.
func captureStdout(t *testing.T, fn func() int) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	code := fn()
	os.Stdout = old
	w.Close()
	return code, <-out
}

func TestModuleCommand(t *testing.T) {
	e, err := engine.Open(context.Background(), engine.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	g, err := server.NewGRPC(e, server.GRPCConfig{Addr: "127.0.0.1:0", Password: "pw"})
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	addr := g.Addr()

	dir := t.TempDir()
	mainPath := filepath.Join(dir, "chat.proto")
	importPath := filepath.Join(dir, "common", "types.proto")
	if err := os.MkdirAll(filepath.Dir(importPath), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, text := range map[string]string{mainPath: moduleChatProto, importPath: moduleCommonProto} {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conn := []string{"--addr", addr, "--password", "pw"}
	cmd := func(verb string, args ...string) []string {
		return append(append([]string{verb}, conn...), args...)
	}

	// load: the import resolves by its path relative to the main file's directory.
	code, out := captureStdout(t, func() int { return runModule(cmd("load", "chat", mainPath, importPath)) })
	if code != 0 || !strings.Contains(out, "module chat created") || !strings.Contains(out, "table chat_message:") ||
		!strings.Contains(out, "service chatpb.ChatService") {
		t.Fatalf("module load = %d, output:\n%s", code, out)
	}
	mods := e.Modules()
	if len(mods) != 1 || mods[0].Name != "chat" || len(mods[0].Tables) != 1 || mods[0].Tables[0].Name != "chat_message" {
		t.Fatalf("modules after load = %v", mods)
	}
	// The imported message's fields are columns of the table.
	if sql := mods[0].Tables[0].CreateSQL(); !strings.Contains(sql, "channel_name") {
		t.Fatalf("chat_message = %s, want the imported Channel's columns", sql)
	}
	// Loading again replaces it.
	if code, out := captureStdout(t, func() int { return runModule(cmd("load", "chat", mainPath, importPath)) }); code != 0 || !strings.Contains(out, "module chat replaced") {
		t.Fatalf("second module load = %d, output:\n%s", code, out)
	}
	// Without the imported file the module does not compile.
	if code := runModule(cmd("load", "other", mainPath)); code != 1 {
		t.Fatalf("module load without the import = %d, want 1", code)
	}

	code, out = captureStdout(t, func() int { return runModule(cmd("list")) })
	if code != 0 || !strings.HasPrefix(out, "chat\ttables: chat_message\tservices: chatpb.ChatService\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("module list = %d, output:\n%q", code, out)
	}

	// A wrong password or no password: the server refuses, exit code 1, nothing changes.
	t.Setenv("CDC_PASSWORD", "")
	for _, args := range [][]string{
		{"list", "--addr", addr, "--password", "wrong"},
		{"drop", "--addr", addr, "--password", "wrong", "chat"},
		{"drop", "--addr", addr, "chat"},
	} {
		if code := runModule(args); code != 1 {
			t.Fatalf("module %q = %d, want 1", args, code)
		}
	}
	if len(e.Modules()) != 1 {
		t.Fatal("a refused drop dropped the module")
	}

	// Bad usage: exit code 2.
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		cmd("load", "chat"),
		cmd("drop"),
		cmd("drop", "a", "b"),
		{"list", "--no-such-flag"},
	} {
		if code := runModule(args); code != 2 {
			t.Fatalf("module %q = %d, want 2", args, code)
		}
	}

	if code, out := captureStdout(t, func() int { return runModule(cmd("drop", "chat")) }); code != 0 || out != "module chat dropped\n" {
		t.Fatalf("module drop = %d, output %q", code, out)
	}
	if mods := e.Modules(); len(mods) != 0 {
		t.Fatalf("modules after drop = %v", mods)
	}
	if code := runModule(cmd("drop", "chat")); code != 1 {
		t.Fatalf("module drop of a dropped module = %d, want 1", code)
	}
	if code := runModule(cmd("drop", "--if-exists", "chat")); code != 0 {
		t.Fatalf("module drop --if-exists = %d, want 0", code)
	}
	if code, out := captureStdout(t, func() int { return runModule(cmd("list")) }); code != 0 || out != "" {
		t.Fatalf("module list after drop = %d, output %q", code, out)
	}
}
