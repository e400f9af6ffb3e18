package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/trigger"
)

// The management API's resources (trigger.Definitions). Each change is one script over the
// tenant's hashes (keys.go), so name and slug uniqueness and "no trigger loses its release"
// hold however many servers write at once. Replace and delete scripts take the name or
// slug the caller read and refuse with 'stale' when it changed meanwhile; the caller then
// reads again (a rename racing with another change).

var _ trigger.Definitions = (*Store)(nil)

// storedRelease is a release as Redis keeps it; its id is the hash field.
type storedRelease struct {
	Key         string                   `json:"key"`
	Name        string                   `json:"name"`
	ProcessKey  string                   `json:"processKey"`
	Description string                   `json:"description,omitempty"`
	Builtin     string                   `json:"builtin,omitempty"`
	Command     []string                 `json:"command,omitempty"`
	Env         map[string]string        `json:"env,omitempty"`
	WorkingDir  string                   `json:"workingDir,omitempty"`
	Timeout     time.Duration            `json:"timeoutNs,omitempty"`
	Arguments   map[string]jobs.Argument `json:"arguments,omitempty"`
}

// storedTrigger is a trigger as Redis keeps it; its id is the hash field.
type storedTrigger struct {
	Key         string         `json:"key"`
	Slug        string         `json:"slug"`
	ReleaseName string         `json:"releaseName"`
	Method      string         `json:"method"`
	CallMode    string         `json:"callMode"`
	Enabled     bool           `json:"enabled"`
	Arguments   map[string]any `json:"arguments,omitempty"`
}

func encodeRelease(p jobs.Process) string {
	return mustJSON(storedRelease{Key: p.Key, Name: p.Name, ProcessKey: p.ProcessKey, Description: p.Description,
		Builtin: p.Builtin, Command: p.Command, Env: p.Env, WorkingDir: p.WorkingDir, Timeout: p.Timeout, Arguments: p.Arguments})
}

func encodeTrigger(tr trigger.Trigger) string {
	return mustJSON(storedTrigger{Key: tr.Key, Slug: tr.Slug, ReleaseName: tr.ReleaseName, Method: tr.Method,
		CallMode: string(tr.CallMode), Enabled: tr.Enabled, Arguments: tr.Arguments})
}

// decodeExact decodes JSON keeping numbers exact (json.Number), as argument values need.
func decodeExact(data string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.UseNumber()
	return dec.Decode(v)
}

func corrupt(what, id string, err error) error {
	return &jobs.Error{Code: jobs.EINTERNAL, Message: "a stored " + what + " is corrupt",
		Err: fmt.Errorf("redisstore: %s %s: %w", what, id, err)}
}

func decodeRelease(id, data string) (jobs.Process, error) {
	var r storedRelease
	n, err := strconv.ParseInt(id, 10, 64)
	if err == nil {
		err = decodeExact(data, &r)
	}
	if err != nil {
		return jobs.Process{}, corrupt("release", id, err)
	}
	return jobs.Process{ID: n, Key: r.Key, Name: r.Name, ProcessKey: r.ProcessKey, Description: r.Description,
		Builtin: r.Builtin, Command: r.Command, Env: r.Env, WorkingDir: r.WorkingDir, Timeout: r.Timeout,
		Arguments: r.Arguments, Source: jobs.SourceAPI}, nil
}

func decodeTrigger(id, data string) (trigger.Trigger, error) {
	var r storedTrigger
	n, err := strconv.ParseInt(id, 10, 64)
	if err == nil {
		err = decodeExact(data, &r)
	}
	if err != nil {
		return trigger.Trigger{}, corrupt("trigger", id, err)
	}
	return trigger.Trigger{ID: n, Key: r.Key, Slug: r.Slug, ReleaseName: r.ReleaseName, Method: r.Method,
		CallMode: jobs.CallMode(r.CallMode), Enabled: r.Enabled, Arguments: r.Arguments, Source: jobs.SourceAPI}, nil
}

