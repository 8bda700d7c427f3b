package bench

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

var stateMessages = flag.Int("state-messages", 100_000, "messages of BenchmarkChatState")

// The chat schema and views of ../shared/peers (its cdcSchema and cdcViews).
var peersSchema = []string{
	"CREATE TABLE user (user_id CHAR(32), user_login VARCHAR(255), user_password CHAR(64), user_email VARCHAR(400), PRIMARY KEY (user_id))",
	"CREATE TABLE chat (chat_id CHAR(32), chat_topic VARCHAR(32), chat_password CHAR(64), user_chat_user_id CHAR(32), PRIMARY KEY (chat_id))",
	"CREATE TABLE user_chat (user_chat_chat_id CHAR(32), user_chat_user_id CHAR(32), PRIMARY KEY (user_chat_chat_id, user_chat_user_id))",
	"CREATE TABLE chat_message (chat_message_id CHAR(32), chat_message_datetime DATETIME, chat_message_text TEXT, chat_message_chat_id CHAR(32), chat_message_user_id CHAR(32), PRIMARY KEY (chat_message_id))",
}

var peersViews = []string{
	"CREATE MATERIALIZED VIEW chat_activity AS SELECT c.chat_id, c.chat_topic, COUNT(m.chat_message_id) AS messages, MAX(m.chat_message_datetime) AS last_at " +
		"FROM chat c JOIN chat_message m ON m.chat_message_chat_id = c.chat_id GROUP BY c.chat_id, c.chat_topic",
	"CREATE MATERIALIZED VIEW feed AS SELECT m.chat_message_id, u.user_login, c.chat_topic, m.chat_message_text " +
		"FROM chat_message m JOIN `user` u ON u.user_id = m.chat_message_user_id JOIN chat c ON c.chat_id = m.chat_message_chat_id " +
		"JOIN user_chat uc ON uc.user_chat_chat_id = c.chat_id AND uc.user_chat_user_id = u.user_id",
}

var chatWords = strings.Fields("the a chat message hello world lunch meeting today tomorrow code review deploy please thanks sure later soon coffee build")

// loadPeersChat loads data shaped as ../shared/peers generates it: n messages of ~10 words,
// n/100 users and n/1000 chats (at least 10 each) with ids of 32 hex digits, every user in
// about 5 chats, every message by a member of its chat.
func loadPeersChat(tb testing.TB, s *engine.Session, n int) {
	r := rand.New(rand.NewPCG(1, 2))
	hex := func(k int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, k)
		for i := range b {
			b[i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	nu, nc := max(n/100, 10), max(n/1000, 10)
	users, chats := make([]string, nu), make([]string, nc)
	for i := range users {
		users[i] = hex(32)
	}
	for i := range chats {
		chats[i] = hex(32)
	}
	load(tb, s, "user", nu, func(i int) string {
		return fmt.Sprintf("('%s','user%07d','%s','user%07d@example.com')", users[i], i, hex(64), i)
	})
	load(tb, s, "chat", nc, func(i int) string {
		return fmt.Sprintf("('%s','topic-%d-%s','%s','%s')", chats[i], i, chatWords[i%len(chatWords)], hex(64), users[r.IntN(nu)])
	})
	members := make([][]string, nc)
	var pairs [][2]string
	for _, u := range users {
		for _, ci := range r.Perm(nc)[:min(3+r.IntN(5), nc)] {
			members[ci] = append(members[ci], u)
			pairs = append(pairs, [2]string{chats[ci], u})
		}
	}
	load(tb, s, "user_chat", len(pairs), func(i int) string { return fmt.Sprintf("('%s','%s')", pairs[i][0], pairs[i][1]) })
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	load(tb, s, "chat_message", n, func(i int) string {
		ci := r.IntN(nc)
		for len(members[ci]) == 0 {
			ci = r.IntN(nc)
		}
		words := make([]string, 5+r.IntN(11))
		for j := range words {
			words[j] = chatWords[r.IntN(len(chatWords))]
		}
		return fmt.Sprintf("('%s','%s','%s','%s','%s')", hex(32), base.Add(time.Duration(i)*10*time.Second).Format(time.DateTime),
			strings.Join(words, " "), chats[ci], members[ci][r.IntN(len(members[ci]))])
	})
}

// BenchmarkChatState measures the room the peers' chat workload takes on disk (issue 13,
// item 7): the view store after a full compaction and the table store, in bytes per
// message, and logs what each arrangement and history costs. Its timed part is nothing:
// run it with -benchtime=1x.
func BenchmarkChatState(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	e, err := engine.Open(ctx, engine.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession()
	defer s.Close()
	for _, q := range peersSchema {
		exec(b, s, q)
	}
	n := *stateMessages
	loadPeersChat(b, s, n)
	for _, q := range peersViews {
		exec(b, s, q)
	}
	sizes, err := e.ArrangementSizes(ctx, true)
	if err != nil {
		b.Fatal(err)
	}
	var total uint64
	var report strings.Builder
	for _, sz := range sizes {
		total += sz.Bytes
		kind := "arrangement"
		if sz.History {
			kind = "history"
		}
		fmt.Fprintf(&report, "\n%-11s %-60s %9d entries %11d bytes %7.1f B/message", kind, sz.Name, sz.Entries, sz.Bytes, float64(sz.Bytes)/float64(n))
	}
	genji := dirSize(b, filepath.Join(dir, "genji"))
	b.Logf("%d messages: view store %d bytes (%.1f B/message), table store %d bytes (%.1f B/message), ratio %.2f%s",
		n, total, float64(total)/float64(n), genji, float64(genji)/float64(n), float64(total)/float64(genji), report.String())
	for i := 0; i < b.N; i++ {
	}
	b.ReportMetric(float64(total)/float64(n), "views-B/msg")
	b.ReportMetric(float64(genji)/float64(n), "tables-B/msg")
}
