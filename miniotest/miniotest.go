// Package miniotest runs a real MinIO server for tests.
//
// The server binary is not part of the module: `make minio` builds the version pinned in
// ARCHITECTURE.md into $HOME/.cache/cdc/bin (and `make test` does so first). Start skips the
// calling test when the binary is missing, so `go test` alone still passes on a machine
// without it.
//
// Each Server gets its own data directory (t.TempDir) and its own loopback ports, runs as a
// child process of the test binary and is stopped in t.Cleanup. On Linux the child is killed
// by the kernel if the test binary dies first, so a killed `go test` leaves no MinIO behind.
package miniotest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
)

// Fixed root credentials of every test server.
const (
	AccessKey = "cdc-test-root"
	SecretKey = "cdc-test-root-secret"
)

// EnvBinary names the environment variable that overrides where the MinIO binary is.
const EnvBinary = "CDC_MINIO_BIN"

const (
	readyTimeout = 30 * time.Second // from process start to a ready object layer
	stopTimeout  = 10 * time.Second // from SIGTERM to SIGKILL
	logLimit     = 64 << 10         // bytes of server output kept for failure reports
)

// Binary returns the path of the installed MinIO server: $CDC_MINIO_BIN if set, else
// $HOME/.cache/cdc/bin/minio. It returns an error if there is no executable file there.
func Binary() (string, error) {
	path := os.Getenv(EnvBinary)
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("miniotest: no home directory to find the minio binary in: %w", err)
		}
		path = filepath.Join(home, ".cache", "cdc", "bin", "minio")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("miniotest: minio binary: %w", err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("miniotest: minio binary %s is not an executable file", path)
	}
	return path, nil
}

// Options configure a test server. The zero value is a plain server.
type Options struct {
	// Webhook, if not nil, configures a webhook notification target with a queue directory
	// through MINIO_NOTIFY_WEBHOOK_* environment variables at server start. Buckets still need
	// a notification configuration (SetBucketNotification) that names Webhook.ARN().
	Webhook *Webhook
	// Env holds extra KEY=VALUE environment entries for the server process.
	Env []string
}

// Webhook is a MinIO webhook notification target.
type Webhook struct {
	// ID names the target; it becomes the suffix of the environment variables and part of
	// the ARN. Default "cdc".
	ID string
	// Endpoint is the URL MinIO POSTs the events to, e.g. an httptest.Server's URL.
	Endpoint string
	// AuthToken, if set, is sent as "Authorization: Bearer <AuthToken>" (as is, when it
	// already has the form "<scheme> <token>").
	AuthToken string
	// QueueDir is where MinIO persists events until the endpoint accepts them; they survive
	// endpoint outages and server restarts. Default: a directory under t.TempDir().
	QueueDir string
	// NoQueue configures the target without a queue directory: MinIO then posts each event
	// as it happens (milliseconds) but drops those the endpoint does not accept.
	NoQueue bool
}

// ARN returns the ARN of the target for bucket notification configurations:
// arn:minio:sqs::<ID>:webhook.
func (w *Webhook) ARN() string {
	id := w.ID
	if id == "" {
		id = "cdc"
	}
	return "arn:minio:sqs::" + id + ":webhook"
}

// env returns the server environment entries that configure the target.
func (w *Webhook) env() []string {
	id := w.ID
	env := []string{
		"MINIO_NOTIFY_WEBHOOK_ENABLE_" + id + "=on",
		"MINIO_NOTIFY_WEBHOOK_ENDPOINT_" + id + "=" + w.Endpoint,
		"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_" + id + "=" + w.AuthToken,
	}
	if !w.NoQueue {
		env = append(env, "MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_"+id+"="+w.QueueDir)
	}
	return env
}

// Server is a running MinIO server.
type Server struct {
	// Endpoint is host:port of the S3 API (no scheme; plain HTTP).
	Endpoint string
	// ConsoleEndpoint is host:port of the web console.
	ConsoleEndpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// DataDir is the server's data directory; it survives Stop and Restart.
	DataDir string
	// Webhook is the configured notification target (with defaults filled in), or nil.
	Webhook *Webhook

	bin string
	env []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	logs *tailBuffer
}

// Start starts a MinIO server for the test and stops it when the test ends. It skips the test
// if the MinIO binary is not installed, and fails it if the server does not become ready.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Skipf("MinIO server binary not installed (%v): run `make minio`, or set %s", err, EnvBinary)
	}
	s := &Server{
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		DataDir:   t.TempDir(),
		bin:       bin,
		logs:      &tailBuffer{limit: logLimit},
	}
	if opts.Webhook != nil {
		w := *opts.Webhook
		if w.ID == "" {
			w.ID = "cdc"
		}
		if w.QueueDir == "" && !w.NoQueue {
			w.QueueDir = t.TempDir()
		}
		s.Webhook = &w
	}
	s.env = serverEnv(opts, s.Webhook)

	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("miniotest: output of minio server %s:\n%s", s.Endpoint, s.logs.String())
		}
	})

	// Free ports are found by listening on port 0 and closing; another process can take one
	// before MinIO binds it, so a start that fails that way is retried on new ports.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			t.Fatalf("miniotest: %v", err)
		}
		s.Endpoint, s.ConsoleEndpoint = ports[0], ports[1]
		if lastErr = s.start(); lastErr == nil {
			return s
		}
		s.Stop()
	}
	t.Fatalf("miniotest: minio server did not start: %v\nserver output:\n%s", lastErr, s.logs.String())
	return nil
}

