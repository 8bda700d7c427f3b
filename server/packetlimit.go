package server

import (
	"encoding/binary"
	"errors"
	"net"
	"time"

	"vitess.io/vitess/go/mysql/sqlerror"
)

// maxAllowedPacket is @@max_allowed_packet: the largest command a client may send (bytes,
// all its 16 MiB protocol packets together).
const maxAllowedPacket = 64 << 20

// errPacketTooLarge ends a connection whose client sent a command past maxAllowedPacket.
var errPacketTooLarge = errors.New("mysql: client sent a packet larger than max_allowed_packet")

// packetLimitConn follows the MySQL packet framing of what the client sends and fails the
// read that would take one command past limit: the client gets ER_NET_PACKET_TOO_LARGE
// and the connection is closed, as MySQL does, before vitess has buffered the command,
// so one client cannot make the server hold a command of any size. Reads are made by one
// goroutine at a time (vitess's connection loop).
type packetLimitConn struct {
	net.Conn
	limit int64
	// header holds the bytes of a packet header read so far (headerLen of them); left is
	// what remains of the current packet's payload; size is the command's size so far.
	header    [4]byte
	headerLen int
	left      int64
	size      int64
	cont      bool // the current packet is 16 MiB - 1 bytes: the command continues
	failed    bool
}

// Read reads from the client and follows the framing of what it read.
func (c *packetLimitConn) Read(p []byte) (int, error) {
	if c.failed {
		return 0, errPacketTooLarge
	}
	n, err := c.Conn.Read(p)
	if !c.follow(p[:n]) {
		c.failed = true
		c.refuse()
		return 0, errPacketTooLarge
	}
	return n, err
}

// follow advances the framing over b and reports false once a command passes the limit.
func (c *packetLimitConn) follow(b []byte) bool {
	for len(b) > 0 {
		if c.left > 0 {
			k := min(int64(len(b)), c.left)
			c.left -= k
			b = b[k:]
			continue
		}
		k := copy(c.header[c.headerLen:], b)
		c.headerLen += k
		b = b[k:]
		if c.headerLen < 4 {
			return true
		}
		c.headerLen = 0
		length := int64(c.header[0]) | int64(c.header[1])<<8 | int64(c.header[2])<<16
		if !c.cont {
			c.size = 0
		}
		c.size += length
		c.cont = length == 0xffffff
		if c.size > c.limit {
			return false
		}
		c.left = length
	}
	return true
}

// refuse writes ER_NET_PACKET_TOO_LARGE to the client, with a short deadline.
func (c *packetLimitConn) refuse() {
	msg := "Got a packet bigger than 'max_allowed_packet' bytes"
	payload := append([]byte{0xff, 0, 0, '#'}, "08S01"+msg...)
	binary.LittleEndian.PutUint16(payload[1:], uint16(sqlerror.ERNetPacketTooLarge))
	seq := c.header[3] + 1
	header := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq}
	_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
	_, _ = c.Write(append(header, payload...))
}

// Unwrap is the connection whose reads are followed.
func (c *packetLimitConn) Unwrap() net.Conn { return c.Conn }
