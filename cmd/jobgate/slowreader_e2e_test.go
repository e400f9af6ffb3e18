package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Slow readers (issue 8, "Slow readers"): clients that ask for large answers and never read
// them must not make the server hold memory or connections without bound.

// bigOutputConfig declares default/default's process Big, whose output arguments are one
// string of about size bytes, and its trigger "big".
func bigOutputConfig(t *testing.T, size int) string {
	t.Helper()
	// Inline (sh -c): the sandboxed job has a private /tmp, where a test's files live.
	script := fmt.Sprintf(`{ printf '{"s":"'; head -c %d /dev/zero | tr '\0' a; printf '"}'; } > "$JOBGATE_OUTPUT"`, size)
	return writeFile(t, "big.yaml", fmt.Sprintf(`tenants:
  - org: default
    tenant: default
    processes:
      - key: Big
        command: ["/bin/sh", "-c", %q]
    triggers:
      - {slug: big, process: Big}
`, script))
}

// finishedBigJob runs Big once and returns the URL path of its output resource.
func finishedBigJob(t *testing.T, s *testServer) string {
	t.Helper()
	id, status := commandStart(t, s, "big", map[string]any{})
	waitJobState(t, s, id, "Successful")
	return strings.TrimSuffix(strings.TrimPrefix(status, s.URL), "/status") + "/output"
}

// pipelineWithoutReading opens a connection that sends n requests for path at once and
// reads nothing, with a small receive buffer so that the server's writes block soon.
func pipelineWithoutReading(t *testing.T, s *testServer, path, tok string, n int) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	tc := c.(*net.TCPConn)
	_ = tc.SetReadBuffer(4096)
	t.Cleanup(func() { _ = tc.Close() })
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path, strings.TrimPrefix(s.URL, "http://"), tok)
	if _, err := io.WriteString(tc, strings.Repeat(req, n)); err != nil {
		t.Fatal(err)
	}
	return tc
}

// heapInUse returns the heap in use after a collection, in bytes.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestSlowReaders_HeapStaysBoundedWhileLargeOutputsWait reproduces the attack: 100
// connections pipeline GETs of a 4 MB output and never read. The server runs in this
// process, so its heap is this process's: it must not grow by a copy of the output per
// connection. Not parallel: no other test's server shares the heap while it measures.
// JOBGATE_SLOWREADER_LOG=path appends the figures there (docs/benchmarks.md quotes them).
func TestSlowReaders_HeapStaysBoundedWhileLargeOutputsWait(t *testing.T) {
	const conns, perConn, size = 100, 4, 4_000_000
	s := startServer(t, "--config", bigOutputConfig(t, size), "--robots", "1")
	path := finishedBigJob(t, s)
	tok := token(t)
	base := heapInUse()
	for range conns {
		pipelineWithoutReading(t, s, path, tok, perConn)
	}
	// Let the server take every request and block on its writes; keep the highest heap.
	var peak uint64
	for range 30 {
		time.Sleep(100 * time.Millisecond)
		peak = max(peak, heapInUse())
	}
	grew := int64(peak) - int64(base)
	msg := fmt.Sprintf("%d connections × %d pipelined GETs of a %d-byte output, unread: heap in use %d MB → peak %d MB (%+d MB)",
		conns, perConn, size, base>>20, peak>>20, grew>>20)
	t.Log(msg)
	if p := os.Getenv("JOBGATE_SLOWREADER_LOG"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(f, msg)
			_ = f.Close()
		}
	}
	if limit := int64(64 << 20); grew > limit {
		t.Errorf("the heap grew by %d MB, want at most %d MB: the output is copied per connection", grew>>20, limit>>20)
	}
}

// TestSlowReaders_ConnectionIsCutOffByTheWriteDeadline: a client that asks for a large
// answer and never reads it is disconnected once the write deadline passes (2 s here),
// long before the LongPolling hop (50 s) that bounded it before.
func TestSlowReaders_ConnectionIsCutOffByTheWriteDeadline(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--config", bigOutputConfig(t, 4_000_000), "--robots", "1", "--write-timeout", "2s")
	path := finishedBigJob(t, s)
	c := pipelineWithoutReading(t, s, path, token(t), 20)
	// Read nothing for longer than the write deadline, then everything the server sent.
	time.Sleep(6 * time.Second)
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second)) // generous: only a hang fails here
	br := bufio.NewReader(c)
	answers := 0
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			break
		}
		answers++
	}
	if answers >= 20 {
		t.Fatalf("all %d answers arrived: the server waited for the slow reader instead of closing", answers)
	}
	// The connection is closed: a further read ends at once with EOF or a reset, not a timeout.
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the connection still delivers data after the server gave up on it")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the connection was still open 30 s after the write deadline: %v", err)
	}
}
