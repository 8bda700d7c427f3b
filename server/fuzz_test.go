package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vtlog "vitess.io/vitess/go/vt/log"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/slt"
)

// The command bytes of the MySQL client/server protocol the fuzz seeds start packets with
// (with those packetlimit.go declares).
const (
	comQuit             = 0x01
	comInitDB           = 0x02
	comFieldList        = 0x04
	comStatistics       = 0x09
	comProcessKill      = 0x0c
	comPing             = 0x0e
	comChangeUser       = 0x11
	comBinlogDump       = 0x12
	comRegisterReplica  = 0x15
	comStmtExecute      = 0x17
	comStmtSendLongData = 0x18
	comStmtClose        = 0x19
	comSetOption        = 0x1b
	comBinlogDumpGTID   = 0x1e
	comResetConnection  = 0x1f
)

// The binary-protocol parameter types the COM_STMT_EXECUTE seeds use.
const (
	typeTiny      = 0x01
	typeShort     = 0x02
	typeLong      = 0x03
	typeFloat     = 0x04
	typeDouble    = 0x05
	typeNull      = 0x06
	typeTimestamp = 0x07
	typeLongLong  = 0x08
	typeDate      = 0x0a
	typeTime      = 0x0b
	typeDatetime  = 0x0c
	typeJSON      = 0xf5
	typeDecimal   = 0xf6
	typeBlob      = 0xfc
	typeVarString = 0xfd
	typeString    = 0xfe
)

// fuzzSchema is what each FuzzMySQLPackets input finds in its fresh engine.
var fuzzSchema = []string{
	"CREATE TABLE a (id INT PRIMARY KEY, x INT, s VARCHAR(10), d DECIMAL(8,2), ts DATETIME)",
	"CREATE TABLE b (id INT, y BIGINT, t TEXT)",
	"CREATE TABLE t (id INT PRIMARY KEY)",
	"INSERT INTO a VALUES (1, 10, 'one', 1.50, '2026-01-02 03:04:05'), (2, NULL, 'two', -2.25, NULL)",
	"INSERT INTO b VALUES (1, -5, 'x'), (NULL, 0, 'z')",
	"CREATE MATERIALIZED VIEW ab AS SELECT a.id, a.s, b.y FROM a JOIN b ON a.id = b.id",
}

// fuzzIOTimeout bounds one input's exchange, and each of the handshake and liveness checks.
const fuzzIOTimeout = 5 * time.Second

// maxFuzzPackets bounds the packets one input is cut into.
const maxFuzzPackets = 64

// panicLog counts vitess's "mysql_server caught panic" log lines: the listener recovers a
// panic of a connection's goroutine, logs it with its stack and closes the connection.
type panicLog struct {
	mu       sync.Mutex
	messages []string
	origin   *slog.Logger
}

// Enabled is part of slog.Handler: every record is looked at.
func (p *panicLog) Enabled(context.Context, slog.Level) bool { return true }

// Handle is part of slog.Handler: it keeps the panic records.
func (p *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "caught panic") {
		p.mu.Lock()
		p.messages = append(p.messages, r.Message)
		p.mu.Unlock()
	}
	return nil
}

// WithAttrs is part of slog.Handler.
func (p *panicLog) WithAttrs([]slog.Attr) slog.Handler { return p }

// WithGroup is part of slog.Handler.
func (p *panicLog) WithGroup(string) slog.Handler { return p }

// take returns the panics logged since the last call, each with its stack.
func (p *panicLog) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.messages
	p.messages = nil
	return out
}

// capturePanics routes vitess's logs to a panicLog until the test ends.
func capturePanics(tb testing.TB) *panicLog {
	p := &panicLog{}
	p.origin = vtlog.SwapLogger(slog.New(p))
	tb.Cleanup(func() { vtlog.SwapLogger(p.origin) })
	return p
}

// packet frames one command for the fuzz input: its length as a uvarint, then its bytes.
func packet(cmd byte, body ...[]byte) []byte {
	p := append([]byte{cmd}, bytes.Join(body, nil)...)
	return append(binary.AppendUvarint(nil, uint64(len(p))), p...)
}

