package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

// nextRows reads one batch of a subscription as TAIL rows printed "lsn diff [progressed] cols".
func nextRows(t *testing.T, sub *engine.Subscription) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("next batch: %v", err)
	}
	var out []string
	for _, r := range sub.Rows(b) {
		out = append(out, strings.ReplaceAll(r.String(), "\t", " "))
	}
	return out
}

func TestTailSnapshotThenChangesInLSNOrder(t *testing.T) {
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE chat (chat_id CHAR(32) PRIMARY KEY, chat_topic VARCHAR(32))`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW go_chats AS SELECT chat_id FROM chat WHERE chat_topic = 'go'`)
	first := mustExec(t, s, `INSERT INTO chat VALUES ('a', 'go'), ('b', 'rust')`)

	res := mustExec(t, s, `TAIL go_chats WITH (SNAPSHOT = true, PROGRESS = true)`)
	sub := res.Tail
	defer sub.Close()
	var cols []string
	for _, c := range sub.Columns() {
		cols = append(cols, c.Name)
	}
	if got := strings.Join(cols, ","); got != "lsn,diff,progressed,chat_id" {
		t.Fatalf("columns %s", got)
	}
	lsn := first.LSN
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d 1 0 a", lsn))
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d NULL 1 NULL", lsn))

	// An update of a view row is a retraction and an insertion at the same LSN, then progress.
	upd := mustExec(t, s, `UPDATE chat SET chat_id = 'c' WHERE chat_id = 'a'`)
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d -1 0 a", upd.LSN), fmt.Sprintf("%d 1 0 c", upd.LSN))
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d NULL 1 NULL", upd.LSN))

	// A transaction that does not touch the view only advances progress.
	other := mustExec(t, s, `INSERT INTO chat VALUES ('d', 'rust')`)
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d NULL 1 NULL", other.LSN))

	// All changes of one transaction arrive together.
	mustExec(t, s, "BEGIN")
	mustExec(t, s, `INSERT INTO chat VALUES ('e', 'go')`)
	mustExec(t, s, `DELETE FROM chat WHERE chat_id = 'c'`)
	commit := mustExec(t, s, "COMMIT")
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d -1 0 c", commit.LSN), fmt.Sprintf("%d 1 0 e", commit.LSN))
}

func TestSubscribeResumeAndErrors(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (k INT PRIMARY KEY)`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM t`)
	r := mustExec(t, s, `INSERT INTO t VALUES (1)`)

	// AS OF the current frontier without a snapshot: exactly the changes after it.
	sub, err := e.Subscribe(ctx, "v", engine.SubscribeOptions{AsOf: r.LSN, HasAsOf: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	r2 := mustExec(t, s, `INSERT INTO t VALUES (2)`)
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d -1 1", r2.LSN), fmt.Sprintf("%d 1 2", r2.LSN))

	if _, err := e.Subscribe(ctx, "v", engine.SubscribeOptions{AsOf: 1, HasAsOf: true}); err == nil || !strings.Contains(err.Error(), "oldest LSN available for view v, 2") {
		t.Fatalf("AS OF an LSN that is not retained: %v", err)
	}
	if _, err := e.Subscribe(ctx, "nope", engine.SubscribeOptions{}); err == nil {
		t.Fatal("subscribing to a missing view succeeded")
	}

	// A subscriber that does not read is cut off instead of blocking writers.
	slow, err := e.Subscribe(ctx, "v", engine.SubscribeOptions{Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 8; i++ {
		mustExec(t, s, fmt.Sprintf(`INSERT INTO t VALUES (%d)`, i))
	}
	var lastErr error
	for j := 0; j < 10 && lastErr == nil; j++ {
		_, lastErr = slow.Next(ctx)
	}
	if lastErr == nil || !strings.Contains(lastErr.Error(), "fell more than") {
		t.Fatalf("slow subscriber: %v", lastErr)
	}
	// Dropping the view ends its subscriptions with an error.
	dropSub, err := e.Subscribe(ctx, "v", engine.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, s, `DROP MATERIALIZED VIEW v`)
	if _, err := dropSub.Next(ctx); err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Fatalf("after DROP: %v", err)
	}
}

func expectRows(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}