// Client returns a minio-go client for the server, authenticated as root.
func (s *Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure: false,
	})
}

// URL returns the base URL of the S3 API, http://host:port.
func (s *Server) URL() string { return "http://" + s.Endpoint }

// Logs returns the tail of the server's combined output.
func (s *Server) Logs() string { return s.logs.String() }

// Stop stops the server: SIGTERM, then SIGKILL if it has not exited after a timeout. The data
// directory and queue directory are kept. Stop is safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the server and starts it again on the same data directory, ports and
// configuration, failing t if it does not become ready.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	// The old process has exited, but give the kernel a moment if the port is not yet free.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		s.Stop()
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("miniotest: minio server did not restart: %v\nserver output:\n%s", err, s.logs.String())
}

// start launches the process on s.Endpoint and waits until it serves requests.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, "server", s.DataDir,
		"--address", s.Endpoint,
		"--console-address", s.ConsoleEndpoint,
		"--quiet")
	cmd.Env = s.env
	fmt.Fprintf(s.logs, "--- %s start: %s %s\n", time.Now().Format(time.RFC3339Nano), s.bin, strings.Join(cmd.Args[1:], " "))
	cmd.Stdout = s.logs
	cmd.Stderr = s.logs
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-done:
			return fmt.Errorf("minio exited before it was ready: %v", waitErr)
		default:
		}
		if ready(ctx, client, s.URL()+"/minio/health/live") && s.targetReady(ctx) {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("minio exited before it was ready: %v", waitErr)
		case <-ctx.Done():
			return fmt.Errorf("minio at %s not ready after %v", s.Endpoint, readyTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ready reports whether the liveness endpoint answers 200 with an initialized object layer:
// MinIO answers 200 before that too, marked with "x-minio-server-status: offline".
func ready(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.Header.Get("x-minio-server-status") != "offline"
}

// serverEnv is the environment of the server process: the test's own environment without
// any MINIO_* setting of the developer's, plus the test credentials and options.
func serverEnv(opts Options, w *Webhook) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MINIO_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"MINIO_ROOT_USER="+AccessKey,
		"MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_CI_CD=on",    // no root-drive checks and the like on a test machine
		"MINIO_UPDATE=off",  // no update checks: the machine may have no internet
		"MINIO_BROWSER=off", // the console UI is not needed by tests
	)
	if w != nil {
		env = append(env, w.env()...)
	}
	return append(env, opts.Env...)
}

// freePorts returns n distinct loopback addresses with ports that were free a moment ago.
func freePorts(n int) ([]string, error) {
	var addrs []string
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("no free port: %w", err)
		}
		listeners = append(listeners, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
	cut   bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.limit; over > 0 {
		b.buf.Next(over)
		b.cut = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return "[...]\n" + b.buf.String()
	}
	return b.buf.String()
}

// Bucket returns a client of the server with a new bucket of that name, failing the test if
// either cannot be had.
func (s *Server) Bucket(t testing.TB, name string) *minio.Client {
	t.Helper()
	mc, err := s.Client()
	if err != nil {
		t.Fatalf("miniotest: client: %v", err)
	}
	if err := mc.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("miniotest: make bucket %s: %v", name, err)
	}
	return mc
}

// targetReady reports whether the server knows its webhook target (true without one). MinIO
// loads targets in the background after it answers health checks, and until then it refuses
// bucket notifications naming the target ("ARN does not exist"): a probe bucket tells.
func (s *Server) targetReady(ctx context.Context) bool {
	if s.Webhook == nil {
		return true
	}
	mc, err := s.Client()
	if err != nil {
		return false
	}
	const probe = "miniotest-target-probe"
	if err := mc.MakeBucket(ctx, probe, minio.MakeBucketOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return false
		}
	}
	arn, err := notification.NewArnFromString(s.Webhook.ARN())
	if err != nil {
		return false
	}
	q := notification.NewConfig(arn)
	q.AddEvents(notification.ObjectCreatedAll)
	var cfg notification.Configuration
	cfg.AddQueue(q)
	if err := mc.SetBucketNotification(ctx, probe, cfg); err != nil {
		return false
	}
	_ = mc.RemoveAllBucketNotification(ctx, probe)
	_ = mc.RemoveBucket(ctx, probe)
	return true
}
