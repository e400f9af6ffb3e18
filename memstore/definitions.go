package memstore

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/trigger"
)

// definitions holds what the management API creates (trigger.Definitions). Its own mutex
// guards it: it never shares a step with a job change.
type definitions struct {
	mu      sync.Mutex
	tenants map[jobs.Tenant]*tenantDefs
}

type tenantDefs struct {
	lastRelease, lastTrigger int64
	releases                 map[int64]jobs.Process
	releaseNames             map[string]int64 // lower-cased name → id
	triggers                 map[int64]trigger.Trigger
	slugs                    map[string]int64 // lower-cased slug → id
	settings                 *callmode.Settings
}

var _ trigger.Definitions = (*Store)(nil)

// tenantLocked returns t's definitions, made on first use. Caller holds d.mu.
func (d *definitions) tenantLocked(t jobs.Tenant) *tenantDefs {
	if d.tenants == nil {
		d.tenants = map[jobs.Tenant]*tenantDefs{}
	}
	td := d.tenants[t]
	if td == nil {
		td = &tenantDefs{releases: map[int64]jobs.Process{}, releaseNames: map[string]int64{},
			triggers: map[int64]trigger.Trigger{}, slugs: map[string]int64{}}
		d.tenants[t] = td
	}
	return td
}

// ListReleases implements trigger.Definitions.
func (s *Store) ListReleases(ctx context.Context, t jobs.Tenant) ([]jobs.Process, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	out := make([]jobs.Process, 0, len(td.releases))
	for _, p := range td.releases {
		out = append(out, cloneProcess(p))
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// ReleaseByID implements trigger.Definitions.
func (s *Store) ReleaseByID(ctx context.Context, t jobs.Tenant, id int64) (jobs.Process, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.tenantLocked(t).releases[id]
	if !ok {
		return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "release %d not found", id)
	}
	return cloneProcess(p), nil
}

// ReleaseByName implements trigger.Definitions.
func (s *Store) ReleaseByName(ctx context.Context, t jobs.Tenant, name string) (jobs.Process, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	id, ok := td.releaseNames[strings.ToLower(name)]
	if !ok {
		return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no release is named %q", name)
	}
	return cloneProcess(td.releases[id]), nil
}

// CreateRelease implements trigger.Definitions.
func (s *Store) CreateRelease(ctx context.Context, t jobs.Tenant, p jobs.Process, minID int64) (jobs.Process, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	name := strings.ToLower(p.Name)
	if _, taken := td.releaseNames[name]; taken {
		return jobs.Process{}, trigger.NameTakenError(p.Name)
	}
	td.lastRelease = max(td.lastRelease+1, minID+1)
	p.ID = td.lastRelease
	td.releases[p.ID] = cloneProcess(p)
	td.releaseNames[name] = p.ID
	return cloneProcess(p), nil
}

// ReplaceRelease implements trigger.Definitions.
func (s *Store) ReplaceRelease(ctx context.Context, t jobs.Tenant, p jobs.Process) (jobs.Process, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	old, ok := td.releases[p.ID]
	if !ok {
		return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "release %d not found", p.ID)
	}
	oldName, newName := strings.ToLower(old.Name), strings.ToLower(p.Name)
	if oldName != newName {
		if _, taken := td.releaseNames[newName]; taken {
			return jobs.Process{}, trigger.NameTakenError(p.Name)
		}
		if users := td.usersOf(oldName); len(users) > 0 {
			return jobs.Process{}, trigger.UsedByError(old.Name, users)
		}
		delete(td.releaseNames, oldName)
		td.releaseNames[newName] = p.ID
	}
	td.releases[p.ID] = cloneProcess(p)
	return cloneProcess(p), nil
}

// DeleteRelease implements trigger.Definitions.
func (s *Store) DeleteRelease(ctx context.Context, t jobs.Tenant, id int64) error {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	old, ok := td.releases[id]
	if !ok {
		return jobs.Errorf(jobs.ENOTFOUND, "release %d not found", id)
	}
	name := strings.ToLower(old.Name)
	if users := td.usersOf(name); len(users) > 0 {
		return trigger.UsedByError(old.Name, users)
	}
	delete(td.releases, id)
	delete(td.releaseNames, name)
	return nil
}

// usersOf returns the slugs of the triggers whose release is the lower-cased name, in Id
// order.
func (td *tenantDefs) usersOf(name string) []string {
	var ids []int64
	for id, tr := range td.triggers {
		if strings.ToLower(tr.ReleaseName) == name {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, k int) bool { return ids[i] < ids[k] })
	slugs := make([]string, len(ids))
	for i, id := range ids {
		slugs[i] = td.triggers[id].Slug
	}
	return slugs
}

