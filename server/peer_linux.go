package server

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// peerClosed reports whether the client has closed its end of the TCP connection (the
// socket received its FIN or RST: CLOSE_WAIT, or closed), without reading from it.
func peerClosed(sc syscall.Conn) bool {
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = raw.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return
		}
		switch info.State {
		case unix.BPF_TCP_CLOSE_WAIT, unix.BPF_TCP_CLOSE, unix.BPF_TCP_LAST_ACK:
			closed = true
		}
	})
	return closed
}
