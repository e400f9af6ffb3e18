// Package jobstest is the conformance suite every jobs.Store must pass.
package jobstest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// Clock is a settable clock for stores under test. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Options is what the suite asks of a store factory.
type Options struct {
	// Now is the clock the store must use for leases, deadlines and idempotency.
	Now func() time.Time
	// Retention is how long final jobs must be kept.
	Retention time.Duration
}

// Factory returns a new, empty store isolated from every other store it returned.
type Factory func(t *testing.T, opt Options) jobs.Store

// Run runs the whole conformance suite against stores from newStore.
func Run(t *testing.T, newStore Factory) {
	tests := map[string]func(t *testing.T, s jobs.Store, c *Clock){
		"CreateAssignsIdKeyAndPending":            testCreate,
		"IdsArePerTenantAndIncreasing":            testIDsPerTenant,
		"GetIsTenantScoped":                       testGetTenantScoped,
		"IdempotencyKeyReturnsFirstJob":           testIdempotency,
		"IdempotencyKeyExpires":                   testIdempotencyExpires,
		"IdempotencyKeyIsNamespacedByScope":       testIdempotencyNamespaced,
		"ClaimTakesOldestPendingOnce":             testClaimFIFO,
		"ClaimWhenEmptyIsNotFound":                testClaimEmpty,
		"ConcurrentClaimsNeverShareAJob":          testConcurrentClaims,
		"FinishRecordsOutputAndEmitsFinal":        testFinish,
		"FinishTwiceIsRefused":                    testFinishTwice,
		"FinishWithUnencodableOutputIsRefused":    testFinishUnencodable,
		"FinishWithoutLeaseIsRefused":             testFinishForeignLease,
		"RenewExtendsLeaseAndRecordsProgress":     testRenew,
		"LapsedLeaseIsReapedAsFaulted":            testLeaseLapse,
		"LostRobotCannotOverwriteReapedResult":    testLostRobot,
		"StopPendingEndsStoppedAtOnce":            testStopPending,
		"SoftStopThenKill":                        testStopRunning,
		"StopFinalIsConflict":                     testStopFinal,
		"DeadlineFaultsUnclaimedJob":              testDeadline,
		"ReleaseHandsJobBack":                     testRelease,
		"ListFiltersOrdersAndPages":               testList,
		"FinalJobsExpireAfterRetention":           testRetention,
		"SubscribeSeesEveryChange":                testEvents,
		"LogsAreWrittenByTheLeaseHolderAndExpire": testLogs,
		"PendingQuotaRefusesAndCreatesNothing":    testPendingQuota,
		"PendingQuotaFollowsEveryTransition":      testPendingQuotaFollowsEveryTransition,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := NewClock()
			s := newStore(t, Options{Now: c.Now, Retention: time.Hour})
			fn(t, s, c)
		})
	}
}

var (
	tenantA = jobs.Tenant{Org: "acme", Tenant: "prod"}
	tenantB = jobs.Tenant{Org: "acme", Tenant: "test"}
	robotR  = jobs.RobotRef{ID: 1, Name: "robot-1", MachineName: "m1"}
)

func newJob(t jobs.Tenant, args map[string]any) jobs.CreateRequest {
	return jobs.CreateRequest{Job: jobs.Job{
		Org: t.Org, Tenant: t.Tenant,
		ReleaseName: "AddNumbers", ProcessName: "AddNumbers",
		InputArguments: args, CallMode: jobs.AsyncRequestReply,
		Source: "add", SourceType: jobs.SourceTypeAPITrigger, TriggerSlug: "add",
	}}
}

func create(t *testing.T, s jobs.Store, req jobs.CreateRequest) jobs.Job {
	t.Helper()
	j, created, err := s.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !created {
		t.Fatalf("Create: created = false for a new job")
	}
	return j
}

