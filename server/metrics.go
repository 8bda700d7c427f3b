package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cdc-dev/cdc/engine"
)

// Metrics holds the server's Prometheus registry: the engine's counters, read at scrape time,
// epoch latencies observed as they happen, and failed logins.
type Metrics struct {
	addr         atomic.Value // string: the HTTP address StartHTTP listens on
	reg          *prometheus.Registry
	epochs       *prometheus.HistogramVec
	authFailures prometheus.Counter
	// The MySQL port's listener (listener.go).
	acceptErrors, connsRefused prometheus.Counter
	health                     healthChecks
	// gRPC calls (GRPC).
	grpcCalls        *prometheus.CounterVec
	grpcAuthFailures prometheus.Counter
	// Bucket notifications (S3Webhook).
	eventsReceived, eventsDropped, eventsUnmatched prometheus.Counter
	webhookErrors                                  *prometheus.CounterVec
	eventDelay                                     prometheus.Histogram
	groupTxns, groupSync                           prometheus.Histogram
	webhook                                        http.Handler
	pprof                                          bool
}

// NewMetrics returns a registry with the process and Go collectors and the server's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		epochs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cdc_view_epoch_duration_seconds",
			Help:    "Time a materialized view took to process an epoch that changed its inputs.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12),
		}, []string{"view"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cdc_mysql_auth_failures_total",
			Help: "MySQL protocol logins rejected for a wrong user or password.",
		}),
	}
	m.acceptErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "cdc_mysql_accept_errors_total",
		Help: "Failed accepts on the MySQL port (descriptors exhausted, aborted connections), each retried."})
	m.connsRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "cdc_mysql_connections_refused_total",
		Help: "MySQL connections refused with ER_CON_COUNT_ERROR because max_connections were open."})
	m.reg.MustRegister(m.acceptErrors, m.connsRefused)
	m.eventsReceived = prometheus.NewCounter(prometheus.CounterOpts{Name: "cdc_s3_events_received_total",
		Help: "Object events received from bucket notifications."})
	m.eventsDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "cdc_s3_events_dropped_total",
		Help: "Object events that changed nothing: redeliveries, or older than the source's rows."})
	m.eventsUnmatched = prometheus.NewCounter(prometheus.CounterOpts{Name: "cdc_s3_events_unmatched_total",
		Help: "Object events for a bucket or prefix no source covers."})
	m.webhookErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cdc_s3_webhook_errors_total",
		Help: "Notification deliveries refused, by reason."}, []string{"reason"})
	m.eventDelay = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cdc_s3_event_delay_seconds",
		Help:    "Source lag: time from an object's change (the event's time) until the engine applied it.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)})
	m.grpcCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cdc_grpc_calls_total",
		Help: "gRPC calls ended, by method and status code (methods nobody serves count as unknown)."}, []string{"method", "code"})
	m.grpcAuthFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "cdc_grpc_auth_failures_total",
		Help: "gRPC calls refused for a missing or wrong bearer token."})
	m.reg.MustRegister(m.grpcCalls, m.grpcAuthFailures)
	m.groupTxns = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cdc_group_commit_transactions",
		Help: "Transactions committed together by one durable commit of the table store.", Buckets: prometheus.ExponentialBuckets(1, 2, 9)})
	m.groupSync = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cdc_group_commit_sync_seconds",
		Help: "Time the durable (fsynced) commit of a group's table store writes took.", Buckets: prometheus.ExponentialBuckets(25e-6, 2, 12)})
	m.reg.MustRegister(m.groupTxns, m.groupSync)
	m.reg.MustRegister(m.eventsReceived, m.eventsDropped, m.eventsUnmatched, m.webhookErrors, m.eventDelay)
	m.reg.MustRegister(m.epochs, m.authFailures, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// gaugeMySQL registers gauges of the MySQL server's open connections and running
// statements (read at scrape time); a nil Metrics registers nothing.
func (m *Metrics) gaugeMySQL(conns, statements func() float64) {
	if m == nil {
		return
	}
	_ = m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cdc_mysql_connections",
		Help: "Open MySQL connections (those max_connections counts)."}, conns))
	_ = m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cdc_mysql_statements_running",
		Help: "Statements running on MySQL connections, TAILs included."}, statements))
}

// ObserveEpoch records one view's epoch latency; it is engine.Options.ObserveEpoch.
func (m *Metrics) ObserveEpoch(view string, d time.Duration) {
	m.epochs.WithLabelValues(labelValue(view)).Observe(d.Seconds())
}

// ObserveGroupCommit records one group commit; it is engine.Options.ObserveGroupCommit.
func (m *Metrics) ObserveGroupCommit(txns int, sync time.Duration) {
	m.groupTxns.Observe(float64(txns))
	m.groupSync.Observe(sync.Seconds())
}

