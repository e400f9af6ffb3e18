// Package memstore is the embedded jobs.Store: everything in one process's memory, nothing
// durable. It is the default when no Redis is configured.
package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/jobgate/jobgate/jobs"
)

// Config configures a Store. The zero value is usable.
type Config struct {
	// Retention is how long a final job is kept. Optional. Default 7 days.
	Retention time.Duration
	// IdempotencyTTL is how long an Idempotency-Key refers to its job. Optional. Default 24h.
	IdempotencyTTL time.Duration
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
}

// idemID names an Idempotency-Key record; a struct, so no tenant, scope and key can
// spell another combination's name.
type idemID struct {
	tenant jobs.Tenant
	scope  string
	key    string
}

type idemRecord struct {
	key         string // job key
	fingerprint string
	expires     time.Time
}

type tenantData struct {
	lastID int64
	byID   map[int64]string // id → job key
	// pending counts the tenant's Pending jobs (CreateRequest.MaxPending); every step that
	// moves a job into or out of Pending changes it under s.mu.
	pending int64
}

// Store is the in-memory jobs.Store. One mutex guards everything: each method is one atomic
// step, and events are delivered after the step, outside the lock.
type Store struct {
	cfg Config

	mu        sync.Mutex
	jobs      map[string]*jobs.Job // by job key
	tenants   map[jobs.Tenant]*tenantData
	pending   []string // job keys, oldest first
	idem      map[idemID]idemRecord
	expiresAt map[string]time.Time // final job key → when it is dropped
	logs      map[string]string    // job key → its log

	// defs holds the releases, triggers and settings made through the management API.
	defs definitions

	subMu  sync.RWMutex
	subs   map[int]func(jobs.Event)
	nextID int
}

var _ jobs.Store = (*Store)(nil)

// New returns an empty Store.
func New(cfg Config) *Store {
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{
		cfg:       cfg,
		jobs:      map[string]*jobs.Job{},
		tenants:   map[jobs.Tenant]*tenantData{},
		idem:      map[idemID]idemRecord{},
		expiresAt: map[string]time.Time{},
		logs:      map[string]string{},
		subs:      map[int]func(jobs.Event){},
	}
}

func (s *Store) now() time.Time { return s.cfg.Now().UTC() }

func (s *Store) publish(evs ...jobs.Event) {
	s.subMu.RLock()
	defer s.subMu.RUnlock()
	for _, ev := range evs {
		for _, fn := range s.subs {
			fn(ev)
		}
	}
}

func changed(j *jobs.Job) jobs.Event {
	ev := jobs.Event{Kind: jobs.EventChanged, Key: j.Key, State: j.State}
	if j.State.Final() {
		snapshot := cloneJob(j)
		ev.Job = &snapshot
	}
	return ev
}

// Create implements jobs.Store.
func (s *Store) Create(ctx context.Context, req jobs.CreateRequest) (jobs.Job, bool, error) {
	if err := ctx.Err(); err != nil {
		return jobs.Job{}, false, err
	}
	j := cloneJob(&req.Job)
	t := j.TenantRef()
	now := s.now()

	s.mu.Lock()
	idemKey := idemID{tenant: t, scope: req.Scope, key: req.IdempotencyKey}
	if req.IdempotencyKey != "" {
		if rec, ok := s.idem[idemKey]; ok && now.Before(rec.expires) {
			if rec.fingerprint != req.Fingerprint {
				s.mu.Unlock()
				return jobs.Job{}, false, jobs.Errorf(jobs.EUNPROCESSABLE, "Idempotency-Key %q was already used with a different request", req.IdempotencyKey)
			}
			if first, ok := s.jobs[rec.key]; ok {
				out := cloneJob(first)
				s.mu.Unlock()
				return out, false, nil
			}
		}
	}
	td := s.tenants[t]
	if td == nil {
		td = &tenantData{byID: map[int64]string{}}
		s.tenants[t] = td
	}
	if req.MaxPending > 0 && td.pending >= req.MaxPending {
		s.mu.Unlock()
		return jobs.Job{}, false, jobs.PendingQuotaError(t, req.MaxPending)
	}
	td.pending++
	td.lastID++
	j.ID = td.lastID
	j.Key = uuid.NewString()
	j.State = jobs.Pending
	j.CreationTime = now
	j.StartTime, j.EndTime = nil, nil
	if req.MaxRunTime > 0 {
		d := now.Add(req.MaxRunTime)
		j.Deadline = &d
	}
	s.jobs[j.Key] = &j
	td.byID[j.ID] = j.Key
	s.pending = append(s.pending, j.Key)
	if req.IdempotencyKey != "" {
		s.idem[idemKey] = idemRecord{key: j.Key, fingerprint: req.Fingerprint, expires: now.Add(s.cfg.IdempotencyTTL)}
	}
	out := cloneJob(&j)
	s.mu.Unlock()
	s.publish(changed(&out))
	return out, true, nil
}

