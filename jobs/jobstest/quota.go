package jobstest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// createCapped creates a job of tenant t under a Pending quota of max.
func createCapped(s jobs.Store, t jobs.Tenant, max int64, idemKey string) (jobs.Job, error) {
	req := newJob(t, nil)
	req.MaxPending = max
	req.IdempotencyKey = idemKey
	req.Fingerprint = "fp"
	j, _, err := s.Create(context.Background(), req)
	return j, err
}

// wantQuota fails unless err is the maxPendingJobs refusal at max.
func wantQuota(t *testing.T, err error, max int64) {
	t.Helper()
	var e *jobs.Error
	if !errors.As(err, &e) || e.Code != jobs.EQUOTA || e.Quota == nil ||
		e.Quota.Name != jobs.QuotaPendingJobs || e.Quota.Limit != max || e.Quota.RetryAfter <= 0 {
		t.Fatalf("error = %v (%+v); want EQUOTA naming %s at %d with a Retry-After", err, e, jobs.QuotaPendingJobs, max)
	}
}

func countJobs(t *testing.T, s jobs.Store, tn jobs.Tenant) int {
	t.Helper()
	_, n, err := s.List(context.Background(), tn, jobs.ListQuery{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return n
}

// testPendingQuota: a tenant at its Pending quota is refused and nothing is created; other
// tenants are not affected; a repeated Idempotency-Key still finds its job.
func testPendingQuota(t *testing.T, s jobs.Store, c *Clock) {
	first, err := createCapped(s, tenantA, 2, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := createCapped(s, tenantA, 2, ""); err != nil {
		t.Fatal(err)
	}
	_, err = createCapped(s, tenantA, 2, "")
	wantQuota(t, err, 2)
	if n := countJobs(t, s, tenantA); n != 2 {
		t.Fatalf("tenant has %d jobs after the refusal, want 2 (nothing created)", n)
	}
	again, err := createCapped(s, tenantA, 2, "k1")
	if err != nil || again.Key != first.Key {
		t.Fatalf("repeated Idempotency-Key at the quota = %v, %v; want the first job %s", again.Key, err, first.Key)
	}
	if _, err := createCapped(s, tenantB, 2, ""); err != nil {
		t.Fatalf("another tenant was refused: %v", err)
	}
	if _, err := createCapped(s, tenantA, 0, ""); err != nil {
		t.Fatalf("MaxPending 0 (no limit) was refused: %v", err)
	}
}

// testPendingQuotaFollowsEveryTransition: claim, stop, a missed deadline and release all
// move the count, so a drained tenant is accepted again.
func testPendingQuotaFollowsEveryTransition(t *testing.T, s jobs.Store, c *Clock) {
	ctx := context.Background()
	mustCreate := func() jobs.Job {
		t.Helper()
		j, err := createCapped(s, tenantA, 1, "")
		if err != nil {
			t.Fatalf("Create under a drained quota: %v", err)
		}
		return j
	}
	running := mustCreate()
	_, err := createCapped(s, tenantA, 1, "")
	wantQuota(t, err, 1)
	claim(t, s, "o1") // claimed: no longer Pending
	stopped := mustCreate()
	if _, err := s.Stop(ctx, tenantA, stopped.Key, jobs.SoftStop); err != nil {
		t.Fatal(err)
	}
	req := newJob(tenantA, nil)
	req.MaxPending, req.MaxRunTime = 1, time.Minute
	if _, _, err := s.Create(ctx, req); err != nil {
		t.Fatalf("Create after Stop of the Pending job: %v", err)
	}
	c.Advance(2 * time.Minute)
	if _, err := s.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Renew(ctx, running.Key, "o1", time.Hour, nil); err == nil {
		t.Fatal("the running job's lease should have lapsed with the deadline's advance")
	}
	held := mustCreate()
	_, err = createCapped(s, tenantA, 1, "")
	wantQuota(t, err, 1)
	got := claim(t, s, "o2")
	if got.Key != held.Key {
		t.Fatalf("claimed %s, want %s", got.Key, held.Key)
	}
	if _, err := s.Release(ctx, held.Key, "o2"); err != nil {
		t.Fatal(err)
	}
	_, err = createCapped(s, tenantA, 1, "")
	wantQuota(t, err, 1) // the job handed back is Pending again
	claim(t, s, "o3")
	mustCreate()
}
