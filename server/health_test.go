package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// healthz answers GET /healthz with h.
func healthz(h http.Handler) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	return rec.Code, rec.Body.String()
}

// TestHealthzChecks checks that /healthz answers ok while every check passes and 503 with
// the failing checks' names and reasons otherwise.
func TestHealthzChecks(t *testing.T) {
	m := NewMetrics()
	h := m.Handler()
	if code, body := healthz(h); code != http.StatusOK || body != "ok\n" {
		t.Errorf("no checks: %d %q", code, body)
	}
	m.AddHealthCheck("grpc", func() error { return nil })
	failing := errors.New("accepting connections has failed for 4s: too many open files")
	m.AddHealthCheck("mysql", func() error { return failing })
	code, body := healthz(h)
	if code != http.StatusServiceUnavailable || body != "mysql: "+failing.Error()+"\n" {
		t.Errorf("a failing check: %d %q", code, body)
	}
	m.AddHealthCheck("grpc", func() error { return errors.New("down") })
	if code, body := healthz(h); code != http.StatusServiceUnavailable || !strings.Contains(body, "grpc: down\n") || !strings.Contains(body, "mysql: ") {
		t.Errorf("two failing checks: %d %q", code, body)
	}
	m.AddHealthCheck("mysql", func() error { return nil })
	m.AddHealthCheck("grpc", func() error { return nil })
	if code, body := healthz(h); code != http.StatusOK || body != "ok\n" {
		t.Errorf("checks passing again: %d %q", code, body)
	}
}
