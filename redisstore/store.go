// Package redisstore is the jobs.Store on Redis: durable job state shared by any number of
// servers and robots. Every state change is one Lua script that writes the job, moves it
// between the pending/lease structures and PUBLISHes its notification; one pub/sub
// subscription per process fans notifications out to the process's listeners.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/jobs"
)

// Config configures a Store.
type Config struct {
	// Client is the Redis connection (single node, Sentinel or Cluster). Required.
	Client redis.UniversalClient
	// Prefix namespaces every key (inside the hash tag). Optional. Default "jobgate".
	Prefix string
	// Retention is how long a final job is kept. Optional. Default 7 days.
	Retention time.Duration
	// IdempotencyTTL is how long an Idempotency-Key refers to its job. Optional. Default 24h.
	IdempotencyTTL time.Duration
	// Now is the clock for leases, deadlines and expiries. Optional. Default time.Now.
	Now func() time.Time
	// Logger logs subscription trouble. Optional. Default slog.Default().
	Logger *slog.Logger
	// NoWakeUps leaves out the Pending notifications (channel {P}:work), which only wake
	// robots: an API-only process (no robots) sets it and is spared one message per job
	// created, which Redis would otherwise send it. Optional. Default false: every
	// notification is heard.
	NoWakeUps bool
}

// Store is the Redis jobs.Store.
type Store struct {
	cfg  Config
	rdb  redis.UniversalClient
	keys keys

	subMu  sync.RWMutex
	subs   map[int]func(jobs.Event)
	nextID int

	ps     *redis.PubSub
	cancel context.CancelFunc
	done   chan struct{}
}

var _ jobs.Store = (*Store)(nil)

// ttlMargin is added to the retention for the Redis TTL of a final job: the reaper deletes
// the job on time (with the store's clock) and the TTL is the safety net when no reaper runs.
const ttlMargin = time.Hour

// New connects the store's one pub/sub subscription and returns the store. It fails when
// Redis cannot be reached.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: Config.Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "jobgate"
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{cfg: cfg, rdb: cfg.Client, keys: newKeys(cfg.Prefix), subs: map[int]func(jobs.Event){}, done: make(chan struct{})}
	channels := []string{s.keys.events()}
	if !cfg.NoWakeUps {
		channels = append(channels, s.keys.work())
	}
	ps := s.rdb.Subscribe(ctx, channels...)
	// The first messages confirm the subscriptions: no event published after New returns
	// can be missed.
	for range channels {
		if _, err := ps.ReceiveTimeout(ctx, 5*time.Second); err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("redisstore: subscribe to %s: %w", strings.Join(channels, ", "), err)
		}
	}
	s.ps = ps
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.listen(lctx)
	return s, nil
}

// Close stops the subscription.
func (s *Store) Close() error {
	s.cancel()
	err := s.ps.Close()
	<-s.done
	return err
}

// Ping implements jobs.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// SharedKey returns a random key shared by every server on this Redis (made by the first
// that asks), for signing capability URLs when no secret is configured.
func (s *Store) SharedKey(ctx context.Context) ([]byte, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	if err := s.rdb.SetNX(ctx, s.keys.capKey(), hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, s.wrap("shared key", err)
	}
	v, err := s.rdb.Get(ctx, s.keys.capKey()).Result()
	if err != nil {
		return nil, s.wrap("shared key", err)
	}
	return []byte(v), nil
}

// EvictionPolicy returns Redis's maxmemory-policy ("" when CONFIG GET is not allowed).
func (s *Store) EvictionPolicy(ctx context.Context) (string, error) {
	res, err := s.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return "", err
	}
	return res["maxmemory-policy"], nil
}

func (s *Store) now() time.Time { return s.cfg.Now().UTC() }

// wrap maps a Redis error to the store's error codes. Script refusals come back as error
// replies whose first word is the code; anything else means Redis cannot be used now.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return jobs.Errorf(jobs.ENOTFOUND, "%s: not found", op)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	for prefix, code := range map[string]string{
		"NOTFOUND ": jobs.ENOTFOUND, "CONFLICT ": jobs.ECONFLICT, "UNPROCESSABLE ": jobs.EUNPROCESSABLE,
	} {
		if strings.HasPrefix(msg, prefix) {
			return jobs.Errorf(code, "%s", strings.TrimPrefix(msg, prefix))
		}
	}
	return &jobs.Error{Code: jobs.EUNAVAILABLE, Message: "the job store is unavailable; try again shortly",
		Err: fmt.Errorf("redisstore: %s: %w", op, err)}
}

