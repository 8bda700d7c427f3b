package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/engine"
)

// A view created over tables of different sizes joins the largest last, and keeps that plan
// (and so its stored state) across restarts even after the sizes change.
func TestJoinOrderBySizeSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	for _, q := range []string{
		`CREATE TABLE user (user_id INT PRIMARY KEY, user_login VARCHAR(32))`,
		`CREATE TABLE chat (chat_id INT PRIMARY KEY, topic VARCHAR(32))`,
		`CREATE TABLE member (chat_id INT, user_id INT, PRIMARY KEY (chat_id, user_id))`,
		`CREATE TABLE msg (id INT PRIMARY KEY, chat_id INT, user_id INT, text VARCHAR(100))`,
		`INSERT INTO user VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')`,
		`INSERT INTO chat VALUES (1, 'lunch'), (2, 'code')`,
		`INSERT INTO member VALUES (1, 1), (1, 2), (2, 2), (2, 3)`,
	} {
		mustExec(t, s, q)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO msg VALUES ")
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d, %d, %d, 'm%d')", i, 1+i%2, 1+i%3, i)
	}
	mustExec(t, s, b.String())
	const view = `CREATE MATERIALIZED VIEW feed AS SELECT m.id, u.user_login, c.topic, m.text FROM msg m
		JOIN user u ON u.user_id = m.user_id JOIN chat c ON c.chat_id = m.chat_id
		JOIN member mb ON mb.chat_id = c.chat_id AND mb.user_id = u.user_id`
	mustExec(t, s, view)
	explain := func() string {
		var lines []string
		for _, r := range mustExec(t, s, "EXPLAIN MATERIALIZED VIEW feed").Rows {
			lines = append(lines, r[0].Str())
		}
		return strings.Join(lines, "\n")
	}
	plan := explain()
	// The messages are the right side of the outermost join, the first Join line.
	_, outer, _ := strings.Cut(plan, "Join ")
	outer, _, _ = strings.Cut(outer, "\n")
	if !strings.Contains(outer, "table:msg") {
		t.Fatalf("the largest table is not joined last:\n%s", plan)
	}
	verifyAll(t, e)

	// Other sizes now: the view still plans as it was built.
	for i := 3; i < 60; i++ {
		mustExec(t, s, fmt.Sprintf("INSERT INTO chat VALUES (%d, 't%d')", i, i))
	}
	e, logs := reopen(t, e, dir, engine.Options{})
	if strings.Contains(logs, "recomputed") {
		t.Fatalf("a restart recomputed the view:\n%s", logs)
	}
	s = e.NewSession()
	if got := explain(); got != plan {
		t.Fatalf("plan after restart:\n%s\nwant:\n%s", got, plan)
	}
	mustExec(t, s, "INSERT INTO msg VALUES (100, 2, 3, 'late'), (101, 1, 3, 'outsider')")
	mustExec(t, s, "UPDATE user SET user_login = 'bea' WHERE user_id = 2")
	mustExec(t, s, "DELETE FROM member WHERE chat_id = 1 AND user_id = 1")
	verifyAll(t, e)
}
