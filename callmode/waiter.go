package callmode

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// Waiter is the hub that holds requests until their job is final. It listens to the store's
// one notification stream and wakes the requests waiting on a job; a held request costs its
// goroutine, a channel and a timer, and no polling.
type Waiter struct {
	store   jobs.Store
	recheck time.Duration
	cancel  func()

	mu       sync.Mutex
	waiting  map[string]map[chan struct{}]struct{} // job key → wake channels
	draining chan struct{}
	drained  bool
	held     atomic.Int64
}

// WaiterConfig configures a Waiter.
type WaiterConfig struct {
	// Recheck is the safety-net interval at which a held request re-reads its job even
	// without a notification. Optional. Default 10s.
	Recheck time.Duration
}

// NewWaiter subscribes to store and returns the hub. Close unsubscribes.
func NewWaiter(store jobs.Store, cfg WaiterConfig) *Waiter {
	if cfg.Recheck <= 0 {
		cfg.Recheck = 10 * time.Second
	}
	w := &Waiter{
		store:    store,
		recheck:  cfg.Recheck,
		waiting:  map[string]map[chan struct{}]struct{}{},
		draining: make(chan struct{}),
	}
	w.cancel = store.Subscribe(w.onEvent)
	return w
}

// Close stops listening to the store.
func (w *Waiter) Close() { w.cancel() }

// Held returns how many requests are held now.
func (w *Waiter) Held() int64 { return w.held.Load() }

// Drain makes every held request, and every later one, stop waiting at once (the server is
// shutting down: they answer with their next hop).
func (w *Waiter) Drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.drained {
		w.drained = true
		close(w.draining)
	}
}

func (w *Waiter) onEvent(ev jobs.Event) {
	if ev.Kind == jobs.EventChanged && !ev.State.Final() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Kind == jobs.EventReset {
		for _, set := range w.waiting {
			for ch := range set {
				wake(ch)
			}
		}
		return
	}
	for ch := range w.waiting[ev.Key] {
		wake(ch)
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// WaitFinal waits up to max for the job to be final and returns it as last read. The job is
// final when the returned job's State is. Registration comes before the first read, so a
// notification sent in between is not lost. Errors: the store's (ENOTFOUND…), or ctx's.
func (w *Waiter) WaitFinal(ctx context.Context, t jobs.Tenant, key string, max time.Duration) (jobs.Job, error) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	set := w.waiting[key]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		w.waiting[key] = set
	}
	set[ch] = struct{}{}
	w.mu.Unlock()
	w.held.Add(1)
	defer func() {
		w.held.Add(-1)
		w.mu.Lock()
		delete(set, ch)
		if len(set) == 0 {
			delete(w.waiting, key)
		}
		w.mu.Unlock()
	}()

	job, err := w.store.Get(ctx, t, key)
	if err != nil || job.State.Final() || max <= 0 {
		return job, err
	}
	hop := time.NewTimer(max)
	defer hop.Stop()
	recheck := time.NewTicker(w.recheck)
	defer recheck.Stop()
	for {
		select {
		case <-ch:
		case <-recheck.C:
		case <-hop.C:
			return job, nil
		case <-w.draining:
			return job, nil
		case <-ctx.Done():
			return job, ctx.Err()
		}
		next, err := w.store.Get(ctx, t, key)
		if err != nil {
			if jobs.ErrorCode(err) == jobs.ENOTFOUND || ctx.Err() != nil {
				return job, err
			}
			continue // a store hiccup: keep the last state, retry on the next wake
		}
		job = next
		if job.State.Final() {
			return job, nil
		}
	}
}