// labelValue makes a name a valid label value: Prometheus requires UTF-8, and a quoted SQL
// identifier may be any bytes.
func labelValue(name string) string { return strings.ToValidUTF8(name, "\uFFFD") }

// grpcCall counts an ended gRPC call; nil-safe.
func (m *Metrics) grpcCall(method string, err error) {
	if m == nil {
		return
	}
	code := status.Code(err)
	switch code {
	case codes.Unimplemented:
		method = "unknown" // bounded labels, whatever clients call
	case codes.Unauthenticated:
		m.grpcAuthFailures.Inc()
	}
	m.grpcCalls.WithLabelValues(labelValue(method), code.String()).Inc()
}

// Attach exports the engine's counters.
func (m *Metrics) Attach(e *engine.Engine) error {
	return m.reg.Register(statsCollector{e})
}

// authFailed counts a rejected login; nil-safe so that a server without metrics works.
func (m *Metrics) authFailed() {
	if m != nil {
		m.authFailures.Inc()
	}
}

// acceptFailed counts a failed accept on the MySQL port; nil-safe.
func (m *Metrics) acceptFailed() {
	if m != nil {
		m.acceptErrors.Inc()
	}
}

// connRefused counts a MySQL connection refused above max_connections; nil-safe.
func (m *Metrics) connRefused() {
	if m != nil {
		m.connsRefused.Inc()
	}
}

// Handler serves /metrics (Prometheus text format) and /healthz (health.go).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", m.health.serveHTTP)
	if m.webhook != nil {
		mux.Handle("/webhooks/s3", m.webhook)
	}
	if m.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// ServePprof makes the HTTP server (started afterwards) serve Go's profiles under
// /debug/pprof/ (cdc serve --pprof): CPU, heap, goroutines, and mutex and block profiles
// (sampled: one contention event in 100, blocking of 100 µs and more), for finding where
// time goes.
func (m *Metrics) ServePprof() {
	m.pprof = true
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(100_000)
}

// ServeWebhook makes the HTTP server (started afterwards) receive bucket notifications on
// POST /webhooks/s3 with h.
func (m *Metrics) ServeWebhook(h http.Handler) { m.webhook = h }

// StartHTTP listens on addr and serves the metrics handler until ctx is done; wait returns
// when the server has stopped.
func (m *Metrics) StartHTTP(ctx context.Context, addr string, log *slog.Logger) (wait func() error, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listen on %s: %w", addr, err)
	}
	m.addr.Store(l.Addr().String())
	done := make(chan error, 1)
	go func() { done <- m.serveOn(ctx, l, log) }()
	return func() error { return <-done }, nil
}

// Addr is the address StartHTTP listens on, with the real port when asked for port 0.
func (m *Metrics) Addr() string {
	a, _ := m.addr.Load().(string)
	return a
}

func (m *Metrics) serveOn(ctx context.Context, l net.Listener, log *slog.Logger) error {
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("http server listening", "addr", l.Addr().String())
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

var (
	descLogHead     = prometheus.NewDesc("cdc_log_head_lsn", "LSN of the last committed transaction.", nil, nil)
	descCommits     = prometheus.NewDesc("cdc_commits_total", "Committed write transactions since start.", nil, nil)
	descSessions    = prometheus.NewDesc("cdc_sessions", "Open sessions.", nil, nil)
	descSynced      = prometheus.NewDesc("cdc_view_store_synced_lsn", "Frontier of the last view store batch synced to disk.", nil, nil)
	descHistoryFrom = prometheus.NewDesc("cdc_history_oldest_lsn", "Oldest LSN a feed may resume from (TAIL ... AS OF).", nil, nil)
	descFrontier    = prometheus.NewDesc("cdc_view_frontier_lsn", "LSN a materialized view has fully processed.", []string{"view"}, nil)
	descLag         = prometheus.NewDesc("cdc_view_lag_lsn", "Transactions of the log a view has not processed yet.", []string{"view"}, nil)
	descRows        = prometheus.NewDesc("cdc_view_rows", "Rows in a materialized view, duplicates counted.", []string{"view"}, nil)
	descEpochs      = prometheus.NewDesc("cdc_view_epochs_total", "Epochs a view processed since start.", []string{"view"}, nil)
	descSubscribers = prometheus.NewDesc("cdc_view_subscribers", "Open subscriptions (TAIL) to a view.", []string{"view"}, nil)
	descSrcObjects  = prometheus.NewDesc("cdc_s3_source_objects", "Objects the last listing of a source's bucket found.", []string{"source"}, nil)
	descSrcRecon    = prometheus.NewDesc("cdc_s3_reconciliations_total", "Listings of a source's bucket since start.", []string{"source"}, nil)
	descSrcDiffs    = prometheus.NewDesc("cdc_s3_reconcile_differences_total", "Changes listings applied that notifications had missed, by kind.", []string{"source", "kind"}, nil)
	descSrcErrors   = prometheus.NewDesc("cdc_s3_reconcile_errors_total", "Listings of a source's bucket that failed.", []string{"source"}, nil)
	descSinkLSN     = prometheus.NewDesc("cdc_sink_written_lsn", "Last LSN a sink wrote.", []string{"sink"}, nil)
	descSinkErrors  = prometheus.NewDesc("cdc_sink_errors_total", "Sink runs that failed and were retried.", []string{"sink"}, nil)
	descSinkLag     = prometheus.NewDesc("cdc_sink_lag_lsn", "Transactions of the log a sink has not written yet.", []string{"sink"}, nil)
	descBuildRead   = prometheus.NewDesc("cdc_view_build_rows_read", "Rows of its sources the materialized view being built has read.", []string{"view"}, nil)
	descBuildTotal  = prometheus.NewDesc("cdc_view_build_rows_to_read", "Rows of its sources the materialized view being built reads (estimated for large tables).", []string{"view"}, nil)
	descRowsSent    = prometheus.NewDesc("cdc_view_subscriber_rows_sent_total", "Rows delivered to a view's subscribers since start.", []string{"view"}, nil)
)

// statsCollector turns engine.Stats into metrics at scrape time, so that metrics cost nothing
// on the write path.
type statsCollector struct{ e *engine.Engine }

// Describe sends the descriptors of the engine's metrics.
func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLogHead, descCommits, descSessions, descSynced, descHistoryFrom, descFrontier, descLag, descRows, descEpochs, descSubscribers, descRowsSent, descBuildRead, descBuildTotal, descSrcObjects, descSrcRecon, descSrcErrors, descSrcDiffs, descSinkLSN, descSinkLag, descSinkErrors} {
		ch <- d
	}
}

