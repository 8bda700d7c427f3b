package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// TestCatalogSurvivesReopen checks that tables, indexes, views and materialized views come
// back when a data directory is reopened, with their rows and definitions.
func TestCatalogSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := engine.Open(ctx, engine.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE chat (chat_id CHAR(32) PRIMARY KEY, chat_topic VARCHAR(32), created DATETIME, score DECIMAL(5,2))`)
	mustExec(t, s, `CREATE UNIQUE INDEX chat_topic_idx ON chat (chat_topic)`)
	mustExec(t, s, `CREATE VIEW golang AS SELECT chat_id FROM chat WHERE chat_topic = 'golang'`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW golang_count AS SELECT COUNT(*) AS n FROM golang`)
	mustExec(t, s, `INSERT INTO chat VALUES ('c1', 'golang', '2026-11-27 10:00:00.5', 1.25), ('c2', 'rust', NULL, -3)`)
	s.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e, err = engine.Open(ctx, engine.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s = e.NewSession()
	expectRows(t, rowsOf(t, s, `SHOW TABLES`), "chat")
	expectRows(t, rowsOf(t, s, `SHOW VIEWS`), "golang", "golang_count")
	expectRows(t, rowsOf(t, s, `SHOW MATERIALIZED VIEWS`), "golang_count\tready\t1\tNULL\tNULL")
	expectRows(t, rowsOf(t, s, `SELECT * FROM chat`), "c1\tgolang\t2026-11-27 10:00:00.5\t1.25", "c2\trust\tNULL\t-3.00")
	expectRows(t, rowsOf(t, s, `SELECT n FROM golang_count`), "1")
	res := mustExec(t, s, `SHOW CREATE MATERIALIZED VIEW golang_count`)
	if got := res.Rows[0][1].Str(); !strings.Contains(got, "SELECT COUNT(*) AS n FROM golang") {
		t.Fatalf("SHOW CREATE: %s", got)
	}
	if _, err := s.Exec(ctx, `INSERT INTO chat VALUES ('c3', 'golang', NULL, 0)`); sqlerr.As(err).Code != sqlerr.DupEntry {
		t.Fatalf("unique index after reopen: %v", err)
	}
	mustExec(t, s, `INSERT INTO chat VALUES ('c3', 'go', NULL, 0)`)
	mustExec(t, s, `DELETE FROM chat WHERE chat_id = 'c1'`)
	mustExec(t, s, `UPDATE chat SET chat_topic = 'golang' WHERE chat_id = 'c2'`)
	expectRows(t, rowsOf(t, s, `SELECT n FROM golang_count`), "1")
	mustExec(t, s, `DROP MATERIALIZED VIEW golang_count`)
	mustExec(t, s, `DROP VIEW golang`)
	mustExec(t, s, `DROP TABLE chat`)
	expectRows(t, rowsOf(t, s, `SHOW TABLES`))
}
