package callmode_test

import (
	"context"
	"testing"
	"time"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/memstore"
)

var tenant = jobs.Tenant{Org: "o", Tenant: "t"}

// parkedAnswer is what a parked hold was answered with.
type parkedAnswer struct {
	job jobs.Job
	err error
}

// setup returns a memstore, a Waiter on it with the given recheck interval, and a
// Pending job.
func setup(t *testing.T, store jobs.Store, recheck time.Duration) (*callmode.Waiter, jobs.Job) {
	t.Helper()
	w := callmode.NewWaiter(store, callmode.WaiterConfig{Recheck: recheck})
	t.Cleanup(w.Close)
	job, _, err := store.Create(context.Background(), jobs.CreateRequest{Job: jobs.Job{
		Org: tenant.Org, Tenant: tenant.Tenant, ReleaseName: "P", ProcessName: "P",
		CallMode: jobs.LongPolling, SourceType: jobs.SourceTypeAPITrigger,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w, job
}

// park parks a hold on key and returns the channel its answer arrives on.
func park(w *callmode.Waiter, key string, hop time.Duration) <-chan parkedAnswer {
	ch := make(chan parkedAnswer, 2) // room for a wrong second answer, which the test catches
	w.Park(tenant, key, time.Now().Add(hop), func(j jobs.Job, err error) { ch <- parkedAnswer{j, err} })
	return ch
}

// finish runs job to Successful with output {"n": 1}.
func finish(t *testing.T, store jobs.Store, job jobs.Job) {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Claim(ctx, "owner", jobs.RobotRef{ID: 1, Name: "r"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Finish(ctx, job.Key, "owner", jobs.Result{State: jobs.Successful, OutputArguments: map[string]any{"n": 1.0}}); err != nil {
		t.Fatal(err)
	}
}

// wantOne waits for exactly one answer on ch.
func wantOne(t *testing.T, ch <-chan parkedAnswer) parkedAnswer {
	t.Helper()
	var a parkedAnswer
	select {
	case a = <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("the parked hold got no answer within 30s")
	}
	select {
	case b := <-ch:
		t.Fatalf("the parked hold was answered twice: %+v then %+v", a, b)
	case <-time.After(50 * time.Millisecond):
	}
	return a
}

func TestPark_AnswersWithTheFinalJobOnItsNotification(t *testing.T) {
	t.Parallel()
	store := memstore.New(memstore.Config{})
	w, job := setup(t, store, time.Hour)
	ch := park(w, job.Key, time.Hour)
	if w.Held() != 1 || w.Parked() != 1 {
		t.Fatalf("held %d, parked %d; want 1 and 1", w.Held(), w.Parked())
	}
	finish(t, store, job)
	a := wantOne(t, ch)
	if a.err != nil || a.job.State != jobs.Successful || a.job.OutputArguments["n"] != 1.0 {
		t.Fatalf("answer = %+v", a)
	}
	if err := w.WaitParked(context.Background()); err != nil || w.Held() != 0 || w.Parked() != 0 {
		t.Fatalf("after the answer: WaitParked %v, held %d, parked %d", err, w.Held(), w.Parked())
	}
}

func TestPark_AJobFinalBeforeParkingIsAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	store := memstore.New(memstore.Config{})
	w, job := setup(t, store, time.Hour)
	finish(t, store, job) // between the request's last read and Park: no notification to see
	ch := park(w, job.Key, time.Hour)
	if a := wantOne(t, ch); a.err != nil || a.job.State != jobs.Successful {
		t.Fatalf("answer = %+v", a)
	}
}

func TestPark_HopsWithAZeroJobWhenTheDeadlinePasses(t *testing.T) {
	t.Parallel()
	store := memstore.New(memstore.Config{})
	w, job := setup(t, store, time.Hour)
	ch := park(w, job.Key, 100*time.Millisecond)
	if a := wantOne(t, ch); a.err != nil || a.job.State != "" {
		t.Fatalf("answer = %+v, want a zero job (hop)", a)
	}
	if w.Held() != 0 {
		t.Fatalf("held %d after the hop", w.Held())
	}
}

func TestPark_AMissingJobIsAnsweredNotFound(t *testing.T) {
	t.Parallel()
	store := memstore.New(memstore.Config{})
	w, _ := setup(t, store, time.Hour)
	ch := park(w, "00000000-0000-0000-0000-000000000000", time.Hour)
	if a := wantOne(t, ch); jobs.ErrorCode(a.err) != jobs.ENOTFOUND {
		t.Fatalf("answer = %+v, want ENOTFOUND", a)
	}
}

// silentStore is memstore with its notifications dropped: the real store cannot be made to
// lose a notification on cue, and the safety-net re-read must answer anyway.
type silentStore struct{ *memstore.Store }

func (silentStore) Subscribe(func(jobs.Event)) func() { return func() {} }

func TestPark_SafetyNetRereadAnswersWithoutANotification(t *testing.T) {
	t.Parallel()
	store := silentStore{memstore.New(memstore.Config{})}
	w, job := setup(t, store, 100*time.Millisecond)
	ch := park(w, job.Key, time.Hour)
	finish(t, store, job)
	if a := wantOne(t, ch); a.err != nil || a.job.State != jobs.Successful {
		t.Fatalf("answer = %+v", a)
	}
}

func TestPark_DrainAnswersEveryParkedHoldWithItsHopAndWaitParkedWaits(t *testing.T) {
	t.Parallel()
	store := memstore.New(memstore.Config{})
	w, job := setup(t, store, time.Hour)
	const n = 100
	chs := make([]<-chan parkedAnswer, n)
	for i := range chs {
		chs[i] = park(w, job.Key, time.Hour)
	}
	if w.Parked() != n {
		t.Fatalf("parked %d, want %d", w.Parked(), n)
	}
	w.Drain()
	if err := w.WaitParked(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, ch := range chs { // every answer was given before WaitParked returned
		if len(ch) != 1 {
			t.Fatalf("hold %d: %d answers, want 1", i, len(ch))
		}
		if a := <-ch; a.err != nil || a.job.State != "" {
			t.Fatalf("hold %d: answer = %+v, want a hop", i, a)
		}
	}
	// Once draining, a new hold hops at once.
	if a := wantOne(t, park(w, job.Key, time.Hour)); a.err != nil || a.job.State != "" {
		t.Fatalf("hold after Drain: %+v", a)
	}
	if w.Held() != 0 || w.Parked() != 0 {
		t.Fatalf("held %d, parked %d after the drain", w.Held(), w.Parked())
	}
}

func TestPark_WaitParkedStopsWithItsContext(t *testing.T) {
	t.Parallel()
	store := memstore.New(memstore.Config{})
	w, job := setup(t, store, time.Hour)
	park(w, job.Key, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.WaitParked(ctx); err == nil {
		t.Fatal("WaitParked returned nil while a hold is parked")
	}
}