// splitPackets cuts a fuzz input into command payloads: a uvarint length, then that many
// bytes (or the rest, when fewer are left), at most maxFuzzPackets times.
func splitPackets(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 && len(out) < maxFuzzPackets {
		n, k := binary.Uvarint(data)
		if k <= 0 {
			out = append(out, data)
			break
		}
		data = data[k:]
		if n > uint64(len(data)) {
			n = uint64(len(data))
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// u16, u32 and u64 are little-endian integers of the protocol.
func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// lenenc is a length-encoded string of the protocol.
func lenenc(s string) []byte {
	var b []byte
	switch n := len(s); {
	case n < 251:
		b = []byte{byte(n)}
	case n < 1<<16:
		b = append([]byte{0xfc}, u16(uint16(n))...)
	case n < 1<<24:
		b = append([]byte{0xfd}, byte(n), byte(n>>8), byte(n>>16))
	default:
		b = append([]byte{0xfe}, u64(uint64(n))...)
	}
	return append(b, s...)
}

// param is one bound value of a COM_STMT_EXECUTE seed: its type and encoded value (nil: NULL).
type param struct {
	typ      byte
	unsigned bool
	value    []byte
}

// execute is a COM_STMT_EXECUTE of statement id with params sent as new bindings.
func execute(id uint32, params ...param) []byte {
	body := [][]byte{u32(id), {0}, u32(1)}
	if len(params) > 0 {
		nulls := make([]byte, (len(params)+7)/8)
		var types, values []byte
		for i, p := range params {
			if p.value == nil {
				nulls[i/8] |= 1 << (i % 8)
			}
			flag := byte(0)
			if p.unsigned {
				flag = 0x80
			}
			types = append(types, p.typ, flag)
			values = append(values, p.value...)
		}
		body = append(body, nulls, []byte{1}, types, values)
	}
	return packet(comStmtExecute, body...)
}

// query is a COM_QUERY seed packet.
func query(sql string) []byte { return packet(comQuery, []byte(sql)) }

// prepare is a COM_STMT_PREPARE seed packet.
func prepare(sql string) []byte { return packet(comStmtPrepare, []byte(sql)) }

// packetProbes are the seeds beyond one COM_QUERY per sqllogictest statement: each command,
// prepared statements with parameter blocks of every type, and the probe statements.
func packetProbes() [][]byte {
	cat := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }
	f64 := func(f float64) []byte { return u64(math.Float64bits(f)) }
	dt := []byte{11, 0xea, 0x07, 1, 2, 3, 4, 5, 0x40, 0x42, 0x0f, 0} // 2026-01-02 03:04:05.1000000
	tm := []byte{12, 1, 2, 0, 0, 0, 3, 4, 5, 0x40, 0x42, 0x0f, 0}    // -2 days 03:04:05.1
	probes := [][]byte{
		query("SELECT COUNT(*) FROM a x, a y"),
		query("SELECT 1; SELECT * FROM ab; INSERT INTO t VALUES (3); SELECT * FROM t"),
		query(";'''0"),
		packet(comStmtPrepare, []byte("SELECT 1; SELECT 'a''b")),
		query("CREATE MATERIALIZED VIEW x AS SELECT * FROM a, b"),
		query("CREATE TABLE `\xff\xfe` (id INT)"),
		query("CREATE TABLE `a\x00b` (id INT)"),
		cat(query("BEGIN"), query("INSERT INTO t VALUES (1)"), query("INSERT INTO t VALUES (1)"), query("COMMIT")),
		query("SET max_execution_time = 2000"),
		query("SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1"),
		query("KILL QUERY 1"),
		packet(comProcessKill, u32(1)),
		query("SELECT '" + strings.Repeat("x", 1<<20) + "'"),
		cat(query("TAIL ab"), packet(comQuit)),
		cat(query("SELECT @@version_comment LIMIT 1"), query("SELECT DATABASE(), USER()")),
		packet(comInitDB, []byte("cdc")),
		packet(comInitDB, []byte("\xff\xfe\x00")),
		packet(comFieldList, []byte("a\x00")),
		packet(comFieldList, []byte("a\x00%")),
		packet(comPing),
		packet(comStatistics),
		packet(comSetOption, u16(0)),
		packet(comSetOption, u16(1)),
		packet(comResetConnection),
		cat(query("BEGIN"), query("INSERT INTO t VALUES (7)"), packet(comResetConnection), query("SELECT * FROM t")),
		packet(comChangeUser, []byte("root\x00\x00cdc\x00")),
		packet(comBinlogDump, u32(4), u16(0), u32(1), []byte("binlog.000001")),
		packet(comBinlogDumpGTID, u16(0), u32(1), u32(0), u64(4), u32(0)),
		packet(comRegisterReplica, u32(2), []byte{0, 0, 0}, u16(3306), u32(0), u32(0)),
		packet(0xff, []byte("unknown command")),
		{0},
		cat(prepare("SELECT ? + ?, ?, ?"), execute(1,
			param{typeLongLong, false, u64(1 << 62)}, param{typeDouble, false, f64(-0.5)},
			param{typeVarString, false, lenenc("it's")}, param{typeNull, false, nil})),
		cat(prepare("INSERT INTO b VALUES (?, ?, ?)"), execute(1,
			param{typeLong, false, u32(9)}, param{typeLongLong, true, u64(math.MaxUint64)}, param{typeBlob, false, lenenc("\xff\x00")}),
			query("SELECT * FROM b")),
		cat(prepare("SELECT ?, ?, ?, ?, ?"), execute(1,
			param{typeTiny, false, []byte{0xff}}, param{typeShort, true, u16(65535)},
			param{typeFloat, false, u32(math.Float32bits(1.5))}, param{typeDecimal, false, lenenc("-12.345")},
			param{typeJSON, false, lenenc(`{"a": [1]}`)})),
		cat(prepare("SELECT ?, ?, ?, ?"), execute(1,
			param{typeDatetime, false, dt}, param{typeTimestamp, false, []byte{4, 0xea, 0x07, 2, 29}},
			param{typeDate, false, []byte{0}}, param{typeTime, false, tm})),
		cat(prepare("SELECT ? FROM a WHERE id = ?"), execute(1, param{typeString, false, lenenc("x")}, param{typeLong, false, u32(1)}),
			packet(comStmtReset, u32(1)), execute(1, param{typeLong, false, u32(1)}, param{typeLong, false, u32(2)}),
			packet(comStmtClose, u32(1)), execute(1)),
		cat(prepare("SELECT ?"), packet(comStmtSendLongData, u32(1), u16(0), []byte("long ")),
			packet(comStmtSendLongData, u32(1), u16(0), []byte("data")), execute(1, param{typeBlob, false, lenenc("")})),
		cat(prepare("SELECT ?"), packet(comStmtExecute, u32(1), []byte{0}, u32(1), []byte{0, 1, 0xfd})),
		cat(prepare("SELECT 1"), execute(1), execute(2), packet(comStmtClose, u32(7))),
		cat(prepare("SELECT ?"), packet(comStmtExecute, u32(1), []byte{0}, u32(1), []byte{0, 0})),
		cat(packet(comStmtReset, u32(9)), packet(comStmtReset), packet(comStmtReset, u32(1), []byte{1}), query("SELECT 1")),
		cat(prepare("SELECT 1"), packet(comStmtReset, u32(2)), packet(comStmtReset, u32(1)), execute(1)),
	}
	return probes
}

// sltQueries returns the SQL of every statement and query record of ../testdata/*.slt.
func sltQueries(tb testing.TB) []string {
	tb.Helper()
	scripts, err := slt.ParseGlob(filepath.Join("..", "testdata", "*.slt"))
	if err != nil {
		tb.Fatal(err)
	}
	return slt.Statements(scripts)
}

// startFuzzServer serves a fresh in-memory engine holding fuzzSchema with user root and an
// empty password; stop shuts it down and closes the engine.
func startFuzzServer(tb testing.TB) (srv *Server, stop func()) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := engine.Open(ctx, engine.Options{Logger: quiet})
	if err != nil {
		tb.Fatalf("open engine: %v", err)
	}
	s := e.NewSession()
	for _, sql := range fuzzSchema {
		if _, err := s.Exec(ctx, sql); err != nil {
			s.Close()
			e.Close()
			tb.Fatalf("%s: %v", sql, err)
		}
	}
	s.Close()
	srv, err = New(e, Config{Addr: "127.0.0.1:0", User: "root", Logger: quiet, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		e.Close()
		tb.Fatalf("new server: %v", err)
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx) }()
	return srv, func() {
		stopServe()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
		if err := e.Close(); err != nil {
			tb.Errorf("engine close: %v", err)
		}
	}
}

// fuzzConn is a client connection speaking the packet layer itself.
type fuzzConn struct {
	net.Conn
	seq byte
}

// readPacket reads one packet (payloads of 16 MB or more continue in the next packets).
func (c *fuzzConn) readPacket() ([]byte, error) {
	var out []byte
	for {
		var h [4]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			return nil, err
		}
		n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
		c.seq = h[3] + 1
		p := make([]byte, n)
		if _, err := io.ReadFull(c, p); err != nil {
			return nil, fmt.Errorf("read %d-byte payload: %w", n, err)
		}
		out = append(out, p...)
		if n < 0xffffff {
			return out, nil
		}
	}
}

