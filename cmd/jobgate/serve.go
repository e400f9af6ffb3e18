package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/server"
	"github.com/jobgate/jobgate/trigger"
)

// serveFlags are the flags of `jobgate serve` (docs/configuration.md, "jobgate serve").
type serveFlags struct {
	listen, redis, config, publicURL                 string
	redisSentinelMaster, redisSentinels              string
	redisCluster, redisPrefix, redisCAFile           string
	dev                                              bool
	robots                                           int
	hop, longPollMax, retention, lease, drainTimeout time.Duration
	hopMax, park                                     time.Duration
	jwtSecret, jwtPublicKey, jwtIssuer, jwtAudience  string
	capabilitySecret, corsOrigins, logLevel          string
	debugListen                                      string
	maxBody                                          int64
	writeTimeout                                     time.Duration
	maxConns, maxConnsPerAddress                     int
	sandbox, sandboxUIDs, sandboxPrivateDirs         string
	unsafeCommands                                   bool
	jwtSecretFile, redisPasswordFile                 string
	capabilitySecretFile                             string
	redisPassword                                    string // from --redis-password-file
}

func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (serveFlags, error) {
	var f serveFlags
	fs := newFlagSet("serve", "Run the jobgate API server and, by default, in-process robots.", stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve on")
	fs.StringVar(&f.redis, "redis", "", "redis:// or rediss:// URL; empty = the embedded in-memory store (not durable)")
	fs.StringVar(&f.redisSentinelMaster, "redis-sentinel-master", "", "Sentinel master name (with --redis-sentinels); --redis may add user, password, DB and TLS")
	fs.StringVar(&f.redisSentinels, "redis-sentinels", "", "comma list of Sentinel addresses host:port")
	fs.StringVar(&f.redisCluster, "redis-cluster", "", "comma list of Redis Cluster seed addresses host:port; --redis may add user, password and TLS")
	fs.StringVar(&f.redisCAFile, "redis-ca-file", "", "PEM file of CA certificates to trust for rediss:// (default: the system's)")
	fs.StringVar(&f.redisPrefix, "redis-prefix", "jobgate", "prefix (hash tag) of every Redis key; servers sharing jobs use the same one")
	fs.StringVar(&f.config, "config", "", "YAML file declaring processes, triggers and tenant settings")
	fs.BoolVar(&f.dev, "dev", false, "load the sample processes and triggers; without a JWT key, make one and print a token and curl lines")
	fs.IntVar(&f.robots, "robots", runtime.NumCPU(), "in-process robot slots (concurrent jobs); 0 = API only")
	fs.DurationVar(&f.hop, "long-poll-hop", 50*time.Second, "longest one LongPolling request is held before a 303 hop")
	fs.DurationVar(&f.hopMax, "long-poll-hop-max", 10*time.Minute, "longest hop a caller may ask for with Prefer: wait=N (which then applies to every hop of its call)")
	fs.DurationVar(&f.park, "long-poll-park", time.Second,
		"how long a held LongPolling request keeps its goroutine before its connection is parked (no goroutine; answered by the hub); 0 = at once, at least --long-poll-hop = never")
	fs.DurationVar(&f.longPollMax, "long-poll-max", 15*time.Minute, "longest a LongPolling-mode job may run (from creation)")
	fs.StringVar(&f.publicURL, "public-url", "", "absolute base for Location URLs (behind a proxy); empty = from the request")
	fs.StringVar(&f.jwtSecret, "jwt-secret", "", "HS256 key for bearer tokens")
	fs.StringVar(&f.jwtPublicKey, "jwt-public-key", "", "PEM file of RS256/ES256 public keys for bearer tokens")
	fs.StringVar(&f.jwtIssuer, "jwt-issuer", "", "required iss claim (checked when set)")
	fs.StringVar(&f.jwtAudience, "jwt-audience", "", "required aud claim (checked when set)")
	fs.StringVar(&f.capabilitySecret, "capability-secret", "", "key for capability URLs; default derived from --jwt-secret, else random per process")
	fs.StringVar(&f.corsOrigins, "cors-origins", "", "comma list of allowed browser origins (* allowed)")
	fs.Int64Var(&f.maxBody, "max-body", 1<<20, "largest accepted request body in bytes")
	fs.DurationVar(&f.writeTimeout, "write-timeout", 20*time.Second, "how long any answer but a held LongPolling call's may take to be written; a client that does not read is disconnected then")
	fs.IntVar(&f.maxConns, "max-conns", 16384, "most connections open at once; more get a 503 and are closed; 0 = no limit")
	fs.IntVar(&f.maxConnsPerAddress, "max-conns-per-address", 1024, "most connections open at once from one client address; more get a 429 and are closed; 0 = no limit (behind a proxy, every client has its address)")
	fs.DurationVar(&f.retention, "retention", 7*24*time.Hour, "how long a final job and its output are kept")
	fs.DurationVar(&f.lease, "lease", 30*time.Second, "robot lease on a running job; a job whose robot stops renewing it ends Faulted")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, how long running jobs may finish before they are handed back")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.debugListen, "debug-listen", "", "address for Go's profiler (/debug/pprof/); empty = off. Unauthenticated: bind it to localhost")
	fs.StringVar(&f.sandbox, "sandbox", "on", "on: command processes run in a sandbox (namespaces, a uid per job, rlimits); off: as children of the server, as its user")
	fs.StringVar(&f.sandboxUIDs, "sandbox-uids", "200000-299999", "range of uids handed to running jobs, one each (no other user of the machine may have them)")
	fs.StringVar(&f.sandboxPrivateDirs, "sandbox-private-dirs", "/tmp,/var/tmp,/dev/shm", "comma list of directories each job sees as an empty tmpfs of its own")
	fs.BoolVar(&f.unsafeCommands, "unsafe-commands", false, "accept command releases made through the API even when commands cannot be sandboxed")
	fs.StringVar(&f.jwtSecretFile, "jwt-secret-file", "", "file holding the HS256 key (instead of --jwt-secret, which shows in the process list)")
	fs.StringVar(&f.redisPasswordFile, "redis-password-file", "", "file holding the Redis password (instead of one in the --redis URL)")
	fs.StringVar(&f.capabilitySecretFile, "capability-secret-file", "", "file holding the capability key (instead of --capability-secret)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return f, err
	}
	if f.sandbox != "on" && f.sandbox != "off" {
		return f, fmt.Errorf("--sandbox %q: want on or off", f.sandbox)
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case f.robots < 0:
		return f, errors.New("--robots must be 0 or more")
	case f.hop <= 0:
		return f, errors.New("--long-poll-hop must be positive")
	case f.hopMax <= 0:
		return f, errors.New("--long-poll-hop-max must be positive")
	case f.longPollMax <= 0:
		return f, errors.New("--long-poll-max must be positive")
	case f.park < 0:
		return f, errors.New("--long-poll-park must be 0 or more")
	case f.maxBody <= 0:
		return f, errors.New("--max-body must be positive")
	case f.writeTimeout <= 0:
		return f, errors.New("--write-timeout must be positive")
	case f.maxConns < 0 || f.maxConnsPerAddress < 0:
		return f, errors.New("--max-conns and --max-conns-per-address must be 0 (no limit) or more")
	case f.retention <= 0 || f.lease < time.Second || f.drainTimeout < 0:
		return f, errors.New("--retention must be positive, --lease at least 1s, --drain-timeout not negative")
	}
	return f, nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// runServe implements `jobgate serve`.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f, err := parseServeFlags(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "jobgate serve:", err)
		return 2
	}
	log, err := newLogger(f.logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "jobgate serve:", err)
		return 2
	}
	if err := serve(ctx, f, stdout, log); err != nil {
		log.Error("jobgate serve: " + err.Error())
		return 1
	}
	return 0
}

