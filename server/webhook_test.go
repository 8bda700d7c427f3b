package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/miniotest"
	"github.com/minio/minio-go/v7"
)

// webhookEngine is an engine whose HTTP listener takes bucket notifications with token.
func webhookEngine(t *testing.T, token string) (*engine.Engine, string, *Metrics) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	e, err := engine.Open(ctx, engine.Options{Dir: t.TempDir(), ReconcileInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	if err := m.Attach(e); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m.ServeWebhook(NewS3Webhook(e, token, log, m))
	wait, err := m.StartHTTP(ctx, "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		_ = wait()
		e.Close()
	})
	return e, m.Addr(), m
}

// TestBucketNotifications: objects put, overwritten and deleted in MinIO reach a view and its
// TAIL through the webhook target; what MinIO fails to notify while it restarts is found by
// the listing.
func TestBucketNotifications(t *testing.T) {
	ctx := context.Background()
	e, addr, m := webhookEngine(t, "s3cret")
	srv := miniotest.Start(t, miniotest.Options{Webhook: &miniotest.Webhook{Endpoint: "http://" + addr + "/webhooks/s3", AuthToken: "s3cret"}})
	mc := srv.Bucket(t, "chat-images")
	s := e.NewSession()
	defer s.Close()
	for _, q := range []string{
		fmt.Sprintf(`CREATE SOURCE images FROM S3 BUCKET 'chat-images' WITH (ENDPOINT = '%s', ACCESS_KEY = '%s', SECRET_KEY = '%s', SECURE = false)`, srv.Endpoint, srv.AccessKey, srv.SecretKey),
		`CREATE MATERIALIZED VIEW sizes AS SELECT ` + "`key`" + `, size FROM images`,
	} {
		if _, err := s.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// CREATE SOURCE configured the bucket's notification, or a later listing does when MinIO
	// did not know its target yet (it loads targets in the background at start).
	for deadline := time.Now().Add(20 * time.Second); ; {
		cfg, err := mc.GetBucketNotification(ctx, "chat-images")
		if err == nil && len(cfg.QueueConfigs) == 1 && cfg.QueueConfigs[0].Queue == engine.DefaultNotifyARN {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bucket notification after CREATE SOURCE: %+v %v", cfg.QueueConfigs, err)
		}
		time.Sleep(200 * time.Millisecond)
		if _, err := e.Reconcile(ctx, "images"); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := e.Subscribe(ctx, "sizes", engine.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	next := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second) // MinIO's queue sends every few seconds
		defer cancel()
		b, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for a change: %v (events received %v, dropped %v)", err,
				testutilCounter(t, m, "cdc_s3_events_received_total"), testutilCounter(t, m, "cdc_s3_events_dropped_total"))
		}
		var rows []string
		for _, u := range b.Updates {
			rows = append(rows, fmt.Sprintf("%d %s", u.Diff, strings.ReplaceAll(u.Row.String(), "\t", " ")))
		}
		return strings.Join(rows, ", ")
	}
	put := func(key string, n int) {
		t.Helper()
		if _, err := mc.PutObject(ctx, "chat-images", key, strings.NewReader(strings.Repeat("x", n)), int64(n), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("dir/a b.png", 10) // a key that is URL-encoded in notifications
	if got := next(); got != "1 dir/a b.png 10" {
		t.Fatalf("after PUT: %s", got)
	}
	put("dir/a b.png", 20)
	if got := next(); got != "-1 dir/a b.png 10, 1 dir/a b.png 20" {
		t.Fatalf("after overwrite: %s", got)
	}
	// MinIO drops the notifications of changes made in the first seconds after it starts
	// (its targets are not up yet): the periodic listing repairs that. Later changes flow
	// through notifications again.
	srv.Restart(t)
	if err := mc.RemoveObject(ctx, "chat-images", "dir/a b.png", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.Reconcile(ctx, "images"); err != nil || res.Deleted != 1 {
		t.Fatalf("reconcile after the MinIO restart: %+v %v", res, err)
	}
	if got := next(); got != "-1 dir/a b.png 20" {
		t.Fatalf("after DELETE: %s", got)
	}
	// Once MinIO's targets are up again (a few seconds, longer on a busy machine), PUTs are
	// notified: put until one arrives (none is listed meanwhile: the listing runs hourly).
	for i := 0; ; i++ {
		if i == 6 {
			t.Fatal("no notification arrived in 30 s after MinIO restarted")
		}
		put(fmt.Sprintf("c%d.jpg", i), 30)
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		b, err := sub.Next(wctx)
		cancel()
		if err == nil {
			if len(b.Updates) == 0 || b.Updates[0].Diff != 1 || !strings.HasPrefix(b.Updates[0].Row[0].Str(), "c") {
				t.Fatalf("after a PUT once MinIO is up again: %+v", b.Updates)
			}
			break
		}
	}
	results, err := e.Verify(ctx, "")
	if err != nil || !results[0].OK() {
		t.Fatalf("verify: %+v %v", results, err)
	}
	// The handler counts a notification once it is applied, which its subscriber may see
	// first: wait for the count.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := testutilCounter(t, m, "cdc_s3_events_received_total")
		if got >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("events received: %v", got)
			break
		}
	}
	body := get(t, "http://"+m.Addr()+"/metrics")
	for _, want := range []string{`cdc_s3_reconcile_differences_total{kind="delete",source="images"} 1`, `cdc_s3_source_objects{source="images"}`,
		`cdc_s3_reconcile_errors_total{source="images"} 0`, "cdc_s3_event_delay_seconds_count"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// testutilCounter reads a counter from the metrics page.
func testutilCounter(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	body := get(t, "http://"+m.Addr()+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestWebhookBadInput: deliveries without the token, with a wrong one, or with a body that
// is not a notification are refused; events for no source are acknowledged and counted.
func TestWebhookBadInput(t *testing.T) {
	_, addr, m := webhookEngine(t, "s3cret")
	url := "http://" + addr + "/webhooks/s3"
	post := func(auth, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	event := `{"Records":[{"eventName":"s3:ObjectCreated:Put","eventTime":"2026-11-27T10:00:00Z","s3":{"bucket":{"name":"elsewhere"},"object":{"key":"a","size":1,"eTag":"e","sequencer":"1"}}}]}`
	for _, c := range []struct {
		auth, body string
		want       int
	}{
		{"", event, http.StatusUnauthorized},
		{"Bearer wrong", event, http.StatusUnauthorized},
		{"s3cret", event, http.StatusUnauthorized},
		{"Bearer s3cret", "{not json", http.StatusBadRequest},
		{"Bearer s3cret", `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":""},"object":{"key":"a"}}}]}`, http.StatusBadRequest},
		{"Bearer s3cret", event, http.StatusNoContent},
	} {
		if got := post(c.auth, c.body); got != c.want {
			t.Errorf("auth %q body %.40q: status %d, want %d", c.auth, c.body, got, c.want)
		}
	}
	if got := testutilCounter(t, m, "cdc_s3_events_unmatched_total"); got != 1 {
		t.Errorf("unmatched events: %v", got)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}
