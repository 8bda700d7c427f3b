package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/server"
)

// runServe is `cdc serve`: the engine behind a MySQL protocol listener, until SIGINT or SIGTERM.
func runServe(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	storage := storageFlags(fs)
	addr := fs.String("mysql-addr", "127.0.0.1:3306", "MySQL protocol listen address")
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:6877", "gRPC listen address (the cdc.v1.Engine service, modules, reflection, health); empty for none")
	httpAddr := fs.String("http-addr", "127.0.0.1:6876", "HTTP listen address for /metrics and /healthz")
	pprofOn := fs.Bool("pprof", false, "also serve Go's profiles at /debug/pprof/ on the HTTP address")
	maxConns := fs.Int("max-connections", 1000, "MySQL connections open at once, logged in or not; one more gets ERROR 1040 (Too many connections)")
	handshakeTimeout := fs.Duration("handshake-timeout", 10*time.Second, "time a MySQL connection has to log in before it is closed")
	user := fs.String("user", "root", "MySQL user name clients log in with")
	password := fs.String("password", os.Getenv("CDC_PASSWORD"), "MySQL password (default: $CDC_PASSWORD, else empty)")
	webhookToken := fs.String("s3-webhook-token", os.Getenv("CDC_S3_WEBHOOK_TOKEN"), "bearer token bucket notifications must carry on POST /webhooks/s3 of the HTTP address (default: $CDC_S3_WEBHOOK_TOKEN; empty refuses them)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts, err := storage()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdc:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	metrics := server.NewMetrics()
	opts.Logger, opts.ObserveEpoch, opts.ObserveGroupCommit = log, metrics.ObserveEpoch, metrics.ObserveGroupCommit
	e, err := engine.Open(ctx, opts)
	if err != nil {
		log.Error("open engine", "dir", opts.Dir, "err", err)
		return 1
	}
	if err := metrics.Attach(e); err != nil {
		log.Error("metrics", "err", err)
		_ = e.Close()
		return 1
	}
	if *webhookToken == "" {
		log.Info("no --s3-webhook-token: bucket notifications are refused; sources follow their buckets by listing them")
	}
	metrics.ServeWebhook(server.NewS3Webhook(e, *webhookToken, log, metrics))
	if *pprofOn {
		metrics.ServePprof()
	}
	waitHTTP, err := metrics.StartHTTP(ctx, *httpAddr, log)
	if err != nil {
		log.Error("start http server", "err", err)
		_ = e.Close()
		return 1
	}
	srv, err := server.New(e, server.Config{Addr: *addr, User: *user, Password: *password, Logger: log, Metrics: metrics,
		MaxConnections: *maxConns, HandshakeTimeout: *handshakeTimeout})
	if err != nil {
		log.Error("start mysql server", "err", err)
		_ = e.Close()
		return 1
	}
	metrics.AddHealthCheck("mysql", srv.Healthy)
	var grpcDone chan error
	if *grpcAddr != "" {
		gs, err := server.NewGRPC(e, server.GRPCConfig{Addr: *grpcAddr, Password: *password, Logger: log, Metrics: metrics})
		if err != nil {
			log.Error("start grpc server", "err", err)
			stop()
			_ = srv.Serve(ctx)
			_ = waitHTTP()
			_ = e.Close()
			return 1
		}
		log.Info("grpc listening", "addr", gs.Addr())
		grpcDone = make(chan error, 1)
		go func() {
			err := gs.Serve(ctx)
			if err != nil {
				stop() // one server down takes the others down with it
			}
			grpcDone <- err
		}()
	}
	code := 0
	if err := srv.Serve(ctx); err != nil {
		log.Error("mysql server", "err", err)
		code = 1
	}
	stop()
	if grpcDone != nil {
		if err := <-grpcDone; err != nil {
			log.Error("grpc server", "err", err)
			code = 1
		}
	}
	if err := waitHTTP(); err != nil {
		log.Error("http server", "err", err)
		code = 1
	}
	if err := e.Close(); err != nil {
		log.Error("close engine", "err", err)
		return 1
	}
	log.Info("stopped")
	return code
}
