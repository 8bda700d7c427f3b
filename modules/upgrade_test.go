package modules

import (
	"strings"
	"testing"
)

func TestCheckUpgrade(t *testing.T) {
	prev := compile(t, chatProto)
	cases := []struct {
		name, from, to, want string
	}{
		{"same", "", "", ""},
		{"added field", "string message = 3; }", "string message = 3; int64 at = 4; }", ""},
		{"added nested field", "string senders_name = 2; }", "string senders_name = 2; string topic = 3; }", ""},
		{"removed field", "string sender = 1; Channel channel = 2;", "Channel channel = 2;", ""},
		{"new table", "message MessageAck {", "message Other { string x = 1; } service More { rpc Put(Other) returns (MessageAck); } message MessageAck {", ""},
		{"type change", "string sender = 1;", "int64 sender = 1;",
			"module chat: field chatpb.Message.sender changed type from TEXT to BIGINT"},
		{"nested type change", "string senders_name = 2; }", "bytes senders_name = 2; }",
			"module chat: field chatpb.Channel.senders_name changed type from TEXT to BLOB"},
		{"reused number", "string sender = 1;", "string author = 1;",
			"module chat: field number 1 is reused by field chatpb.Message.author (was chatpb.Message.sender)"},
		{"changed number", "string message = 3; }", "string message = 4; }",
			"module chat: field chatpb.Message.message changed number from 3 to 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next := compile(t, strings.Replace(chatProto, c.from, c.to, 1))
			err := CheckUpgrade(prev, next)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.want) || !strings.Contains(err.Error(), "chat_message") {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestCheckUpgradeKey(t *testing.T) {
	src := `syntax = "proto3"; package p; import "cdc/options.proto";
message R { string a = 1 [(cdc.key) = true]; string b = 2; }
service S { rpc W(R) returns (R); }`
	prev := compile(t, src)
	next := compile(t, strings.Replace(src, "string b = 2;", "string b = 2 [(cdc.key) = true];", 1))
	err := CheckUpgrade(prev, next)
	if err == nil || err.Error() != "module chat: table chat_r: the key changed from (a) to (a, b)" {
		t.Fatalf("err = %v", err)
	}
	if err := CheckUpgrade(prev, compile(t, src)); err != nil {
		t.Fatal(err)
	}
}