// Get implements jobs.Store.
func (s *Store) Get(ctx context.Context, t jobs.Tenant, key string) (jobs.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[key]
	if !ok || j.TenantRef() != t {
		return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "job %s not found", key)
	}
	return cloneJob(j), nil
}

// GetByID implements jobs.Store.
func (s *Store) GetByID(ctx context.Context, t jobs.Tenant, id int64) (jobs.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if td := s.tenants[t]; td != nil {
		if j, ok := s.jobs[td.byID[id]]; ok {
			return cloneJob(j), nil
		}
	}
	return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "job %d not found", id)
}

// List implements jobs.Store.
func (s *Store) List(ctx context.Context, t jobs.Tenant, q jobs.ListQuery) ([]jobs.Job, int, error) {
	s.mu.Lock()
	var all []jobs.Job
	if td := s.tenants[t]; td != nil {
		for _, key := range td.byID {
			if j, ok := s.jobs[key]; ok && (q.Match == nil || q.Match(j)) {
				all = append(all, cloneJob(j))
			}
		}
	}
	s.mu.Unlock()
	page, total := q.Page(all)
	return page, total, nil
}

// Claim implements jobs.Store.
func (s *Store) Claim(ctx context.Context, owner string, robot jobs.RobotRef, lease time.Duration) (jobs.Job, error) {
	if err := ctx.Err(); err != nil {
		return jobs.Job{}, err
	}
	s.mu.Lock()
	for len(s.pending) > 0 {
		key := s.pending[0]
		s.pending = s.pending[1:]
		j, ok := s.jobs[key]
		if !ok || j.State != jobs.Pending {
			continue // stopped or reaped while queued
		}
		now := s.now()
		s.leftPending(j)
		j.State = jobs.Running
		if j.StartTime == nil {
			j.StartTime = &now
		}
		r := robot
		j.Robot = &r
		j.LeaseOwner = owner
		j.LeaseExpiry = now.Add(lease)
		out := cloneJob(j)
		s.mu.Unlock()
		s.publish(changed(&out))
		return out, nil
	}
	s.mu.Unlock()
	return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "no pending job")
}

// leftPending counts j, a Pending job about to change state, out of its tenant's Pending
// jobs. Caller holds s.mu.
func (s *Store) leftPending(j *jobs.Job) {
	if td := s.tenants[j.TenantRef()]; td != nil && td.pending > 0 {
		td.pending--
	}
}

// held returns the job key's job if owner holds its lease. Caller holds s.mu.
func (s *Store) held(key, owner string) (*jobs.Job, error) {
	j, ok := s.jobs[key]
	if !ok {
		return nil, jobs.Errorf(jobs.ENOTFOUND, "job %s not found", key)
	}
	if j.State.Final() {
		return nil, jobs.Errorf(jobs.ECONFLICT, "job %s is already %s", key, j.State)
	}
	if j.LeaseOwner != owner || j.LeaseOwner == "" {
		return nil, jobs.Errorf(jobs.ECONFLICT, "job %s is not leased to %s", key, owner)
	}
	return j, nil
}