// defScript builds a script of this file with the helper it shares.
func defScript(body string) *redis.Script {
	return redis.NewScript(`
-- users returns id, JSON pairs of the triggers (hash trg) whose release (hash trgrel) is name.
local function users(trgrel, trg, name)
  local out = {}
  local kv = redis.call('HGETALL', trgrel)
  for i = 1, #kv, 2 do
    if kv[i+1] == name then
      out[#out+1] = kv[i]
      out[#out+1] = redis.call('HGET', trg, kv[i])
    end
  end
  return out
end
` + body)
}

// outcome reads a script's reply: {1, …} is success, {0, reason, …} a refusal.
func outcome(res []any) (ok bool, reason string, rest []any) {
	if len(res) > 0 && res[0] == int64(1) {
		return true, "", res[1:]
	}
	if len(res) > 1 {
		reason, _ = res[1].(string)
		return false, reason, res[2:]
	}
	return false, "unexpected reply", nil
}

// usedBy turns the id, JSON pairs of a 'used' refusal into the ECONFLICT naming them.
func usedBy(release string, pairs []any) error {
	type user struct {
		id   int64
		slug string
	}
	var users []user
	for i := 0; i+1 < len(pairs); i += 2 {
		id, _ := pairs[i].(string)
		data, _ := pairs[i+1].(string)
		tr, err := decodeTrigger(id, data)
		if err != nil {
			return err
		}
		users = append(users, user{tr.ID, tr.Slug})
	}
	sort.Slice(users, func(i, k int) bool { return users[i].id < users[k].id })
	slugs := make([]string, len(users))
	for i, u := range users {
		slugs[i] = u.slug
	}
	return trigger.UsedByError(release, slugs)
}

// staleRetries is how often a replace or delete reads again after a concurrent rename.
const staleRetries = 5

// ListReleases implements trigger.Definitions.
func (s *Store) ListReleases(ctx context.Context, t jobs.Tenant) ([]jobs.Process, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.rel(t.String())).Result()
	if err != nil {
		return nil, s.wrap("list releases", err)
	}
	out := make([]jobs.Process, 0, len(h))
	for id, data := range h {
		p, err := decodeRelease(id, data)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// ReleaseByID implements trigger.Definitions.
func (s *Store) ReleaseByID(ctx context.Context, t jobs.Tenant, id int64) (jobs.Process, error) {
	idText := strconv.FormatInt(id, 10)
	data, err := s.rdb.HGet(ctx, s.keys.rel(t.String()), idText).Result()
	if err == redis.Nil {
		return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "release %d not found", id)
	}
	if err != nil {
		return jobs.Process{}, s.wrap("get release", err)
	}
	return decodeRelease(idText, data)
}

// releaseByNameScript reads a release by name in one round trip.
//
//	KEYS[1] relname   KEYS[2] rel
//	ARGV[1] lower-cased name
//
// Returns {id, release JSON}, or {} when there is none.
var releaseByNameScript = defScript(`
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return {} end
local data = redis.call('HGET', KEYS[2], id)
if not data then return {} end
return {id, data}
`)

// ReleaseByName implements trigger.Definitions. It is on every robot's path (one round trip).
func (s *Store) ReleaseByName(ctx context.Context, t jobs.Tenant, name string) (jobs.Process, error) {
	ts := t.String()
	res, err := releaseByNameScript.Run(ctx, s.rdb, []string{s.keys.relName(ts), s.keys.rel(ts)}, strings.ToLower(name)).StringSlice()
	if err != nil {
		return jobs.Process{}, s.wrap("get release by name", err)
	}
	if len(res) != 2 {
		return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no release is named %q", name)
	}
	return decodeRelease(res[0], res[1])
}

