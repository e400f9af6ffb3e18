package redisstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jobgate/jobgate/jobs"
)

// finishScript records the end of a run by the robot that holds the lease.
//
//	KEYS[1] job hash
//	ARGV[1] owner   ARGV[2] final state   ARGV[3] info   ARGV[4] output JSON or ''
//	ARGV[5] now (unix ns)   ARGV[6] deletion time (unix ms)   ARGV[7] Redis TTL (ms)
//	ARGV[8] job key   ARGV[9] key base "{P}:"   ARGV[10] log or '' (kept as it is)
//
// Returns the job's hash; "NOTFOUND", or "CONFLICT" when the job is final, the caller does
// not hold the lease, or the transition is illegal.
var finishScript = script(`
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return redis.error_reply('NOTFOUND job ' .. ARGV[8] .. ' not found') end
if FINAL[st] then return redis.error_reply('CONFLICT job ' .. ARGV[8] .. ' is already ' .. st) end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == '' or owner ~= ARGV[1] then
  return redis.error_reply('CONFLICT job ' .. ARGV[8] .. ' is not leased to ' .. ARGV[1])
end
if not (T[st] and T[st][ARGV[2]]) then
  return redis.error_reply('CONFLICT job ' .. ARGV[8] .. ' cannot go from ' .. st .. ' to ' .. ARGV[2])
end
if ARGV[10] ~= '' then redis.call('SET', ARGV[9] .. 'log:' .. ARGV[8], ARGV[10]) end
finalize(ARGV[9], KEYS[1], ARGV[8], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return redis.call('HGETALL', KEYS[1])
`)

// Finish implements jobs.Store.
func (s *Store) Finish(ctx context.Context, key, owner string, r jobs.Result) (jobs.Job, error) {
	if !r.State.Final() {
		return jobs.Job{}, jobs.Errorf(jobs.EINVALID, "finish job %s: %s is not a final state", key, r.State)
	}
	output := ""
	if r.OutputArguments != nil {
		b, err := json.Marshal(r.OutputArguments)
		if err != nil { // never store "null" for an output that was there
			if why := jobs.CheckOutput(r.OutputArguments); why != nil {
				err = why
			}
			return jobs.Job{}, fmt.Errorf("redisstore: finish %s: %w", key, err)
		}
		output = string(b)
	}
	now := s.now()
	v, err := finishScript.Run(ctx, s.rdb, []string{s.keys.job(key)},
		owner, string(r.State), r.Info, output, ns(now), ms(now.Add(s.cfg.Retention)),
		(s.cfg.Retention + ttlMargin).Milliseconds(), key, s.keys.base, r.Log).Result()
	if err != nil {
		return jobs.Job{}, s.wrap("finish "+key, err)
	}
	return s.jobReply("finish", v)
}

// stopScript asks a job to stop.
//
//	KEYS[1] job hash
//	ARGV[1] org   ARGV[2] tenant   ARGV[3] strategy (SoftStop|Kill)   ARGV[4] now (unix ns)
//	ARGV[5] deletion time (unix ms)   ARGV[6] Redis TTL (ms)   ARGV[7] job key   ARGV[8] key base
//
// Pending → Stopped at once; Running → Stopping (SoftStop) or Terminating (Kill);
// Stopping → Terminating (Kill); a job already stopping that way is unchanged.
// Returns the job's hash; "NOTFOUND" (absent or another tenant's), "CONFLICT" (final).
var stopScript = script(`
local h = redis.call('HMGET', KEYS[1], 'state', 'org', 'tenant')
local st = h[1]
if not st or h[2] ~= ARGV[1] or h[3] ~= ARGV[2] then
  return redis.error_reply('NOTFOUND job ' .. ARGV[7] .. ' not found')
end
if FINAL[st] then
  return redis.error_reply('CONFLICT job ' .. redis.call('HGET', KEYS[1], 'id') .. ' is already ' .. st)
end
if st == 'Pending' then
  redis.call('HSET', KEYS[1], 'stop', ARGV[3])
  finalize(ARGV[8], KEYS[1], ARGV[7], 'Stopped', 'Stopped before it started', '', ARGV[4], ARGV[5], ARGV[6])
  return redis.call('HGETALL', KEYS[1])
end
local to = 'Stopping'
if ARGV[3] == 'Kill' then to = 'Terminating' end
if st == to or (st == 'Terminating' and to == 'Stopping') then
  return redis.call('HGETALL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'state', to, 'stop', ARGV[3])
redis.call('PUBLISH', ARGV[8] .. 'events', ARGV[7] .. '|' .. to)
return redis.call('HGETALL', KEYS[1])
`)