func claim(t *testing.T, s jobs.Store, owner string) jobs.Job {
	t.Helper()
	j, err := s.Claim(context.Background(), owner, robotR, time.Minute)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return j
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := jobs.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func testCreate(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, map[string]any{"x": 1.0}))
	if j.ID != 1 || j.Key == "" || j.State != jobs.Pending {
		t.Fatalf("created job = Id %d Key %q State %s, want Id 1, a key, Pending", j.ID, j.Key, j.State)
	}
	if !j.CreationTime.Equal(c.Now()) {
		t.Fatalf("CreationTime = %v, want %v", j.CreationTime, c.Now())
	}
	got, err := s.Get(context.Background(), tenantA, j.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.InputArguments["x"] != 1.0 || got.ReleaseName != "AddNumbers" || got.TriggerSlug != "add" || got.CallMode != jobs.AsyncRequestReply {
		t.Fatalf("Get returned %+v, fields lost", got)
	}
	byID, err := s.GetByID(context.Background(), tenantA, j.ID)
	if err != nil || byID.Key != j.Key {
		t.Fatalf("GetByID = %v, %v; want key %s", byID.Key, err, j.Key)
	}
}

func testIDsPerTenant(t *testing.T, s jobs.Store, c *Clock) {
	a1 := create(t, s, newJob(tenantA, nil))
	a2 := create(t, s, newJob(tenantA, nil))
	b1 := create(t, s, newJob(tenantB, nil))
	if a1.ID != 1 || a2.ID != 2 || b1.ID != 1 {
		t.Fatalf("ids = %d, %d, %d; want 1, 2 in one tenant and 1 in the other", a1.ID, a2.ID, b1.ID)
	}
	if a1.Key == a2.Key || a1.Key == b1.Key {
		t.Fatal("keys are not unique")
	}
}

func testGetTenantScoped(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	_, err := s.Get(context.Background(), tenantB, j.Key)
	wantCode(t, err, jobs.ENOTFOUND)
	_, err = s.GetByID(context.Background(), tenantB, j.ID)
	wantCode(t, err, jobs.ENOTFOUND)
	_, err = s.Get(context.Background(), tenantA, "no-such-key")
	wantCode(t, err, jobs.ENOTFOUND)
	_, err = s.Stop(context.Background(), tenantB, j.Key, jobs.Kill)
	wantCode(t, err, jobs.ENOTFOUND)
}

func testIdempotency(t *testing.T, s jobs.Store, c *Clock) {
	req := newJob(tenantA, nil)
	req.IdempotencyKey, req.Scope, req.Fingerprint = "k1", "add", "f1"
	first := create(t, s, req)
	again, created, err := s.Create(context.Background(), req)
	if err != nil || created || again.Key != first.Key {
		t.Fatalf("second Create = %s created=%v err=%v; want the first job %s", again.Key, created, err, first.Key)
	}
	other := req
	other.Fingerprint = "f2"
	_, _, err = s.Create(context.Background(), other)
	wantCode(t, err, jobs.EUNPROCESSABLE)
	otherScope := req
	otherScope.Scope = "add-get"
	if j := create(t, s, otherScope); j.Key == first.Key {
		t.Fatal("the same key on another trigger returned the first job")
	}
	otherTenant := newJob(tenantB, nil)
	otherTenant.IdempotencyKey, otherTenant.Scope, otherTenant.Fingerprint = "k1", "add", "f1"
	if j := create(t, s, otherTenant); j.Key == first.Key {
		t.Fatal("the same key in another tenant returned the first job")
	}
}

// testIdempotencyNamespaced is issue 8's collision: scope "idem" with key "k:1" and scope
// "idem:k" with key "1" must be two keys, however the store joins them.
func testIdempotencyNamespaced(t *testing.T, s jobs.Store, c *Clock) {
	for _, pair := range [][2][2]string{
		{{"idem", "k:1"}, {"idem:k", "1"}},
		{{"a", "b\x00c"}, {"a\x00b", "c"}},
		{{"x", "2:y:z"}, {"x:2:y", "z"}},
	} {
		first := newJob(tenantA, nil)
		first.Scope, first.IdempotencyKey, first.Fingerprint = pair[0][0], pair[0][1], "f1"
		second := newJob(tenantA, nil)
		second.Scope, second.IdempotencyKey, second.Fingerprint = pair[1][0], pair[1][1], "f2"
		a := create(t, s, first)
		b, created, err := s.Create(context.Background(), second)
		if err != nil || !created || b.Key == a.Key {
			t.Fatalf("scope %q key %q after scope %q key %q: job %s created=%v err=%v; want a new job",
				pair[1][0], pair[1][1], pair[0][0], pair[0][1], b.Key, created, err)
		}
	}
}

