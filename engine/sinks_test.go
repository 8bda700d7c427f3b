package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/miniotest"
	"github.com/minio/minio-go/v7"
)

// sinkObjects reads the objects under prefix: name -> lines.
func sinkObjects(t *testing.T, mc *minio.Client, bucket, prefix string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		r, err := mc.GetObject(ctx, bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		out[strings.TrimPrefix(obj.Key, prefix)] = lines
	}
	return out
}

// waitObject waits until the sink wrote the object of lsn and returns its lines.
func waitObject(t *testing.T, mc *minio.Client, lsn uint64) []string {
	t.Helper()
	name := fmt.Sprintf("%020d.jsonl", lsn)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if lines, ok := sinkObjects(t, mc, "out", "v/")[name]; ok {
			return lines
		}
	}
	t.Fatalf("the sink did not write %s: %v", name, sinkObjects(t, mc, "out", "v/"))
	return nil
}

// TestS3Sink: a sink writes a view's contents, then each LSN's changes as one object named by
// the LSN, and resumes after a restart exactly after the last object it wrote.
func TestS3Sink(t *testing.T) {
	ctx := context.Background()
	srv := miniotest.Start(t, miniotest.Options{})
	mc := srv.Bucket(t, "out")
	dir := t.TempDir()
	e, _ := reopen(t, nil, dir, engine.Options{})
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (k INT PRIMARY KEY, v TEXT)`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW v AS SELECT k, v FROM t`)
	first := mustExec(t, s, `INSERT INTO t VALUES (1, 'one'), (2, 'two')`)
	mustExec(t, s, fmt.Sprintf(`CREATE SINK out FROM v INTO S3 BUCKET 'out' PREFIX 'v/' WITH (FORMAT = 'jsonl', ENDPOINT = '%s', ACCESS_KEY = '%s', SECRET_KEY = '%s', SECURE = false)`,
		srv.Endpoint, srv.AccessKey, srv.SecretKey))
	snap := waitObject(t, mc, first.LSN)
	if want := []string{
		fmt.Sprintf(`{"lsn":%d,"diff":1,"row":{"k":1,"v":"one"}}`, first.LSN),
		fmt.Sprintf(`{"lsn":%d,"diff":1,"row":{"k":2,"v":"two"}}`, first.LSN),
	}; !slices.Equal(snap, want) {
		t.Fatalf("snapshot object %q, want %q", snap, want)
	}
	upd := mustExec(t, s, `UPDATE t SET v = 'uno' WHERE k = 1`)
	if got, want := waitObject(t, mc, upd.LSN), []string{
		fmt.Sprintf(`{"lsn":%d,"diff":-1,"row":{"k":1,"v":"one"}}`, upd.LSN),
		fmt.Sprintf(`{"lsn":%d,"diff":1,"row":{"k":1,"v":"uno"}}`, upd.LSN),
	}; !slices.Equal(got, want) {
		t.Fatalf("update object %q, want %q", got, want)
	}
	for q, msg := range map[string]string{
		`DROP MATERIALIZED VIEW v`:                                             "sink out writes it",
		`CREATE SINK out FROM v INTO S3 BUCKET 'out'`:                          "already exists",
		`CREATE SINK o2 FROM nope INTO S3 BUCKET 'out'`:                        "doesn't exist",
		`CREATE SINK o2 FROM v INTO S3 BUCKET 'out' WITH (FORMAT = 'parquet')`: "not supported",
	} {
		if _, err := s.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", q, err, msg)
		}
	}

	// Changes made while the sink is down are written when it comes back, once each.
	mustExec(t, s, `INSERT INTO t VALUES (3, 'three')`)
	e, _ = reopen(t, e, dir, engine.Options{})
	s = e.NewSession()
	last := mustExec(t, s, `DELETE FROM t WHERE k = 2`)
	waitObject(t, mc, last.LSN)
	counts := map[string]int64{}
	var lsns []uint64
	for name, lines := range sinkObjects(t, mc, "out", "v/") {
		var lsn uint64
		fmt.Sscanf(name, "%020d.jsonl", &lsn)
		lsns = append(lsns, lsn)
		for _, l := range lines {
			var rec struct {
				LSN  uint64          `json:"lsn"`
				Diff int64           `json:"diff"`
				Row  json.RawMessage `json:"row"`
			}
			if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.LSN != lsn {
				t.Fatalf("object %s line %s: %v", name, l, err)
			}
			counts[string(rec.Row)] += rec.Diff
		}
	}
	slices.Sort(lsns)
	if want := []uint64{first.LSN, upd.LSN, upd.LSN + 1, last.LSN}; !slices.Equal(lsns, want) {
		t.Fatalf("objects at LSNs %v, want %v", lsns, want)
	}
	var rows []string
	for r, c := range counts {
		if c != 0 {
			rows = append(rows, fmt.Sprintf("%s x%d", r, c))
		}
	}
	slices.Sort(rows)
	if want := []string{`{"k":1,"v":"uno"} x1`, `{"k":3,"v":"three"} x1`}; !slices.Equal(rows, want) {
		t.Fatalf("the objects add up to %v, want %v", rows, want)
	}
	mustExec(t, s, `DROP SINK out`)
	mustExec(t, s, `DROP MATERIALIZED VIEW v`)
	if got := rowsOf(t, s, `SHOW SINKS`); len(got) != 0 {
		t.Fatalf("SHOW SINKS after DROP: %v", got)
	}
}

