package redisstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/jobgate/jobgate/jobs"
)

// createScript stores a new Pending job, or finds the job of a repeated Idempotency-Key.
//
//	KEYS[1] job hash of the new job     KEYS[2] pending list
//	KEYS[3] tenant id counter           KEYS[4] tenant byid zset
//	KEYS[5] idempotency record (used when ARGV[4] == '1')
//	KEYS[6] tenant's Pending count (the maxPendingJobs quota)
//	ARGV[1] new job key   ARGV[2] now (unix ns)   ARGV[3] now (unix ms)
//	ARGV[4] '1' when an idempotency key is given  ARGV[5] fingerprint
//	ARGV[6] idempotency record expiry (unix ms, store clock)  ARGV[7] its Redis TTL (ms)
//	ARGV[8] key base "{P}:"  ARGV[9] deadline (unix ms) or ''
//	ARGV[10] most Pending jobs the tenant may have, 0 = no limit
//	ARGV[11…] field, value pairs of the job's fixed fields
//
// Returns {1, key, id} when created, {0, key} for the first job of a repeated key; an
// "UNPROCESSABLE …" error when the key was used with another fingerprint; "QUOTA <limit>"
// when the tenant has that many Pending jobs (a repeated key still finds its job).
var createScript = script(`
local base = ARGV[8]
if ARGV[4] == '1' then
  local rec = redis.call('GET', KEYS[5])
  if rec then
    local k, fp, exp = string.match(rec, '^([^|]*)|([^|]*)|(%d+)$')
    if k and tonumber(exp) > tonumber(ARGV[3]) and redis.call('EXISTS', base .. 'job:' .. k) == 1 then
      if fp ~= ARGV[5] then
        return redis.error_reply('UNPROCESSABLE this Idempotency-Key was already used with a different request')
      end
      return {0, k}
    end
  end
end
local maxPending = tonumber(ARGV[10])
if maxPending > 0 and tonumber(redis.call('GET', KEYS[6]) or '0') >= maxPending then
  return redis.error_reply('QUOTA ' .. ARGV[10])
end
redis.call('INCR', KEYS[6])
local id = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'id', id, 'key', ARGV[1], 'state', 'Pending', 'created', ARGV[2], unpack(ARGV, 11))
redis.call('ZADD', KEYS[4], id, ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[9] ~= '' then redis.call('ZADD', base .. 'deadlines', ARGV[9], ARGV[1]) end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[5], ARGV[1] .. '|' .. ARGV[5] .. '|' .. ARGV[6], 'PX', ARGV[7])
end
redis.call('PUBLISH', base .. 'work', ARGV[1] .. '|Pending')
return {1, ARGV[1], id}
`)

// Create implements jobs.Store.
func (s *Store) Create(ctx context.Context, req jobs.CreateRequest) (jobs.Job, bool, error) {
	j := req.Job
	t := j.TenantRef()
	now := s.now()
	j.Key = uuid.NewString()
	j.State = jobs.Pending
	j.CreationTime = now
	j.StartTime, j.EndTime = nil, nil
	deadline := ""
	if req.MaxRunTime > 0 {
		d := now.Add(req.MaxRunTime)
		j.Deadline = &d
		deadline = ms(d)
	}
	idem, idemKey := "0", s.keys.idem(t.String(), req.Scope, "-")
	if req.IdempotencyKey != "" {
		idem, idemKey = "1", s.keys.idem(t.String(), req.Scope, req.IdempotencyKey)
	}
	deadlineNS := ""
	if j.Deadline != nil {
		deadlineNS = ns(*j.Deadline)
	}
	args := []any{
		j.Key, ns(now), ms(now), idem, req.Fingerprint, ms(now.Add(s.cfg.IdempotencyTTL)),
		s.cfg.IdempotencyTTL.Milliseconds(), s.keys.base, deadline, max(req.MaxPending, 0),
		fOrg, j.Org, fTenant, j.Tenant, fInput, mustJSON(orEmpty(j.InputArguments)),
		fRelease, mustJSON(j.Release), fSource, j.Source, fSrcType, j.SourceType,
		fMode, string(j.CallMode), fSlug, j.TriggerSlug, fProcess, j.ProcessName,
		fRelName, j.ReleaseName, fDeadline, deadlineNS, fDInfo, j.DeadlineInfo,
	}
	res, err := createScript.Run(ctx, s.rdb, []string{s.keys.job(j.Key), s.keys.pending(), s.keys.ids(t.String()), s.keys.byID(t.String()), idemKey, s.keys.nPending(t.String())}, args...).Slice()
	if err != nil && strings.HasPrefix(err.Error(), "QUOTA ") {
		return jobs.Job{}, false, jobs.PendingQuotaError(t, req.MaxPending)
	}
	if err != nil {
		return jobs.Job{}, false, s.wrap("create", err)
	}
	if len(res) >= 2 && res[0] == int64(0) {
		first, err := s.Get(ctx, t, res[1].(string))
		return first, false, err
	}
	if len(res) != 3 {
		return jobs.Job{}, false, s.wrap("create", errUnexpected(res))
	}
	j.ID = res[2].(int64)
	return j, true, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

type unexpectedReply struct{ v any }

func (u unexpectedReply) Error() string {
	return "unexpected script reply " + strconv.Quote(toString(u.v))
}

func errUnexpected(v any) error { return unexpectedReply{v} }

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	default:
		return mustJSON(x)
	}
}
