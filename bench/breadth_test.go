package bench

import (
	"fmt"
	"testing"
)

// breadthViews are views of the chat tables that use the SQL of issue 7: a correlated top-1
// per chat, an outer join with a count, a global top-10, an EXISTS, and the three latest
// messages of each chat by ROW_NUMBER().
var breadthViews = []string{
	`CREATE MATERIALIZED VIEW last_message AS SELECT c.chat_id, (SELECT m.chat_message_text FROM chat_message m WHERE m.chat_message_chat_id = c.chat_id ORDER BY m.chat_message_id DESC LIMIT 1) AS last FROM chat c`,
	`CREATE MATERIALIZED VIEW chat_counts AS SELECT c.chat_id, COUNT(m.chat_message_id) AS n FROM chat c LEFT JOIN chat_message m ON m.chat_message_chat_id = c.chat_id GROUP BY c.chat_id`,
	`CREATE MATERIALIZED VIEW newest AS SELECT chat_message_id, chat_message_text FROM chat_message ORDER BY chat_message_id DESC LIMIT 10`,
	`CREATE MATERIALIZED VIEW active_users AS SELECT u.user_login FROM user u WHERE EXISTS (SELECT 1 FROM chat_message m WHERE m.chat_message_user_id = u.user_id AND m.chat_message_text <> '')`,
	`CREATE MATERIALIZED VIEW recent3 AS SELECT chat_message_chat_id, chat_message_id FROM (SELECT chat_message_chat_id, chat_message_id, ROW_NUMBER() OVER (PARTITION BY chat_message_chat_id ORDER BY chat_message_id DESC) AS rn FROM chat_message) AS x WHERE rn <= 3`,
}

// breadthFixture: the chat tables with rows messages and the breadth views.
func breadthFixture(b *testing.B, inMemory bool) *fixture {
	return cached(b, "breadth", inMemory, func(f *fixture) {
		exec(b, f.s, `CREATE TABLE user (user_id CHAR(32), user_login VARCHAR(255), PRIMARY KEY (user_id))`)
		exec(b, f.s, `CREATE TABLE chat_message (chat_message_id CHAR(32), chat_message_text TEXT, chat_message_chat_id CHAR(32), chat_message_user_id CHAR(32), PRIMARY KEY (chat_message_id))`)
		exec(b, f.s, `CREATE TABLE chat (chat_id CHAR(32), chat_topic VARCHAR(32), PRIMARY KEY (chat_id))`)
		load(b, f.s, "user", 1000, func(i int) string { return fmt.Sprintf("('u%04d','user%d')", i, i) })
		load(b, f.s, "chat", 100, func(i int) string { return fmt.Sprintf("('c%03d','topic%d')", i, i) })
		load(b, f.s, "chat_message", f.rows, func(i int) string {
			return fmt.Sprintf("('m%09d','message %d','c%03d','u%04d')", i, i, i%100, i%1000)
		})
		for _, v := range breadthViews {
			f.createView(b, v, f.rows)
		}
	})
}

// BenchmarkBreadthInsert is the cost of one message insert (its commit included) with the
// breadth views maintained: each insert changes the last message of its chat, the chat's
// count, its three latest messages, and the global newest ten.
func BenchmarkBreadthInsert(b *testing.B) {
	eachVariant(b, func(b *testing.B, inMemory bool) {
		f := breadthFixture(b, inMemory)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := f.key()
			exec(b, f.s, fmt.Sprintf("INSERT INTO chat_message VALUES ('m%09d', 'new %d', 'c%03d', 'u%04d')", k, k, k%100, k%1000))
		}
		b.StopTimer()
		res := exec(b, f.s, "SELECT COUNT(*) FROM newest")
		if got := res.Rows[0][0].Int(); got != 10 {
			b.Fatalf("newest has %d rows", got)
		}
		f.reportState(b)
	})
}

// BenchmarkBreadthRecompute is the one-shot evaluation of the breadth views' queries over the
// same tables, what a cache without a view engine would recompute.
func BenchmarkBreadthRecompute(b *testing.B) {
	eachVariant(b, func(b *testing.B, inMemory bool) {
		f := breadthFixture(b, inMemory)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for _, v := range breadthViews {
				_, q, _ := cutAS(v)
				exec(b, f.s, q)
			}
		}
	})
}

// cutAS splits CREATE MATERIALIZED VIEW name AS query.
func cutAS(sql string) (string, string, bool) {
	for i := 0; i+4 <= len(sql); i++ {
		if sql[i:i+4] == " AS " {
			return sql[:i], sql[i+4:], true
		}
	}
	return sql, "", false
}
