package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/miniotest"
	"github.com/cdc-dev/cdc/server"
)

// s3Engine opens an engine on a temporary directory whose HTTP listener takes bucket
// notifications, and a MinIO server with a webhook target (queue directory included)
// pointing at it, with bucket "bench".
func s3Engine(b *testing.B, queue bool) (*engine.Engine, *miniotest.Server, *minio.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	e, err := engine.Open(ctx, engine.Options{Dir: b.TempDir(), ReconcileInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := server.NewMetrics()
	m.ServeWebhook(server.NewS3Webhook(e, "tok", log, m))
	wait, err := m.StartHTTP(ctx, "127.0.0.1:0", log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); _ = wait() })
	srv := miniotest.Start(b, miniotest.Options{Webhook: &miniotest.Webhook{Endpoint: "http://" + m.Addr() + "/webhooks/s3", AuthToken: "tok", NoQueue: !queue}})
	mc, err := srv.Client()
	if err != nil {
		b.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, "bench", minio.MakeBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	return e, srv, mc
}

// createSource creates source objs over bucket bench.
func createSource(b *testing.B, e *engine.Engine, srv *miniotest.Server) {
	s := e.NewSession()
	defer s.Close()
	exec(b, s, fmt.Sprintf(`CREATE SOURCE objs FROM S3 BUCKET 'bench' WITH (ENDPOINT = '%s', ACCESS_KEY = '%s', SECRET_KEY = '%s', SECURE = false)`,
		srv.Endpoint, srv.AccessKey, srv.SecretKey))
}

// BenchmarkS3PutToTail measures the time from a PUT to MinIO until a TAIL subscriber of a
// view over the source has the row, through MinIO's webhook target: with a queue directory
// (durable; MinIO sends from its queue on a 3 s timer, so PUTs come at random moments of it)
// and without (MinIO posts at once). It reports p50 and p99.
func BenchmarkS3PutToTail(b *testing.B) {
	b.Run("queue", func(b *testing.B) { putToTail(b, true) })
	b.Run("direct", func(b *testing.B) { putToTail(b, false) })
}

func putToTail(b *testing.B, queue bool) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	e, srv, mc := s3Engine(b, queue)
	createSource(b, e, srv)
	s := e.NewSession()
	defer s.Close()
	exec(b, s, "CREATE MATERIALIZED VIEW sizes AS SELECT `key`, size FROM objs")
	sub, err := e.Subscribe(ctx, "sizes", engine.SubscribeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if queue {
			b.StopTimer()
			time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Second)))) // not in step with MinIO's timer
			b.StartTimer()
		}
		key := fmt.Sprintf("k%06d", i)
		start := time.Now()
		if _, err := mc.PutObject(ctx, "bench", key, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		for seen := false; !seen; {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			batch, err := sub.Next(wctx)
			cancel()
			if err != nil {
				b.Fatalf("waiting for %s: %v", key, err)
			}
			for _, u := range batch.Updates {
				seen = seen || u.Row[0].Str() == key
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkS3Reconcile10k measures reconciling a source with a bucket of 10,000 objects: a
// first listing that loads them all, and the listing at a restart after 100 of them were
// overwritten and 100 deleted while the engine was down.
func BenchmarkS3Reconcile10k(b *testing.B) {
	ctx := context.Background()
	e, srv, mc := s3Engine(b, true)
	const n = 10_000
	put := func(keys []int, size int) {
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < 16; w++ {
			wg.Go(func() {
				for i := range next {
					body := strings.Repeat("x", size)
					if _, err := mc.PutObject(ctx, "bench", fmt.Sprintf("obj/%05d", i), strings.NewReader(body), int64(size), minio.PutObjectOptions{}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for _, k := range keys {
			next <- k
		}
		close(next)
		wg.Wait()
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	put(all, 10)
	s := e.NewSession()
	start := time.Now()
	exec(b, s, `CREATE SOURCE objs FROM S3 BUCKET 'bench' WITH (ENDPOINT = '`+srv.Endpoint+`', ACCESS_KEY = '`+srv.AccessKey+`', SECRET_KEY = '`+srv.SecretKey+`', SECURE = false, NOTIFY_ARN = '')`)
	firstLoad := time.Since(start)
	s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		put(all[i*200%n:i*200%n+100], 20+i%50)
		for k := i*200%n + 100; k < i*200%n+200; k++ {
			if err := mc.RemoveObject(ctx, "bench", fmt.Sprintf("obj/%05d", k), minio.RemoveObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		res, err := e.Reconcile(ctx, "objs")
		if err != nil || res.Updated != 100 || res.Deleted != 100 {
			b.Fatalf("reconcile: %+v %v", res, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(firstLoad.Milliseconds()), "first-load-ms")
}