func testIdempotencyExpires(t *testing.T, s jobs.Store, c *Clock) {
	req := newJob(tenantA, nil)
	req.IdempotencyKey, req.Scope, req.Fingerprint = "k1", "add", "f1"
	first := create(t, s, req)
	c.Advance(25 * time.Hour)
	if _, err := s.Reap(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := create(t, s, req)
	if j.Key == first.Key {
		t.Fatal("an Idempotency-Key older than 24h still returned the first job")
	}
}

func testClaimFIFO(t *testing.T, s jobs.Store, c *Clock) {
	j1 := create(t, s, newJob(tenantA, nil))
	c.Advance(time.Millisecond)
	j2 := create(t, s, newJob(tenantB, nil))
	got1 := claim(t, s, "o1")
	got2 := claim(t, s, "o2")
	if got1.Key != j1.Key || got2.Key != j2.Key {
		t.Fatalf("claimed %s then %s; want %s then %s", got1.Key, got2.Key, j1.Key, j2.Key)
	}
	if got1.State != jobs.Running || got1.StartTime == nil || got1.Robot == nil || got1.Robot.Name != "robot-1" {
		t.Fatalf("claimed job = %+v; want Running with StartTime and Robot", got1)
	}
	_, err := s.Claim(context.Background(), "o3", robotR, time.Minute)
	wantCode(t, err, jobs.ENOTFOUND)
}

func testClaimEmpty(t *testing.T, s jobs.Store, c *Clock) {
	_, err := s.Claim(context.Background(), "o1", robotR, time.Minute)
	wantCode(t, err, jobs.ENOTFOUND)
}

func testConcurrentClaims(t *testing.T, s jobs.Store, c *Clock) {
	const n = 50
	for i := 0; i < n; i++ {
		create(t, s, newJob(tenantA, nil))
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	var claimed atomic.Int64
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(owner string) {
			defer wg.Done()
			for {
				j, err := s.Claim(context.Background(), fmt.Sprintf("%s#%d", owner, claimed.Load()), robotR, time.Minute)
				if jobs.ErrorCode(err) == jobs.ENOTFOUND {
					return
				}
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				claimed.Add(1)
				mu.Lock()
				if prev, dup := seen[j.Key]; dup {
					t.Errorf("job %s claimed by %s and %s", j.Key, prev, owner)
				}
				seen[j.Key] = owner
				mu.Unlock()
			}
		}(fmt.Sprintf("owner-%d", w))
	}
	wg.Wait()
	if claimed.Load() != n {
		t.Fatalf("claimed %d jobs, want %d", claimed.Load(), n)
	}
}

func testFinish(t *testing.T, s jobs.Store, c *Clock) {
	events := make(chan jobs.Event, 16)
	cancel := s.Subscribe(func(ev jobs.Event) { events <- ev })
	defer cancel()
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	c.Advance(2 * time.Second)
	done, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Successful, OutputArguments: map[string]any{"sum": 5.0}})
	if err != nil {
		t.Fatal(err)
	}
	if done.State != jobs.Successful || done.EndTime == nil || !done.EndTime.Equal(c.Now()) {
		t.Fatalf("finished job = %+v", done)
	}
	got, _ := s.Get(context.Background(), tenantA, j.Key)
	if got.OutputArguments["sum"] != 5.0 || got.State != jobs.Successful {
		t.Fatalf("stored job = %+v, want Successful with sum 5", got)
	}
	ev := waitEvent(t, events, j.Key, jobs.Successful)
	if ev.Job == nil || ev.Job.ID != j.ID || ev.Job.Org != tenantA.Org || ev.Job.Tenant != tenantA.Tenant ||
		ev.Job.OutputArguments["sum"] != 5.0 || ev.Job.State != jobs.Successful {
		t.Fatalf("final event carries %+v; want the finished job with its output", ev.Job)
	}
}

// testFinishUnencodable: an output JSON cannot hold (+Inf) is refused as EINVALID with the
// job left as it was, never stored as null or dropped; the robot can then record a fault.
func testFinishUnencodable(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	_, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Successful, OutputArguments: map[string]any{"Result": math.Inf(1)}})
	wantCode(t, err, jobs.EINVALID)
	if !strings.Contains(jobs.ErrorMessage(err), `"Result"`) {
		t.Fatalf("refusal %q does not name the argument", jobs.ErrorMessage(err))
	}
	got, _ := s.Get(context.Background(), tenantA, j.Key)
	if got.State != jobs.Running || got.OutputArguments != nil {
		t.Fatalf("after a refused Finish the job is %s with output %v; want it Running with none", got.State, got.OutputArguments)
	}
	done, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Faulted, Info: "output cannot be stored"})
	if err != nil || done.State != jobs.Faulted {
		t.Fatalf("Finish Faulted after the refusal = %s, %v", done.State, err)
	}
}

