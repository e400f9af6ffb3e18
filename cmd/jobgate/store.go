package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/memstore"
	"github.com/jobgate/jobgate/redisstore"
)

// redisOptions builds the go-redis options from --redis (URL: user, password, DB, TLS with
// rediss://), --redis-sentinel-master with --redis-sentinels, or --redis-cluster.
func redisOptions(f serveFlags) (*redis.UniversalOptions, error) {
	opt := &redis.UniversalOptions{
		// The store's scripts are not all idempotent (creating a job), so go-redis must not
		// resend them after a lost reply; callers retry where it is safe.
		MaxRetries:  -1,
		DialTimeout: 2 * time.Second,
		ReadTimeout: 3 * time.Second,
		// RESP2: the store uses no RESP3 feature, and with RESP3 go-redis looks for push
		// notifications around every command (2–3% of a FireAndForget request's CPU in
		// `PROFILE=… make bench`).
		Protocol: 2,
		// Enough connections that requests rarely queue for one: waiting in go-redis's pool
		// cost ~9 µs of CPU per FireAndForget request with its default of 10 per CPU (20
		// here) under 64 concurrent clients (`make bench`, docs/benchmarks.md).
		PoolSize: max(64, 10*runtime.GOMAXPROCS(0)),
	}
	if f.redis != "" {
		u, err := redis.ParseURL(f.redis)
		if err != nil {
			return nil, fmt.Errorf("--redis: %v (want redis://[user:password@]host:port/db or rediss://…)", err)
		}
		opt.Addrs = []string{u.Addr}
		opt.Username, opt.Password, opt.DB, opt.TLSConfig = u.Username, u.Password, u.DB, u.TLSConfig
	}
	if f.redisPassword != "" {
		opt.Password = f.redisPassword
	}
	if f.redisCAFile != "" {
		if opt.TLSConfig == nil {
			return nil, errors.New("--redis-ca-file needs a rediss:// URL in --redis")
		}
		pem, err := os.ReadFile(f.redisCAFile)
		if err != nil {
			return nil, fmt.Errorf("--redis-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--redis-ca-file %s: no PEM certificate in it", f.redisCAFile)
		}
		opt.TLSConfig.RootCAs = pool
	}
	switch {
	case f.redisSentinelMaster != "" && f.redisCluster != "":
		return nil, errors.New("--redis-sentinel-master and --redis-cluster exclude each other")
	case f.redisSentinelMaster != "":
		addrs := splitList(f.redisSentinels)
		if len(addrs) == 0 {
			return nil, errors.New("--redis-sentinel-master needs --redis-sentinels host:port,…")
		}
		opt.MasterName, opt.Addrs = f.redisSentinelMaster, addrs
	case f.redisCluster != "":
		opt.Addrs = splitList(f.redisCluster)
		opt.IsClusterMode = true
		if opt.DB != 0 {
			return nil, errors.New("--redis-cluster: Redis Cluster has only database 0")
		}
	case f.redis == "":
		return nil, nil
	}
	return opt, nil
}

// openStore opens the job store: Redis when configured, else the embedded one. The
// returned sharedKey (nil for the embedded store) gives a key all servers share.
func openStore(ctx context.Context, f serveFlags, log *slog.Logger) (jobs.Store, func(context.Context) ([]byte, error), error) {
	opt, err := redisOptions(f)
	if err != nil {
		return nil, nil, err
	}
	if opt == nil {
		log.Warn("using the embedded in-memory store: single process, not durable — jobs are lost when the process ends; use --redis for durable state")
		return memstore.New(memstore.Config{Retention: f.retention}), nil, nil
	}
	client := redis.NewUniversalClient(opt)
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	store, err := redisstore.New(connectCtx, redisstore.Config{Client: client, Prefix: f.redisPrefix, Retention: f.retention, Logger: log,
		NoWakeUps: f.robots == 0})
	if err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("cannot reach Redis (%v): %w", opt.Addrs, err)
	}
	policy, err := store.EvictionPolicy(connectCtx)
	switch {
	case err != nil:
		log.Warn("could not read Redis's maxmemory-policy (CONFIG GET refused?); make sure it is noeviction, or Redis may drop job data under memory pressure", "err", err)
	case policy != "noeviction":
		log.Warn("REDIS MAY EVICT JOB DATA: maxmemory-policy is "+policy+"; set it to noeviction (CONFIG SET maxmemory-policy noeviction) so that no job is ever lost", "policy", policy)
	}
	log.Info("using the Redis store", "addrs", opt.Addrs, "prefix", f.redisPrefix)
	return store, store.SharedKey, nil
}
