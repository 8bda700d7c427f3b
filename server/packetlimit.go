package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"time"

	"vitess.io/vitess/go/mysql/sqlerror"

	"github.com/cdc-dev/cdc/sqlplan"
)

// maxAllowedPacket is @@max_allowed_packet: the largest command a client may send (bytes,
// all its 16 MiB protocol packets together).
const maxAllowedPacket = 64 << 20

// errPacketTooLarge ends a connection whose client sent a command past maxAllowedPacket.
var errPacketTooLarge = errors.New("mysql: client sent a packet larger than max_allowed_packet")

// packetLimitConn follows the MySQL packet framing of what the client sends and fails the
// read that would take one command past limit: the client gets ER_NET_PACKET_TOO_LARGE
// and the connection is closed, as MySQL does, before vitess has buffered the command,
// so one client cannot make the server hold a command of any size. It also turns a
// COM_STMT_RESET that names no prepared statement into an unknown command (vitess v0.24
// dereferences the missing statement and drops the connection; see guardStmtReset), and
// keeps a COM_QUERY or COM_STMT_PREPARE whose text would panic vitess's statement splitter
// from reaching it (see guardSplit).
// Reads are made by one goroutine at a time (vitess's connection loop), which is also
// the goroutine that calls SetPrepared and changes the prepared statements.
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
	// first: the next payload byte is a command's first (its command byte); length is
	// that packet's payload length.
	first  bool
	length int64
	failed bool
	// pending holds bytes read from Conn and not yet returned (a COM_STMT_RESET whose
	// statement id has not fully arrived); buf is the storage reads go to.
	pending  []byte
	buf      []byte
	prepared func(id uint32) bool
	// splitErr is the text of the last command guardSplit kept from the splitter, until
	// the handler takes it (TakeSplitError).
	splitErr string
}

// SetPrepared installs the test of whether a statement id names a prepared statement of
// the connection; until it is set, every COM_STMT_RESET is refused.
func (c *packetLimitConn) SetPrepared(prepared func(id uint32) bool) { c.prepared = prepared }

// Read reads from the client and follows the framing of what it read.
func (c *packetLimitConn) Read(p []byte) (int, error) {
	if c.failed {
		return 0, errPacketTooLarge
	}
	if len(p) == 0 {
		return 0, nil
	}
	var err error
	if len(c.pending) == 0 {
		if len(c.buf) < len(p) {
			c.buf = make([]byte, len(p))
		}
		var n int
		n, err = c.Conn.Read(c.buf[:len(p)])
		c.pending = c.buf[:n]
	}
	for {
		n, ok, more := c.follow(c.pending, len(p))
		if !ok {
			c.failed = true
			c.refuse()
			return 0, errPacketTooLarge
		}
		if n == 0 && more {
			if err == nil {
				// A guarded command starts here and has not all arrived yet.
				err = c.readMore()
				continue
			}
			// The client went away inside the command: what arrived is returned as is.
			n = min(len(c.pending), len(p))
			c.first = false
			c.left -= int64(n)
		}
		copy(p, c.pending[:n])
		c.pending = c.pending[n:]
		if len(c.pending) > 0 {
			return n, nil
		}
		return n, err
	}
}

// readMore appends the next read from Conn to pending (a command split across reads),
// growing pending's storage geometrically so a command of n bytes costs O(n) copies.
func (c *packetLimitConn) readMore() error {
	b := c.pending
	if cap(b)-len(b) < 4096 {
		b = make([]byte, len(c.pending), max(2*cap(c.pending), len(c.pending)+4096))
		copy(b, c.pending)
	}
	n, err := c.Conn.Read(b[len(b):cap(b)])
	c.pending = b[:len(b)+n]
	if n > 0 {
		return nil
	}
	return err
}

// follow advances the framing over at most limit bytes of b and reports how many may be
// returned: that many, or fewer with more set when a guarded command starts there and the
// part its guard reads lies past the end of b (guardLen). Only b's guarded commands are
// rewritten. ok is false once a command passes the limit.
func (c *packetLimitConn) follow(b []byte, limit int) (n int, ok, more bool) {
	limit = min(limit, len(b))
	for n < limit {
		if c.left > 0 {
			if c.first {
				need := c.guardLen(b[n])
				if n+need > len(b) {
					return n, true, true
				}
				c.guard(b[n : n+need])
				c.first = false
			}
			k := min(int64(limit-n), c.left)
			c.left -= k
			n += int(k)
			continue
		}
		k := copy(c.header[c.headerLen:], b[n:limit])
		c.headerLen += k
		n += k
		if c.headerLen < 4 {
			return n, true, false
		}
		c.headerLen = 0
		length := int64(c.header[0]) | int64(c.header[1])<<8 | int64(c.header[2])<<16
		// A command's first packet has sequence number 0 (the handshake response has 1).
		c.first = !c.cont && c.header[3] == 0 && length > 0
		c.length = length
		if !c.cont {
			c.size = 0
		}
		c.size += length
		c.cont = length == 0xffffff
		if c.size > c.limit {
			return n, false, false
		}
		c.left = length
	}
	return n, true, false
}

