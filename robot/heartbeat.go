package robot

import (
	"context"
	"sync"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// progressEvery is the shortest time between two progress reports to the store.
const progressEvery = time.Second

// heartbeat keeps the store's record of a running job fresh: it renews the lease every
// third of it, pushes progress soon after it changes (at most once per progressEvery), and
// stores the log every LogInterval while it grows. A renewal that finds the job stopping
// stops the run; one that finds the lease gone ends it, and the heartbeat with it.
//
// It has no goroutine: three timers of the run drive it, each re-armed by its own
// callback. A waiting timer costs the runtime's timer heap about a hundred bytes, where a
// goroutine per run would cost a stack of kilobytes (grown by the store client's deep
// calls and kept). Timers per run rather than one pool-wide scheduler: the runtime's timer
// heap is that schedule already, and each callback makes its store call on a goroutine
// of its own that lives only as long as the call, so a slow call for one job delays no
// other job's renewal.
type heartbeat struct {
	p          *Pool
	r          *activeRun
	key, owner string

	// beat is held by a callback for its whole run, store call included: the callbacks of
	// one run never overlap, and stop waits for the one in flight.
	beat      sync.Mutex
	storedLog uint64 // the log version stored last; guarded by beat

	// mu guards the schedule. It is never held across a store call, so that reporting
	// progress never waits for the store.
	mu          sync.Mutex
	stopped     bool // written holding beat and mu; read holding either
	renewT      *time.Timer
	logT        *time.Timer
	progressT   *time.Timer // armed while a progress push is due; nil until the first
	nextRenew   time.Time   // when renewT is due
	nextLog     time.Time   // when logT is due
	lastRenew   time.Time   // when the last renewal started
	progressDue bool        // progressT is armed for a push
}

// startHeartbeat arms the timers of run r of job key under owner's lease, and routes r's
// progress reports to it. The first renewal and log push come a period after now.
func (p *Pool) startHeartbeat(r *activeRun, key, owner string) *heartbeat {
	h := &heartbeat{p: p, r: r, key: key, owner: owner}
	r.progressed = h.progressed
	now := time.Now()
	h.mu.Lock() // a callback due at once waits until its timer is recorded
	defer h.mu.Unlock()
	h.nextRenew, h.nextLog = now.Add(p.cfg.Lease/3), now.Add(p.cfg.LogInterval)
	h.renewT = time.AfterFunc(p.cfg.Lease/3, h.onRenewDue)
	h.logT = time.AfterFunc(p.cfg.LogInterval, h.onLogDue)
	return h
}

// stop ends the heartbeat when the run ends: it waits for the callback in flight, if any,
// and disarms every timer. A timer that fired meanwhile finds the heartbeat stopped and
// does nothing, so no store call of it follows stop.
func (h *heartbeat) stop() {
	h.beat.Lock()
	defer h.beat.Unlock()
	h.halt()
}

// halt stops the heartbeat. The caller holds beat.
func (h *heartbeat) halt() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	h.renewT.Stop()
	h.logT.Stop()
	if h.progressT != nil {
		h.progressT.Stop()
	}
	h.progressDue = false
}

// progressed schedules a push of the run's new progress: at once when the last renewal
// is progressEvery old, else when it will be. A push already scheduled takes the latest
// progress.
func (h *heartbeat) progressed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || h.progressDue {
		return
	}
	h.progressDue = true
	wait := max(0, time.Until(h.lastRenew.Add(progressEvery)))
	if h.progressT == nil {
		h.progressT = time.AfterFunc(wait, h.onProgressDue)
	} else {
		h.progressT.Reset(wait)
	}
}

// onRenewDue renews the lease, then re-arms for the next third of it.
func (h *heartbeat) onRenewDue() {
	h.beat.Lock()
	defer h.beat.Unlock()
	if h.stopped {
		return
	}
	if !h.renew() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rearm(h.renewT, &h.nextRenew, h.p.cfg.Lease/3)
}

// onProgressDue pushes the progress reported since the last renewal.
func (h *heartbeat) onProgressDue() {
	h.beat.Lock()
	defer h.beat.Unlock()
	h.mu.Lock()
	due := h.progressDue && !h.stopped
	h.progressDue = false
	h.mu.Unlock()
	if due {
		h.renew()
	}
}

// onLogDue stores the log if it changed since it was last stored, then re-arms.
func (h *heartbeat) onLogDue() {
	h.beat.Lock()
	defer h.beat.Unlock()
	if h.stopped {
		return
	}
	if log, version := h.r.log.snapshot(); version != h.storedLog {
		if err := h.p.cfg.Store.WriteLog(context.Background(), h.key, h.owner, log); err != nil {
			// A lost lease is found out by the next renewal; the log is stored again.
			h.p.cfg.Logger.Debug("robot: could not store the log of a running job", "job", h.key, "err", err)
		} else {
			h.storedLog = version
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rearm(h.logT, &h.nextLog, h.p.cfg.LogInterval)
}

// renew extends the lease and pushes the progress not pushed yet. It reports false when
// the lease is gone: it ended the run and halted the heartbeat. The caller holds beat.
func (h *heartbeat) renew() bool {
	h.mu.Lock()
	// Set before the call: progress reported during it is pushed progressEvery after this
	// renewal, not at once after it.
	h.lastRenew = time.Now()
	h.mu.Unlock()
	pr := h.r.takeProgress()
	job, err := h.p.cfg.Store.Renew(context.Background(), h.key, h.owner, h.p.cfg.Lease, pr)
	switch {
	case jobs.ErrorCode(err) == jobs.ECONFLICT || jobs.ErrorCode(err) == jobs.ENOTFOUND:
		h.r.hardStop(errLeaseGone)
		h.halt()
		return false
	case err != nil:
		h.r.putBackProgress(pr)
		h.p.cfg.Logger.Warn("robot: lease renewal failed", "job", h.key, "err", err)
	case job.State == jobs.Stopping || job.State == jobs.Terminating:
		h.r.stopFor(job.State)
	}
	return true
}

// rearm re-arms t, which fired for the beat at *next, for the beat after it.
func rearm(t *time.Timer, next *time.Time, every time.Duration) {
	var wait time.Duration
	*next, wait = nextBeat(*next, time.Now(), every)
	t.Reset(wait)
}

// nextBeat returns the beat that follows the one at last, and how long after now it is due,
// as a time.Ticker paces a slow receiver: beats keep their pace however long the receiver
// took; when it took longer than a period, the latest beat it missed comes at once and the
// others are dropped.
func nextBeat(last, now time.Time, every time.Duration) (time.Time, time.Duration) {
	next := last.Add(every)
	late := now.Sub(next)
	if late < 0 {
		return next, -late
	}
	return next.Add(late / every * every), 0
}
