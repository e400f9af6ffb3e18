package robot

import (
	"context"
	"sync"

	"github.com/jobgate/jobgate/jobs"
)

// activeRun is one job a slot is running: how to stop it, and what it reported that the
// store has not been told yet.
type activeRun struct {
	cancel context.CancelCauseFunc
	// kill is closed when the run must end at once: a Kill (also one that follows a
	// SoftStop), the deadline, a lost lease, a hand-back. A SoftStop only cancels the
	// context, so that a command process gets its grace period.
	kill     chan struct{}
	killOnce sync.Once
	// progressed tells the heartbeat that there is progress to push. It must not block.
	// Set before the run starts.
	progressed func()
	// log is the job's output, kept bounded.
	log *logTail

	mu       sync.Mutex
	strategy jobs.StopStrategy // the strongest stop requested; "" when none
	pending  *jobs.Progress    // reported, not yet pushed
	last     *jobs.Progress    // last reported
}

func newActiveRun(cancel context.CancelCauseFunc, logLimit int) *activeRun {
	return &activeRun{
		cancel: cancel,
		kill:   make(chan struct{}),
		log:    newLogTail(logLimit),
	}
}

// stopFor acts on a job state a stop request set: Stopping asks the run to end (SoftStop),
// Terminating ends it at once (Kill), even when a SoftStop came first.
func (r *activeRun) stopFor(s jobs.State) {
	switch s {
	case jobs.Stopping:
		r.mu.Lock()
		if r.strategy == "" {
			r.strategy = jobs.SoftStop
		}
		r.mu.Unlock()
		r.cancel(errSoftStop)
	case jobs.Terminating:
		r.mu.Lock()
		r.strategy = jobs.Kill
		r.mu.Unlock()
		r.hardStop(errKill)
	}
}

// hardStop cancels the run with cause (unless it was cancelled already) and asks the
// executor to end it at once.
func (r *activeRun) hardStop(cause error) {
	r.cancel(cause)
	r.killOnce.Do(func() { close(r.kill) })
}

// stopStrategy returns the strongest stop requested, SoftStop when none was recorded.
func (r *activeRun) stopStrategy() jobs.StopStrategy {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.strategy == "" {
		return jobs.SoftStop
	}
	return r.strategy
}

// report records the run's progress; the heartbeat pushes it to the store.
func (r *activeRun) report(pr jobs.Progress) {
	r.mu.Lock()
	if r.last != nil && *r.last == pr {
		r.mu.Unlock()
		return
	}
	r.last, r.pending = &pr, &pr
	r.mu.Unlock()
	if r.progressed != nil {
		r.progressed()
	}
}

// takeProgress returns the progress not pushed yet, or nil.
func (r *activeRun) takeProgress() *jobs.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	pr := r.pending
	r.pending = nil
	return pr
}

// putBackProgress keeps progress whose push failed, unless newer progress came since.
func (r *activeRun) putBackProgress(pr *jobs.Progress) {
	if pr == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = pr
	}
}
