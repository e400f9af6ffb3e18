package callmode

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// Waiter is the hub that holds requests until their job is final. It listens to the store's
// one notification stream and wakes the requests waiting on a job, with no polling. A request
// is held in one of two ways: WaitFinal keeps its goroutine (a channel and two timers more);
// Park keeps only its answer function and one timer, once the request's connection was
// taken from the HTTP server (see park.go), so that thousands of long waits cost little.
type Waiter struct {
	store   jobs.Store
	recheck time.Duration
	cancel  func()

	mu       sync.Mutex
	waiting  map[string]map[chan *jobs.Job]struct{} // job key → wake channels (nil: re-read)
	parked   map[string]map[*parkedHold]struct{}    // job key → parked holds
	draining chan struct{}
	drained  bool
	held     atomic.Int64   // holds of either kind
	nParked  atomic.Int64   // parked holds
	answers  sync.WaitGroup // parked holds not answered yet
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
		waiting:  map[string]map[chan *jobs.Job]struct{}{},
		parked:   map[string]map[*parkedHold]struct{}{},
		draining: make(chan struct{}),
	}
	w.cancel = store.Subscribe(w.onEvent)
	return w
}

// Close stops listening to the store.
func (w *Waiter) Close() { w.cancel() }

// Held returns how many requests are held now, parked ones included.
func (w *Waiter) Held() int64 { return w.held.Load() }

// Parked returns how many of the held requests are parked.
func (w *Waiter) Parked() int64 { return w.nParked.Load() }

// Drain makes every held request, and every later one, stop waiting at once (the server is
// shutting down: they answer with their next hop). WaitParked waits for the parked ones'
// answers to be written.
func (w *Waiter) Drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.drained {
		return
	}
	w.drained = true
	close(w.draining)
	for _, set := range w.parked {
		for p := range set {
			w.take(p)
			go w.answer(p, jobs.Job{}, nil)
		}
	}
}

// Draining reports whether Drain was called.
func (w *Waiter) Draining() bool {
	select {
	case <-w.draining:
		return true
	default:
		return false
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
				wake(ch, nil)
			}
		}
		if len(w.parked) > 0 {
			go w.recheckAll()
		}
		return
	}
	for ch := range w.waiting[ev.Key] {
		wake(ch, ev.Job)
	}
	for p := range w.parked[ev.Key] {
		if j := ev.Job; j != nil && j.Org == p.t.Org && j.Tenant == p.t.Tenant && j.State.Final() {
			w.take(p)
			go w.answer(p, *j, nil) // the notification carried the final job: no read
		} else {
			go w.recheckParked(p)
		}
	}
}

// wake hands a held request the final job (or nil: "read it"). A final job replaces a
// pending nil, never the other way round.
func wake(ch chan *jobs.Job, j *jobs.Job) {
	select {
	case ch <- j:
	default:
		if j != nil {
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- j:
			default:
			}
		}
	}
}

// WaitFinal waits up to max for the job to be final and returns it as last read. The job is
// final when the returned job's State is. Registration comes before the first read, so a
// notification sent in between is not lost. Errors: the store's (ENOTFOUND…), or ctx's.
func (w *Waiter) WaitFinal(ctx context.Context, t jobs.Tenant, key string, max time.Duration) (jobs.Job, error) {
	ch := make(chan *jobs.Job, 1)
	w.mu.Lock()
	set := w.waiting[key]
	if set == nil {
		set = map[chan *jobs.Job]struct{}{}
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
	if jobs.ErrorCode(err) == jobs.EUNAVAILABLE && max > 0 {
		// The store is down for a moment: hold on and read again once it answers (its
		// reconnection wakes us); only a store down for the whole hop fails the request.
	} else if err != nil || job.State.Final() || max <= 0 {
		return job, err
	}
	lastErr := err
	hop := time.NewTimer(max)
	defer hop.Stop()
	recheck := time.NewTicker(w.recheck)
	defer recheck.Stop()
	for {
		select {
		case snapshot := <-ch:
			if snapshot != nil && snapshot.Org == t.Org && snapshot.Tenant == t.Tenant && snapshot.State.Final() {
				return *snapshot, nil // the notification carried the final job: no read
			}
		case <-recheck.C:
		case <-hop.C:
			return job, lastErr
		case <-w.draining:
			return job, lastErr
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
		job, lastErr = next, nil
		if job.State.Final() {
			return job, nil
		}
	}
}
