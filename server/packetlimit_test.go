package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
)

// chunkConn is a net.Conn whose reads return its data in pieces of the sizes rnd picks.
type chunkConn struct {
	net.Conn
	data []byte
	rnd  *rand.Rand
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.rnd.IntN(7))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// wirePacket frames payload as one MySQL packet with sequence number seq.
func wirePacket(seq byte, payload ...byte) []byte {
	h := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq}
	return append(h, payload...)
}

// TestPacketConnGuardsStmtReset: however the client's bytes are split across reads, a
// COM_STMT_RESET of a prepared statement passes unchanged, one of an unknown statement or a
// malformed one becomes an unknown command, and every other byte passes unchanged (a reset
// byte inside a payload or in the handshake response's sequence-1 packet is not a command).
func TestPacketConnGuardsStmtReset(t *testing.T) {
	stmt := func(id uint32) []byte { return binary.LittleEndian.AppendUint32([]byte{comStmtReset}, id) }
	var in, want []byte
	add := func(p, w []byte) { in, want = append(in, p...), append(want, w...) }
	same := func(p []byte) { add(p, p) }
	refused := func(seq byte, payload []byte) {
		w := append([]byte(nil), payload...)
		w[0] = comRefused
		add(wirePacket(seq, payload...), wirePacket(seq, w...))
	}
	same(wirePacket(1, append([]byte{comStmtReset}, bytes.Repeat([]byte{1}, 40)...)...)) // handshake response
	same(wirePacket(0, stmt(7)...))                                                      // prepared
	refused(0, stmt(8))                                                                  // unknown
	refused(0, []byte{comStmtReset, 7})                                                  // short
	refused(0, append(stmt(7), 0))                                                       // long
	same(wirePacket(0, append([]byte{3}, stmt(8)...)...))                                // a query holding the byte
	same(wirePacket(0, 0x0e))                                                            // COM_PING
	same(wirePacket(0, stmt(7)...))

	for seed := range uint64(200) {
		c := &packetLimitConn{Conn: &chunkConn{data: in, rnd: rand.New(rand.NewPCG(seed, 1))}, limit: maxAllowedPacket}
		c.SetPrepared(func(id uint32) bool { return id == 7 })
		var got []byte
		buf := make([]byte, 1+int(seed%9))
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("seed %d: read: %v", seed, err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d: read\n%x\nwant\n%x", seed, got, want)
		}
	}
}

// TestPacketConnLimit: a command past the limit fails the read and the client is told.
func TestPacketConnLimit(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	c := &packetLimitConn{Conn: server, limit: 10}
	go func() { _, _ = client.Write(wirePacket(0, bytes.Repeat([]byte{3}, 11)...)) }()
	reply := make(chan []byte, 1)
	go func() {
		b := make([]byte, 64)
		n, _ := client.Read(b)
		reply <- b[:n]
	}()
	if _, err := c.Read(make([]byte, 64)); err != errPacketTooLarge {
		t.Fatalf("read: %v, want errPacketTooLarge", err)
	}
	if r := <-reply; len(r) < 7 || r[4] != 0xff || binary.LittleEndian.Uint16(r[5:]) != 1153 {
		t.Fatalf("client got %x, want ER_NET_PACKET_TOO_LARGE", r)
	}
}

// TestPacketConnGuardsSplit: however the client's bytes are split across reads, a query or
// prepare whose text panics vitess's splitter reaches vitess with its semicolons blanked and
// its text kept for the handler; every other command passes unchanged, a long one included.
func TestPacketConnGuardsSplit(t *testing.T) {
	long := append([]byte{comQuery}, "SELECT 1; SELECT '"+strings.Repeat("x", 50_000)+"'"...)
	var in, want []byte
	same := func(p []byte) { in, want = append(in, p...), append(want, p...) }
	same(wirePacket(0, append([]byte{comQuery}, "SELECT 1; SELECT 2"...)...))
	in = append(in, wirePacket(0, append([]byte{comQuery}, "SELECT 1; SELECT 'a''b"...)...)...)
	want = append(want, wirePacket(0, append([]byte{comQuery}, "SELECT 1  SELECT 'a''b"...)...)...)
	same(wirePacket(0, long...))
	same(wirePacket(0, append([]byte{comQuery}, "SELECT ';'"...)...))
	in = append(in, wirePacket(0, append([]byte{comStmtPrepare}, ";'''0"...)...)...)
	want = append(want, wirePacket(0, append([]byte{comStmtPrepare}, " '''0"...)...)...)

	for seed := range uint64(50) {
		c := &packetLimitConn{Conn: &chunkConn{data: in, rnd: rand.New(rand.NewPCG(seed, 2))}, limit: maxAllowedPacket}
		var got []byte
		var kept []string
		buf := make([]byte, 1+int(seed%9)*1000)
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if text, ok := c.TakeSplitError(); ok {
				kept = append(kept, text)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("seed %d: read: %v", seed, err)
			}
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < min(len(got), len(want)) && got[i] == want[i] {
				i++
			}
			t.Fatalf("seed %d: read %d bytes, want %d; they differ from byte %d: %q", seed, len(got), len(want), i, got[i:min(len(got), i+40)])
		}
		if wantKept := []string{"SELECT 1; SELECT 'a''b", ";'''0"}; !slices.Equal(kept, wantKept) {
			t.Fatalf("seed %d: kept %q, want %q", seed, kept, wantKept)
		}
	}
}
