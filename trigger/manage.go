package trigger

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
)

// StoreConfig connects a Catalog to the store of the resources the management API creates.
type StoreConfig struct {
	// Definitions stores releases, triggers and settings made through the API. Required.
	Definitions Definitions
	// Builtins are the builtin processes a release may name, with the arguments each
	// declares. Optional. Default none (only Command releases can be created).
	Builtins map[string]map[string]jobs.Argument
	// ConfigFile names the config file in the 409 answers about the settings it declares.
	// Optional. Default "the config file".
	ConfigFile string
	// SettingsTTL is how long tenant settings read from the store are reused, so how soon
	// a PUT Settings on another server is seen here. Optional. Default 1s.
	SettingsTTL time.Duration
	// Now is the clock of that cache. Optional. Default time.Now.
	Now func() time.Time
}

// Persist connects the catalogue to the store of API-made resources. Call it once, before
// serving.
func (c *Catalog) Persist(cfg StoreConfig) {
	if cfg.SettingsTTL <= 0 {
		cfg.SettingsTTL = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c.mu.Lock()
	c.store = cfg
	c.mu.Unlock()
}

func (c *Catalog) definitions() Definitions {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.store.Definitions
}

func (c *Catalog) builtins() map[string]map[string]jobs.Argument {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.store.Builtins
}

// needStore returns the Definitions, or EINTERNAL when Persist was never called.
func (c *Catalog) needStore() (Definitions, error) {
	if d := c.definitions(); d != nil {
		return d, nil
	}
	return nil, jobs.Errorf(jobs.EINTERNAL, "the catalogue has no store for API-made resources")
}

// ownedError is the 409 for changing a resource that the config file (or --dev) declares.
func ownedError(what, file string) *jobs.Error {
	return jobs.Errorf(jobs.ECONFLICT, "%s is declared in %s, which owns it: change it there, not through the API", what, fileName(file))
}

// fileName names where declared resources come from, for messages. Only the file's base
// name is shown: the server's directory layout is none of an API caller's business.
func fileName(file string) string {
	switch {
	case file == "":
		return "the config file"
	case strings.HasPrefix(file, "--"):
		return file + " (the development samples)"
	}
	return "the config file " + filepath.Base(file)
}

// declared returns copies of tenant t's declared processes and triggers, in Id order.
func (c *Catalog) declared(t jobs.Tenant) ([]jobs.Process, []Trigger) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	td := c.tenants[t]
	if td == nil {
		return nil, nil
	}
	ps := make([]jobs.Process, 0, len(td.processes))
	for _, p := range td.processes {
		ps = append(ps, p)
	}
	ts := make([]Trigger, 0, len(td.triggers))
	for _, tr := range td.triggers {
		ts = append(ts, tr)
	}
	sort.Slice(ps, func(i, k int) bool { return ps[i].ID < ps[k].ID })
	sort.Slice(ts, func(i, k int) bool { return ts[i].ID < ts[k].ID })
	return ps, ts
}

// maxDeclaredIDs returns the highest Id of tenant t's declared processes and triggers, so
// that API-made ones are numbered above them.
func (c *Catalog) maxDeclaredIDs(t jobs.Tenant) (process, trigger int64) {
	ps, ts := c.declared(t)
	if len(ps) > 0 {
		process = ps[len(ps)-1].ID
	}
	if len(ts) > 0 {
		trigger = ts[len(ts)-1].ID
	}
	return process, trigger
}

