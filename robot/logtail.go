package robot

import (
	"sync"
	"unicode/utf8"
)

// droppedMarker starts a log whose beginning was dropped to keep it within its limit.
const droppedMarker = "[… earlier output dropped …]\n"

// logTail keeps the last limit bytes written to it: a job's output is kept, and stored, with
// a bound, however much the process prints. It is safe for concurrent writers (stdout and
// stderr are read by two goroutines) and readers (the heartbeat stores it while the job runs).
type logTail struct {
	limit int

	mu      sync.Mutex
	buf     []byte // holds at most 2*limit bytes; the tail is its last limit bytes
	dropped bool   // some output was dropped from the front
	version uint64 // counts writes, so an unchanged log is not stored again
}

func newLogTail(limit int) *logTail {
	return &logTail{limit: limit}
}

// Write appends p, dropping the oldest bytes beyond the limit. It never fails.
func (t *logTail) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.version++
	if len(p) >= t.limit {
		t.dropped = t.dropped || len(t.buf) > 0 || len(p) > t.limit
		t.buf = append(t.buf[:0], p[len(p)-t.limit:]...)
		return len(p), nil
	}
	// Compacting only when twice the limit is reached keeps appends amortised O(1).
	if len(t.buf)+len(p) > 2*t.limit {
		keep := t.limit - len(p)
		n := copy(t.buf, t.buf[len(t.buf)-keep:])
		t.buf = t.buf[:n]
		t.dropped = true
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// tail returns the kept bytes, at most max of them, and whether anything before them was
// dropped. After a drop, a UTF-8 character cut in half at the front is dropped too. The bytes
// are otherwise kept as the process wrote them.
func (t *logTail) tail(max int) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, dropped := t.buf, t.dropped
	if len(b) > max {
		b, dropped = b[len(b)-max:], true
	}
	if dropped {
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	return string(b), dropped
}

// String returns the log as stored: at most limit bytes, starting with droppedMarker when
// its beginning was dropped.
func (t *logTail) String() string {
	s, _ := t.snapshot()
	return s
}

// snapshot returns the log as String does, and the version it shows.
func (t *logTail) snapshot() (string, uint64) {
	t.mu.Lock()
	v, dropped := t.version, t.dropped || len(t.buf) > t.limit
	t.mu.Unlock()
	if !dropped {
		s, _ := t.tail(t.limit)
		return s, v
	}
	s, _ := t.tail(t.limit - len(droppedMarker))
	return droppedMarker + s, v
}