func waitEvent(t *testing.T, events chan jobs.Event, key string, st jobs.State) jobs.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Kind == jobs.EventChanged && ev.Key == key && ev.State == st {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event for job %s reaching %s", key, st)
		}
	}
}

func testFinishTwice(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	if _, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Faulted, Info: "boom"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Successful})
	wantCode(t, err, jobs.ECONFLICT)
	got, _ := s.Get(context.Background(), tenantA, j.Key)
	if got.State != jobs.Faulted || got.Info != "boom" {
		t.Fatalf("second Finish changed the job: %+v", got)
	}
	_, err = s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Running})
	if jobs.ErrorCode(err) == "" {
		t.Fatal("Finish with a non-final state was accepted")
	}
}

func testFinishForeignLease(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	_, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Successful})
	wantCode(t, err, jobs.ECONFLICT) // Pending: nobody holds it
	claim(t, s, "o1")
	_, err = s.Finish(context.Background(), j.Key, "intruder", jobs.Result{State: jobs.Successful})
	wantCode(t, err, jobs.ECONFLICT)
	_, err = s.Renew(context.Background(), j.Key, "intruder", time.Minute, nil)
	wantCode(t, err, jobs.ECONFLICT)
	_, err = s.Finish(context.Background(), "no-such-key", "o1", jobs.Result{State: jobs.Successful})
	wantCode(t, err, jobs.ENOTFOUND)
}

func testRenew(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	for i := 0; i < 3; i++ {
		c.Advance(50 * time.Second)
		if _, err := s.Renew(context.Background(), j.Key, "o1", time.Minute, &jobs.Progress{Percent: 10 * (i + 1), Message: "step"}); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Reap(context.Background()); n != 0 {
			t.Fatalf("Reap ended %d jobs while the lease was renewed", n)
		}
	}
	got, _ := s.Get(context.Background(), tenantA, j.Key)
	if got.State != jobs.Running || got.Progress == nil || got.Progress.Percent != 30 || got.Progress.Message != "step" {
		t.Fatalf("job after renewals = %+v", got)
	}
}

func testLeaseLapse(t *testing.T, s jobs.Store, c *Clock) {
	events := make(chan jobs.Event, 16)
	cancel := s.Subscribe(func(ev jobs.Event) { events <- ev })
	defer cancel()
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	c.Advance(61 * time.Second)
	n, err := s.Reap(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Reap = %d, %v; want 1 job ended", n, err)
	}
	got, _ := s.Get(context.Background(), tenantA, j.Key)
	if got.State != jobs.Faulted || got.Info == "" {
		t.Fatalf("job after lease lapse = %s %q; want Faulted with a reason", got.State, got.Info)
	}
	if ev := waitEvent(t, events, j.Key, jobs.Faulted); ev.Job != nil && ev.Job.Info != got.Info {
		t.Fatalf("final event Info = %q, want %q", ev.Job.Info, got.Info)
	}
	if n, _ := s.Reap(context.Background()); n != 0 {
		t.Fatalf("second Reap ended %d jobs, want 0", n)
	}
}

func testLostRobot(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	c.Advance(2 * time.Minute)
	if _, err := s.Reap(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Successful, OutputArguments: map[string]any{"late": true}})
	wantCode(t, err, jobs.ECONFLICT)
	got, _ := s.Get(context.Background(), tenantA, j.Key)
	if got.State != jobs.Faulted || got.OutputArguments["late"] != nil {
		t.Fatalf("a robot without lease overwrote the result: %+v", got)
	}
}

func testStopPending(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	got, err := s.Stop(context.Background(), tenantA, j.Key, jobs.SoftStop)
	if err != nil || got.State != jobs.Stopped || got.EndTime == nil {
		t.Fatalf("Stop(Pending) = %+v, %v; want Stopped", got, err)
	}
	_, err = s.Claim(context.Background(), "o1", robotR, time.Minute)
	wantCode(t, err, jobs.ENOTFOUND)
}

