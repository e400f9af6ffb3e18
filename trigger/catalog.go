// Package trigger owns API triggers: the catalogue of tenants, processes and triggers, and the
// invocation handler that turns a call into a job.
package trigger

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
)

// Trigger is an API trigger: a URL slug that starts a process.
type Trigger struct {
	ID          int64          `json:"Id"`
	Key         string         `json:"Key"`
	Slug        string         `json:"Slug"`
	ReleaseName string         `json:"ReleaseName"`
	Method      string         `json:"Method"`
	CallMode    jobs.CallMode  `json:"CallMode"`
	Enabled     bool           `json:"Enabled"`
	Arguments   map[string]any `json:"Arguments"`
	Source      string         `json:"Source"`
	// File names the config file that declared the trigger, when Source is Config.
	File string `json:"-"`
}

// Methods a trigger may be configured for.
var Methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ValidName reports whether s is a valid org or tenant name.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// validSlug: non-empty, no '/', printable, at most 128 characters.
func validSlug(s string) bool {
	if s == "" || len(s) > 128 || strings.ContainsAny(s, "/?#%") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

type tenant struct {
	settings callmode.Settings
	// settingsDeclared: the config file declared the settings, and owns them.
	settingsDeclared bool
	// allowAPICommands: the operator lets the tenant define command releases through the
	// API; apiCommandsDeclared: the config file (or --dev) said so either way.
	allowAPICommands, apiCommandsDeclared bool
	processes                             map[string]jobs.Process // by lower-cased name
	triggers                              map[string]Trigger      // by lower-cased slug
}

// Catalog holds every tenant's settings, processes and triggers: those declared in the
// config file (and by --dev) in memory, and, once Persist connected it to a Definitions
// store, those created through the management API. Lookups consult the declared ones first,
// then the store, on every call (so every server sharing the store sees the same API-made
// resources; tenant settings read from the store are cached for StoreConfig.SettingsTTL).
// Safe for concurrent use.
type Catalog struct {
	mu      sync.RWMutex
	tenants map[jobs.Tenant]*tenant
	store   StoreConfig // zero until Persist
	// apiCommandsRefused, when set, says why no API-made command release is accepted.
	apiCommandsRefused string

	cacheMu       sync.Mutex
	settingsCache map[jobs.Tenant]cachedSettings

	// quotas are the tenants' quotas the config file declares (quota.go).
	quotas quotaTable
}

// NewCatalog returns an empty catalogue.
func NewCatalog() *Catalog {
	return &Catalog{tenants: map[jobs.Tenant]*tenant{}, settingsCache: map[jobs.Tenant]cachedSettings{}}
}

func (c *Catalog) tenantLocked(t jobs.Tenant) *tenant {
	td := c.tenants[t]
	if td == nil {
		td = &tenant{settings: callmode.DefaultSettings(), processes: map[string]jobs.Process{}, triggers: map[string]Trigger{}}
		c.tenants[t] = td
	}
	return td
}

// AddTenant declares a tenant (with no processes yet). Codes: EINVALID.
func (c *Catalog) AddTenant(t jobs.Tenant) error {
	if !ValidName(t.Org) || !ValidName(t.Tenant) {
		return jobs.Errorf(jobs.EINVALID, "org and tenant names must match [A-Za-z0-9_-]{1,64}, got %q/%q", t.Org, t.Tenant)
	}
	c.mu.Lock()
	c.tenantLocked(t)
	c.mu.Unlock()
	return nil
}

// SetSettings replaces a tenant's settings. Codes: EINVALID.
func (c *Catalog) SetSettings(t jobs.Tenant, s callmode.Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := c.AddTenant(t); err != nil {
		return err
	}
	c.mu.Lock()
	td := c.tenantLocked(t)
	td.settings, td.settingsDeclared = s, true
	c.mu.Unlock()
	return nil
}

// Settings returns a tenant's settings: those of the config file, else those stored through
// the API (cached for StoreConfig.SettingsTTL), else the defaults. When the store cannot be
// read it answers with the last settings read, or the defaults (which require auth on
// redirects: the safe side).
func (c *Catalog) Settings(t jobs.Tenant) callmode.Settings {
	c.mu.RLock()
	td := c.tenants[t]
	if td != nil && td.settingsDeclared {
		s := td.settings
		c.mu.RUnlock()
		return s
	}
	defs := c.store.Definitions
	c.mu.RUnlock()
	if defs == nil {
		return callmode.DefaultSettings()
	}
	s, _ := c.storedSettings(t)
	return s
}

// AddProcess declares a process in tenant t. Codes: EINVALID, ECONFLICT (name taken).
func (c *Catalog) AddProcess(t jobs.Tenant, p jobs.Process) error {
	if p.Name == "" {
		return jobs.Errorf(jobs.EINVALID, "a process needs a name")
	}
	if (p.Builtin == "") == (len(p.Command) == 0) {
		return jobs.Errorf(jobs.EINVALID, "process %q must have exactly one of builtin or command", p.Name)
	}
	for name, a := range p.Arguments {
		if !a.Type.Valid() {
			return jobs.Errorf(jobs.EINVALID, "process %q: argument %q has unknown type %q (use string, number, integer, boolean, object or array)", p.Name, name, a.Type)
		}
	}
	if err := c.AddTenant(t); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	td := c.tenantLocked(t)
	k := strings.ToLower(p.Name)
	if _, dup := td.processes[k]; dup {
		return jobs.Errorf(jobs.ECONFLICT, "tenant %s already has a process named %q", t, p.Name)
	}
	p.ID = int64(len(td.processes) + 1)
	td.processes[k] = p
	return nil
}

// Process returns the process named name in tenant t (case-insensitive): a declared one,
// else one stored through the API. A store that cannot be read within lookupTimeout counts
// as "no such process" here; robots use LookupProcess, which tells the two apart.
func (c *Catalog) Process(t jobs.Tenant, name string) (jobs.Process, bool) {
	p, err := c.LookupProcess(t, name)
	return p, err == nil
}

// LookupProcess returns the process named name in tenant t: declared in the config file (or
// by --dev), else created through the management API. Codes: ENOTFOUND; ECONFLICT for an
// API-made command release the tenant may not run; the store's codes (EUNAVAILABLE…) when
// the API-made ones cannot be read.
func (c *Catalog) LookupProcess(t jobs.Tenant, name string) (jobs.Process, error) {
	if p, ok := c.declaredProcess(t, name); ok {
		return p, nil
	}
	defs := c.definitions()
	if defs == nil {
		return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no process %q", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	p, err := defs.ReleaseByName(ctx, t, name)
	if err == nil {
		// A command release stored before its tenant lost allowApiCommands (or before this
		// server refused unsandboxed ones) does not run.
		err = c.checkAPICommand(t, p)
	}
	return p, err
}

// lookupTimeout bounds the store reads of lookups that have no request context.
const lookupTimeout = 5 * time.Second

// declaredProcess returns the process named name declared in the config file (or by --dev).
func (c *Catalog) declaredProcess(t jobs.Tenant, name string) (jobs.Process, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if td := c.tenants[t]; td != nil {
		p, ok := td.processes[strings.ToLower(name)]
		return p, ok
	}
	return jobs.Process{}, false
}

// AddTrigger declares a trigger in tenant t; its process must exist already.
// Codes: EINVALID, ECONFLICT (slug taken).
func (c *Catalog) AddTrigger(t jobs.Tenant, tr Trigger) error {
	if !validSlug(tr.Slug) {
		return jobs.Errorf(jobs.EINVALID, "trigger slug %q is not valid: 1 to 128 printable characters without '/', '?', '#', '%%' or spaces", tr.Slug)
	}
	tr.Method = strings.ToUpper(tr.Method)
	if tr.Method == "" {
		tr.Method = http.MethodPost
	}
	if !contains(Methods, tr.Method) {
		return jobs.Errorf(jobs.EINVALID, "trigger %q: method %q is not one of GET, POST, PUT, DELETE", tr.Slug, tr.Method)
	}
	if tr.CallMode == "" {
		tr.CallMode = jobs.AsyncRequestReply
	}
	mode, ok := jobs.ParseCallMode(string(tr.CallMode))
	if !ok {
		return jobs.Errorf(jobs.EINVALID, "trigger %q: unknown call mode %q (use AsyncRequestReply, FireAndForget or LongPolling)", tr.Slug, tr.CallMode)
	}
	tr.CallMode = mode
	proc, ok := c.Process(t, tr.ReleaseName)
	if !ok {
		return jobs.Errorf(jobs.EINVALID, "trigger %q: tenant %s has no process %q", tr.Slug, t, tr.ReleaseName)
	}
	if _, err := jobs.BindArguments(proc.Arguments, nil, tr.Arguments, false); err != nil {
		// Missing required arguments are fine here: callers supply them.
		if bad := unexpected(err); bad != "" {
			return jobs.Errorf(jobs.EINVALID, "trigger %q: arguments: %s", tr.Slug, bad)
		}
	}
	tr.ReleaseName = proc.Name
	c.mu.Lock()
	defer c.mu.Unlock()
	td := c.tenantLocked(t)
	k := strings.ToLower(tr.Slug)
	if _, dup := td.triggers[k]; dup {
		return jobs.Errorf(jobs.ECONFLICT, "tenant %s already has a trigger %q (slugs are case-insensitive)", t, tr.Slug)
	}
	tr.ID = int64(len(td.triggers) + 1)
	td.triggers[k] = tr
	return nil
}

// unexpected returns the argument errors other than missing required ones.
func unexpected(err error) string {
	e, ok := err.(*jobs.Error)
	if !ok {
		return err.Error()
	}
	var parts []string
	for _, f := range e.Fields {
		if !strings.HasPrefix(f.Detail, "required argument") {
			parts = append(parts, fmt.Sprintf("%s: %s", f.Name, f.Detail))
		}
	}
	return strings.Join(parts, "; ")
}

// Trigger returns the trigger with the given slug (case-insensitive) in tenant t, with its
// process: a declared trigger costs no store access, an API-created one one round trip.
// Codes: ENOTFOUND, EUNAVAILABLE.
func (c *Catalog) Trigger(ctx context.Context, t jobs.Tenant, slug string) (Trigger, jobs.Process, error) {
	c.mu.RLock()
	if td := c.tenants[t]; td != nil {
		if tr, ok := td.triggers[strings.ToLower(slug)]; ok {
			p, ok := td.processes[strings.ToLower(tr.ReleaseName)]
			c.mu.RUnlock()
			if !ok {
				return Trigger{}, jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "trigger %q: its process %q no longer exists", slug, tr.ReleaseName)
			}
			return tr, p, nil
		}
	}
	defs := c.store.Definitions
	c.mu.RUnlock()
	if defs != nil {
		tr, rel, err := defs.TriggerBySlug(ctx, t, slug)
		switch {
		case err == nil:
			// A declared process wins over a stored one of the same name (should a config
			// file come to declare one), as it does for the robots' lookup.
			if p, ok := c.declaredProcess(t, tr.ReleaseName); ok {
				return tr, p, nil
			}
			if rel != nil {
				return tr, *rel, nil
			}
			return Trigger{}, jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "trigger %q: its process %q no longer exists", tr.Slug, tr.ReleaseName)
		case jobs.ErrorCode(err) != jobs.ENOTFOUND:
			return Trigger{}, jobs.Process{}, err
		}
	}
	return Trigger{}, jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no trigger %q in tenant %s", slug, t)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