// TestThumbnailSink: a view of thumbnails of a bucket's PNG and JPEG images, sunk as one
// object per row,
// keeps a bucket of thumbnails in step with the originals, deletes included, across a restart.
func TestThumbnailSink(t *testing.T) {
	ctx := context.Background()
	srv := miniotest.Start(t, miniotest.Options{})
	mc := srv.Bucket(t, "originals")
	if err := mc.MakeBucket(ctx, "thumbs", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := mc.PutObject(ctx, "originals", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	thumbs := func() map[string]string {
		out := map[string]string{}
		for obj := range mc.ListObjects(ctx, "thumbs", minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil || strings.HasPrefix(obj.Key, ".") {
				continue
			}
			r, err := mc.GetObject(ctx, "thumbs", obj.Key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				continue // deleted since the listing
			}
			img, format, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("thumbnail %s: %v", obj.Key, err)
			}
			out[obj.Key] = fmt.Sprintf("%s %dx%d", format, img.Width, img.Height)
		}
		return out
	}
	waitThumbs := func(want map[string]string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			got := thumbs()
			if fmt.Sprint(got) == fmt.Sprint(want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("thumbnails %v, want %v", got, want)
			}
		}
	}
	put("a.png", testPNG(t, 64, 32))
	put("notes.txt", []byte("not an image"))
	dir := t.TempDir()
	opts := engine.Options{ReconcileInterval: time.Hour}
	e, _ := reopen(t, nil, dir, opts)
	s := e.NewSession()
	conn := fmt.Sprintf(`ENDPOINT = '%s', ACCESS_KEY = '%s', SECRET_KEY = '%s', SECURE = false`, srv.Endpoint, srv.AccessKey, srv.SecretKey)
	mustExec(t, s, `CREATE SOURCE media FROM S3 BUCKET 'originals' WITH (`+conn+`, NOTIFY_ARN = '', CONTENT = true)`)
	mustExec(t, s, "CREATE MATERIALIZED VIEW thumbs AS SELECT `key`, image_thumbnail(content, 16) AS thumb FROM media")
	if _, err := s.Exec(ctx, `CREATE SINK bad FROM thumbs INTO S3 BUCKET 'thumbs' WITH (FORMAT = 'objects', KEY = 'key', CONTENT = 'nope', `+conn+`)`); err == nil || !strings.Contains(err.Error(), "Unknown column 'nope'") {
		t.Fatalf("a sink of an unknown column: %v", err)
	}
	mustExec(t, s, `CREATE SINK thumbs_out FROM thumbs INTO S3 BUCKET 'thumbs' WITH (FORMAT = 'objects', KEY = 'key', CONTENT = 'thumb', `+conn+`)`)
	waitThumbs(map[string]string{"a.png": "png 16x8"})

	put("b.jpg", testJPEG(t, 10, 40))
	put("a.png", testPNG(t, 32, 64))
	if _, err := e.Reconcile(ctx, "media"); err != nil {
		t.Fatal(err)
	}
	waitThumbs(map[string]string{"a.png": "png 8x16", "b.jpg": "png 4x16"})

	// Across a restart the sink resumes from its marker: a deletion made meanwhile arrives.
	e, _ = reopen(t, e, dir, opts)
	if err := mc.RemoveObject(ctx, "originals", "a.png", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reconcile(ctx, "media"); err != nil {
		t.Fatal(err)
	}
	waitThumbs(map[string]string{"b.jpg": "png 4x16"})
}

// testJPEG encodes a w x h JPEG.
func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
