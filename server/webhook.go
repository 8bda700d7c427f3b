package server

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cdc-dev/cdc/engine"
)

// maxWebhookBody bounds the body of one notification delivery.
const maxWebhookBody = 8 << 20

// s3Notification is the part of an S3/MinIO bucket notification the engine reads.
type s3Notification struct {
	Records []struct {
		EventName string    `json:"eventName"`
		EventTime time.Time `json:"eventTime"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key          string            `json:"key"` // URL-encoded
				Size         int64             `json:"size"`
				ETag         string            `json:"eTag"`
				ContentType  string            `json:"contentType"`
				UserMetadata map[string]string `json:"userMetadata"`
				Sequencer    string            `json:"sequencer"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// S3Webhook receives bucket notifications (a MinIO webhook target) on POST /webhooks/s3 and
// applies them to the object sources before answering, so that MinIO, which keeps events in
// its queue until it gets a 2xx, never loses one. Requests must carry "Authorization: Bearer
// <token>".
type S3Webhook struct {
	e       *engine.Engine
	token   string
	log     *slog.Logger
	metrics *Metrics
}

// NewS3Webhook returns the handler; an empty token refuses every request.
func NewS3Webhook(e *engine.Engine, token string, log *slog.Logger, m *Metrics) *S3Webhook {
	return &S3Webhook{e: e, token: token, log: log, metrics: m}
}

// ServeHTTP handles one delivery.
func (h *S3Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST bucket notifications here", http.StatusMethodNotAllowed)
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if h.token == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(h.token)) != 1 {
		h.metrics.webhookErrors.WithLabelValues("unauthorized").Inc()
		http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		h.metrics.webhookErrors.WithLabelValues("bad request").Inc()
		http.Error(w, "unreadable or too large body", http.StatusBadRequest)
		return
	}
	events, err := parseNotification(body)
	if err != nil {
		h.metrics.webhookErrors.WithLabelValues("bad request").Inc()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := h.e.ApplyObjectEvents(r.Context(), events)
	if err != nil {
		// Not acknowledged: MinIO keeps the events and delivers them again.
		h.metrics.webhookErrors.WithLabelValues("apply").Inc()
		h.log.Warn("s3 notification not applied; it will be delivered again", "err", err)
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	h.metrics.eventsReceived.Add(float64(len(events)))
	now := time.Now()
	for _, ev := range events {
		if !ev.Time.IsZero() {
			h.metrics.eventDelay.Observe(max(0, now.Sub(ev.Time).Seconds()))
		}
	}
	h.metrics.eventsDropped.Add(float64(res.Dropped))
	h.metrics.eventsUnmatched.Add(float64(res.Unmatched))
	if res.Unmatched > 0 {
		h.log.Warn("s3 notification for no source", "events", res.Unmatched)
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseNotification reads a notification body into object events.
func parseNotification(body []byte) ([]engine.ObjectEvent, error) {
	var n s3Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("not an S3 bucket notification: %v", err)
	}
	events := make([]engine.ObjectEvent, 0, len(n.Records))
	for _, rec := range n.Records {
		o := rec.S3.Object
		key, err := url.QueryUnescape(o.Key)
		if err != nil {
			return nil, fmt.Errorf("object key %q is not URL-encoded: %v", o.Key, err)
		}
		if rec.S3.Bucket.Name == "" || key == "" {
			return nil, fmt.Errorf("a notification record without bucket or key")
		}
		ev := engine.ObjectEvent{Bucket: rec.S3.Bucket.Name, Key: key, Size: o.Size, ETag: strings.Trim(o.ETag, `"`),
			ContentType: o.ContentType, UserMetadata: o.UserMetadata,
			Time: rec.EventTime, Sequencer: o.Sequencer}
		switch {
		case strings.HasPrefix(rec.EventName, "s3:ObjectCreated:"):
		case strings.HasPrefix(rec.EventName, "s3:ObjectRemoved:"):
			ev.Removed = true
		default:
			continue // other events (replication, access) do not change objects
		}
		events = append(events, ev)
	}
	return events, nil
}