// Renew implements jobs.Store.
func (s *Store) Renew(ctx context.Context, key, owner string, lease time.Duration, p *jobs.Progress) (jobs.Job, error) {
	s.mu.Lock()
	j, err := s.held(key, owner)
	if err != nil {
		s.mu.Unlock()
		return jobs.Job{}, err
	}
	j.LeaseExpiry = s.now().Add(lease)
	if p != nil {
		cp := *p
		j.Progress = &cp
	}
	out := cloneJob(j)
	s.mu.Unlock()
	return out, nil
}

// Finish implements jobs.Store.
func (s *Store) Finish(ctx context.Context, key, owner string, r jobs.Result) (jobs.Job, error) {
	if !r.State.Final() {
		return jobs.Job{}, jobs.Errorf(jobs.EINVALID, "finish job %s: %s is not a final state", key, r.State)
	}
	if err := jobs.CheckOutput(r.OutputArguments); err != nil { // it could never be answered
		return jobs.Job{}, fmt.Errorf("memstore: finish %s: %w", key, err)
	}
	s.mu.Lock()
	j, err := s.held(key, owner)
	if err != nil {
		s.mu.Unlock()
		return jobs.Job{}, err
	}
	if !jobs.CanTransition(j.State, r.State) {
		s.mu.Unlock()
		return jobs.Job{}, jobs.Errorf(jobs.ECONFLICT, "job %s cannot go from %s to %s", key, j.State, r.State)
	}
	s.finishLocked(j, r.State, r.Info, r.OutputArguments)
	if r.Log != "" {
		s.logs[key] = r.Log
	}
	out := cloneJob(j)
	s.mu.Unlock()
	s.publish(changed(&out))
	return out, nil
}

func (s *Store) finishLocked(j *jobs.Job, st jobs.State, info string, output map[string]any) {
	now := s.now()
	if j.State == jobs.Pending {
		s.leftPending(j)
	}
	j.State = st
	j.Info = info
	j.OutputArguments = output
	j.EndTime = &now
	j.LeaseOwner = ""
	j.LeaseExpiry = time.Time{}
	s.expiresAt[j.Key] = now.Add(s.cfg.Retention)
}

// WriteLog implements jobs.Store.
func (s *Store) WriteLog(ctx context.Context, key, owner, log string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.held(key, owner); err != nil {
		return err
	}
	s.logs[key] = log
	return nil
}

// Log implements jobs.Store.
func (s *Store) Log(ctx context.Context, t jobs.Tenant, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[key]
	if !ok || j.TenantRef() != t {
		return "", jobs.Errorf(jobs.ENOTFOUND, "job %s not found", key)
	}
	return s.logs[key], nil
}

// Release implements jobs.Store.
func (s *Store) Release(ctx context.Context, key, owner string) (jobs.Job, error) {
	s.mu.Lock()
	j, err := s.held(key, owner)
	if err != nil {
		s.mu.Unlock()
		return jobs.Job{}, err
	}
	if j.State != jobs.Running {
		s.mu.Unlock()
		return jobs.Job{}, jobs.Errorf(jobs.ECONFLICT, "job %s is %s, only a Running job can be handed back", key, j.State)
	}
	j.State = jobs.Pending
	if td := s.tenants[j.TenantRef()]; td != nil {
		td.pending++ // a job handed back counts again, but is never refused
	}
	j.LeaseOwner = ""
	j.LeaseExpiry = time.Time{}
	j.Robot = nil
	s.pending = append([]string{j.Key}, s.pending...)
	out := cloneJob(j)
	s.mu.Unlock()
	s.publish(changed(&out))
	return out, nil
}

