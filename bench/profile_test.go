package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/redisstore"
	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/server"
	"github.com/jobgate/jobgate/trigger"
)

// allocRow is the heap allocations of one kind of request, measured in the harness process
// (client and server together), and what they add to the bare net/http round trip.
type allocRow struct {
	Name                  string
	AllocsPerReq          float64
	BytesPerReq           float64
	ExtraAllocs, ExtraKiB float64 // above the bare net/http handler
}

// profileResult is what the in-process profile run wrote and measured.
type profileResult struct {
	Dir    string
	Files  []string
	Allocs []allocRow
}

// profileInProcess runs jobgate's server in the harness process — wired as `jobgate serve
// --robots 0 --redis` wires it — and writes CPU profiles of FireAndForget and
// AsyncRequestReply load with each token kind, an allocation profile, and allocations per
// request. The profiles hold the load generator too: read them by package (`go tool pprof
// -top -focus 'jobgate|echo|go-redis|jwt'`). This is how the server is profiled without a
// pprof endpoint in the product.
func profileInProcess(t *testing.T, e *env, dir string) {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	res := profileResult{Dir: dir}
	defer func() { e.rep.Profile = &res }()
	if err := e.redis.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	base := startInProcess(t, e)
	hs, rs := e.keys.hs256(t), e.keys.rs256(t)
	const (
		ff  = `{"x":2,"y":3,"$callMode":"FireAndForget"}`
		arr = `{"x":2,"y":3,"$callMode":"AsyncRequestReply"}`
	)
	runs := []struct {
		file, body, token string
		expect            int
	}{
		{"cpu-fireandforget-hs256.pprof", ff, hs, http.StatusOK},
		{"cpu-fireandforget-rs256.pprof", ff, rs, http.StatusOK},
		{"cpu-asyncrequestreply-hs256.pprof", arr, hs, http.StatusAccepted},
	}
	for _, r := range runs {
		if err := e.redis.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		settle()
		path := filepath.Join(dir, r.file)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		lr := load{URL: base + "/default/default/orchestrator_/t/add", Body: constBody(r.body), Tokens: []string{r.token},
			Expect: r.expect, Conns: e.plan.conns, Warmup: e.plan.warmup, Duration: e.plan.runFor}.run(ctx)
		pprof.StopCPUProfile()
		f.Close()
		res.Files = append(res.Files, path)
		t.Logf("%s: %.0f/s in process, failed %d", r.file, lr.PerSecond, lr.Failed)
	}

	bare := startBare(t)
	kinds := []struct {
		name, url, body, token string
		expect                 int
	}{
		{"bare net/http handler (read body, 202)", bare, ff, hs, http.StatusAccepted},
		{"floor", e.floor + "/t/add", ff, hs, http.StatusAccepted},
		{"FireAndForget, HS256", base + "/default/default/orchestrator_/t/add", ff, hs, http.StatusOK},
		{"FireAndForget, RS256", base + "/default/default/orchestrator_/t/add", ff, rs, http.StatusOK},
		{"AsyncRequestReply, HS256", base + "/default/default/orchestrator_/t/add", arr, hs, http.StatusAccepted},
	}
	for _, k := range kinds {
		if err := e.redis.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		allocs, bytes := allocsPerRequest(t, k.url, k.body, k.token, k.expect)
		row := allocRow{Name: k.name, AllocsPerReq: allocs, BytesPerReq: bytes}
		if len(res.Allocs) > 0 {
			row.ExtraAllocs = allocs - res.Allocs[0].AllocsPerReq
			row.ExtraKiB = (bytes - res.Allocs[0].BytesPerReq) / 1024
		}
		res.Allocs = append(res.Allocs, row)
		t.Logf("%-40s %6.0f allocs, %6.1f KiB per request", k.name, allocs, bytes/1024)
	}
	path := filepath.Join(dir, "allocs.pprof")
	if f, err := os.Create(path); err == nil {
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
		res.Files = append(res.Files, path)
	}
}

// allocsPerRequest sends requests one at a time on one connection and returns the heap
// allocations and bytes per request of the whole process.
func allocsPerRequest(t *testing.T, url, body, token string, expect int) (allocs, bytes float64) {
	const warm, n = 200, 2000
	l := load{URL: url, Body: constBody(body), Tokens: []string{token}, Expect: expect, Conns: 1,
		Duration: time.Minute, Limit: warm}
	if r := l.run(context.Background()); r.Total < warm {
		t.Fatalf("%s: warm-up failed: %s", url, r.FirstError)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l.Limit = n
	r := l.run(context.Background())
	runtime.ReadMemStats(&after)
	if r.Total < n {
		t.Fatalf("%s: %d of %d right: %s", url, r.Total, n, r.FirstError)
	}
	return float64(after.Mallocs-before.Mallocs) / n, float64(after.TotalAlloc-before.TotalAlloc) / n
}

// startBare serves the least an HTTP endpoint can do — read the body, answer 202 — to
// subtract the client's and net/http's own allocations.
func startBare(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/t/add"
}

// startInProcess builds jobgate's server as `jobgate serve --dev --robots 0 --redis …`
// does (store, verifier with both keys, capabilities, waiter, metrics, the `add` sample) and
// serves it on a free port; it returns the base URL.
func startInProcess(t *testing.T, e *env) string {
	ctx := context.Background()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{e.redis.srv.Addr()},
		MaxRetries: -1, DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second})
	store, err := redisstore.New(ctx, redisstore.Config{Client: rdb, Prefix: "profile"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(); _ = rdb.Close() })
	pemData, err := os.ReadFile(e.keys.publicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParsePublicKeys(pemData)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.VerifierConfig{Secret: []byte(e.keys.secret), PublicKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	caps, err := auth.NewCapabilities(auth.DeriveCapabilityKey([]byte(e.keys.secret)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	cat := trigger.NewCatalog()
	tenant := jobs.Tenant{Org: "default", Tenant: "default"}
	if err := cat.AddProcess(tenant, jobs.Process{Key: uuid.NewString(), Name: "Args_AddNumbers", ProcessKey: "Args_AddNumbers",
		Builtin: "Args_AddNumbers", Arguments: robot.Builtins()["Args_AddNumbers"].Arguments, Source: jobs.SourceConfig}); err != nil {
		t.Fatal(err)
	}
	if err := cat.AddTrigger(tenant, trigger.Trigger{Key: uuid.NewString(), Slug: "add", Method: "POST", ReleaseName: "Args_AddNumbers",
		Enabled: true, CallMode: jobs.AsyncRequestReply, Source: jobs.SourceConfig}); err != nil {
		t.Fatal(err)
	}
	waiter := callmode.NewWaiter(store, callmode.WaiterConfig{})
	t.Cleanup(waiter.Close)
	metrics := server.NewMetrics(func() float64 { return float64(waiter.Held()) }, func() float64 { return float64(waiter.Parked()) })
	srv := server.New(server.Config{Store: store, Catalog: cat, Verifier: verifier, Capabilities: caps, Waiter: waiter,
		Metrics: metrics, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpSrv := srv.HTTPServer(ln.Addr().String())
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Logf("in-process server: %v", err)
		}
	}()
	t.Cleanup(func() { _ = httpSrv.Close() })
	return "http://" + ln.Addr().String()
}