// The command bytes the guards look at; comRefused is a command byte vitess does not
// handle, answered with ER_UNKNOWN_COM_ERROR.
const (
	comQuery       = 0x03
	comStmtPrepare = 0x16
	comStmtReset   = 0x1a
	comRefused     = 0xfa
)

// guardLen is how many bytes of the command starting with cmd in the current packet its
// guard reads: a COM_STMT_RESET's first 5; a COM_QUERY's or COM_STMT_PREPARE's whole text
// when it fits one packet (vitess holds it whole too, and max_allowed_packet bounds it);
// none for other commands. A text of several packets is not guarded.
func (c *packetLimitConn) guardLen(cmd byte) int {
	switch cmd {
	case comStmtReset:
		return int(min(c.length, 5))
	case comQuery, comStmtPrepare:
		if c.length < 0xffffff {
			return int(c.length)
		}
	}
	return 0
}

// guard runs the guard of the command in cmd (its first guardLen bytes), if it has one.
func (c *packetLimitConn) guard(cmd []byte) {
	switch {
	case len(cmd) == 0:
	case cmd[0] == comStmtReset:
		c.guardStmtReset(cmd)
	case cmd[0] == comQuery || cmd[0] == comStmtPrepare:
		c.guardSplit(cmd)
	}
}

// guardSplit keeps a statement text that panics vitess v0.24's statement splitter from
// reaching it: on a connection with CLIENT_MULTI_STATEMENTS vitess splits every COM_QUERY
// and COM_STMT_PREPARE, and a semicolon followed by an unterminated string holding a doubled
// quote (";'a”b") makes it slice past the text's end, which drops the connection. Such a
// text is a syntax error whatever else it holds: guardSplit records it for the handler
// (TakeSplitError), which answers the command with that error, and blanks its semicolons
// in place so that vitess hands it over whole without splitting it.
func (c *packetLimitConn) guardSplit(cmd []byte) {
	text := cmd[1:]
	if i := bytes.IndexByte(text, ';'); i < 0 || i == len(text)-1 {
		return // vitess's own fast paths: no semicolon, or one at the end
	}
	q := string(text)
	if !splitPanics(q) {
		return
	}
	c.splitErr = q
	for i, b := range text {
		if b == ';' {
			text[i] = ' '
		}
	}
}

// splitPanics reports whether vitess's statement splitter panics on text.
func splitPanics(text string) (panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	_, _ = sqlplan.Parser().SplitStatementToPieces(text)
	return false
}

// TakeSplitError returns the text of the command guardSplit last kept from the splitter,
// once: the handler answers that command with the text's syntax error.
func (c *packetLimitConn) TakeSplitError() (string, bool) {
	text := c.splitErr
	c.splitErr = ""
	return text, text != ""
}

// guardStmtReset rewrites, in place, a COM_STMT_RESET (cmd: its first bytes, up to 5)
// that is malformed or names no prepared statement into an unknown command: vitess v0.24
// answers those with an error and then dereferences the missing statement anyway.
func (c *packetLimitConn) guardStmtReset(cmd []byte) {
	if len(cmd) == 0 || cmd[0] != comStmtReset {
		return
	}
	if c.length == 5 && c.prepared != nil && c.prepared(binary.LittleEndian.Uint32(cmd[1:5])) {
		return
	}
	cmd[0] = comRefused
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

// packetConn finds the packetLimitConn under the listener's connection wrappers, nil if
// there is none.
func packetConn(c net.Conn) *packetLimitConn {
	pc, _ := under[*packetLimitConn](c)
	return pc
}

// under finds the first connection of type T in c's chain of wrappers (Unwrap).
func under[T any](c net.Conn) (T, bool) {
	for c != nil {
		if x, ok := c.(T); ok {
			return x, true
		}
		u, ok := c.(interface{ Unwrap() net.Conn })
		if !ok {
			break
		}
		c = u.Unwrap()
	}
	var zero T
	return zero, false
}

// Unwrap is the connection whose reads are followed.
func (c *packetLimitConn) Unwrap() net.Conn { return c.Conn }