func serve(ctx context.Context, f serveFlags, stdout io.Writer, log *slog.Logger) error {
	if err := hideFromOtherUsers(); err != nil {
		log.Warn("other users of this machine may read the server's memory and environment", "err", err)
	}
	if err := readSecretFiles(&f); err != nil {
		return err
	}
	builtins := robot.Builtins()
	cat := trigger.NewCatalog()
	if f.config != "" {
		if err := loadConfigFile(f.config, cat, builtins); err != nil {
			return err
		}
	}
	sandboxCfg, err := setUpSandbox(f, cat, log)
	if err != nil {
		return err
	}
	if f.dev {
		if err := addDevSamples(cat, builtins); err != nil {
			return err
		}
		// --dev lets default/default try command releases through the API, unless the
		// config file says otherwise for it.
		dev := jobs.Tenant{Org: "default", Tenant: "default"}
		if _, declared := cat.APICommandsAllowed(dev); !declared {
			_ = cat.AllowAPICommands(dev, true)
		}
	}

	devSecret := false
	if f.jwtSecret == "" && f.jwtPublicKey == "" {
		if !f.dev {
			return errors.New("no JWT key: pass --jwt-secret or --jwt-public-key (or --dev to make a random secret)")
		}
		f.jwtSecret, devSecret = randomHex(32), true
	}
	vcfg := auth.VerifierConfig{Secret: []byte(f.jwtSecret), Issuer: f.jwtIssuer, Audience: f.jwtAudience}
	if f.jwtSecret == "" {
		vcfg.Secret = nil
	}
	if f.jwtPublicKey != "" {
		pem, err := os.ReadFile(f.jwtPublicKey)
		if err != nil {
			return fmt.Errorf("--jwt-public-key: %w", err)
		}
		if vcfg.PublicKeys, err = auth.ParsePublicKeys(pem); err != nil {
			return fmt.Errorf("--jwt-public-key %s: %w", f.jwtPublicKey, err)
		}
	}
	verifier, err := auth.NewVerifier(vcfg)
	if err != nil {
		return err
	}
	store, sharedKey, err := openStore(ctx, f, log)
	if err != nil {
		return err
	}
	defer store.Close()
	// What the management API creates lives in the job store, beside the jobs.
	defs, ok := store.(trigger.Definitions)
	if !ok {
		return fmt.Errorf("the %T store cannot keep API-made releases and triggers", store)
	}
	builtinArgs := make(map[string]map[string]jobs.Argument, len(builtins))
	for name, b := range builtins {
		builtinArgs[name] = b.Arguments
	}
	cat.Persist(trigger.StoreConfig{Definitions: defs, Builtins: builtinArgs, ConfigFile: f.config})
	var capKey []byte
	switch {
	case f.capabilitySecret != "":
		capKey = auth.DeriveCapabilityKey([]byte(f.capabilitySecret))
	case f.jwtSecret != "":
		capKey = auth.DeriveCapabilityKey([]byte(f.jwtSecret))
	case sharedKey != nil:
		shared, err := sharedKey(ctx)
		if err != nil {
			return fmt.Errorf("capability key: %w", err)
		}
		capKey = auth.DeriveCapabilityKey(shared)
	default:
		capKey = []byte(randomHex(32))
		log.Warn("capability URLs are signed with a random key of this process: set --capability-secret so that they survive a restart")
	}
	caps, err := auth.NewCapabilities(capKey, time.Now)
	if err != nil {
		return err
	}

	waiter := callmode.NewWaiter(store, callmode.WaiterConfig{})
	defer waiter.Close()
	metrics := server.NewMetrics(func() float64 { return float64(waiter.Held()) },
		func() float64 { return float64(waiter.Parked()) })
	srv := server.New(server.Config{
		Store: store, Catalog: cat, Verifier: verifier, Capabilities: caps, Waiter: waiter,
		Metrics: metrics, PublicURL: f.publicURL, Hop: f.hop, HopMax: f.hopMax, LongPollMax: f.longPollMax, ParkAfter: f.park,
		CORSOrigins: splitList(f.corsOrigins), MaxBody: f.maxBody, Logger: log,
		WriteTimeout: f.writeTimeout, MaxConns: f.maxConns, MaxConnsPerAddress: f.maxConnsPerAddress,
	})
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	httpSrv := srv.HTTPServer(f.listen)
	httpSrv.RegisterOnShutdown(waiter.Drain)
	base := "http://" + ln.Addr().String()
	log.Info("jobgate listening", "url", base, "robots", f.robots)

	var wg sync.WaitGroup
	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	if f.robots > 0 {
		pool := robot.NewPool(robot.Config{
			Store: store, Lookup: cat.LookupProcess, Builtins: builtins, Slots: f.robots,
			Lease: f.lease, DrainTimeout: f.drainTimeout, OnFinish: metrics.Finished, Logger: log,
			Sandbox: sandboxCfg,
		})
		wg.Add(1)
		go func() { defer wg.Done(); pool.Run(workCtx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); reap(workCtx, store, f.lease, log) }()

	if f.dev && f.jwtSecret != "" {
		printDevHelp(stdout, base, f.jwtSecret, devSecret)
	}

	if f.debugListen != "" {
		dbg, err := startDebugServer(f.debugListen)
		if err != nil {
			return err
		}
		defer dbg.Close()
		log.Info("profiler listening", "url", "http://"+dbg.Addr().String()+"/debug/pprof/")
		if tcp, ok := dbg.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
			log.Warn("--debug-listen is reachable from other machines and has no authentication: bind it to 127.0.0.1")
		}
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(srv.Listener(ln)) }()
	select {
	case err := <-serveErr:
		stopWork()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: held requests answer with their next hop, running jobs finish or are handed back")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waiter.Drain()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	// Parked requests are not the HTTP server's any more: wait for their hop answers.
	if err := waiter.WaitParked(shutCtx); err != nil {
		log.Warn("parked requests not all answered", "err", err)
	}
	stopWork()
	wg.Wait()
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// reap runs the store's reaper step every second until ctx ends. After the store was
// unreachable it waits one lease before reaping again, so robots that kept running through
// the outage can renew their leases before they are judged lost.
func reap(ctx context.Context, store jobs.Store, lease time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var holdUntil time.Time
	down := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if down {
			if store.Ping(ctx) == nil {
				down, holdUntil = false, time.Now().Add(lease)
				log.Info("reaper: store reachable again; reaping resumes after one lease", "at", holdUntil)
			}
			continue
		}
		if time.Now().Before(holdUntil) {
			continue
		}
		n, err := store.Reap(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("reaper: store unavailable", "err", err)
			down = true
		case n > 0:
			log.Info("reaper ended jobs whose robot vanished or whose deadline passed", "count", n)
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// printDevHelp prints a ready token and a curl line for each call mode.
func printDevHelp(w io.Writer, base, secret string, generated bool) {
	tok, err := auth.Mint(auth.MintConfig{Secret: []byte(secret), Org: "default", Tenant: "default", Subject: "dev", TTL: 24 * time.Hour})
	if err != nil {
		fmt.Fprintln(w, "could not mint a dev token:", err)
		return
	}
	u := base + "/default/default/orchestrator_/t"
	if generated {
		fmt.Fprintf(w, "\nDev mode: a random JWT secret was made for this run:\n  export JOBGATE_JWT_SECRET=%s\n", secret)
	}
	fmt.Fprintf(w, `
A token for tenant default/default (valid 24h):
  export TOKEN=%s

AsyncRequestReply (202 + Location; poll it until a 303 leads to the output):
  curl -i -X POST %s/add -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"x": 2, "y": 3}'

FireAndForget (200 once the job is stored):
  curl -i -X POST %s/add -H "Authorization: Bearer $TOKEN" -d '{"x": 2, "y": 3, "$callMode": "FireAndForget"}'

LongPolling (held until the job ends; -L follows the 303 hops):
  curl -i -L %s/add -H "Authorization: Bearer $TOKEN" -d '{"x": 2, "y": 3, "$callMode": "LongPolling"}'

GET trigger with query-string arguments:
  curl -i -L '%s/add-get?x=2&y=3&$callMode=LongPolling' -H "Authorization: Bearer $TOKEN"

Or let the reference client follow the call mode:
  go run ./cmd/jobgate invoke --url %s --token $TOKEN --mode LongPolling --arg x=2 --arg y=3 add

`, tok, u, u, u, u, base)
}