// Collect reads the engine's counters once and sends them.
func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.e.Stats()
	ch <- prometheus.MustNewConstMetric(descLogHead, prometheus.GaugeValue, float64(st.LogHead))
	ch <- prometheus.MustNewConstMetric(descCommits, prometheus.CounterValue, float64(st.Commits))
	ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(st.Sessions))
	ch <- prometheus.MustNewConstMetric(descSynced, prometheus.GaugeValue, float64(st.SyncedLSN))
	ch <- prometheus.MustNewConstMetric(descHistoryFrom, prometheus.GaugeValue, float64(st.HistoryFrom))
	for _, v := range st.Views {
		name := labelValue(v.Name)
		ch <- prometheus.MustNewConstMetric(descFrontier, prometheus.GaugeValue, float64(v.Frontier), name)
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(st.LogHead-v.Frontier), name)
		ch <- prometheus.MustNewConstMetric(descRows, prometheus.GaugeValue, float64(v.Rows), name)
		ch <- prometheus.MustNewConstMetric(descEpochs, prometheus.CounterValue, float64(v.Epochs), name)
		ch <- prometheus.MustNewConstMetric(descSubscribers, prometheus.GaugeValue, float64(v.Subscribers), name)
		ch <- prometheus.MustNewConstMetric(descRowsSent, prometheus.CounterValue, float64(v.RowsSent), name)
	}
	if b := st.Build; b != nil {
		name := labelValue(b.Name)
		ch <- prometheus.MustNewConstMetric(descBuildRead, prometheus.GaugeValue, float64(b.RowsRead), name)
		ch <- prometheus.MustNewConstMetric(descBuildTotal, prometheus.GaugeValue, float64(b.RowsToRead), name)
	}
	for _, src := range st.Sources {
		name := labelValue(src.Name)
		ch <- prometheus.MustNewConstMetric(descSrcObjects, prometheus.GaugeValue, float64(src.Objects), name)
		ch <- prometheus.MustNewConstMetric(descSrcRecon, prometheus.CounterValue, float64(src.Reconciles), name)
		ch <- prometheus.MustNewConstMetric(descSrcErrors, prometheus.CounterValue, float64(src.ReconcileErrors), name)
		for kind, n := range map[string]uint64{"insert": src.Inserted, "update": src.Updated, "delete": src.Deleted} {
			ch <- prometheus.MustNewConstMetric(descSrcDiffs, prometheus.CounterValue, float64(n), name, kind)
		}
	}
	for _, sk := range st.Sinks {
		name := labelValue(sk.Name)
		ch <- prometheus.MustNewConstMetric(descSinkLSN, prometheus.GaugeValue, float64(sk.Written), name)
		ch <- prometheus.MustNewConstMetric(descSinkErrors, prometheus.CounterValue, float64(sk.Errors), name)
		ch <- prometheus.MustNewConstMetric(descSinkLag, prometheus.GaugeValue, float64(st.LogHead-min(sk.Written, st.LogHead)), name)
	}
}
