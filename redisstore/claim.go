package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/jobs"
)

// claimScript moves the oldest Pending job to Running under a lease.
//
//	KEYS[1] pending list   KEYS[2] leases zset
//	ARGV[1] key base "{P}:"   ARGV[2] now (unix ns)   ARGV[3] lease expiry (unix ms)
//	ARGV[4] lease owner       ARGV[5] robot (JSON)      ARGV[6] lease (ms)
//
//	KEYS[3] the owner's claim record
//
// A slot claims only when it holds no job. If its claim record still names a job it holds
// (Running under its lease), the reply to its last claim was lost (Redis went away): that
// job is handed to it again, with a fresh lease, instead of being left to lapse.
// Keys in the pending list whose job is no longer Pending (stopped or faulted while queued,
// or expired) are dropped on the way. The claimed job leaves its tenant's Pending count. Returns the claimed job's hash (HGETALL), or nil.
var claimScript = script(`
local base = ARGV[1]
local held = redis.call('GET', KEYS[3])
if held then
  local jk = base .. 'job:' .. held
  local h = redis.call('HMGET', jk, 'state', 'owner')
  if h[1] == 'Running' and h[2] == ARGV[4] then
    redis.call('HSET', jk, 'lease', ARGV[3])
    redis.call('ZADD', KEYS[2], ARGV[3], held)
    redis.call('SET', KEYS[3], held, 'PX', ARGV[6])
    return redis.call('HGETALL', jk)
  end
  redis.call('DEL', KEYS[3])
end
while true do
  local k = redis.call('LPOP', KEYS[1])
  if not k then return false end
  local jk = base .. 'job:' .. k
  local h = redis.call('HMGET', jk, 'state', 'org', 'tenant')
  if h[1] == 'Pending' then
    leftPending(base, h[2], h[3])
    if (redis.call('HGET', jk, 'start') or '') == '' then redis.call('HSET', jk, 'start', ARGV[2]) end
    redis.call('HSET', jk, 'state', 'Running', 'owner', ARGV[4], 'lease', ARGV[3], 'robot', ARGV[5])
    redis.call('ZADD', KEYS[2], ARGV[3], k)
    redis.call('SET', KEYS[3], k, 'PX', ARGV[6])
    redis.call('PUBLISH', base .. 'events', k .. '|Running')
    return redis.call('HGETALL', jk)
  end
end
`)

// Claim implements jobs.Store.
func (s *Store) Claim(ctx context.Context, owner string, robot jobs.RobotRef, lease time.Duration) (jobs.Job, error) {
	now := s.now()
	v, err := claimScript.Run(ctx, s.rdb, []string{s.keys.pending(), s.keys.leases(), s.keys.claim(owner)},
		s.keys.base, ns(now), ms(now.Add(lease)), owner, mustJSON(robot), lease.Milliseconds()).Result()
	if err == redis.Nil {
		return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "no pending job")
	}
	if err != nil {
		return jobs.Job{}, s.wrap("claim", err)
	}
	return s.jobReply("claim", v)
}

// jobReply decodes a script's HGETALL reply.
func (s *Store) jobReply(op string, v any) (jobs.Job, error) {
	h, ok := hashToMap(v)
	if !ok || len(h) == 0 {
		return jobs.Job{}, s.wrap(op, errUnexpected(v))
	}
	return fromHash(h)
}

// renewScript extends the lease of the robot that holds it and records progress.
//
//	KEYS[1] job hash   KEYS[2] leases zset
//	ARGV[1] owner   ARGV[2] new lease expiry (unix ms)   ARGV[3] progress JSON or ''   ARGV[4] job key
//	ARGV[5] key base "{P}:"   ARGV[6] lease (ms) (to refresh the owner's claim record)
//
// Returns the job's hash; "NOTFOUND" or "CONFLICT" (final, or not the lease holder).
var renewScript = script(`
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return redis.error_reply('NOTFOUND job ' .. ARGV[4] .. ' not found') end
if FINAL[st] then return redis.error_reply('CONFLICT job ' .. ARGV[4] .. ' is already ' .. st) end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return redis.error_reply('CONFLICT job ' .. ARGV[4] .. ' is not leased to ' .. ARGV[1])
end
redis.call('HSET', KEYS[1], 'lease', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[3]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('SET', ARGV[5] .. 'claim:' .. ARGV[1], ARGV[4], 'PX', ARGV[6])
return redis.call('HGETALL', KEYS[1])
`)

// Renew implements jobs.Store.
func (s *Store) Renew(ctx context.Context, key, owner string, lease time.Duration, p *jobs.Progress) (jobs.Job, error) {
	progress := ""
	if p != nil {
		progress = mustJSON(p)
	}
	v, err := renewScript.Run(ctx, s.rdb, []string{s.keys.job(key), s.keys.leases()},
		owner, ms(s.now().Add(lease)), progress, key, s.keys.base, lease.Milliseconds()).Result()
	if err != nil {
		return jobs.Job{}, s.wrap("renew "+key, err)
	}
	return s.jobReply("renew", v)
}

// releaseScript hands a running job back to the queue (a robot shutting down).
//
//	KEYS[1] job hash   KEYS[2] pending list   KEYS[3] leases zset
//	ARGV[1] owner   ARGV[2] job key   ARGV[3] key base "{P}:"
//
// Returns the job's hash; "NOTFOUND" or "CONFLICT" (not the lease holder, not Running).
var releaseScript = script(`
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return redis.error_reply('NOTFOUND job ' .. ARGV[2] .. ' not found') end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] or FINAL[st] then
  return redis.error_reply('CONFLICT job ' .. ARGV[2] .. ' is not leased to ' .. ARGV[1])
end
if st ~= 'Running' then
  return redis.error_reply('CONFLICT job ' .. ARGV[2] .. ' is ' .. st .. ', only a Running job can be handed back')
end
redis.call('DEL', ARGV[3] .. 'claim:' .. ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'Pending', 'owner', '', 'lease', '', 'robot', '')
-- Counted Pending again (maxPendingJobs), but never refused: the job was accepted already.
local ot = redis.call('HMGET', KEYS[1], 'org', 'tenant')
redis.call('INCR', ARGV[3] .. 'npending:' .. ot[1] .. '/' .. ot[2])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('PUBLISH', ARGV[3] .. 'work', ARGV[2] .. '|Pending')
return redis.call('HGETALL', KEYS[1])
`)

// Release implements jobs.Store.
func (s *Store) Release(ctx context.Context, key, owner string) (jobs.Job, error) {
	v, err := releaseScript.Run(ctx, s.rdb, []string{s.keys.job(key), s.keys.pending(), s.keys.leases()},
		owner, key, s.keys.base).Result()
	if err != nil {
		return jobs.Job{}, s.wrap("release "+key, err)
	}
	return s.jobReply("release", v)
}
