package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// AddHealthCheck makes /healthz run fn: while fn returns an error, /healthz answers 503 with
// "name: error". Adding a name again replaces its check. fn must be quick and safe to call
// from any goroutine; checks may be added while the HTTP server runs.
func (m *Metrics) AddHealthCheck(name string, fn func() error) { m.health.add(name, fn) }

// healthChecks are the named checks /healthz runs, in the order they were added.
type healthChecks struct {
	mu     sync.Mutex
	checks []healthCheck
}

// healthCheck is one named check.
type healthCheck struct {
	name string
	fn   func() error
}

// add registers fn under name, replacing a check of that name.
func (hc *healthChecks) add(name string, fn func() error) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for i := range hc.checks {
		if hc.checks[i].name == name {
			hc.checks[i].fn = fn
			return
		}
	}
	hc.checks = append(hc.checks, healthCheck{name, fn})
}

// failures runs every check and returns "name: error" for each that fails.
func (hc *healthChecks) failures() []string {
	hc.mu.Lock()
	checks := append([]healthCheck(nil), hc.checks...)
	hc.mu.Unlock()
	var failed []string
	for _, c := range checks {
		if err := c.fn(); err != nil {
			failed = append(failed, c.name+": "+strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}
	return failed
}

// serveHTTP answers "ok" when every check passes, else 503 with one failure per line.
func (hc *healthChecks) serveHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	failed := hc.failures()
	if len(failed) == 0 {
		fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	for _, f := range failed {
		fmt.Fprintln(w, f)
	}
}
