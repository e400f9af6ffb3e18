package robot_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/memstore"
	"github.com/jobgate/jobgate/robot"
)

// The pool itself: claimers, slots, timers and drain, on a real memstore.

// claimers is how many claimers a pool of many slots runs (robot.maxClaimers).
const claimers = 8

// countingStore is a memstore that counts the pool's calls and records the owners of the
// claims it granted. Every call goes through to the memstore.
type countingStore struct {
	*memstore.Store
	claims, renews, logWrites atomic.Int64

	mu     sync.Mutex
	owners []string // of the claims that got a job
}

func newCountingStore() *countingStore {
	return &countingStore{Store: memstore.New(memstore.Config{})}
}

func (s *countingStore) Claim(ctx context.Context, owner string, robot jobs.RobotRef, lease time.Duration) (jobs.Job, error) {
	s.claims.Add(1)
	job, err := s.Store.Claim(ctx, owner, robot, lease)
	if err == nil {
		s.mu.Lock()
		s.owners = append(s.owners, owner)
		s.mu.Unlock()
	}
	return job, err
}

func (s *countingStore) Renew(ctx context.Context, key, owner string, lease time.Duration, p *jobs.Progress) (jobs.Job, error) {
	s.renews.Add(1)
	return s.Store.Renew(ctx, key, owner, lease, p)
}

func (s *countingStore) WriteLog(ctx context.Context, key, owner, log string) error {
	s.logWrites.Add(1)
	return s.Store.WriteLog(ctx, key, owner, log)
}

func (s *countingStore) grantedOwners() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.owners...)
}

