package engine

import (
	"context"
	"errors"
	"testing"
)

// TestViewStoreAheadOfTheLog: a group commit whose Genji commit never happens (a crash
// right before it) has already written its epochs to the view store. At the next open the
// epochs are taken back from their undo records: the views equal their queries, keep
// their stored state (no rebuild), and resume feeds from the log's head.
func TestViewStoreAheadOfTheLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewSession()
	execAll(t, s,
		"CREATE TABLE m (id INT PRIMARY KEY, chat INT, txt TEXT)",
		"CREATE TABLE c (chat INT PRIMARY KEY, topic TEXT)",
		"INSERT INTO c VALUES (1, 'a'), (2, 'b')",
		"INSERT INTO m VALUES (1, 1, 'x'), (2, 2, 'y'), (3, 1, 'z')",
		"CREATE MATERIALIZED VIEW per_chat AS SELECT c.topic, COUNT(*) AS n, MAX(m.id) AS last FROM m JOIN c ON m.chat = c.chat GROUP BY c.topic",
		"CREATE MATERIALIZED VIEW texts AS SELECT id, txt FROM m WHERE chat = 1",
	)
	head := e.LSN()
	lost := errors.New("crashed before the Genji commit")
	e.testGroupCommitFails = func() error {
		// What was written reaches the disk, as it does when the process is killed.
		if err := e.state.store.Flush(); err != nil {
			return err
		}
		return lost
	}
	if _, err := s.Exec(ctx, "INSERT INTO m VALUES (4, 1, 'w'), (5, 2, 'v')"); !errors.Is(err, lost) {
		t.Fatalf("the INSERT whose commit failed: %v", err)
	}
	s.Close()
	e.Close()

	e, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.LSN() != head {
		t.Fatalf("LSN %d after the reopen, want %d", e.LSN(), head)
	}
	for _, v := range e.order {
		if v.graph == nil {
			t.Errorf("view %s is rebuilt instead of resumed", v.name)
		}
	}
	s = e.NewSession()
	defer s.Close()
	res, err := s.Exec(ctx, "VERIFY VIEWS")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		if r[len(r)-1].Str() != "ok" {
			t.Errorf("VERIFY VIEWS: %v", r)
		}
	}
	res, err = s.Exec(ctx, "SELECT topic, n, last FROM per_chat ORDER BY topic")
	if err != nil || len(res.Rows) != 2 || res.Rows[0].String() != "a\t2\t3" || res.Rows[1].String() != "b\t1\t2" {
		t.Fatalf("per_chat after the reopen: %v %v", res, err)
	}
	// The next write gets the LSN the lost one had and the views follow it.
	if _, err := s.Exec(ctx, "INSERT INTO m VALUES (6, 1, 'u')"); err != nil {
		t.Fatal(err)
	}
	res, err = s.Exec(ctx, "SELECT id FROM texts ORDER BY id")
	if err != nil || len(res.Rows) != 3 || res.Rows[2].String() != "6" {
		t.Fatalf("texts after a new write: %v %v", res, err)
	}
}
