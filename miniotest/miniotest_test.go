package miniotest_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/miniotest"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/notification"
)

func TestObjects(t *testing.T) {
	t.Parallel()
	s := miniotest.Start(t, miniotest.Options{})
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const bucket = "objects"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	objects := map[string]string{
		"a.txt":          "alpha",
		"dir/b.bin":      "\x00\x01\x02",
		"dir/sub/c d.md": "# with a space",
	}
	for name, body := range objects {
		_, err := c.PutObject(ctx, bucket, name, strings.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ContentType: "text/plain", UserMetadata: map[string]string{"origin": "miniotest"}})
		if err != nil {
			t.Fatalf("PutObject %s: %v", name, err)
		}
	}

	if got, want := list(t, c, bucket), []string{"a.txt", "dir/b.bin", "dir/sub/c d.md"}; !equal(got, want) {
		t.Fatalf("list = %q, want %q", got, want)
	}
	info, err := c.StatObject(ctx, bucket, "a.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("StatObject: %v", err)
	}
	if info.Size != 5 || info.ContentType != "text/plain" || info.UserMetadata["Origin"] != "miniotest" || info.ETag == "" {
		t.Errorf("StatObject = size %d, type %q, metadata %v, etag %q", info.Size, info.ContentType, info.UserMetadata, info.ETag)
	}
	obj, err := c.GetObject(ctx, bucket, "dir/sub/c d.md", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || string(body) != objects["dir/sub/c d.md"] {
		t.Errorf("GetObject = %q, %v", body, err)
	}

	if err := c.RemoveObject(ctx, bucket, "dir/b.bin", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("RemoveObject: %v", err)
	}
	if got, want := list(t, c, bucket), []string{"a.txt", "dir/sub/c d.md"}; !equal(got, want) {
		t.Fatalf("list after delete = %q, want %q", got, want)
	}
	_, err = c.StatObject(ctx, bucket, "dir/b.bin", minio.StatObjectOptions{})
	if minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("StatObject of a deleted object: %v, want NoSuchKey", err)
	}

	// Restart keeps the data and the address.
	endpoint := s.Endpoint
	s.Restart(t)
	if s.Endpoint != endpoint {
		t.Errorf("endpoint changed over restart: %s -> %s", endpoint, s.Endpoint)
	}
	if got, want := list(t, c, bucket), []string{"a.txt", "dir/sub/c d.md"}; !equal(got, want) {
		t.Fatalf("list after restart = %q, want %q", got, want)
	}
}

const token = "s3cr3t-webhook-token"

