package server

import (
	"net"
	"net/http"
	"sync"
)

// listener is the HTTP server's listener plus a way back in: a parked LongPolling request
// (callmode/park.go) took its connection from the HTTP server; once its answer is written,
// the connection is handed back here and the HTTP server serves the client's next request
// on it, as it would have on a connection it never let go of (keep-alive).
type listener struct {
	net.Listener
	back     chan net.Conn
	accepted chan acceptResult
	done     chan struct{}
	once     sync.Once

	// idle holds the connections handed back whose next request has not started: the
	// HTTP server's Shutdown would wait 5 s before it took them for idle (it counts a new
	// connection as busy until then), so Close closes them itself.
	mu   sync.Mutex
	idle map[net.Conn]struct{}
}

type acceptResult struct {
	conn net.Conn
	err  error
}

// newListener wraps ln; its accept loop runs until Close.
func newListener(ln net.Listener) *listener {
	l := &listener{Listener: ln, back: make(chan net.Conn), accepted: make(chan acceptResult), done: make(chan struct{}),
		idle: map[net.Conn]struct{}{}}
	go l.acceptLoop()
	return l
}

// acceptLoop accepts new connections for Accept, until the listener is closed (http.Server
// closes it when Serve returns, whatever the reason).
func (l *listener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				_ = c.Close()
			}
			return
		}
	}
}

// Accept returns the next new connection, or the next one handed back.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.back:
		return c, nil
	case r := <-l.accepted:
		return r.conn, r.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the connections handed back that wait for their next
// request; connections handed back from now on are refused.
func (l *listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.Listener.Close()
		l.mu.Lock()
		defer l.mu.Unlock()
		for c := range l.idle {
			_ = c.Close()
		}
		clear(l.idle)
	})
	return err
}

// giveBack hands c to the HTTP server for the client's next request. It reports false when
// the server no longer accepts connections (it is shutting down): the caller closes c.
func (l *listener) giveBack(c net.Conn) bool {
	l.mu.Lock()
	l.idle[c] = struct{}{}
	l.mu.Unlock()
	select {
	case l.back <- c:
		return true
	case <-l.done:
		l.forget(c)
		return false
	}
}

// connState is the HTTP server's ConnState hook: a handed-back connection whose next
// request started (or that closed) is the server's to shut down.
func (l *listener) connState(c net.Conn, state http.ConnState) {
	if state != http.StateNew {
		l.forget(c)
	}
}

func (l *listener) forget(c net.Conn) {
	l.mu.Lock()
	delete(l.idle, c)
	l.mu.Unlock()
}
