package callmode

import (
	"context"
	"sync"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// parkedHold is a held request without a goroutine: the hub answers it once its job is
// final, its hop time has passed, or the server drains. It keeps no copy of the job (a
// hop needs none), so that ten thousand of them stay small. The timer is guarded by
// Waiter.mu.
type parkedHold struct {
	t        jobs.Tenant
	key      string
	deadline time.Time
	timer    *time.Timer
	// answer writes the request's answer: the final job's output, else (a zero Job) its
	// next hop, or err. It is called exactly once, never under Waiter.mu.
	answer func(job jobs.Job, err error)
}

// parkedReadTimeout bounds one re-read of a parked hold's job.
const parkedReadTimeout = 10 * time.Second

// parkedRecheckers is how many re-reads run at once after a reset.
const parkedRecheckers = 16

// Park holds a request whose goroutine is about to end: answer is called once, with the
// final job as soon as a notification or a re-read finds it, or with a zero Job when
// deadline passes or the server drains (the request hops), or with an error when the job
// is gone.
// Like WaitFinal it registers before it reads, so no notification is lost; the read
// happens before Park returns, and answer may run on the caller's goroutine when it finds
// the job final (or the server draining).
func (w *Waiter) Park(t jobs.Tenant, key string, deadline time.Time, answer func(jobs.Job, error)) {
	p := &parkedHold{t: t, key: key, deadline: deadline, answer: answer}
	w.mu.Lock()
	if w.drained {
		w.mu.Unlock()
		answer(jobs.Job{}, nil)
		return
	}
	set := w.parked[p.key]
	if set == nil {
		set = map[*parkedHold]struct{}{}
		w.parked[p.key] = set
	}
	set[p] = struct{}{}
	w.held.Add(1)
	w.nParked.Add(1)
	w.answers.Add(1)
	// The timer exists before any other goroutine can see p's registration act on it.
	p.timer = time.AfterFunc(w.nextCheck(p), func() { w.recheckParked(p) })
	w.mu.Unlock()
	w.recheckParked(p)
}

// WaitParked waits until every parked hold has been answered, or ctx ends. After Drain,
// this is how the server waits for the hop answers it owes before it exits.
func (w *Waiter) WaitParked(ctx context.Context) error {
	done := make(chan struct{})
	go func() { w.answers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nextCheck is when p should be looked at again: its deadline or the safety-net re-read,
// whichever comes first.
func (w *Waiter) nextCheck(p *parkedHold) time.Duration {
	return max(min(time.Until(p.deadline), w.recheck), 0)
}

// take unregisters p; it reports false when p was answered already. w.mu must be held.
func (w *Waiter) take(p *parkedHold) bool {
	set, ok := w.parked[p.key]
	if !ok {
		return false
	}
	if _, ok := set[p]; !ok {
		return false
	}
	delete(set, p)
	if len(set) == 0 {
		delete(w.parked, p.key)
	}
	p.timer.Stop()
	return true
}

// answer calls p's answer once p was taken.
func (w *Waiter) answer(p *parkedHold, job jobs.Job, err error) {
	defer w.answers.Done()
	defer w.held.Add(-1)
	defer w.nParked.Add(-1)
	p.answer(job, err)
}

// recheckParked reads p's job and answers p if it is final or gone; if p's deadline has
// passed, p hops. Otherwise the timer looks again later. Safe to call at any time, from
// any goroutine, for a p already answered (it does nothing).
func (w *Waiter) recheckParked(p *parkedHold) {
	w.mu.Lock()
	if !w.isParked(p) {
		w.mu.Unlock()
		return
	}
	if !time.Now().Before(p.deadline) {
		w.take(p)
		w.mu.Unlock()
		w.answer(p, jobs.Job{}, nil)
		return
	}
	w.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), parkedReadTimeout)
	job, err := w.store.Get(ctx, p.t, p.key)
	cancel()

	w.mu.Lock()
	if !w.isParked(p) {
		w.mu.Unlock()
		return
	}
	if err == nil && job.State.Final() || jobs.ErrorCode(err) == jobs.ENOTFOUND {
		w.take(p)
		w.mu.Unlock()
		w.answer(p, job, err)
		return
	}
	// Not final yet, or a store hiccup: the next check (or the store's reconnection, which
	// resets every hold) reads again.
	p.timer.Reset(w.nextCheck(p))
	w.mu.Unlock()
}

// isParked reports whether p waits still. w.mu must be held.
func (w *Waiter) isParked(p *parkedHold) bool {
	_, ok := w.parked[p.key][p]
	return ok
}

// recheckAll re-reads every parked hold, a few at a time: notifications may have been lost
// while the store's subscription was down.
func (w *Waiter) recheckAll() {
	w.mu.Lock()
	var all []*parkedHold
	for _, set := range w.parked {
		for p := range set {
			all = append(all, p)
		}
	}
	w.mu.Unlock()
	next := make(chan *parkedHold)
	var wg sync.WaitGroup
	for range min(parkedRecheckers, len(all)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				w.recheckParked(p)
			}
		}()
	}
	for _, p := range all {
		next <- p
	}
	close(next)
	wg.Wait()
}