// Releases returns all of tenant t's releases: declared, then stored, in Id order.
func (c *Catalog) Releases(ctx context.Context, t jobs.Tenant) ([]jobs.Process, error) {
	out, _ := c.declared(t)
	if defs := c.definitions(); defs != nil {
		stored, err := defs.ListReleases(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, stored...)
	}
	sort.SliceStable(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// Release returns tenant t's release with the given Id. Codes: ENOTFOUND.
func (c *Catalog) Release(ctx context.Context, t jobs.Tenant, id int64) (jobs.Process, error) {
	ps, _ := c.declared(t)
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	if defs := c.definitions(); defs != nil {
		p, err := defs.ReleaseByID(ctx, t, id)
		if jobs.ErrorCode(err) != jobs.ENOTFOUND {
			return p, err
		}
	}
	return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "release %d not found", id)
}

// ReleaseByKey returns tenant t's release with the given Key. Codes: ENOTFOUND.
func (c *Catalog) ReleaseByKey(ctx context.Context, t jobs.Tenant, key string) (jobs.Process, error) {
	all, err := c.Releases(ctx, t)
	if err != nil {
		return jobs.Process{}, err
	}
	for _, p := range all {
		if strings.EqualFold(p.Key, key) {
			return p, nil
		}
	}
	return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no release has the Key %q", key)
}

// ReleaseByName returns tenant t's release named name (case-insensitive). Codes: ENOTFOUND.
func (c *Catalog) ReleaseByName(ctx context.Context, t jobs.Tenant, name string) (jobs.Process, error) {
	if p, ok := c.declaredProcess(t, name); ok {
		return p, nil
	}
	if defs := c.definitions(); defs != nil {
		p, err := defs.ReleaseByName(ctx, t, name)
		if jobs.ErrorCode(err) != jobs.ENOTFOUND {
			return p, err
		}
	}
	return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no release is named %q", name)
}

// CreateRelease validates p and stores it as a new release of tenant t, with a new Key.
// Codes: EINVALID (naming each bad field), ECONFLICT (the name is taken; a Command the
// tenant may not define through the API).
func (c *Catalog) CreateRelease(ctx context.Context, t jobs.Tenant, p jobs.Process) (jobs.Process, error) {
	defs, err := c.needStore()
	if err != nil {
		return p, err
	}
	p.ID, p.Key, p.Source, p.File = 0, uuid.NewString(), jobs.SourceAPI, ""
	if err := c.checkRelease(&p); err != nil {
		return p, err
	}
	if err := c.checkAPICommand(t, p); err != nil {
		return p, err
	}
	if taken, ok := c.declaredProcess(t, p.Name); ok {
		return p, nameOwned(taken)
	}
	minID, _ := c.maxDeclaredIDs(t)
	return defs.CreateRelease(ctx, t, p, minID)
}

// nameOwned is the 409 for a name that a declared release has.
func nameOwned(taken jobs.Process) *jobs.Error {
	e := ownedError(fmt.Sprintf("a release named %q", taken.Name), taken.File)
	e.Fields = []jobs.FieldError{{Name: "Name", Detail: "is taken by a release of the config file"}}
	return e
}

// ReplaceRelease validates p and replaces the stored release p.ID with it (its Key stays).
// Codes: ENOTFOUND, EINVALID, ECONFLICT (declared in the config file; name taken; renamed
// while triggers use it; new arguments that triggers using it would break).
func (c *Catalog) ReplaceRelease(ctx context.Context, t jobs.Tenant, p jobs.Process) (jobs.Process, error) {
	old, err := c.EditableRelease(ctx, t, p.ID)
	if err != nil {
		return p, err
	}
	p.Key, p.Source, p.File = old.Key, jobs.SourceAPI, ""
	if err := c.checkRelease(&p); err != nil {
		return p, err
	}
	if err := c.checkAPICommand(t, p); err != nil {
		return p, err
	}
	if taken, ok := c.declaredProcess(t, p.Name); ok {
		return p, nameOwned(taken)
	}
	if err := c.checkUsers(ctx, t, old, p); err != nil {
		return p, err
	}
	return c.definitions().ReplaceRelease(ctx, t, p)
}

// EditableRelease returns tenant t's release id if the API may change it: 409 for one the
// config file declares. Codes: ENOTFOUND, ECONFLICT.
func (c *Catalog) EditableRelease(ctx context.Context, t jobs.Tenant, id int64) (jobs.Process, error) {
	defs, err := c.needStore()
	if err != nil {
		return jobs.Process{}, err
	}
	ps, _ := c.declared(t)
	for _, p := range ps {
		if p.ID == id {
			return p, ownedError(fmt.Sprintf("release %d (%q)", id, p.Name), p.File)
		}
	}
	p, err := defs.ReleaseByID(ctx, t, id)
	if jobs.ErrorCode(err) == jobs.ENOTFOUND {
		return p, jobs.Errorf(jobs.ENOTFOUND, "release %d not found", id)
	}
	return p, err
}

// checkUsers refuses a release change that would break the stored triggers using it: their
// own arguments must still be accepted. (The store refuses renames atomically; this check
// reads the triggers first, so a trigger created at the same moment can slip through.)
func (c *Catalog) checkUsers(ctx context.Context, t jobs.Tenant, old, p jobs.Process) error {
	triggers, err := c.definitions().ListTriggers(ctx, t)
	if err != nil {
		return err
	}
	var broken []string
	for _, tr := range triggers {
		if !strings.EqualFold(tr.ReleaseName, old.Name) {
			continue
		}
		if _, err := jobs.BindArguments(p.Arguments, nil, tr.Arguments, false); err != nil {
			if bad := unexpected(err); bad != "" {
				broken = append(broken, fmt.Sprintf("%q (%s)", tr.Slug, bad))
			}
		}
	}
	if len(broken) > 0 {
		return &jobs.Error{Code: jobs.ECONFLICT,
			Message: "the new Arguments do not accept what these API triggers set: " + strings.Join(broken, "; "),
			Fields:  []jobs.FieldError{{Name: "Arguments", Detail: "would break API triggers that use this release"}}}
	}
	return nil
}

// DeleteRelease deletes tenant t's stored release id.
// Codes: ENOTFOUND, ECONFLICT (declared in the config file, or used by triggers).
func (c *Catalog) DeleteRelease(ctx context.Context, t jobs.Tenant, id int64) error {
	if _, err := c.EditableRelease(ctx, t, id); err != nil {
		return err
	}
	err := c.definitions().DeleteRelease(ctx, t, id)
	if jobs.ErrorCode(err) == jobs.ENOTFOUND {
		return jobs.Errorf(jobs.ENOTFOUND, "release %d not found", id)
	}
	return err
}

// Triggers returns all of tenant t's triggers: declared, then stored, in Id order.
func (c *Catalog) Triggers(ctx context.Context, t jobs.Tenant) ([]Trigger, error) {
	_, out := c.declared(t)
	if defs := c.definitions(); defs != nil {
		stored, err := defs.ListTriggers(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, stored...)
	}
	sort.SliceStable(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// TriggerByID returns tenant t's trigger with the given Id. Codes: ENOTFOUND.
func (c *Catalog) TriggerByID(ctx context.Context, t jobs.Tenant, id int64) (Trigger, error) {
	_, ts := c.declared(t)
	for _, tr := range ts {
		if tr.ID == id {
			return tr, nil
		}
	}
	if defs := c.definitions(); defs != nil {
		tr, err := defs.TriggerByID(ctx, t, id)
		if jobs.ErrorCode(err) != jobs.ENOTFOUND {
			return tr, err
		}
	}
	return Trigger{}, jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", id)
}

// CreateTrigger validates tr and stores it as a new trigger of tenant t, with a new Key.
// Codes: EINVALID (naming each bad field), ECONFLICT (the slug is taken).
func (c *Catalog) CreateTrigger(ctx context.Context, t jobs.Tenant, tr Trigger) (Trigger, error) {
	defs, err := c.needStore()
	if err != nil {
		return tr, err
	}
	tr.ID, tr.Key, tr.Source, tr.File = 0, uuid.NewString(), jobs.SourceAPI, ""
	stored, err := c.checkTrigger(ctx, t, &tr)
	if err != nil {
		return tr, err
	}
	if taken, ok := c.declaredTrigger(t, tr.Slug); ok {
		return tr, slugOwned(taken)
	}
	_, minID := c.maxDeclaredIDs(t)
	return defs.CreateTrigger(ctx, t, tr, stored, minID)
}

func slugOwned(taken Trigger) *jobs.Error {
	e := ownedError(fmt.Sprintf("a trigger %q", taken.Slug), taken.File)
	e.Fields = []jobs.FieldError{{Name: "Slug", Detail: "is taken by a trigger of the config file"}}
	return e
}

func (c *Catalog) declaredTrigger(t jobs.Tenant, slug string) (Trigger, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if td := c.tenants[t]; td != nil {
		tr, ok := td.triggers[strings.ToLower(slug)]
		return tr, ok
	}
	return Trigger{}, false
}

// ReplaceTrigger validates tr and replaces the stored trigger tr.ID with it (its Key stays).
// Codes: ENOTFOUND, EINVALID, ECONFLICT (declared in the config file; slug taken).
func (c *Catalog) ReplaceTrigger(ctx context.Context, t jobs.Tenant, tr Trigger) (Trigger, error) {
	old, err := c.EditableTrigger(ctx, t, tr.ID)
	if err != nil {
		return tr, err
	}
	tr.Key, tr.Source, tr.File = old.Key, jobs.SourceAPI, ""
	stored, err := c.checkTrigger(ctx, t, &tr)
	if err != nil {
		return tr, err
	}
	if taken, ok := c.declaredTrigger(t, tr.Slug); ok {
		return tr, slugOwned(taken)
	}
	out, err := c.definitions().ReplaceTrigger(ctx, t, tr, stored)
	if jobs.ErrorCode(err) == jobs.ENOTFOUND {
		return out, jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", tr.ID)
	}
	return out, err
}

// EditableTrigger returns tenant t's trigger id if the API may change it: 409 for one the
// config file declares. Codes: ENOTFOUND, ECONFLICT.
func (c *Catalog) EditableTrigger(ctx context.Context, t jobs.Tenant, id int64) (Trigger, error) {
	defs, err := c.needStore()
	if err != nil {
		return Trigger{}, err
	}
	_, ts := c.declared(t)
	for _, tr := range ts {
		if tr.ID == id {
			return tr, ownedError(fmt.Sprintf("API trigger %d (%q)", id, tr.Slug), tr.File)
		}
	}
	tr, err := defs.TriggerByID(ctx, t, id)
	if jobs.ErrorCode(err) == jobs.ENOTFOUND {
		return tr, jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", id)
	}
	return tr, err
}

// DeleteTrigger deletes tenant t's stored trigger id.
// Codes: ENOTFOUND, ECONFLICT (declared in the config file).
func (c *Catalog) DeleteTrigger(ctx context.Context, t jobs.Tenant, id int64) error {
	if _, err := c.EditableTrigger(ctx, t, id); err != nil {
		return err
	}
	err := c.definitions().DeleteTrigger(ctx, t, id)
	if jobs.ErrorCode(err) == jobs.ENOTFOUND {
		return jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", id)
	}
	return err
}

// SourceDefault is the Source of settings that neither the config file nor the API set.
const SourceDefault = "Default"

// SettingsInfo is a tenant's settings and where they come from.
type SettingsInfo struct {
	Settings callmode.Settings
	// Source is jobs.SourceConfig (the config file declares them), jobs.SourceAPI (set
	// through the API) or SourceDefault.
	Source string
	// File names the config file when Source is jobs.SourceConfig.
	File string
}

// TenantSettings returns tenant t's settings, read from the store (not the cache) when the
// config file does not declare them.
func (c *Catalog) TenantSettings(ctx context.Context, t jobs.Tenant) (SettingsInfo, error) {
	if info, ok := c.declaredSettings(t); ok {
		return info, nil
	}
	defs, err := c.needStore()
	if err != nil {
		return SettingsInfo{}, err
	}
	s, ok, err := defs.Settings(ctx, t)
	if err != nil {
		return SettingsInfo{}, err
	}
	c.remember(t, s, ok)
	if !ok {
		return SettingsInfo{Settings: callmode.DefaultSettings(), Source: SourceDefault}, nil
	}
	return SettingsInfo{Settings: s, Source: jobs.SourceAPI}, nil
}

// PutSettings validates and stores tenant t's settings.
// Codes: EINVALID, ECONFLICT (the config file declares the tenant's settings).
func (c *Catalog) PutSettings(ctx context.Context, t jobs.Tenant, s callmode.Settings) (SettingsInfo, error) {
	if info, ok := c.declaredSettings(t); ok {
		return info, jobs.Errorf(jobs.ECONFLICT, "the settings of tenant %s are declared in %s, which owns them: change them there, not through the API",
			t, fileName(info.File))
	}
	defs, err := c.needStore()
	if err != nil {
		return SettingsInfo{}, err
	}
	if err := s.Validate(); err != nil {
		return SettingsInfo{}, err
	}
	if err := defs.PutSettings(ctx, t, s); err != nil {
		return SettingsInfo{}, err
	}
	c.remember(t, s, true)
	return SettingsInfo{Settings: s, Source: jobs.SourceAPI}, nil
}

func (c *Catalog) declaredSettings(t jobs.Tenant) (SettingsInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if td := c.tenants[t]; td != nil && td.settingsDeclared {
		return SettingsInfo{Settings: td.settings, Source: jobs.SourceConfig, File: c.store.ConfigFile}, true
	}
	return SettingsInfo{}, false
}

// cachedSettings is a tenant's settings as last read from the store.
type cachedSettings struct {
	s      callmode.Settings
	stored bool
	at     time.Time
}

// maxCachedTenants bounds the settings cache: tenant names come from URLs, and the status
// routes read settings before any token is checked.
const maxCachedTenants = 10000

// storedSettings returns the tenant's stored settings (or the defaults), from the cache
// while it is fresh. A store error answers with the last settings read, or the defaults.
func (c *Catalog) storedSettings(t jobs.Tenant) (callmode.Settings, bool) {
	c.mu.RLock()
	cfg := c.store
	c.mu.RUnlock()
	c.cacheMu.Lock()
	hit, ok := c.settingsCache[t]
	c.cacheMu.Unlock()
	if ok && cfg.Now().Sub(hit.at) < cfg.SettingsTTL {
		return hit.s, hit.stored
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	s, stored, err := cfg.Definitions.Settings(ctx, t)
	if err != nil {
		if ok {
			return hit.s, hit.stored
		}
		return callmode.DefaultSettings(), false
	}
	if !stored {
		s = callmode.DefaultSettings()
	}
	c.remember(t, s, stored)
	return s, stored
}

// remember caches settings read from or written to the store.
func (c *Catalog) remember(t jobs.Tenant, s callmode.Settings, stored bool) {
	if !stored {
		s = callmode.DefaultSettings()
	}
	c.mu.RLock()
	now := c.store.Now
	c.mu.RUnlock()
	if now == nil {
		now = time.Now
	}
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	if _, ok := c.settingsCache[t]; !ok && len(c.settingsCache) >= maxCachedTenants {
		clear(c.settingsCache)
	}
	c.settingsCache[t] = cachedSettings{s: s, stored: stored, at: now()}
}