// Get implements jobs.Store.
func (s *Store) Get(ctx context.Context, t jobs.Tenant, key string) (jobs.Job, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.job(key)).Result()
	if err != nil {
		return jobs.Job{}, s.wrap("get "+key, err)
	}
	if len(h) == 0 || h[fOrg] != t.Org || h[fTenant] != t.Tenant {
		return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "job %s not found", key)
	}
	return fromHash(h)
}

// GetByID implements jobs.Store.
func (s *Store) GetByID(ctx context.Context, t jobs.Tenant, id int64) (jobs.Job, error) {
	idText := strconv.FormatInt(id, 10)
	keys, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.keys.byID(t.String()), Start: idText, Stop: idText, ByScore: true}).Result()
	if err != nil {
		return jobs.Job{}, s.wrap("get by id", err)
	}
	if len(keys) == 0 {
		return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "job %d not found", id)
	}
	j, err := s.Get(ctx, t, keys[0])
	if jobs.ErrorCode(err) == jobs.ENOTFOUND {
		return jobs.Job{}, jobs.Errorf(jobs.ENOTFOUND, "job %d not found", id)
	}
	return j, err
}

// List implements jobs.Store. It reads the tenant's jobs in batches (O(jobs kept), which the
// retention bounds) and filters, orders and pages them here.
func (s *Store) List(ctx context.Context, t jobs.Tenant, q jobs.ListQuery) ([]jobs.Job, int, error) {
	keys, err := s.rdb.ZRange(ctx, s.keys.byID(t.String()), 0, -1).Result()
	if err != nil {
		return nil, 0, s.wrap("list", err)
	}
	var all []jobs.Job
	const batch = 256
	for start := 0; start < len(keys); start += batch {
		part := keys[start:min(start+batch, len(keys))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(part))
		for i, k := range part {
			cmds[i] = pipe.HGetAll(ctx, s.keys.job(k))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, 0, s.wrap("list", err)
		}
		for _, c := range cmds {
			h := c.Val()
			if len(h) == 0 {
				continue // expired; the reaper drops its index entry
			}
			j, err := fromHash(h)
			if err != nil {
				return nil, 0, err
			}
			if q.Match == nil || q.Match(&j) {
				all = append(all, j)
			}
		}
	}
	page, total := q.Page(all)
	return page, total, nil
}

// fromHash turns a job hash into a Job.
func fromHash(h map[string]string) (jobs.Job, error) {
	j := jobs.Job{
		Org: h[fOrg], Tenant: h[fTenant], Key: h[fKey], State: jobs.State(h[fState]), Info: h[fInfo],
		Source: h[fSource], SourceType: h[fSrcType], CallMode: jobs.CallMode(h[fMode]),
		TriggerSlug: h[fSlug], ProcessName: h[fProcess], ReleaseName: h[fRelName],
		DeadlineInfo: h[fDInfo], LeaseOwner: h[fOwner], StopStrategy: jobs.StopStrategy(h[fStop]),
	}
	var err error
	bad := func(field string, e error) error {
		return &jobs.Error{Code: jobs.EINTERNAL, Message: "a stored job is corrupt",
			Err: fmt.Errorf("redisstore: job %s field %s: %w", h[fKey], field, e)}
	}
	if j.ID, err = strconv.ParseInt(h[fID], 10, 64); err != nil {
		return j, bad(fID, err)
	}
	if j.CreationTime, err = nsTime(h[fCreated]); err != nil {
		return j, bad(fCreated, err)
	}
	for field, dst := range map[string]**time.Time{fStart: &j.StartTime, fEnd: &j.EndTime, fDeadline: &j.Deadline} {
		if h[field] == "" {
			continue
		}
		t, err := nsTime(h[field])
		if err != nil {
			return j, bad(field, err)
		}
		*dst = &t
	}
	if h[fLease] != "" {
		ms, err := strconv.ParseInt(h[fLease], 10, 64)
		if err != nil {
			return j, bad(fLease, err)
		}
		j.LeaseExpiry = time.UnixMilli(ms).UTC()
	}
	for field, dst := range map[string]any{fInput: &j.InputArguments, fOutput: &j.OutputArguments, fRelease: &j.Release, fRobot: &j.Robot, fProgress: &j.Progress} {
		if h[field] == "" {
			continue
		}
		if err := json.Unmarshal([]byte(h[field]), dst); err != nil {
			return j, bad(field, err)
		}
	}
	return j, nil
}

func nsTime(s string) (time.Time, error) {
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns).UTC(), nil
}

func ns(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }
func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}