// gate is a builtin process, "Hold", that runs until the test lets one run end (or it is
// stopped), and counts the runs going on at once.
type gate struct {
	release chan struct{}

	mu          sync.Mutex
	active, max int
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) builtins() map[string]robot.Builtin {
	return map[string]robot.Builtin{"Hold": {
		Arguments: map[string]jobs.Argument{},
		Run: func(ctx context.Context, _ map[string]any, _ func(jobs.Progress)) (map[string]any, error) {
			g.mu.Lock()
			g.active++
			g.max = max(g.max, g.active)
			g.mu.Unlock()
			defer func() {
				g.mu.Lock()
				g.active--
				g.mu.Unlock()
			}()
			select {
			case <-g.release:
				return map[string]any{"released": true}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	}}
}

// counts returns how many runs are going on, and the most that ever were at once.
func (g *gate) counts() (active, most int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.active, g.max
}

// holdProc is the process that runs the gate's builtin.
var holdProc = jobs.Process{Name: "Hold", Builtin: "Hold"}

// countIn returns how many of the rig's jobs are in state s.
func (r *rig) countIn(s jobs.State) int {
	r.t.Helper()
	_, n, err := r.store.List(context.Background(), tenant, jobs.ListQuery{Match: func(j *jobs.Job) bool { return j.State == s }, Top: 1})
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func TestPool_IdleClaimsAreBoundedByItsClaimersNotItsSlots(t *testing.T) {
	t.Parallel()
	store := newCountingStore()
	const idleCheck = 50 * time.Millisecond
	start := time.Now()
	setup(t, jobs.Process{Name: "Sleep", Builtin: "Sleep"}, robot.Config{Store: store, Slots: 1000, IdleCheck: idleCheck})
	waitFor(t, "the claimers to look for work", 10*time.Second, func() bool { return store.claims.Load() >= claimers })
	time.Sleep(20 * idleCheck)
	claims, took := store.claims.Load(), time.Since(start)
	// One claim per claimer at start, then at most one per claimer and IdleCheck. A
	// claimer per slot would make 1000 at start alone.
	if limit := claimers * (int64(took/idleCheck) + 2); claims > limit {
		t.Errorf("an idle pool of 1000 slots made %d claims in %v, want at most %d (%d claimers, one per %v)", claims, took, limit, claimers, idleCheck)
	}
}

func TestPool_RunsAsManyJobsAsSlotsAndTheRestAsSlotsFree(t *testing.T) {
	t.Parallel()
	const slots, total = 3, 7
	g, store := newGate(), newCountingStore()
	r := setup(t, holdProc, robot.Config{Store: store, Name: "robo", Slots: slots, Builtins: g.builtins()})
	var keys []string
	for range total {
		keys = append(keys, r.start(nil).Key)
	}
	waitFor(t, "the slots to fill", 20*time.Second, func() bool { active, _ := g.counts(); return active == slots })
	// Several IdleChecks later, still only as many as there are slots.
	time.Sleep(500 * time.Millisecond)
	if active, most := g.counts(); active != slots || most != slots {
		t.Fatalf("%d jobs run (at most %d at once), want %d", active, most, slots)
	}
	if running, pending := r.countIn(jobs.Running), r.countIn(jobs.Pending); running != slots || pending != total-slots {
		t.Fatalf("%d jobs Running and %d Pending, want %d and %d", running, pending, slots, total-slots)
	}
	// Each run that ends frees its slot for the next job.
	for done := 1; done <= total; done++ {
		g.release <- struct{}{}
		waitFor(t, "a job to end", 20*time.Second, func() bool { return r.countIn(jobs.Successful) == done })
		want := min(slots, total-done)
		waitFor(t, "the freed slot to take the next job", 20*time.Second, func() bool { active, _ := g.counts(); return active == want })
	}
	for _, k := range keys {
		wantState(t, r.get(k), jobs.Successful, "")
	}
	if _, most := g.counts(); most != slots {
		t.Errorf("at most %d jobs ran at once, want %d", most, slots)
	}
	// Every claim had an owner of its own, named after the claimer that made it.
	owners := store.grantedOwners()
	seen := map[string]bool{}
	form := regexp.MustCompile(`^robo/[0-9]+/c[0-9]+#[0-9]+$`)
	for _, o := range owners {
		if seen[o] || !form.MatchString(o) {
			t.Errorf("claim owner %q is repeated or not <name>/<pid>/c<claimer>#<attempt>", o)
		}
		seen[o] = true
	}
	if len(owners) != total {
		t.Errorf("%d claims got a job, want %d", len(owners), total)
	}
}

func TestPool_WakeUpsAloneStartPendingJobs(t *testing.T) {
	t.Parallel()
	const slots = 20
	g := newGate()
	// No IdleCheck during the test: only Pending events and freed slots make claims.
	r := setup(t, holdProc, robot.Config{Slots: slots, Builtins: g.builtins(), IdleCheck: time.Hour})
	// Let the claimers find nothing and go idle first.
	time.Sleep(200 * time.Millisecond)
	r.start(nil)
	waitFor(t, "one job to start on its own wake-up", 20*time.Second, func() bool { active, _ := g.counts(); return active == 1 })
	for range slots - 1 {
		r.start(nil)
	}
	waitFor(t, "a burst of jobs to fill every slot", 20*time.Second, func() bool { active, _ := g.counts(); return active == slots })
	next := r.start(nil)
	g.release <- struct{}{}
	waitFor(t, "the job waiting for a slot to start when one frees", 20*time.Second, func() bool { return r.get(next.Key).State == jobs.Running })
	for range slots {
		g.release <- struct{}{}
	}
	waitFor(t, "every job to end", 20*time.Second, func() bool { return r.countIn(jobs.Successful) == slots+1 })
}

// chatty is a command process that prints output and progress for a while.
func chatty(t *testing.T) []string {
	t.Helper()
	return script(t, `i=0; while [ $i -lt 6 ]; do echo "::progress $((i*20)) step $i"; echo "line $i"; sleep 0.1; i=$((i+1)); done`)
}

// Not parallel: it counts the test binary's goroutines.
func TestPool_RunsLeaveNoGoroutineAndNoArmedTimerBehind(t *testing.T) {
	store := newCountingStore()
	const lease = 300 * time.Millisecond // renewals every 100 ms
	r := setup(t, jobs.Process{Command: chatty(t)}, robot.Config{Store: store, Slots: 10, Lease: lease, LogInterval: 50 * time.Millisecond})
	waitFor(t, "the claimers to look for work", 10*time.Second, func() bool { return store.claims.Load() >= claimers })
	baseline := runtime.NumGoroutine()
	var keys []string
	for range 10 {
		keys = append(keys, r.start(nil).Key)
	}
	for _, k := range keys {
		wantState(t, r.waitFinal(k), jobs.Successful, "")
	}
	if store.renews.Load() == 0 || store.logWrites.Load() == 0 {
		t.Fatalf("%d renewals and %d log writes during the runs, want some of each", store.renews.Load(), store.logWrites.Load())
	}
	renews, logWrites := store.renews.Load(), store.logWrites.Load()
	waitFor(t, "the goroutines of the runs to end", 20*time.Second, func() bool { return runtime.NumGoroutine() <= baseline })
	// A timer left armed would renew the lease or store the log again.
	time.Sleep(5 * lease)
	if n, m := store.renews.Load(), store.logWrites.Load(); n != renews || m != logWrites {
		t.Errorf("after the runs ended: %d more renewals and %d more log writes, want none", n-renews, m-logWrites)
	}
}

func TestPool_RenewsTheLeaseOfAJobThatRunsSeveralLeases(t *testing.T) {
	t.Parallel()
	store := newCountingStore()
	const lease = 2 * time.Second
	r := setup(t, jobs.Process{Name: "Sleep", Builtin: "Sleep"}, robot.Config{Store: store, Lease: lease})
	// The reaper every replica runs: a job whose lease lapsed ends Faulted.
	ctx, stopReaping := context.WithCancel(context.Background())
	defer stopReaping()
	go func() {
		for ctx.Err() == nil {
			store.Reap(ctx)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	job := r.waitFinal(r.start(map[string]any{"seconds": 7.0}).Key)
	wantState(t, job, jobs.Successful, "")
	if n := store.renews.Load(); n < 3 {
		t.Errorf("%d renewals of a job that ran 3.5 leases, want at least 3", n)
	}
}

func TestPool_PushesProgressSoonButAtMostOncePerSecond(t *testing.T) {
	t.Parallel()
	store := newCountingStore()
	release := make(chan struct{})
	builtins := map[string]robot.Builtin{"Count": {
		Arguments: map[string]jobs.Argument{},
		Run: func(ctx context.Context, _ map[string]any, report func(jobs.Progress)) (map[string]any, error) {
			for i := 1; i <= 100; i++ {
				report(jobs.Progress{Percent: i, Message: "counting"})
				time.Sleep(5 * time.Millisecond)
			}
			select {
			case <-release:
				return map[string]any{}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	}}
	// Renewals every 20 s: what reaches the store during the test are progress pushes.
	r := setup(t, jobs.Process{Name: "Count", Builtin: "Count"}, robot.Config{Store: store, Builtins: builtins, Lease: time.Minute})
	start := time.Now()
	job := r.start(nil)
	waitFor(t, "the last progress of the running job", 20*time.Second, func() bool {
		j := r.get(job.Key)
		return j.State == jobs.Running && j.Progress != nil && *j.Progress == jobs.Progress{Percent: 100, Message: "counting"}
	})
	pushes, took := store.renews.Load(), time.Since(start)
	if limit := int64(took/time.Second) + 2; pushes > limit {
		t.Errorf("100 progress reports made %d pushes in %v, want at most %d (one a second)", pushes, took, limit)
	}
	close(release)
	wantState(t, r.waitFinal(job.Key), jobs.Successful, "")
}

// startPool runs a pool on store for a test that ends it itself: it returns the pool's
// cancel and a channel closed when Run returned.
func startPool(t *testing.T, store jobs.Store, proc jobs.Process, cfg robot.Config) (context.CancelFunc, <-chan struct{}) {
	t.Helper()
	cfg.Store = store
	cfg.Lookup = func(tn jobs.Tenant, name string) (jobs.Process, error) {
		if tn != tenant || !strings.EqualFold(name, proc.Name) {
			return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no process %q", name)
		}
		return proc, nil
	}
	cfg.IdleCheck = 100 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := robot.NewPool(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pool.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return cancel, done
}

func TestPool_DrainLetsRunningJobsFinish(t *testing.T) {
	t.Parallel()
	g := newGate()
	store := memstore.New(memstore.Config{})
	stop, done := startPool(t, store, holdProc, robot.Config{Slots: 2, Builtins: g.builtins(), DrainTimeout: time.Minute})
	r := &rig{t: t, store: store, proc: holdProc}
	job := r.start(nil)
	waitFor(t, "the job to run", 20*time.Second, func() bool { active, _ := g.counts(); return active == 1 })
	stop()
	select {
	case <-done:
		t.Fatal("Run returned while a job was running")
	case <-time.After(300 * time.Millisecond):
	}
	late := r.start(nil)
	time.Sleep(300 * time.Millisecond) // several IdleChecks
	if st := r.get(late.Key).State; st != jobs.Pending {
		t.Errorf("a job created while the pool drained is %s, want Pending: a draining pool claims nothing", st)
	}
	g.release <- struct{}{}
	<-done
	wantState(t, r.get(job.Key), jobs.Successful, "")
}

func TestPool_DrainHandsBackJobsStillRunningAfterTheTimeout(t *testing.T) {
	t.Parallel()
	store := memstore.New(memstore.Config{})
	proc := jobs.Process{Name: "Forever", Builtin: "RunUntilStoppedManually"}
	stop, done := startPool(t, store, proc, robot.Config{Slots: 4, DrainTimeout: 200 * time.Millisecond})
	r := &rig{t: t, store: store, proc: proc}
	var keys []string
	for range 3 {
		keys = append(keys, r.start(nil).Key)
	}
	waitFor(t, "the jobs to run", 20*time.Second, func() bool { return r.countIn(jobs.Running) == 3 })
	stop()
	<-done
	for _, k := range keys {
		if j := r.get(k); j.State != jobs.Pending || j.Robot != nil {
			t.Errorf("job %s is %s with robot %v after the drain, want Pending with none", k, j.State, j.Robot)
		}
	}
}

// lossyStore loses the reply to its first claim that gets a job, as a store that went
// away mid-call does, and keeps a claim record as redisstore does: a claim with the owner
// of the lost one gets its job again. A fake: a real store cannot lose a reply on cue.
type lossyStore struct {
	*memstore.Store

	mu     sync.Mutex
	lost   bool
	record map[string]jobs.Job // owner → the job its lost reply carried
	owners []string            // of every claim, in order
}

func (s *lossyStore) Claim(ctx context.Context, owner string, robot jobs.RobotRef, lease time.Duration) (jobs.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners = append(s.owners, owner)
	if job, ok := s.record[owner]; ok {
		delete(s.record, owner)
		return job, nil
	}
	job, err := s.Store.Claim(ctx, owner, robot, lease)
	if err == nil && !s.lost {
		s.lost = true
		s.record[owner] = job
		return jobs.Job{}, jobs.Errorf(jobs.EUNAVAILABLE, "connection reset")
	}
	return job, err
}

func TestPool_RetriesAnUncertainClaimWithTheSameOwner(t *testing.T) {
	t.Parallel()
	store := &lossyStore{Store: memstore.New(memstore.Config{}), record: map[string]jobs.Job{}}
	r := setup(t, jobs.Process{Name: "Add", Builtin: "Args_AddNumbers"}, robot.Config{Store: store, Slots: 1})
	// The job the lost reply carried runs under its claim's owner, so it ends: a retry with
	// another owner would leave it Running.
	job := r.run(map[string]any{"x": 2.0, "y": 3.0})
	wantState(t, job, jobs.Successful, "")
	store.mu.Lock()
	owners := append([]string(nil), store.owners...)
	store.mu.Unlock()
	// One claimer: the lost claim's owner, and only it, is used twice in a row.
	seen := map[string]int{}
	for _, o := range owners {
		seen[o]++
	}
	repeated, inARow := 0, false
	for _, n := range seen {
		if n > 1 {
			repeated++
		}
		if n > 2 {
			repeated = -1 // not once
		}
	}
	for i := 1; i < len(owners); i++ {
		inARow = inARow || owners[i] == owners[i-1]
	}
	if repeated != 1 || !inARow {
		t.Errorf("want exactly one claim retried once, at once, with its owner; the claims' owners: %q", owners)
	}
}

func TestPool_AProcessThatCannotBeReadForNowIsReadAgainNotFaulted(t *testing.T) {
	t.Parallel()
	// API-made processes live in the store: while it is unreachable, their lookup fails
	// with EUNAVAILABLE. The job must wait for the store, not fault as "no longer exists".
	var lookups atomic.Int64
	proc := jobs.Process{Name: "Add", Builtin: "Args_AddNumbers"}
	r := setup(t, proc, robot.Config{Lookup: func(tn jobs.Tenant, name string) (jobs.Process, error) {
		if lookups.Add(1) <= 3 {
			return jobs.Process{}, jobs.Errorf(jobs.EUNAVAILABLE, "the store is unreachable")
		}
		return proc, nil
	}})
	job := r.waitFinal(r.start(map[string]any{"x": 2.0, "y": 3.0}).Key)
	wantState(t, job, jobs.Successful, "")
	if n := lookups.Load(); n != 4 {
		t.Fatalf("%d lookups, want 3 failed ones and 1 that worked", n)
	}
}

func TestPool_AProcessThatIsGoneFaultsTheJob(t *testing.T) {
	t.Parallel()
	r := setup(t, jobs.Process{Name: "Gone", Builtin: "Args_AddNumbers"}, robot.Config{
		Lookup: func(jobs.Tenant, string) (jobs.Process, error) {
			return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no release is named %q", "Gone")
		}})
	job := r.waitFinal(r.start(nil).Key)
	wantState(t, job, jobs.Faulted, `process "Gone" no longer exists`)
}