// ListTriggers implements trigger.Definitions.
func (s *Store) ListTriggers(ctx context.Context, t jobs.Tenant) ([]trigger.Trigger, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	out := make([]trigger.Trigger, 0, len(td.triggers))
	for _, tr := range td.triggers {
		out = append(out, cloneTrigger(tr))
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// TriggerByID implements trigger.Definitions.
func (s *Store) TriggerByID(ctx context.Context, t jobs.Tenant, id int64) (trigger.Trigger, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	tr, ok := d.tenantLocked(t).triggers[id]
	if !ok {
		return trigger.Trigger{}, jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", id)
	}
	return cloneTrigger(tr), nil
}

// TriggerBySlug implements trigger.Definitions.
func (s *Store) TriggerBySlug(ctx context.Context, t jobs.Tenant, slug string) (trigger.Trigger, *jobs.Process, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	id, ok := td.slugs[strings.ToLower(slug)]
	if !ok {
		return trigger.Trigger{}, nil, jobs.Errorf(jobs.ENOTFOUND, "no trigger %q", slug)
	}
	tr := cloneTrigger(td.triggers[id])
	if rid, ok := td.releaseNames[strings.ToLower(tr.ReleaseName)]; ok {
		p := cloneProcess(td.releases[rid])
		return tr, &p, nil
	}
	return tr, nil, nil
}

// CreateTrigger implements trigger.Definitions.
func (s *Store) CreateTrigger(ctx context.Context, t jobs.Tenant, tr trigger.Trigger, storedRelease bool, minID int64) (trigger.Trigger, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	slug := strings.ToLower(tr.Slug)
	if _, taken := td.slugs[slug]; taken {
		return trigger.Trigger{}, trigger.SlugTakenError(tr.Slug)
	}
	if _, ok := td.releaseNames[strings.ToLower(tr.ReleaseName)]; storedRelease && !ok {
		return trigger.Trigger{}, trigger.NoReleaseError(tr.ReleaseName)
	}
	td.lastTrigger = max(td.lastTrigger+1, minID+1)
	tr.ID = td.lastTrigger
	td.triggers[tr.ID] = cloneTrigger(tr)
	td.slugs[slug] = tr.ID
	return cloneTrigger(tr), nil
}

// ReplaceTrigger implements trigger.Definitions.
func (s *Store) ReplaceTrigger(ctx context.Context, t jobs.Tenant, tr trigger.Trigger, storedRelease bool) (trigger.Trigger, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	old, ok := td.triggers[tr.ID]
	if !ok {
		return trigger.Trigger{}, jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", tr.ID)
	}
	oldSlug, newSlug := strings.ToLower(old.Slug), strings.ToLower(tr.Slug)
	if _, taken := td.slugs[newSlug]; taken && oldSlug != newSlug {
		return trigger.Trigger{}, trigger.SlugTakenError(tr.Slug)
	}
	if _, ok := td.releaseNames[strings.ToLower(tr.ReleaseName)]; storedRelease && !ok {
		return trigger.Trigger{}, trigger.NoReleaseError(tr.ReleaseName)
	}
	delete(td.slugs, oldSlug)
	td.slugs[newSlug] = tr.ID
	td.triggers[tr.ID] = cloneTrigger(tr)
	return cloneTrigger(tr), nil
}

// DeleteTrigger implements trigger.Definitions.
func (s *Store) DeleteTrigger(ctx context.Context, t jobs.Tenant, id int64) error {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	td := d.tenantLocked(t)
	old, ok := td.triggers[id]
	if !ok {
		return jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", id)
	}
	delete(td.triggers, id)
	delete(td.slugs, strings.ToLower(old.Slug))
	return nil
}

// Settings implements trigger.Definitions.
func (s *Store) Settings(ctx context.Context, t jobs.Tenant) (callmode.Settings, bool, error) {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.tenantLocked(t).settings; st != nil {
		return *st, true, nil
	}
	return callmode.Settings{}, false, nil
}

// PutSettings implements trigger.Definitions.
func (s *Store) PutSettings(ctx context.Context, t jobs.Tenant, st callmode.Settings) error {
	d := &s.defs
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenantLocked(t).settings = &st
	return nil
}

// cloneProcess deep-copies the parts of a process that callers could mutate.
func cloneProcess(p jobs.Process) jobs.Process {
	if p.Command != nil {
		p.Command = append([]string{}, p.Command...)
	}
	if p.Env != nil {
		env := make(map[string]string, len(p.Env))
		for k, v := range p.Env {
			env[k] = v
		}
		p.Env = env
	}
	if p.Arguments != nil {
		args := make(map[string]jobs.Argument, len(p.Arguments))
		for k, v := range p.Arguments {
			args[k] = v // Default values are decoded JSON, never mutated in place
		}
		p.Arguments = args
	}
	return p
}

func cloneTrigger(tr trigger.Trigger) trigger.Trigger {
	tr.Arguments = cloneMap(tr.Arguments)
	return tr
}
