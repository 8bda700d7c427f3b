package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/server"
)

// BenchmarkWireFeedLatency measures, over the MySQL protocol, the time from a single-row
// INSERT into chat_message until every TAIL subscriber of the chat join view has read the
// new row, with 1, 10 and 100 subscribers. It reports the p50 and p99 of that latency.
func BenchmarkWireFeedLatency(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) { wireFeed(b, subs) })
	}
}

func wireFeed(b *testing.B, subs int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := openOnDisk(ctx, b)
	defer e.Close()
	db := serveWire(ctx, b, e)
	db.SetMaxOpenConns(subs + 4)
	for _, q := range []string{
		`CREATE TABLE user (user_id CHAR(32), user_login VARCHAR(255), user_password CHAR(64), user_email VARCHAR(400), PRIMARY KEY (user_id))`,
		`CREATE TABLE chat_message (chat_message_id CHAR(32), chat_message_datetime DATETIME, chat_message_text TEXT, chat_message_chat_id CHAR(32), chat_message_user_id CHAR(32), PRIMARY KEY (chat_message_id))`,
		`CREATE TABLE chat (chat_id CHAR(32), chat_topic VARCHAR(32), chat_password CHAR(64), user_chat_user_id CHAR(32), PRIMARY KEY (chat_id))`,
		`INSERT INTO user VALUES ('u1', 'ann', 'pw', 'ann@example.com')`,
		`INSERT INTO chat VALUES ('c1', 'golang', 'pw', 'u1')`,
		`CREATE MATERIALIZED VIEW feed AS SELECT m.chat_message_id, c.chat_topic, u.user_login, m.chat_message_text FROM chat_message m JOIN user u ON u.user_id = m.chat_message_user_id JOIN chat c ON c.chat_id = m.chat_message_chat_id`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	// Each subscriber reads its TAIL and reports every message id it sees.
	seen := make(chan string, subs*1024)
	for i := 0; i < subs; i++ {
		rows, err := db.QueryContext(ctx, "TAIL feed WITH (SNAPSHOT = false)")
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			defer rows.Close()
			var lsn, diff int64
			var id, topic, login, text string
			for rows.Next() {
				if err := rows.Scan(&lsn, &diff, &id, &topic, &login, &text); err != nil {
					return
				}
				seen <- id
			}
		}()
	}
	var latencies []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("b%d-%d", subs, i)
		start := time.Now()
		if _, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO chat_message VALUES ('%s', '2026-11-27 12:00:00', 'hi', 'c1', 'u1')", id)); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < subs; {
			select {
			case s := <-seen:
				if s != id {
					b.Fatalf("subscriber saw %s while waiting for %s", s, id)
				}
				got++
			case <-time.After(10 * time.Second):
				b.Fatalf("%d of %d subscribers received %s", got, subs, id)
			}
		}
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	cancel()
}

// serveWire serves e over the MySQL protocol on a loopback port until ctx ends and returns
// a go-sql-driver client of it (parameters interpolated, as ../shared/peers sends them).
func serveWire(ctx context.Context, b *testing.B, e *engine.Engine) *sql.DB {
	srv, err := server.New(e, server.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ctx)
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.InterpolateParams = "tcp", srv.Addr(), "root", true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(connector)
	b.Cleanup(func() { db.Close() })
	return db
}
