package callmode

import (
	"sync"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// heldCalls counts each tenant's LongPolling calls held by this server — goroutine-held
// and parked alike — for the maxHeldCalls quota (Config.MaxHeld). The count is in-process:
// every server counts its own. The zero value is ready to use.
type heldCalls struct {
	mu sync.Mutex
	n  map[jobs.Tenant]int64
}

// acquire counts one more held call of t, unless t already holds max (max ≤ 0: no limit).
func (h *heldCalls) acquire(t jobs.Tenant, max int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if max > 0 && h.n[t] >= max {
		return false
	}
	if h.n == nil {
		h.n = map[jobs.Tenant]int64{}
	}
	h.n[t]++
	return true
}

// release counts one held call of t less.
func (h *heldCalls) release(t jobs.Tenant) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n[t] <= 1 {
		delete(h.n, t)
		return
	}
	h.n[t]--
}

// count returns how many calls of t are held.
func (h *heldCalls) count(t jobs.Tenant) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[t]
}

// heldRetryAfter is the Retry-After of a maxHeldCalls refusal: held calls end with their
// job or their hop, so a slot frees up within seconds for most tenants.
const heldRetryAfter = 5 * time.Second

func heldQuotaError(t jobs.Tenant, max int64) error {
	return jobs.QuotaError(jobs.QuotaHeldCalls, max, heldRetryAfter,
		"tenant %s already has %d LongPolling calls held on this server (its %s quota); try again shortly, or use AsyncRequestReply",
		t, max, jobs.QuotaHeldCalls)
}

// maxHeld returns t's maxHeldCalls quota (0: no limit).
func (m *Modes) maxHeld(t jobs.Tenant) int64 {
	if m.cfg.MaxHeld == nil {
		return 0
	}
	return m.cfg.MaxHeld(t)
}

// CheckHeld reports EQUOTA when tenant t holds as many LongPolling calls on this server as
// its quota allows: the invocation handler asks before it creates a LongPolling job, so a
// refused call creates nothing. (Concurrent calls may pass this check together; the hold
// itself counts exactly and refuses the overflow.)
func (m *Modes) CheckHeld(t jobs.Tenant) error {
	if max := m.maxHeld(t); max > 0 && m.held.count(t) >= max {
		return heldQuotaError(t, max)
	}
	return nil
}