func testStopRunning(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	got, err := s.Stop(context.Background(), tenantA, j.Key, jobs.SoftStop)
	if err != nil || got.State != jobs.Stopping {
		t.Fatalf("SoftStop = %s, %v; want Stopping", got.State, err)
	}
	renewed, err := s.Renew(context.Background(), j.Key, "o1", time.Minute, nil)
	if err != nil || renewed.State != jobs.Stopping {
		t.Fatalf("Renew after SoftStop = %s, %v; want Stopping so the robot stops", renewed.State, err)
	}
	again, err := s.Stop(context.Background(), tenantA, j.Key, jobs.SoftStop)
	if err != nil || again.State != jobs.Stopping {
		t.Fatalf("second SoftStop = %s, %v; want unchanged Stopping", again.State, err)
	}
	got, err = s.Stop(context.Background(), tenantA, j.Key, jobs.Kill)
	if err != nil || got.State != jobs.Terminating {
		t.Fatalf("Kill = %s, %v; want Terminating", got.State, err)
	}
	done, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Stopped, Info: "killed"})
	if err != nil || done.State != jobs.Stopped {
		t.Fatalf("Finish(Stopped) = %s, %v", done.State, err)
	}
}

func testStopFinal(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	if _, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Successful}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Stop(context.Background(), tenantA, j.Key, jobs.Kill)
	wantCode(t, err, jobs.ECONFLICT)
}

func testDeadline(t *testing.T, s jobs.Store, c *Clock) {
	req := newJob(tenantA, nil)
	req.MaxRunTime = 15 * time.Minute
	req.Job.DeadlineInfo = "exceeded the 15m LongPolling limit"
	j := create(t, s, req)
	if j.Deadline == nil || !j.Deadline.Equal(c.Now().Add(15*time.Minute)) {
		t.Fatalf("Deadline = %v, want creation + 15m", j.Deadline)
	}
	c.Advance(14 * time.Minute)
	if n, _ := s.Reap(context.Background()); n != 0 {
		t.Fatalf("Reap before the deadline ended %d jobs", n)
	}
	c.Advance(2 * time.Minute)
	if n, _ := s.Reap(context.Background()); n != 1 {
		t.Fatalf("Reap after the deadline ended %d jobs, want 1", n)
	}
	got, _ := s.Get(context.Background(), tenantA, j.Key)
	if got.State != jobs.Faulted || got.Info != "exceeded the 15m LongPolling limit" {
		t.Fatalf("job after deadline = %s %q", got.State, got.Info)
	}
}

func testRelease(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	got, err := s.Release(context.Background(), j.Key, "o1")
	if err != nil || got.State != jobs.Pending {
		t.Fatalf("Release = %s, %v; want Pending", got.State, err)
	}
	again := claim(t, s, "o2")
	if again.Key != j.Key {
		t.Fatalf("claimed %s after release, want %s", again.Key, j.Key)
	}
	_, err = s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Successful})
	wantCode(t, err, jobs.ECONFLICT)
}

func testList(t *testing.T, s jobs.Store, c *Clock) {
	for i := 0; i < 5; i++ {
		create(t, s, newJob(tenantA, nil))
		c.Advance(time.Second)
	}
	create(t, s, newJob(tenantB, nil))
	claim(t, s, "o1") // job 1 of tenant A is now Running
	all, total, err := s.List(context.Background(), tenantA, jobs.ListQuery{})
	if err != nil || total != 5 || len(all) != 5 || all[0].ID != 1 || all[4].ID != 5 {
		t.Fatalf("List all = %d jobs (total %d), %v", len(all), total, err)
	}
	page, total, _ := s.List(context.Background(), tenantA, jobs.ListQuery{
		Match: func(j *jobs.Job) bool { return j.State == jobs.Pending },
		Less:  func(a, b *jobs.Job) bool { return a.ID > b.ID },
		Skip:  1, Top: 2,
	})
	if total != 4 || len(page) != 2 || page[0].ID != 4 || page[1].ID != 3 {
		ids := []int64{}
		for _, j := range page {
			ids = append(ids, j.ID)
		}
		t.Fatalf("filtered page = ids %v total %d; want [4 3] of 4", ids, total)
	}
	none, total, _ := s.List(context.Background(), jobs.Tenant{Org: "x", Tenant: "y"}, jobs.ListQuery{})
	if len(none) != 0 || total != 0 {
		t.Fatal("List of an unknown tenant returned jobs")
	}
}

