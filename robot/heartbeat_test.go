package robot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/memstore"
)

// callCounter is a memstore that counts the heartbeat's calls and notes any that overlap.
// Every call goes through to the memstore.
type callCounter struct {
	*memstore.Store
	calls, inFlight, overlaps atomic.Int64
}

func (s *callCounter) enter() func() {
	s.calls.Add(1)
	if s.inFlight.Add(1) > 1 {
		s.overlaps.Add(1)
	}
	time.Sleep(100 * time.Microsecond) // widens the window in which a second callback could overlap
	return func() { s.inFlight.Add(-1) }
}

func (s *callCounter) Renew(ctx context.Context, key, owner string, lease time.Duration, p *jobs.Progress) (jobs.Job, error) {
	defer s.enter()()
	return s.Store.Renew(ctx, key, owner, lease, p)
}

func (s *callCounter) WriteLog(ctx context.Context, key, owner, log string) error {
	defer s.enter()()
	return s.Store.WriteLog(ctx, key, owner, log)
}

func TestHeartbeat_CallbacksNeverOverlapAndNoneOutlivesStop(t *testing.T) {
	t.Parallel()
	store := &callCounter{Store: memstore.New(memstore.Config{})}
	// Every timer fires about every millisecond.
	p := NewPool(Config{Store: store, Lease: 3 * time.Millisecond, LogInterval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for round := range 20 {
		_, _, err := store.Create(context.Background(), jobs.CreateRequest{Job: jobs.Job{Org: "acme", Tenant: "prod", ProcessName: "P"}})
		if err != nil {
			t.Fatal(err)
		}
		owner := fmt.Sprintf("owner#%d", round)
		job, err := store.Claim(context.Background(), owner, p.robot, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		_, cancel := context.WithCancelCause(context.Background())
		r := newActiveRun(cancel, 1<<10)
		h := p.startHeartbeat(r, job.Key, owner)
		// The run prints and reports progress until it ends.
		ended, busy := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(busy)
			for i := 0; ; i++ {
				select {
				case <-ended:
					return
				default:
				}
				fmt.Fprintf(r.log, "line %d\n", i)
				r.report(jobs.Progress{Percent: i % 100})
				time.Sleep(100 * time.Microsecond)
			}
		}()
		before := store.calls.Load()
		deadline := time.Now().Add(10 * time.Second)
		for store.calls.Load() < before+10 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		h.stop()
		after := store.calls.Load()
		// The run may still report after the heartbeat stopped, as a process's last lines do.
		time.Sleep(20 * time.Millisecond)
		close(ended)
		<-busy
		if after < before+10 {
			t.Fatalf("round %d: only %d store calls while the heartbeat ran", round, after-before)
		}
		h.mu.Lock()
		armed := h.renewT.Stop() || h.logT.Stop() || (h.progressT != nil && h.progressT.Stop())
		h.mu.Unlock()
		if armed {
			t.Fatalf("round %d: a timer is armed after stop", round)
		}
		if n := store.calls.Load(); n != after {
			t.Fatalf("round %d: %d store calls after stop", round, n-after)
		}
		cancel(nil)
	}
	if n := store.overlaps.Load(); n > 0 {
		t.Errorf("callbacks of one run overlapped %d times", n)
	}
}

func TestHeartbeat_EndsTheRunWhenTheLeaseIsGone(t *testing.T) {
	t.Parallel()
	store := memstore.New(memstore.Config{})
	p := NewPool(Config{Store: store, Lease: 30 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r := newActiveRun(cancel, 1<<10)
	// Nobody holds the lease of a job that does not exist.
	h := p.startHeartbeat(r, "no-such-job", "owner#0")
	defer h.stop()
	select {
	case <-r.kill:
	case <-time.After(20 * time.Second):
		t.Fatal("the run did not end")
	}
	if cause := context.Cause(ctx); cause != errLeaseGone {
		t.Errorf("the run ended with %v, want %v", cause, errLeaseGone)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stopped || h.renewT.Stop() || h.logT.Stop() {
		t.Errorf("the heartbeat goes on after the lease was lost")
	}
}

func TestNextBeat_KeepsThePaceOfATicker(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const every = 10 * time.Second
	for _, tc := range []struct {
		name        string
		givenNow    time.Duration // after the beat at t0
		expectNext  time.Duration // after t0
		expectAfter time.Duration // after now
	}{
		{"callback took no time", 0, 10 * time.Second, 10 * time.Second},
		{"callback took a while", 3 * time.Second, 10 * time.Second, 7 * time.Second},
		{"callback ended on the next beat", 10 * time.Second, 10 * time.Second, 0},
		{"callback missed one beat", 15 * time.Second, 10 * time.Second, 0},
		{"callback missed three beats: the latest comes at once", 35 * time.Second, 30 * time.Second, 0},
	} {
		next, after := nextBeat(t0, t0.Add(tc.givenNow), every)
		if next != t0.Add(tc.expectNext) || after != tc.expectAfter {
			t.Errorf("%s: nextBeat = t0+%v, due in %v; want t0+%v, due in %v", tc.name, next.Sub(t0), after, tc.expectNext, tc.expectAfter)
		}
	}
}
