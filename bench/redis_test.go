package bench

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/internal/redistest"
)

// benchRedis is the harness's private Redis with a client for its own checks.
type benchRedis struct {
	srv *redistest.Server
	rdb *redis.Client
}

// redisConfig is how the harness runs Redis: the durable setup of docker-compose.yml
// (append-only file, fsync once a second, never evict). redistest's default of an fsync on
// every write suits crash tests, not throughput figures.
var redisConfig = []string{"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"}

// startRedis starts a private redis-server for the harness; it stops when the test ends.
func startRedis(t testing.TB) *benchRedis {
	t.Helper()
	srv := redistest.Start(t, redisConfig...)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	got, err := rdb.ConfigGet(context.Background(), "appendfsync").Result()
	if err != nil || got["appendfsync"] != "everysec" {
		t.Fatalf("redis appendfsync = %v (%v), want everysec", got, err)
	}
	return &benchRedis{srv: srv, rdb: rdb}
}

// URL is the redis:// URL for jobgate's --redis.
func (r *benchRedis) URL() string { return r.srv.URL() }

// Flush empties every database, so that each run starts from the same state.
func (r *benchRedis) Flush(ctx context.Context) error {
	if err := r.rdb.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("redis flushall: %w", err)
	}
	return nil
}

// UsedMemory returns INFO memory's used_memory in bytes.
func (r *benchRedis) UsedMemory(ctx context.Context) (int64, error) {
	info, err := r.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	v, ok := infoField(info, "used_memory")
	if !ok {
		return 0, fmt.Errorf("no used_memory in INFO memory")
	}
	return strconv.ParseInt(v, 10, 64)
}

// CommandCalls returns the calls of each command since the last reset (INFO commandstats;
// commands run by scripts are counted too).
func (r *benchRedis) CommandCalls(ctx context.Context) (map[string]int64, error) {
	info, err := r.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	calls := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				calls[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return calls, nil
}

// ResetStats zeroes INFO commandstats.
func (r *benchRedis) ResetStats(ctx context.Context) error { return r.rdb.ConfigResetStat(ctx).Err() }

// commandMix describes the commands per request between two CommandCalls readings, most
// frequent first, leaving out the harness's own (info, config, flushall) and those under
// 0.01 per request: e.g. "evalsha 1.00, hset 1.00".
func commandMix(calls map[string]int64, requests int64) string {
	if requests <= 0 {
		return "–"
	}
	type kv struct {
		name string
		per  float64
	}
	var list []kv
	for name, n := range calls {
		switch name {
		case "info", "config|resetstat", "config|get", "flushall", "ping", "hello", "client|setinfo", "subscribe":
			continue
		}
		if per := float64(n) / float64(requests); per >= 0.01 {
			list = append(list, kv{name, per})
		}
	}
	sort.Slice(list, func(i, k int) bool {
		if list[i].per != list[k].per {
			return list[i].per > list[k].per
		}
		return list[i].name < list[k].name
	})
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("%s %.2f", e.name, e.per)
	}
	return strings.Join(parts, ", ")
}

// infoField returns one field of an INFO reply.
func infoField(info, field string) (string, bool) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, true
		}
	}
	return "", false
}

// version returns the server's redis_version, or "?".
func (r *benchRedis) version(ctx context.Context) string {
	info, err := r.rdb.Info(ctx, "server").Result()
	if err != nil {
		return "?"
	}
	v, ok := infoField(info, "redis_version")
	if !ok {
		return "?"
	}
	return strings.TrimSpace(v)
}

// PID returns redis-server's process id (INFO server process_id).
func (r *benchRedis) PID(ctx context.Context) (int, error) {
	info, err := r.rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	v, ok := infoField(info, "process_id")
	if !ok {
		return 0, fmt.Errorf("no process_id in INFO server")
	}
	return strconv.Atoi(strings.TrimSpace(v))
}