func testRetention(t *testing.T, s jobs.Store, c *Clock) {
	j := create(t, s, newJob(tenantA, nil))
	keep := create(t, s, newJob(tenantA, nil))
	claim(t, s, "o1")
	if _, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Successful}); err != nil {
		t.Fatal(err)
	}
	c.Advance(59 * time.Minute)
	s.Reap(context.Background())
	if _, err := s.Get(context.Background(), tenantA, j.Key); err != nil {
		t.Fatalf("job gone before its retention: %v", err)
	}
	c.Advance(2 * time.Minute)
	waitGone(t, s, j.Key)
	if _, err := s.Get(context.Background(), tenantA, keep.Key); err != nil {
		t.Fatalf("a pending job was dropped by retention: %v", err)
	}
	_, total, _ := s.List(context.Background(), tenantA, jobs.ListQuery{})
	if total != 1 {
		t.Fatalf("List after retention counts %d jobs, want 1", total)
	}
}

// waitGone reaps until the job is gone. Stores whose expiry runs on the server's own clock
// (Redis TTLs) are given a Retention they can honour through Options; the loop allows for it.
func waitGone(t *testing.T, s jobs.Store, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := s.Reap(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get(context.Background(), tenantA, key)
		if jobs.ErrorCode(err) == jobs.ENOTFOUND {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("final job %s still present after its retention: %v", key, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testEvents(t *testing.T, s jobs.Store, c *Clock) {
	events := make(chan jobs.Event, 64)
	cancel := s.Subscribe(func(ev jobs.Event) { events <- ev })
	j := create(t, s, newJob(tenantA, nil))
	waitEvent(t, events, j.Key, jobs.Pending)
	claim(t, s, "o1")
	waitEvent(t, events, j.Key, jobs.Running)
	if _, err := s.Stop(context.Background(), tenantA, j.Key, jobs.SoftStop); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, j.Key, jobs.Stopping)
	if _, err := s.Finish(context.Background(), j.Key, "o1", jobs.Result{State: jobs.Stopped}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, j.Key, jobs.Stopped)
	cancel()
	j2 := create(t, s, newJob(tenantA, nil))
	select {
	case ev := <-events:
		if ev.Key == j2.Key {
			t.Fatal("event delivered after cancel")
		}
	case <-time.After(100 * time.Millisecond):
	}
}

func testLogs(t *testing.T, s jobs.Store, c *Clock) {
	ctx := context.Background()
	j := create(t, s, newJob(tenantA, nil))
	if log, err := s.Log(ctx, tenantA, j.Key); err != nil || log != "" {
		t.Fatalf("Log of a new job = %q, %v; want empty", log, err)
	}
	claim(t, s, "o1")
	if err := s.WriteLog(ctx, j.Key, "intruder", "x"); jobs.ErrorCode(err) != jobs.ECONFLICT {
		t.Fatalf("WriteLog by another owner = %v, want conflict", err)
	}
	if err := s.WriteLog(ctx, j.Key, "o1", "line 1\n"); err != nil {
		t.Fatal(err)
	}
	if log, _ := s.Log(ctx, tenantA, j.Key); log != "line 1\n" {
		t.Fatalf("Log while running = %q", log)
	}
	if _, err := s.Log(ctx, tenantB, j.Key); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("Log from another tenant = %v, want not found", err)
	}
	if _, err := s.Finish(ctx, j.Key, "o1", jobs.Result{State: jobs.Successful, Log: "line 1\nline 2\n"}); err != nil {
		t.Fatal(err)
	}
	if log, _ := s.Log(ctx, tenantA, j.Key); log != "line 1\nline 2\n" {
		t.Fatalf("Log after finish = %q", log)
	}
	if err := s.WriteLog(ctx, j.Key, "o1", "late"); jobs.ErrorCode(err) != jobs.ECONFLICT {
		t.Fatalf("WriteLog after finish = %v, want conflict", err)
	}
	c.Advance(2 * time.Hour)
	waitGone(t, s, j.Key)
	if _, err := s.Log(ctx, tenantA, j.Key); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("Log after retention = %v, want not found", err)
	}
}
