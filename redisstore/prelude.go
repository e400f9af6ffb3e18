package redisstore

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/jobs"
)

// prelude is prepended to every script: the transition table of package jobs (generated,
// so Lua and Go never disagree), the final states, and finalize, the one way a job ends.
var prelude = func() string {
	var b strings.Builder
	b.WriteString("local FINAL = {Successful=true, Faulted=true, Stopped=true}\nlocal T = {")
	for _, from := range jobs.States {
		var tos []string
		for _, to := range jobs.States {
			if jobs.CanTransition(from, to) {
				tos = append(tos, fmt.Sprintf("%s=true", to))
			}
		}
		fmt.Fprintf(&b, "%s={%s}, ", from, strings.Join(tos, ", "))
	}
	b.WriteString("}\n")
	b.WriteString(`
-- leftPending counts a job of tenant org/tenant that leaves Pending out of the tenant's
-- Pending count (the maxPendingJobs quota; create counts it in). Never below zero.
local function leftPending(base, org, tenant)
  local nk = base .. 'npending:' .. org .. '/' .. tenant
  if tonumber(redis.call('GET', nk) or '0') > 0 then redis.call('DECR', nk) end
end

-- finalize ends job k (hash jk) in state st: records info/output/end, drops its lease and
-- deadline, schedules its deletion after the retention, and publishes the change.
-- base: key base "{P}:"; now: unix ns; expAt: unix ms of deletion; ttl: Redis TTL in ms.
local function finalize(base, jk, k, st, info, output, now, expAt, ttl, channel)
  local ot = redis.call('HMGET', jk, 'org', 'tenant', 'owner', 'state')
  if ot[4] == 'Pending' then leftPending(base, ot[1], ot[2]) end
  if ot[3] and ot[3] ~= '' then redis.call('DEL', base .. 'claim:' .. ot[3]) end
  redis.call('HSET', jk, 'state', st, 'info', info, 'output', output, 'end', now, 'owner', '', 'lease', '')
  redis.call('ZREM', base .. 'leases', k)
  redis.call('ZREM', base .. 'deadlines', k)
  redis.call('ZADD', base .. 'expiry', expAt, ot[1] .. '/' .. ot[2] .. '|' .. k)
  redis.call('PEXPIRE', jk, ttl)
  redis.call('PEXPIRE', base .. 'log:' .. k, ttl)
  -- The final job travels with its notification (unless its output is large), so that held
  -- requests answer without reading it back: "<key>|<state>|<id>|<org>/<tenant>|<len(info)>|<info><output>".
  local msg = k .. '|' .. st
  if string.len(output) + string.len(info) <= 65536 then
    msg = msg .. '|' .. redis.call('HGET', jk, 'id') .. '|' .. ot[1] .. '/' .. ot[2] .. '|' .. string.len(info) .. '|' .. info .. output
  end
  redis.call('PUBLISH', base .. 'events', msg)
end
`)
	return b.String()
}()

// script builds a script with the prelude. redis.Script runs EVALSHA and falls back to EVAL
// when Redis lost its script cache (restart, SCRIPT FLUSH), so scripts load once and survive.
func script(body string) *redis.Script { return redis.NewScript(prelude + body) }

// hashToMap turns a flat HGETALL reply from a script into a map.
func hashToMap(v any) (map[string]string, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 0 {
		return nil, false
	}
	m := make(map[string]string, len(arr)/2)
	for i := 0; i < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		m[k] = val
	}
	return m, true
}
