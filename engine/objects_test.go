package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

// TestObjectSourceRows: an object source is a read-only relation whose rows follow object
// changes, joinable with tables, durable, and tailed like any view input.
func TestObjectSourceRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, `CREATE SOURCE images FROM S3 BUCKET 'chat-images' PREFIX 'img/' WITH (ENDPOINT = '127.0.0.1:9', ACCESS_KEY = 'ak', SECRET_KEY = 'very secret')`)
	mustExec(t, s, `CREATE TABLE chat_message_image (chat_message_id INT PRIMARY KEY, image_key VARCHAR(1024))`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW message_images AS SELECT m.chat_message_id, i.size, i.content_type FROM chat_message_image m JOIN images i ON i.key = m.image_key`)
	mustExec(t, s, `INSERT INTO chat_message_image VALUES (1, 'img/a.png'), (2, 'img/b.jpg')`)
	sub, err := e.Subscribe(ctx, "message_images", engine.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	lsn, err := e.ApplyObjectChanges(ctx, "images", []engine.ObjectChange{
		{Key: "img/a.png", Size: 100, ETag: `"e1"`, ContentType: "image/png", LastModified: at, UserMetadata: map[string]string{"owner": "ann"}},
		{Key: "img/b.jpg", Size: 200, ETag: "e2", ContentType: "image/jpeg", LastModified: at},
	})
	if err != nil || lsn == 0 {
		t.Fatalf("apply: %d %v", lsn, err)
	}
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d 1 1 100 image/png", lsn), fmt.Sprintf("%d 1 2 200 image/jpeg", lsn))
	if got, want := rowsOf(t, s, "SELECT * FROM images"), []string{
		"img/a.png\t100\te1\timage/png\t2026-11-27 10:00:00\t{\"owner\":\"ann\"}",
		"img/b.jpg\t200\te2\timage/jpeg\t2026-11-27 10:00:00\tNULL",
	}; !slices.Equal(got, want) {
		t.Fatalf("source rows %q, want %q", got, want)
	}

	// An overwrite and a delete in one batch are one transaction; a repeated change is none.
	lsn2, err := e.ApplyObjectChanges(ctx, "images", []engine.ObjectChange{
		{Key: "img/b.jpg", Size: 200, ETag: "e2", ContentType: "image/jpeg", LastModified: at},
		{Key: "img/a.png", Size: 150, ETag: "e3", ContentType: "image/png", LastModified: at.Add(time.Minute)},
		{Key: "img/b.jpg", Deleted: true},
		{Key: "img/gone.png", Deleted: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d -1 1 100 image/png", lsn2), fmt.Sprintf("%d 1 1 150 image/png", lsn2), fmt.Sprintf("%d -1 2 200 image/jpeg", lsn2))
	if again, err := e.ApplyObjectChanges(ctx, "images", []engine.ObjectChange{{Key: "img/b.jpg", Deleted: true}}); err != nil || again != 0 {
		t.Fatalf("a change that changes nothing: LSN %d, %v", again, err)
	}

	// Read-only to SQL; dropped only as a source, and only when no view reads it.
	for q, msg := range map[string]string{
		"INSERT INTO images (`key`) VALUES ('x')": "sources are read-only",
		`DELETE FROM images`:                      "sources are read-only",
		`DROP TABLE images`:                       "use DROP SOURCE",
		`DROP SOURCE chat_message_image`:          "use DROP TABLE",
		`DROP SOURCE images`:                      "message_images depends on it",
	} {
		if _, err := s.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", q, err, msg)
		}
	}
	res := mustExec(t, s, `SHOW CREATE SOURCE images`)
	if def := res.Rows[0][1].Str(); strings.Contains(def, "very secret") || !strings.Contains(def, "SECRET_KEY = '<redacted>'") || !strings.Contains(def, "PREFIX 'img/'") {
		t.Errorf("SHOW CREATE SOURCE: %s", def)
	}
	if got := rowsOf(t, s, `SHOW SOURCES`); !slices.Equal(got, []string{"images"}) {
		t.Errorf("SHOW SOURCES: %v", got)
	}
	if got := rowsOf(t, s, `SHOW TABLES`); !slices.Equal(got, []string{"chat_message_image"}) {
		t.Errorf("SHOW TABLES: %v", got)
	}

	// The source and its view survive a restart.
	sub.Close()
	e, logs := reopen(t, e, dir, engine.Options{})
	if strings.Contains(logs, "recomputed") {
		t.Fatalf("restart recomputed views:\n%s", logs)
	}
	s = e.NewSession()
	if got := rowsOf(t, s, "SELECT * FROM message_images"); !slices.Equal(got, []string{"1\t150\timage/png"}) {
		t.Fatalf("after restart: %v", got)
	}
	if _, err := e.ApplyObjectChanges(ctx, "images", []engine.ObjectChange{{Key: "img/a.png", Deleted: true}}); err != nil {
		t.Fatal(err)
	}
	verifyAll(t, e)
	mustExec(t, s, `DROP MATERIALIZED VIEW message_images`)
	mustExec(t, s, `DROP SOURCE images`)
	if _, err := e.ApplyObjectChanges(ctx, "images", nil); err == nil {
		t.Fatal("changes to a dropped source were accepted")
	}
}
