package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/miniotest"
	"github.com/minio/minio-go/v7"
)

// TestObjectSourceRows: an object source is a read-only relation whose rows follow object
// changes, joinable with tables, durable, and tailed like any view input.
func TestObjectSourceRows(t *testing.T) {
	ctx := context.Background()
	srv := miniotest.Start(t, miniotest.Options{})
	mc := srv.Bucket(t, "chat-images")
	put := func(key, body, contentType string, meta map[string]string) {
		t.Helper()
		if _, err := mc.PutObject(ctx, "chat-images", key, strings.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ContentType: contentType, UserMetadata: meta}); err != nil {
			t.Fatal(err)
		}
	}
	put("img/a.png", strings.Repeat("a", 100), "image/png", map[string]string{"Owner": "ann"})
	put("other/x.txt", "not under the prefix", "text/plain", nil)

	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, fmt.Sprintf(`CREATE SOURCE images FROM S3 BUCKET 'chat-images' PREFIX 'img/' WITH (ENDPOINT = '%s', ACCESS_KEY = '%s', SECRET_KEY = '%s', SECURE = false)`,
		srv.Endpoint, srv.AccessKey, srv.SecretKey))
	// The first listing ran with CREATE SOURCE.
	if got := rowsOf(t, s, "SELECT `key`, size, content_type, user_metadata FROM images"); !slices.Equal(got, []string{"img/a.png\t100\timage/png\t{\"owner\":\"ann\"}"}) {
		t.Fatalf("source rows after CREATE SOURCE: %q", got)
	}
	mustExec(t, s, `CREATE TABLE chat_message_image (chat_message_id INT PRIMARY KEY, image_key VARCHAR(1024))`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW message_images AS SELECT m.chat_message_id, i.size, i.content_type FROM chat_message_image m JOIN images i ON i.key = m.image_key`)
	mustExec(t, s, `INSERT INTO chat_message_image VALUES (1, 'img/a.png'), (2, 'img/b.jpg')`)
	sub, err := e.Subscribe(ctx, "message_images", engine.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	// New, overwritten and deleted objects arrive with a reconciliation, in one transaction.
	put("img/b.jpg", strings.Repeat("b", 200), "image/jpeg", nil)
	res, err := e.Reconcile(ctx, "images")
	if err != nil || res.Inserted != 1 || res.Updated != 0 || res.Deleted != 0 || res.Listed != 2 {
		t.Fatalf("reconcile: %+v %v", res, err)
	}
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d 1 2 200 image/jpeg", res.LSN))
	put("img/a.png", strings.Repeat("a", 150), "image/png", nil)
	if err := mc.RemoveObject(ctx, "chat-images", "img/b.jpg", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err = e.Reconcile(ctx, "images"); err != nil || res.Updated != 1 || res.Deleted != 1 {
		t.Fatalf("reconcile: %+v %v", res, err)
	}
	expectRows(t, nextRows(t, sub), fmt.Sprintf("%d -1 1 100 image/png", res.LSN), fmt.Sprintf("%d 1 1 150 image/png", res.LSN), fmt.Sprintf("%d -1 2 200 image/jpeg", res.LSN))
	if res, err = e.Reconcile(ctx, "images"); err != nil || res.LSN != 0 || res.Listed != 1 {
		t.Fatalf("a reconciliation with nothing to do: %+v %v", res, err)
	}
	// A change that changes nothing (an event delivered twice) is no transaction.
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
	res2 := mustExec(t, s, `SHOW CREATE SOURCE images`)
	if def := res2.Rows[0][1].Str(); strings.Contains(def, srv.SecretKey) || !strings.Contains(def, "SECRET_KEY = '<redacted>'") || !strings.Contains(def, "PREFIX 'img/'") {
		t.Errorf("SHOW CREATE SOURCE: %s", def)
	}
	if got := rowsOf(t, s, `SHOW SOURCES`); !slices.Equal(got, []string{"images"}) {
		t.Errorf("SHOW SOURCES: %v", got)
	}
	if got := rowsOf(t, s, `SHOW TABLES`); !slices.Equal(got, []string{"chat_message_image"}) {
		t.Errorf("SHOW TABLES: %v", got)
	}

	// Changes made while the engine is down are found by the listing at start.
	sub.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	put("img/b.jpg", strings.Repeat("b", 50), "image/jpeg", nil)
	if err := mc.RemoveObject(ctx, "chat-images", "img/a.png", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	e, logs := reopen(t, nil, dir, engine.Options{})
	if strings.Contains(logs, "recomputed") {
		t.Fatalf("restart recomputed views:\n%s", logs)
	}
	s = e.NewSession()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(rowsOf(t, s, "SELECT * FROM message_images"), []string{"2\t50\timage/jpeg"}) {
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %v", rowsOf(t, s, "SELECT * FROM message_images"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	verifyAll(t, e)
	mustExec(t, s, `DROP MATERIALIZED VIEW message_images`)
	mustExec(t, s, `DROP SOURCE images`)
	if _, err := e.ApplyObjectChanges(ctx, "images", nil); err == nil {
		t.Fatal("changes to a dropped source were accepted")
	}
}

// TestCreateSourceErrors: an unreachable endpoint or a missing bucket fails CREATE SOURCE
// with a clear error and creates nothing.
func TestCreateSourceErrors(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, engine.Options{})
	s := e.NewSession()
	for q, msg := range map[string]string{
		`CREATE SOURCE a FROM S3 BUCKET 'b' WITH (ENDPOINT = '127.0.0.1:9', SECURE = false)`: "cannot reach bucket \"b\" at S3 endpoint 127.0.0.1:9",
		`CREATE SOURCE a FROM S3 BUCKET 'b' WITH (SECURE = 'maybe')`:                         "SECURE takes true or false",
	} {
		if _, err := s.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", q, err, msg)
		}
	}
	srv := miniotest.Start(t, miniotest.Options{})
	_, err := s.Exec(ctx, fmt.Sprintf(`CREATE SOURCE a FROM S3 BUCKET 'missing' WITH (ENDPOINT = '%s', ACCESS_KEY = '%s', SECRET_KEY = '%s', SECURE = false)`,
		srv.Endpoint, srv.AccessKey, srv.SecretKey))
	if err == nil || !strings.Contains(err.Error(), `bucket "missing" does not exist`) {
		t.Errorf("a missing bucket: %v", err)
	}
	if got := rowsOf(t, s, `SHOW SOURCES`); len(got) != 0 {
		t.Errorf("failed CREATE SOURCE left %v", got)
	}
}

// TestObjectEventsOrderAndDuplicates: notifications apply per key in sequencer order;
// redelivered and stale ones (older than the row) change nothing; other buckets are counted.
func TestObjectEventsOrderAndDuplicates(t *testing.T) {
	ctx := context.Background()
	srv := miniotest.Start(t, miniotest.Options{})
	srv.Bucket(t, "bkt")
	e := openEngine(t, engine.Options{ReconcileInterval: time.Hour})
	s := e.NewSession()
	mustExec(t, s, fmt.Sprintf(`CREATE SOURCE src FROM S3 BUCKET 'bkt' WITH (ENDPOINT = '%s', ACCESS_KEY = '%s', SECRET_KEY = '%s', SECURE = false, NOTIFY_ARN = '')`,
		srv.Endpoint, srv.AccessKey, srv.SecretKey))
	t0 := time.Now().Add(time.Minute) // later than any listing of this test
	put := func(etag, seq string, at time.Duration) engine.ObjectEvent {
		return engine.ObjectEvent{Bucket: "bkt", Key: "a", Size: 1, ETag: etag, Time: t0.Add(at), Sequencer: seq,
			UserMetadata: map[string]string{"X-Amz-Meta-Owner": "ann", "content-type": "x"}}
	}
	del := func(seq string, at time.Duration) engine.ObjectEvent {
		return engine.ObjectEvent{Bucket: "bkt", Key: "a", Removed: true, Time: t0.Add(at), Sequencer: seq}
	}
	etag := func() []string { return rowsOf(t, s, "SELECT etag, user_metadata FROM src") }
	for _, step := range []struct {
		events  []engine.ObjectEvent
		applied int
		want    []string
	}{
		{[]engine.ObjectEvent{put("v2", "0B", 2*time.Second), put("v1", "0A", time.Second)}, 2, []string{"v2\t{\"owner\":\"ann\"}"}},
		{[]engine.ObjectEvent{put("v1", "0A", time.Second)}, 0, []string{"v2\t{\"owner\":\"ann\"}"}},
		{[]engine.ObjectEvent{put("v2", "0B", 2*time.Second)}, 0, []string{"v2\t{\"owner\":\"ann\"}"}},
		{[]engine.ObjectEvent{del("09", 0)}, 0, []string{"v2\t{\"owner\":\"ann\"}"}},
		{[]engine.ObjectEvent{del("0C", 3*time.Second), {Bucket: "elsewhere", Key: "a"}}, 1, nil},
	} {
		res, err := e.ApplyObjectEvents(ctx, step.events)
		if err != nil || res.Applied != step.applied {
			t.Fatalf("events %+v: %+v %v, want %d applied", step.events, res, err, step.applied)
		}
		if got := etag(); !slices.Equal(got, step.want) {
			t.Fatalf("after %+v: %q, want %q", step.events, got, step.want)
		}
	}
}

// testPNG encodes a w x h PNG.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestObjectSourceContent: a source WITH (CONTENT = true) carries the objects' bytes (up to
// its cap), and a thumbnail view over them follows the bucket.
func TestObjectSourceContent(t *testing.T) {
	ctx := context.Background()
	srv := miniotest.Start(t, miniotest.Options{})
	mc := srv.Bucket(t, "media")
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := mc.PutObject(ctx, "media", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("a.png", testPNG(t, 64, 32))
	put("notes.txt", []byte("not an image"))
	put("big.bin", bytes.Repeat([]byte{1}, 5000))
	e := openEngine(t, engine.Options{ReconcileInterval: time.Hour})
	s := e.NewSession()
	mustExec(t, s, fmt.Sprintf(`CREATE SOURCE media FROM S3 BUCKET 'media' WITH (ENDPOINT = '%s', ACCESS_KEY = '%s', SECRET_KEY = '%s', SECURE = false, NOTIFY_ARN = '', CONTENT = true, MAX_CONTENT_BYTES = '4096')`,
		srv.Endpoint, srv.AccessKey, srv.SecretKey))
	mustExec(t, s, "CREATE MATERIALIZED VIEW thumbs AS SELECT `key`, image_format(content) AS f, image_width(image_thumbnail(content, 16)) AS w, image_height(image_thumbnail(content, 16)) AS h, LENGTH(content) AS n FROM media")
	if got, want := rowsOf(t, s, "SELECT * FROM thumbs"), []string{
		"a.png\tpng\t16\t8\t" + fmt.Sprint(len(testPNG(t, 64, 32))),
		"big.bin\tNULL\tNULL\tNULL\tNULL", // over the cap: no content
		"notes.txt\tNULL\tNULL\tNULL\t12",
	}; !slices.Equal(got, want) {
		t.Fatalf("thumbs %q, want %q", got, want)
	}
	put("a.png", testPNG(t, 20, 40))
	if err := mc.RemoveObject(ctx, "media", "notes.txt", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reconcile(ctx, "media"); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, s, "SELECT `key`, w, h FROM thumbs"); !slices.Equal(got, []string{"a.png\t8\t16", "big.bin\tNULL\tNULL"}) {
		t.Fatalf("thumbs after overwrite and delete: %q", got)
	}
	verifyAll(t, e)
	for q, msg := range map[string]string{
		`CREATE SOURCE x FROM S3 BUCKET 'media' WITH (CONTENT = 'yes')`:                 "CONTENT takes true or false",
		`CREATE SOURCE x FROM S3 BUCKET 'media' WITH (MAX_CONTENT_BYTES = '999999999')`: "MAX_CONTENT_BYTES takes a number",
	} {
		if _, err := s.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", q, err, msg)
		}
	}
}