// createReleaseScript stores a new release.
//
//	KEYS[1] rel   KEYS[2] relname   KEYS[3] defids
//	ARGV[1] lower-cased name   ARGV[2] release JSON   ARGV[3] the id to stay above
//
// Returns {1, id}; {0, 'taken'} when a release has the name.
var createReleaseScript = defScript(`
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {0, 'taken'} end
local id = redis.call('HINCRBY', KEYS[3], 'release', 1)
if id <= tonumber(ARGV[3]) then
  id = tonumber(ARGV[3]) + 1
  redis.call('HSET', KEYS[3], 'release', id)
end
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
return {1, id}
`)

// CreateRelease implements trigger.Definitions.
func (s *Store) CreateRelease(ctx context.Context, t jobs.Tenant, p jobs.Process, minID int64) (jobs.Process, error) {
	ts := t.String()
	res, err := createReleaseScript.Run(ctx, s.rdb, []string{s.keys.rel(ts), s.keys.relName(ts), s.keys.defIDs(ts)},
		strings.ToLower(p.Name), encodeRelease(p), minID).Slice()
	if err != nil {
		return jobs.Process{}, s.wrap("create release", err)
	}
	ok, reason, rest := outcome(res)
	switch {
	case ok && len(rest) == 1:
		p.ID, _ = rest[0].(int64)
		p.Source, p.File = jobs.SourceAPI, ""
		return p, nil
	case reason == "taken":
		return jobs.Process{}, trigger.NameTakenError(p.Name)
	}
	return jobs.Process{}, s.wrap("create release", errUnexpected(res))
}

// replaceReleaseScript replaces a release, renaming it when its name changed.
//
//	KEYS[1] rel   KEYS[2] relname   KEYS[3] trgrel   KEYS[4] trg
//	ARGV[1] id   ARGV[2] its lower-cased name as the caller read it
//	ARGV[3] the new lower-cased name   ARGV[4] release JSON
//
// Returns {1}; {0, 'notfound'}; {0, 'stale'} when the name changed since the caller read
// it; {0, 'taken'} when another release has the new name; {0, 'used', id, trigger JSON, …}
// when renaming a release that triggers use.
var replaceReleaseScript = defScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {0, 'notfound'} end
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[1] then return {0, 'stale'} end
if ARGV[3] ~= ARGV[2] then
  if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return {0, 'taken'} end
  local u = users(KEYS[3], KEYS[4], ARGV[2])
  if #u > 0 then return {0, 'used', unpack(u)} end
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return {1}
`)

// ReplaceRelease implements trigger.Definitions.
func (s *Store) ReplaceRelease(ctx context.Context, t jobs.Tenant, p jobs.Process) (jobs.Process, error) {
	ts := t.String()
	keys := []string{s.keys.rel(ts), s.keys.relName(ts), s.keys.trgRel(ts), s.keys.trg(ts)}
	for range staleRetries {
		old, err := s.ReleaseByID(ctx, t, p.ID)
		if err != nil {
			return jobs.Process{}, err
		}
		res, err := replaceReleaseScript.Run(ctx, s.rdb, keys, p.ID, strings.ToLower(old.Name), strings.ToLower(p.Name), encodeRelease(p)).Slice()
		if err != nil {
			return jobs.Process{}, s.wrap("replace release", err)
		}
		ok, reason, rest := outcome(res)
		switch {
		case ok:
			p.Source, p.File = jobs.SourceAPI, ""
			return p, nil
		case reason == "notfound":
			return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "release %d not found", p.ID)
		case reason == "taken":
			return jobs.Process{}, trigger.NameTakenError(p.Name)
		case reason == "used":
			return jobs.Process{}, usedBy(old.Name, rest)
		case reason != "stale":
			return jobs.Process{}, s.wrap("replace release", errUnexpected(res))
		}
	}
	return jobs.Process{}, jobs.Errorf(jobs.ECONFLICT, "release %d keeps changing; try again", p.ID)
}

// deleteReleaseScript deletes a release that no trigger uses.
//
//	KEYS[1] rel   KEYS[2] relname   KEYS[3] trgrel   KEYS[4] trg
//	ARGV[1] id   ARGV[2] its lower-cased name as the caller read it
//
// Returns {1}; {0, 'notfound'}; {0, 'stale'}; {0, 'used', id, trigger JSON, …}.
var deleteReleaseScript = defScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {0, 'notfound'} end
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[1] then return {0, 'stale'} end
local u = users(KEYS[3], KEYS[4], ARGV[2])
if #u > 0 then return {0, 'used', unpack(u)} end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[2])
return {1}
`)

