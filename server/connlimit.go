package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jobgate/jobgate/internal/problem"
	"github.com/jobgate/jobgate/jobs"
)

// connLimit is a listener that bounds the connections open at once: in all (maxTotal) and
// per client address (maxPerAddr), before any request is read — a client that opens
// connections and sends nothing, or reads nothing, costs the server at most its share.
// A connection over a limit gets a raw HTTP/1.1 answer (429 per address, 503 in all) with
// Retry-After and a problem+json body, and is closed. A limit of 0 is no limit.
//
// Behind a reverse proxy every client has the proxy's address: raise or lift
// --max-conns-per-address there, and let the proxy bound its clients.
type connLimit struct {
	net.Listener
	maxTotal, maxPerAddr int

	mu     sync.Mutex
	total  int
	byAddr map[string]int
}

// refusalRetryAfter is the Retry-After of a refused connection.
const refusalRetryAfter = 5 * time.Second

func newConnLimit(ln net.Listener, maxTotal, maxPerAddr int) *connLimit {
	return &connLimit{Listener: ln, maxTotal: maxTotal, maxPerAddr: maxPerAddr, byAddr: map[string]int{}}
}

// Accept returns the next connection within the limits; it answers and closes the others.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := clientAddr(c)
		if refusal := l.admit(addr); refusal != nil {
			go refuse(c, refusal)
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.leave(addr) }}, nil
	}
}

// admit counts a connection from addr in, or returns the problem that refuses it.
func (l *connLimit) admit(addr string) *problem.Problem {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxTotal > 0 && l.total >= l.maxTotal {
		p := problem.Quota("maxConns", int64(l.maxTotal), http.StatusServiceUnavailable,
			fmt.Sprintf("the server has %d connections open, its limit (--max-conns); try again shortly", l.maxTotal))
		return &p
	}
	if l.maxPerAddr > 0 && l.byAddr[addr] >= l.maxPerAddr {
		p := problem.Quota(jobs.QuotaConnections, int64(l.maxPerAddr), http.StatusTooManyRequests,
			fmt.Sprintf("your address has %d connections open to this server, its limit (--max-conns-per-address): reuse them (keep-alive) or close some", l.maxPerAddr))
		return &p
	}
	l.total++
	l.byAddr[addr]++
	return nil
}

func (l *connLimit) leave(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byAddr[addr] <= 1 {
		delete(l.byAddr, addr)
	} else {
		l.byAddr[addr]--
	}
}

// clientAddr is the connection's remote IP address (the port left out).
func clientAddr(c net.Conn) string {
	if tcp, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// refuse writes p as a raw HTTP/1.1 answer and closes c. The client's request is read and
// dropped for a moment first (bounded), so that closing does not reset the connection
// before the client read the answer.
func refuse(c net.Conn, p *problem.Problem) {
	defer c.Close()
	body, _ := json.Marshal(p)
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	_, err := fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nRetry-After: %d\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		p.Status, http.StatusText(p.Status), problem.ContentType, int(refusalRetryAfter/time.Second), len(body), body)
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// limitedConn counts itself out of its limits once, when it is closed (by the HTTP
// server, or by a parked request's answer).
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// CloseWrite passes on the TCP half-close that parked answers use.
func (c *limitedConn) CloseWrite() error {
	if tc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return tc.CloseWrite()
	}
	return nil
}
