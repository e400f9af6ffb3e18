package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/jobs"
)

// writeLogScript replaces the log of a running job, for the robot that holds its lease.
//
//	KEYS[1] job hash   KEYS[2] log key
//	ARGV[1] owner   ARGV[2] log   ARGV[3] job key
//
// Returns 1; "NOTFOUND", or "CONFLICT" (final, or not the lease holder).
var writeLogScript = script(`
local h = redis.call('HMGET', KEYS[1], 'state', 'owner')
if not h[1] then return redis.error_reply('NOTFOUND job ' .. ARGV[3] .. ' not found') end
if FINAL[h[1]] then return redis.error_reply('CONFLICT job ' .. ARGV[3] .. ' is already ' .. h[1]) end
if h[2] ~= ARGV[1] then return redis.error_reply('CONFLICT job ' .. ARGV[3] .. ' is not leased to ' .. ARGV[1]) end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`)

// WriteLog implements jobs.Store.
func (s *Store) WriteLog(ctx context.Context, key, owner, log string) error {
	err := writeLogScript.Run(ctx, s.rdb, []string{s.keys.job(key), s.keys.log(key)}, owner, log, key).Err()
	return s.wrap("write log "+key, err)
}

// Log implements jobs.Store.
func (s *Store) Log(ctx context.Context, t jobs.Tenant, key string) (string, error) {
	pipe := s.rdb.Pipeline()
	owner := pipe.HMGet(ctx, s.keys.job(key), fOrg, fTenant)
	log := pipe.Get(ctx, s.keys.log(key))
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return "", s.wrap("log "+key, err)
	}
	v := owner.Val()
	if len(v) != 2 || v[0] != t.Org || v[1] != t.Tenant {
		return "", jobs.Errorf(jobs.ENOTFOUND, "job %s not found", key)
	}
	return log.Val(), nil
}