// DeleteRelease implements trigger.Definitions.
func (s *Store) DeleteRelease(ctx context.Context, t jobs.Tenant, id int64) error {
	ts := t.String()
	keys := []string{s.keys.rel(ts), s.keys.relName(ts), s.keys.trgRel(ts), s.keys.trg(ts)}
	for range staleRetries {
		old, err := s.ReleaseByID(ctx, t, id)
		if err != nil {
			return err
		}
		res, err := deleteReleaseScript.Run(ctx, s.rdb, keys, id, strings.ToLower(old.Name)).Slice()
		if err != nil {
			return s.wrap("delete release", err)
		}
		ok, reason, rest := outcome(res)
		switch {
		case ok:
			return nil
		case reason == "notfound":
			return jobs.Errorf(jobs.ENOTFOUND, "release %d not found", id)
		case reason == "used":
			return usedBy(old.Name, rest)
		case reason != "stale":
			return s.wrap("delete release", errUnexpected(res))
		}
	}
	return jobs.Errorf(jobs.ECONFLICT, "release %d keeps changing; try again", id)
}

// ListTriggers implements trigger.Definitions.
func (s *Store) ListTriggers(ctx context.Context, t jobs.Tenant) ([]trigger.Trigger, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.trg(t.String())).Result()
	if err != nil {
		return nil, s.wrap("list triggers", err)
	}
	out := make([]trigger.Trigger, 0, len(h))
	for id, data := range h {
		tr, err := decodeTrigger(id, data)
		if err != nil {
			return nil, err
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// TriggerByID implements trigger.Definitions.
func (s *Store) TriggerByID(ctx context.Context, t jobs.Tenant, id int64) (trigger.Trigger, error) {
	idText := strconv.FormatInt(id, 10)
	data, err := s.rdb.HGet(ctx, s.keys.trg(t.String()), idText).Result()
	if err == redis.Nil {
		return trigger.Trigger{}, jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", id)
	}
	if err != nil {
		return trigger.Trigger{}, s.wrap("get trigger", err)
	}
	return decodeTrigger(idText, data)
}

// triggerBySlugScript reads a trigger and its release in one round trip: it is on every
// invocation's path.
//
//	KEYS[1] trgslug   KEYS[2] trg   KEYS[3] trgrel   KEYS[4] relname   KEYS[5] rel
//	ARGV[1] lower-cased slug
//
// Returns {} when there is no such trigger; {id, trigger JSON} when its release is not
// stored here; {id, trigger JSON, release id, release JSON} when it is.
var triggerBySlugScript = defScript(`
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return {} end
local data = redis.call('HGET', KEYS[2], id)
if not data then return {} end
local rel = redis.call('HGET', KEYS[3], id)
local rid = rel and redis.call('HGET', KEYS[4], rel)
local rdata = rid and redis.call('HGET', KEYS[5], rid)
if rdata then return {id, data, rid, rdata} end
return {id, data}
`)

// TriggerBySlug implements trigger.Definitions.
func (s *Store) TriggerBySlug(ctx context.Context, t jobs.Tenant, slug string) (trigger.Trigger, *jobs.Process, error) {
	ts := t.String()
	keys := []string{s.keys.trgSlug(ts), s.keys.trg(ts), s.keys.trgRel(ts), s.keys.relName(ts), s.keys.rel(ts)}
	res, err := triggerBySlugScript.Run(ctx, s.rdb, keys, strings.ToLower(slug)).StringSlice()
	if err != nil {
		return trigger.Trigger{}, nil, s.wrap("get trigger by slug", err)
	}
	if len(res) < 2 {
		return trigger.Trigger{}, nil, jobs.Errorf(jobs.ENOTFOUND, "no trigger %q", slug)
	}
	tr, err := decodeTrigger(res[0], res[1])
	if err != nil || len(res) < 4 {
		return tr, nil, err
	}
	p, err := decodeRelease(res[2], res[3])
	if err != nil {
		return tr, nil, err
	}
	return tr, &p, nil
}

// createTriggerScript stores a new trigger.
//
//	KEYS[1] trg   KEYS[2] trgslug   KEYS[3] trgrel   KEYS[4] relname   KEYS[5] defids
//	ARGV[1] lower-cased slug   ARGV[2] lower-cased release name
//	ARGV[3] '1' when that release must be stored here   ARGV[4] trigger JSON
//	ARGV[5] the id to stay above
//
// Returns {1, id}; {0, 'taken'} when a trigger has the slug; {0, 'norelease'}.
var createTriggerScript = defScript(`
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {0, 'taken'} end
if ARGV[3] == '1' and redis.call('HEXISTS', KEYS[4], ARGV[2]) == 0 then return {0, 'norelease'} end
local id = redis.call('HINCRBY', KEYS[5], 'trigger', 1)
if id <= tonumber(ARGV[5]) then
  id = tonumber(ARGV[5]) + 1
  redis.call('HSET', KEYS[5], 'trigger', id)
end
redis.call('HSET', KEYS[1], id, ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('HSET', KEYS[3], id, ARGV[2])
return {1, id}
`)

// CreateTrigger implements trigger.Definitions.
func (s *Store) CreateTrigger(ctx context.Context, t jobs.Tenant, tr trigger.Trigger, storedRelease bool, minID int64) (trigger.Trigger, error) {
	ts := t.String()
	keys := []string{s.keys.trg(ts), s.keys.trgSlug(ts), s.keys.trgRel(ts), s.keys.relName(ts), s.keys.defIDs(ts)}
	res, err := createTriggerScript.Run(ctx, s.rdb, keys, strings.ToLower(tr.Slug), strings.ToLower(tr.ReleaseName),
		flag(storedRelease), encodeTrigger(tr), minID).Slice()
	if err != nil {
		return trigger.Trigger{}, s.wrap("create trigger", err)
	}
	ok, reason, rest := outcome(res)
	switch {
	case ok && len(rest) == 1:
		tr.ID, _ = rest[0].(int64)
		tr.Source, tr.File = jobs.SourceAPI, ""
		return tr, nil
	case reason == "taken":
		return trigger.Trigger{}, trigger.SlugTakenError(tr.Slug)
	case reason == "norelease":
		return trigger.Trigger{}, trigger.NoReleaseError(tr.ReleaseName)
	}
	return trigger.Trigger{}, s.wrap("create trigger", errUnexpected(res))
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// replaceTriggerScript replaces a trigger.
//
//	KEYS[1] trg   KEYS[2] trgslug   KEYS[3] trgrel   KEYS[4] relname
//	ARGV[1] id   ARGV[2] its lower-cased slug as the caller read it   ARGV[3] new lower-cased slug
//	ARGV[4] lower-cased release name   ARGV[5] '1' when that release must be stored here
//	ARGV[6] trigger JSON
//
// Returns {1}; {0, 'notfound'}; {0, 'stale'}; {0, 'taken'}; {0, 'norelease'}.
var replaceTriggerScript = defScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {0, 'notfound'} end
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[1] then return {0, 'stale'} end
if ARGV[3] ~= ARGV[2] and redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return {0, 'taken'} end
if ARGV[5] == '1' and redis.call('HEXISTS', KEYS[4], ARGV[4]) == 0 then return {0, 'norelease'} end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[6])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return {1}
`)

// ReplaceTrigger implements trigger.Definitions.
func (s *Store) ReplaceTrigger(ctx context.Context, t jobs.Tenant, tr trigger.Trigger, storedRelease bool) (trigger.Trigger, error) {
	ts := t.String()
	keys := []string{s.keys.trg(ts), s.keys.trgSlug(ts), s.keys.trgRel(ts), s.keys.relName(ts)}
	for range staleRetries {
		old, err := s.TriggerByID(ctx, t, tr.ID)
		if err != nil {
			return trigger.Trigger{}, err
		}
		res, err := replaceTriggerScript.Run(ctx, s.rdb, keys, tr.ID, strings.ToLower(old.Slug), strings.ToLower(tr.Slug),
			strings.ToLower(tr.ReleaseName), flag(storedRelease), encodeTrigger(tr)).Slice()
		if err != nil {
			return trigger.Trigger{}, s.wrap("replace trigger", err)
		}
		ok, reason, _ := outcome(res)
		switch {
		case ok:
			tr.Source, tr.File = jobs.SourceAPI, ""
			return tr, nil
		case reason == "notfound":
			return trigger.Trigger{}, jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", tr.ID)
		case reason == "taken":
			return trigger.Trigger{}, trigger.SlugTakenError(tr.Slug)
		case reason == "norelease":
			return trigger.Trigger{}, trigger.NoReleaseError(tr.ReleaseName)
		case reason != "stale":
			return trigger.Trigger{}, s.wrap("replace trigger", errUnexpected(res))
		}
	}
	return trigger.Trigger{}, jobs.Errorf(jobs.ECONFLICT, "API trigger %d keeps changing; try again", tr.ID)
}

// deleteTriggerScript deletes a trigger.
//
//	KEYS[1] trg   KEYS[2] trgslug   KEYS[3] trgrel
//	ARGV[1] id   ARGV[2] its lower-cased slug as the caller read it
//
// Returns {1}; {0, 'notfound'}; {0, 'stale'}.
var deleteTriggerScript = defScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {0, 'notfound'} end
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[1] then return {0, 'stale'} end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[1])
return {1}
`)

// DeleteTrigger implements trigger.Definitions.
func (s *Store) DeleteTrigger(ctx context.Context, t jobs.Tenant, id int64) error {
	ts := t.String()
	keys := []string{s.keys.trg(ts), s.keys.trgSlug(ts), s.keys.trgRel(ts)}
	for range staleRetries {
		old, err := s.TriggerByID(ctx, t, id)
		if err != nil {
			return err
		}
		res, err := deleteTriggerScript.Run(ctx, s.rdb, keys, id, strings.ToLower(old.Slug)).Slice()
		if err != nil {
			return s.wrap("delete trigger", err)
		}
		ok, reason, _ := outcome(res)
		switch {
		case ok:
			return nil
		case reason == "notfound":
			return jobs.Errorf(jobs.ENOTFOUND, "API trigger %d not found", id)
		case reason != "stale":
			return s.wrap("delete trigger", errUnexpected(res))
		}
	}
	return jobs.Errorf(jobs.ECONFLICT, "API trigger %d keeps changing; try again", id)
}

// Settings implements trigger.Definitions.
func (s *Store) Settings(ctx context.Context, t jobs.Tenant) (callmode.Settings, bool, error) {
	data, err := s.rdb.Get(ctx, s.keys.settings(t.String())).Result()
	if err == redis.Nil {
		return callmode.Settings{}, false, nil
	}
	if err != nil {
		return callmode.Settings{}, false, s.wrap("get settings", err)
	}
	var st callmode.Settings
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		return st, false, corrupt("settings", t.String(), err)
	}
	return st, true, nil
}

// PutSettings implements trigger.Definitions.
func (s *Store) PutSettings(ctx context.Context, t jobs.Tenant, st callmode.Settings) error {
	return s.wrap("put settings", s.rdb.Set(ctx, s.keys.settings(t.String()), mustJSON(st), 0).Err())
}