func TestWebhook(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	s := miniotest.Start(t, miniotest.Options{Webhook: &miniotest.Webhook{
		Endpoint:  rcv.url(),
		AuthToken: token,
	}})
	if got, want := s.Webhook.ARN(), "arn:minio:sqs::cdc:webhook"; got != want {
		t.Fatalf("ARN = %s, want %s", got, want)
	}
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const bucket = "events"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	arn, err := notification.NewArnFromString(s.Webhook.ARN())
	if err != nil {
		t.Fatal(err)
	}
	qc := notification.NewConfig(arn)
	qc.AddEvents(notification.ObjectCreatedAll, notification.ObjectRemovedAll)
	cfg := notification.Configuration{}
	cfg.AddQueue(qc)
	if err := c.SetBucketNotification(ctx, bucket, cfg); err != nil {
		t.Fatalf("SetBucketNotification: %v", err)
	}

	put := func(t *testing.T, key string) {
		t.Helper()
		if _, err := c.PutObject(ctx, bucket, key, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}

	t.Run("put and delete", func(t *testing.T) {
		start := time.Now()
		put(t, "dir/a b.txt")
		created := rcv.await(t, "s3:ObjectCreated:Put", "dir/a b.txt", 30*time.Second)
		t.Logf("ObjectCreated delivered after %v", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		if err := c.RemoveObject(ctx, bucket, "dir/a b.txt", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		removed := rcv.await(t, "s3:ObjectRemoved:Delete", "dir/a b.txt", 30*time.Second)
		t.Logf("ObjectRemoved delivered after %v", time.Since(start).Round(time.Millisecond))
		for _, e := range []delivery{created, removed} {
			if e.auth != "Bearer "+token {
				t.Errorf("Authorization = %q, want %q", e.auth, "Bearer "+token)
			}
			if e.log.Key != bucket+"/dir/a b.txt" {
				t.Errorf("Key = %q", e.log.Key)
			}
			r := e.log.Records[0]
			if r.S3.Bucket.Name != bucket || r.S3.Object.Sequencer == "" {
				t.Errorf("record: bucket %q, sequencer %q", r.S3.Bucket.Name, r.S3.Object.Sequencer)
			}
		}
		// Object keys in the records are URL-encoded (the top-level Key is not).
		t.Logf("Records[0].s3.object.key of %q is %q", "dir/a b.txt", created.log.Records[0].S3.Object.Key)
		if created.log.Records[0].S3.Object.Size != 1 || created.log.Records[0].S3.Object.ETag == "" {
			t.Errorf("created record: size %d, etag %q", created.log.Records[0].S3.Object.Size, created.log.Records[0].S3.Object.ETag)
		}
		t.Logf("sample body: %s", created.body)
	})

	// While the receiver answers 503 MinIO keeps the event in its queue directory and retries.
	t.Run("queued while receiver answers 503", func(t *testing.T) {
		rcv.setDown(true)
		put(t, "late-503")
		rcv.awaitRejection(t, 30*time.Second)
		time.Sleep(4 * time.Second) // a few failed attempts
		rcv.setDown(false)
		up := time.Now()
		rcv.await(t, "s3:ObjectCreated:Put", "late-503", 60*time.Second)
		t.Logf("delivered %v after the receiver came back (%d rejected attempts)", time.Since(up).Round(time.Millisecond), rcv.rejectedCount())
	})

	// With the receiver's port closed (connection refused) the same holds.
	t.Run("queued while receiver is closed", func(t *testing.T) {
		rcv.close()
		put(t, "late-closed")
		time.Sleep(5 * time.Second)
		rcv.reopen(t)
		up := time.Now()
		rcv.await(t, "s3:ObjectCreated:Put", "late-closed", 60*time.Second)
		t.Logf("delivered %v after the receiver came back", time.Since(up).Round(time.Millisecond))
	})

	// The queue directory survives a MinIO restart.
	t.Run("queued across a MinIO restart", func(t *testing.T) {
		rcv.setDown(true)
		put(t, "late-restart")
		rcv.awaitRejection(t, 30*time.Second)
		s.Restart(t)
		rcv.setDown(false)
		up := time.Now()
		rcv.await(t, "s3:ObjectCreated:Put", "late-restart", 60*time.Second)
		t.Logf("delivered %v after restart", time.Since(up).Round(time.Millisecond))
	})

	if n := rcv.duplicates(); n > 0 {
		t.Logf("note: %d duplicate deliveries (at-least-once)", n)
	}
}

// MinIO may start before the receiver listens (the engine starts after MinIO, or restarts):
// the target still registers, and events wait in the queue until the receiver is up.
func TestWebhookReceiverDownAtStart(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	rcv.close()
	s := miniotest.Start(t, miniotest.Options{Webhook: &miniotest.Webhook{Endpoint: rcv.url(), AuthToken: token}})
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const bucket = "early"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	arn, err := notification.NewArnFromString(s.Webhook.ARN())
	if err != nil {
		t.Fatal(err)
	}
	qc := notification.NewConfig(arn)
	qc.AddEvents(notification.ObjectCreatedAll)
	cfg := notification.Configuration{}
	cfg.AddQueue(qc)
	if err := c.SetBucketNotification(ctx, bucket, cfg); err != nil {
		t.Fatalf("SetBucketNotification with the receiver down: %v", err)
	}
	if _, err := c.PutObject(ctx, bucket, "k", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // at least one failed attempt (retries are every 3 s)
	rcv.reopen(t)
	up := time.Now()
	rcv.await(t, "s3:ObjectCreated:Put", "k", 60*time.Second)
	t.Logf("delivered %v after the receiver opened", time.Since(up).Round(time.Millisecond))
}

// eventLog is the body MinIO posts to a webhook.
type eventLog struct {
	EventName string
	Key       string
	Records   []struct {
		EventName string `json:"eventName"`
		EventTime string `json:"eventTime"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				Size      int64  `json:"size"`
				ETag      string `json:"eTag"`
				Sequencer string `json:"sequencer"`
			} `json:"object"`
		} `json:"s3"`
	}
}

type delivery struct {
	auth string
	body []byte
	log  eventLog
}

// receiver is a webhook endpoint that can answer 503, or be closed and reopened on its port.
type receiver struct {
	mu       sync.Mutex
	addr     string
	srv      *http.Server
	down     bool
	rejected int
	got      []delivery
	seen     map[string]int
	notify   chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{notify: make(chan struct{}, 1), seen: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.close)
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/events" }

func (r *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

func (r *receiver) close() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *receiver) reopen(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatalf("reopen %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

func (r *receiver) rejectedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}

func (r *receiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.seen {
		n += c - 1
	}
	return n
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer func() {
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}()
	if r.down {
		r.rejected++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var l eventLog
	if err := json.Unmarshal(body, &l); err != nil || len(l.Records) == 0 {
		// MinIO checks reachability with plain TCP dials, not requests: anything else is a bug.
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.got = append(r.got, delivery{auth: req.Header.Get("Authorization"), body: body, log: l})
	r.seen[l.EventName+" "+l.Key+" "+l.Records[0].S3.Object.Sequencer]++
	w.WriteHeader(http.StatusOK)
}

// await waits for an event with the given name for the object key (decoded).
func (r *receiver) await(t *testing.T, name, key string, timeout time.Duration) delivery {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		for _, d := range r.got {
			rec := d.log.Records[0]
			k, err := url.QueryUnescape(rec.S3.Object.Key)
			if err == nil && k == key && rec.EventName == name && d.log.EventName == name {
				r.mu.Unlock()
				return d
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s event for %q within %v; got %d deliveries", name, key, timeout, len(r.got))
		}
	}
}

// awaitRejection waits until MinIO has tried at least once since the receiver went down.
func (r *receiver) awaitRejection(t *testing.T, timeout time.Duration) {
	t.Helper()
	before := r.rejectedCount()
	deadline := time.Now().Add(timeout)
	for r.rejectedCount() == before {
		if time.Now().After(deadline) {
			t.Fatalf("MinIO made no delivery attempt within %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func list(t *testing.T, c *minio.Client, bucket string) []string {
	t.Helper()
	var names []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("ListObjects: %v", o.Err)
		}
		names = append(names, o.Key)
	}
	sort.Strings(names)
	return names
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}