// Stop implements jobs.Store.
func (s *Store) Stop(ctx context.Context, t jobs.Tenant, key string, strategy jobs.StopStrategy) (jobs.Job, error) {
	s.mu.Lock()
	j, ok := s.jobs[key]
	if !ok || j.TenantRef() != t {
		s.mu.Unlock()
		return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "job %s not found", key)
	}
	var to jobs.State
	switch {
	case j.State.Final():
		s.mu.Unlock()
		return jobs.Job{}, jobs.Errorf(jobs.ECONFLICT, "job %d is already %s", j.ID, j.State)
	case j.State == jobs.Pending:
		to = jobs.Stopped
	case strategy == jobs.Kill:
		to = jobs.Terminating
	default:
		to = jobs.Stopping
	}
	if j.State == to || (j.State == jobs.Terminating && to == jobs.Stopping) {
		out := cloneJob(j)
		s.mu.Unlock()
		return out, nil
	}
	if to == jobs.Stopped {
		s.finishLocked(j, jobs.Stopped, "Stopped before it started", nil)
	} else {
		j.State = to
	}
	j.StopStrategy = strategy
	out := cloneJob(j)
	s.mu.Unlock()
	s.publish(changed(&out))
	return out, nil
}

// Reap implements jobs.Store.
func (s *Store) Reap(ctx context.Context) (int, error) {
	now := s.now()
	var evs []jobs.Event
	s.mu.Lock()
	for key, j := range s.jobs {
		if j.State.Final() {
			if exp, ok := s.expiresAt[key]; ok && !now.Before(exp) {
				delete(s.jobs, key)
				delete(s.expiresAt, key)
				delete(s.logs, key)
				if td := s.tenants[j.TenantRef()]; td != nil {
					delete(td.byID, j.ID)
				}
			}
			continue
		}
		switch {
		case j.LeaseOwner != "" && now.After(j.LeaseExpiry):
			s.finishLocked(j, jobs.Faulted, "The robot running this job stopped responding (its lease expired)", nil)
		case j.State == jobs.Pending && j.Deadline != nil && !now.Before(*j.Deadline):
			s.finishLocked(j, jobs.Faulted, j.DeadlineInfo, nil)
		default:
			continue
		}
		evs = append(evs, changed(j))
	}
	for k, rec := range s.idem {
		if !now.Before(rec.expires) {
			delete(s.idem, k)
		}
	}
	s.mu.Unlock()
	s.publish(evs...)
	return len(evs), nil
}

// Subscribe implements jobs.Store.
func (s *Store) Subscribe(fn func(jobs.Event)) (cancel func()) {
	s.subMu.Lock()
	id := s.nextID
	s.nextID++
	s.subs[id] = fn
	s.subMu.Unlock()
	return func() {
		s.subMu.Lock()
		delete(s.subs, id)
		s.subMu.Unlock()
	}
}

// Ping implements jobs.Store; the embedded store always answers.
func (s *Store) Ping(ctx context.Context) error { return nil }

// Close implements jobs.Store.
func (s *Store) Close() error { return nil }

// Len returns how many jobs and idempotency records the store holds (for tests of retention).
func (s *Store) Len() (jobCount, idemCount int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs), len(s.idem)
}

// cloneJob deep-copies the parts of a job that callers could mutate.
func cloneJob(j *jobs.Job) jobs.Job {
	out := *j
	out.InputArguments = cloneMap(j.InputArguments)
	out.OutputArguments = cloneMap(j.OutputArguments)
	if j.StartTime != nil {
		t := *j.StartTime
		out.StartTime = &t
	}
	if j.EndTime != nil {
		t := *j.EndTime
		out.EndTime = &t
	}
	if j.Deadline != nil {
		t := *j.Deadline
		out.Deadline = &t
	}
	if j.Robot != nil {
		r := *j.Robot
		out.Robot = &r
	}
	if j.Progress != nil {
		p := *j.Progress
		out.Progress = &p
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v // values are JSON-decoded data and never mutated in place
	}
	return out
}