// Stop implements jobs.Store.
func (s *Store) Stop(ctx context.Context, t jobs.Tenant, key string, strategy jobs.StopStrategy) (jobs.Job, error) {
	now := s.now()
	v, err := stopScript.Run(ctx, s.rdb, []string{s.keys.job(key)},
		t.Org, t.Tenant, string(strategy), ns(now), ms(now.Add(s.cfg.Retention)),
		(s.cfg.Retention + ttlMargin).Milliseconds(), key, s.keys.base).Result()
	if err != nil {
		return jobs.Job{}, s.wrap("stop "+key, err)
	}
	return s.jobReply("stop", v)
}

// reapScript ends jobs whose lease lapsed or whose deadline passed while Pending, and deletes
// final jobs past their retention (and their index entries).
//
//	KEYS[1] leases zset   KEYS[2] deadlines zset   KEYS[3] expiry zset
//	ARGV[1] now (unix ms)   ARGV[2] now (unix ns)   ARGV[3] key base "{P}:"
//	ARGV[4] deletion time for jobs ended now (unix ms)   ARGV[5] Redis TTL (ms)
//	ARGV[6] Info of a job whose robot vanished   ARGV[7] batch limit
//
// Each step is bounded by the limit, so one call never blocks Redis for long; the reaper
// runs every second and repeats the script while a step was full. Safe on every replica at
// once: each job is re-checked inside the script. Returns {jobs ended, 1 if a step hit the
// limit (more may be due) else 0}.
var reapScript = script(`
local base, n, more = ARGV[3], 0, 0
local limit = tonumber(ARGV[7])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)
if #due >= limit then more = 1 end
for _, k in ipairs(due) do
  local jk = base .. 'job:' .. k
  local h = redis.call('HMGET', jk, 'state', 'owner', 'lease')
  if h[1] and not FINAL[h[1]] and h[2] ~= '' and h[3] and tonumber(h[3]) and tonumber(h[3]) <= tonumber(ARGV[1]) then
    finalize(base, jk, k, 'Faulted', ARGV[6], '', ARGV[2], ARGV[4], ARGV[5])
    n = n + 1
  elseif not h[1] or FINAL[h[1]] or h[2] == '' then
    redis.call('ZREM', KEYS[1], k)
  end
end
due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, limit)
if #due >= limit then more = 1 end
for _, k in ipairs(due) do
  local jk = base .. 'job:' .. k
  if redis.call('HGET', jk, 'state') == 'Pending' then
    finalize(base, jk, k, 'Faulted', redis.call('HGET', jk, 'dinfo') or '', '', ARGV[2], ARGV[4], ARGV[5])
    n = n + 1
  else
    redis.call('ZREM', KEYS[2], k)
  end
end
due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, limit)
if #due >= limit then more = 1 end
for _, m in ipairs(due) do
  local t, k = string.match(m, '^(.*)|([^|]*)$')
  if k then
    redis.call('DEL', base .. 'job:' .. k, base .. 'log:' .. k)
    redis.call('ZREM', base .. 'byid:' .. t, k)
  end
  redis.call('ZREM', KEYS[3], m)
end
return {n, more}
`)

// leaseLapsedInfo is the Info of a job whose robot stopped renewing its lease.
const leaseLapsedInfo = "The robot running this job stopped responding (its lease expired)"

// reapBatch bounds each step of one reap script run; reapRounds bounds the runs of one Reap.
const (
	reapBatch  = 500
	reapRounds = 100
)

// Reap implements jobs.Store. It runs the script again while a step was full, so the reaper
// keeps up with any finishing rate up to reapBatch × reapRounds jobs a call.
func (s *Store) Reap(ctx context.Context) (int, error) {
	total := 0
	for round := 0; round < reapRounds; round++ {
		now := s.now()
		res, err := reapScript.Run(ctx, s.rdb, []string{s.keys.leases(), s.keys.deadlines(), s.keys.expiry()},
			ms(now), ns(now), s.keys.base, ms(now.Add(s.cfg.Retention)),
			(s.cfg.Retention + ttlMargin).Milliseconds(), leaseLapsedInfo, reapBatch).Int64Slice()
		if err != nil {
			return total, s.wrap("reap", err)
		}
		if len(res) != 2 {
			return total, s.wrap("reap", errUnexpected(res))
		}
		total += int(res[0])
		if res[1] == 0 {
			break
		}
	}
	return total, nil
}