// writePacket writes payload as the packet with the connection's next sequence number,
// split at 16 MB as the protocol requires.
func (c *fuzzConn) writePacket(payload []byte) error {
	for {
		n := min(len(payload), 0xffffff)
		h := []byte{byte(n), byte(n >> 8), byte(n >> 16), c.seq}
		c.seq++
		if _, err := c.Write(append(h, payload[:n]...)); err != nil {
			return err
		}
		payload = payload[n:]
		if n < 0xffffff {
			return nil
		}
	}
}

// Client capability flags of the handshake response.
const (
	clientLongPassword     = 1
	clientProtocol41       = 0x200
	clientTransactions     = 0x2000
	clientSecureConn       = 0x8000
	clientMultiStatements  = 0x10000
	clientMultiResults     = 0x20000
	clientPluginAuth       = 0x80000
	nativePasswordPlugin   = "mysql_native_password"
	fuzzClientCapabilities = clientLongPassword | clientProtocol41 | clientTransactions | clientSecureConn | clientMultiStatements | clientMultiResults | clientPluginAuth
)

// dialFuzz connects to addr and logs in as root with the empty password, answering an auth
// switch request with an empty response; the connection has a fuzzIOTimeout deadline.
func dialFuzz(addr string) (*fuzzConn, error) {
	nc, err := net.DialTimeout("tcp", addr, fuzzIOTimeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := &fuzzConn{Conn: nc}
	if err := c.SetDeadline(time.Now().Add(fuzzIOTimeout)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	if err := c.login(); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// login runs the client side of the handshake.
func (c *fuzzConn) login() error {
	greeting, err := c.readPacket()
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if len(greeting) == 0 || greeting[0] != 10 {
		return fmt.Errorf("greeting is not a protocol 10 handshake: %q", greeting)
	}
	resp := append(u32(fuzzClientCapabilities), u32(1<<24)...)
	resp = append(resp, 255) // utf8mb4_0900_ai_ci
	resp = append(resp, make([]byte, 23)...)
	resp = append(resp, "root\x00"...)
	resp = append(resp, 0) // an empty auth response
	resp = append(resp, nativePasswordPlugin+"\x00"...)
	if err := c.writePacket(resp); err != nil {
		return fmt.Errorf("write handshake response: %w", err)
	}
	for range 2 {
		p, err := c.readPacket()
		if err != nil {
			return fmt.Errorf("read login answer: %w", err)
		}
		switch {
		case len(p) > 0 && p[0] == 0x00:
			return nil
		case len(p) > 0 && p[0] == 0xfe: // auth switch: the empty password scrambles to nothing
			if err := c.writePacket(nil); err != nil {
				return fmt.Errorf("write auth switch response: %w", err)
			}
		default:
			return fmt.Errorf("login refused: %q", p)
		}
	}
	return errors.New("login did not end with OK")
}

// internalError returns the message of an error packet reporting an internal error (the
// engine's recovered panics and failures), or "". Text and binary rows never start with 0xff.
func internalError(p []byte) string {
	if len(p) < 3 || p[0] != 0xff {
		return ""
	}
	msg := p[3:]
	if len(msg) >= 6 && msg[0] == '#' {
		msg = msg[6:]
	}
	if bytes.HasPrefix(msg, []byte("internal error")) {
		return string(msg)
	}
	return ""
}

// alive checks that a fresh connection logs in and runs SELECT 1 through the engine.
func alive(addr string) error {
	c, err := dialFuzz(addr)
	if err != nil {
		return fmt.Errorf("new connection: %w", err)
	}
	defer c.Close()
	c.seq = 0
	if err := c.writePacket(append([]byte{comQuery}, "SELECT 1"...)); err != nil {
		return fmt.Errorf("send SELECT 1: %w", err)
	}
	p, err := c.readPacket()
	if err != nil {
		return fmt.Errorf("read SELECT 1 answer: %w", err)
	}
	if len(p) == 0 || p[0] == 0xff || p[0] == 0x00 {
		return fmt.Errorf("SELECT 1 answered %q, not a result set", p)
	}
	return nil
}

// unclosedConns is the number of accepted connections not yet closed. vitess closes one after
// it logs a recovered panic, so at zero every panic of the closed connections is logged.
func (s *Server) unclosedConns() int64 { return s.ln.open.Load() }

// FuzzMySQLPackets logs in to a fresh server over a real handshake, sends the input as
// command packets (each its own sequence 0, with lengths fixed up) and reads the answers.
// No connection may panic (vitess recovers it and logs "mysql_server caught panic"), no
// answer may be an internal error (the engine's recovered panics), the connection must be
// let go once the client closes it, and a fresh connection must still run SELECT 1.
func FuzzMySQLPackets(f *testing.F) {
	// Every fourth statement: each input starts a server, and the packet layer needs far
	// fewer SQL texts than the planner's target.
	for i, sql := range sltQueries(f) {
		if i%4 != 0 {
			continue
		}
		f.Add(query(sql))
	}
	for _, p := range packetProbes() {
		f.Add(p)
	}
	panics := capturePanics(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, stop := startFuzzServer(t)
		defer stop()
		panics.take()
		c, err := dialFuzz(srv.Addr())
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		var (
			internal []string
			readDone = make(chan struct{})
		)
		go func() {
			defer close(readDone)
			for {
				p, err := c.readPacket()
				if err != nil {
					return
				}
				if msg := internalError(p); msg != "" {
					internal = append(internal, msg)
				}
			}
		}()
		for _, p := range splitPackets(data) {
			c.seq = 0
			if err := c.writePacket(p); err != nil {
				break // the server closed the connection: a bad packet may end it
			}
		}
		c.seq = 0
		_ = c.writePacket([]byte{comQuit})
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		<-readDone // EOF, or the deadline when a TAIL streams or a statement runs long
		c.Close()
		deadline := time.Now().Add(fuzzIOTimeout)
		for srv.unclosedConns() > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := srv.unclosedConns(); n > 0 {
			t.Fatalf("the server still holds %d connection(s) %v after the client closed", n, fuzzIOTimeout)
		}
		if p := panics.take(); len(p) > 0 {
			t.Fatalf("%d connection panic(s):\n%s", len(p), strings.Join(p, "\n"))
		}
		if len(internal) > 0 {
			t.Fatalf("internal error answers: %q", internal)
		}
		if err := alive(srv.Addr()); err != nil {
			t.Fatalf("after the input: %v", err)
		}
	})
}
