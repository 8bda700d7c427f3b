package server

import (
	"context"
	"net"
	"sync"
	"syscall"
	"time"
)

// peerPollEvery is how often a running statement checks that its client is still connected.
const peerPollEvery = 50 * time.Millisecond

// watchPeer cancels a statement's context when its client closes the connection (a client
// that timed out, was killed or went away must not have its statement applied later), by
// polling the socket's state every peerPollEvery while the statement runs; statements that
// end sooner cost one timer. stop ends the watch.
func watchPeer(conn net.Conn, cancel context.CancelFunc) (stop func()) {
	sc := rawSocket(conn)
	if sc == nil {
		return func() {}
	}
	// mu also orders the assignment of t before the callback's use of it.
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(peerPollEvery, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if peerClosed(sc) {
			cancel()
			return
		}
		t.Reset(peerPollEvery)
	})
	return func() {
		mu.Lock()
		stopped = true
		timer := t
		mu.Unlock()
		timer.Stop()
	}
}

// rawSocket finds the socket under the listener's connection wrappers, nil if there is none.
func rawSocket(c net.Conn) syscall.Conn {
	sc, _ := under[syscall.Conn](c)
	return sc
}
