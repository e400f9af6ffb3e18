package jobs

import (
	"context"
	"sort"
	"time"
)

// CreateRequest is what Store.Create needs to store a new job.
type CreateRequest struct {
	// Job holds the caller-set fields (tenant, process, arguments, call mode, source…).
	// Create assigns ID, Key, State (Pending) and CreationTime.
	Job Job
	// IdempotencyKey, when set, makes Create return the job first created with the same key
	// for the same tenant and Scope within the store's idempotency window. Optional.
	IdempotencyKey string
	// Scope narrows the idempotency key (the trigger slug). Optional.
	Scope string
	// Fingerprint identifies the request; the same key with another fingerprint is refused
	// with EUNPROCESSABLE.
	Fingerprint string
	// MaxRunTime, when positive, sets the job's Deadline to CreationTime+MaxRunTime; a job
	// not final by then ends Faulted with DeadlineInfo. Optional.
	MaxRunTime time.Duration
	// MaxPending, when positive, is the most Pending jobs the tenant may have: Create
	// refuses with EQUOTA (PendingQuotaError), creating nothing, when the tenant already has
	// that many. Both stores keep the count inside the step that changes a job's state, so
	// the check costs no extra round trip. Optional: 0 means no limit.
	MaxPending int64
}

// ListQuery selects, orders and pages jobs of one tenant.
type ListQuery struct {
	// Match keeps the jobs it returns true for. Optional: nil keeps all.
	Match func(*Job) bool
	// Less orders the result. Optional: nil orders by Id ascending.
	Less func(a, b *Job) bool
	// Skip and Top page the ordered result. Top 0 means no limit.
	Skip, Top int
}

// EventKind says what an Event reports.
type EventKind int

// The kinds of event.
const (
	// EventChanged: the job named by Key changed state to State.
	EventChanged EventKind = iota + 1
	// EventReset: notifications may have been lost (a subscription reconnected); every
	// listener must re-read whatever it waits for.
	EventReset
)

// Event is one store notification.
type Event struct {
	Kind  EventKind
	Key   string
	State State
	// Job, when not nil, is the job as the change left it — sent with final states so that
	// listeners can answer without reading the store again. It carries at least Org,
	// Tenant, ID, Key, State, Info and OutputArguments. Optional: nil means "read it".
	Job *Job
}

// Store holds jobs. Every state change is one atomic step that also emits its Event, so no
// reader sees a changed job before listeners were notified. Implementations: memstore
// (embedded) and redisstore. Both pass jobs/jobstest.
type Store interface {
	// Create stores a new Pending job and wakes robots. It returns the job and whether it
	// was created (false when an idempotency key matched an earlier job).
	// Codes: EUNPROCESSABLE (key reused with another fingerprint), EQUOTA (MaxPending
	// reached), EUNAVAILABLE.
	Create(ctx context.Context, req CreateRequest) (Job, bool, error)
	// Get returns the job with the given Key in tenant t. Codes: ENOTFOUND.
	Get(ctx context.Context, t Tenant, key string) (Job, error)
	// GetByID returns the job with the given Id in tenant t. Codes: ENOTFOUND.
	GetByID(ctx context.Context, t Tenant, id int64) (Job, error)
	// List returns one page of t's jobs matching q, and how many matched in all.
	List(ctx context.Context, t Tenant, q ListQuery) ([]Job, int, error)
	// Claim moves the oldest Pending job to Running with a lease held by owner until
	// now+lease and records robot on it. owner identifies one claim attempt: a caller whose
	// Claim failed without an answer (EUNAVAILABLE) retries with the same owner and gets the
	// job the lost reply carried, if any; a new attempt uses a new owner.
	// Codes: ENOTFOUND (nothing pending).
	Claim(ctx context.Context, owner string, robot RobotRef, lease time.Duration) (Job, error)
	// Renew extends owner's lease and records progress when p is not nil. It returns the job
	// (whose State tells the robot whether a stop was requested).
	// Codes: ECONFLICT (owner does not hold the lease, or the job is final), ENOTFOUND.
	Renew(ctx context.Context, key, owner string, lease time.Duration, p *Progress) (Job, error)
	// Finish records the end of owner's run. Codes: ECONFLICT (not the lease holder,
	// already final, or an illegal transition), ENOTFOUND.
	Finish(ctx context.Context, key, owner string, r Result) (Job, error)
	// WriteLog replaces the stored log of owner's running job with log (the robot keeps it
	// bounded: the tail of the process's output). Codes: ECONFLICT (not the lease holder,
	// or final), ENOTFOUND.
	WriteLog(ctx context.Context, key, owner, log string) error
	// Log returns the stored log of a job of tenant t ("" when it has none). It expires with
	// the job. Codes: ENOTFOUND.
	Log(ctx context.Context, t Tenant, key string) (string, error)
	// Release hands a running job back (Running → Pending) so another robot can run it.
	// Codes: ECONFLICT (not the lease holder or not Running), ENOTFOUND.
	Release(ctx context.Context, key, owner string) (Job, error)
	// Stop asks for a job to stop: Pending → Stopped at once; Running → Stopping (SoftStop)
	// or Terminating (Kill); Stopping → Terminating (Kill). A job already stopping the asked
	// way is returned unchanged. Codes: ENOTFOUND, ECONFLICT (already final).
	Stop(ctx context.Context, t Tenant, key string, s StopStrategy) (Job, error)
	// Reap ends jobs whose robot vanished (lease lapsed: Faulted) or whose deadline passed
	// while nobody ran them (Faulted with DeadlineInfo), and drops expired data. Safe to
	// run concurrently on every replica. It returns how many jobs it ended.
	Reap(ctx context.Context) (int, error)
	// Subscribe calls fn for every event until cancel is called. fn must not block.
	Subscribe(fn func(Event)) (cancel func())
	// Ping reports whether the store answers. Codes: EUNAVAILABLE.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Page orders the jobs that matched q (by q.Less, then Id) and cuts q's page from them. It
// returns the page and how many matched. Both stores filter with q.Match, then call Page.
func (q ListQuery) Page(matched []Job) ([]Job, int) {
	less := q.Less
	if less == nil {
		less = func(a, b *Job) bool { return a.ID < b.ID }
	}
	sort.SliceStable(matched, func(i, k int) bool {
		if less(&matched[i], &matched[k]) {
			return true
		}
		if less(&matched[k], &matched[i]) {
			return false
		}
		return matched[i].ID < matched[k].ID
	})
	total := len(matched)
	matched = matched[min(max(q.Skip, 0), total):]
	if q.Top > 0 && len(matched) > q.Top {
		matched = matched[:q.Top]
	}
	return matched, total
}
