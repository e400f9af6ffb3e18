package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// report gathers every figure of a harness run and renders docs/benchmarks.md.
type report struct {
	plan         plan
	Date         time.Time
	Cores        int
	CPU          string
	GoVersion    string
	RedisVersion string
	Limits       fileLimits
	LoadBefore   string // /proc/loadavg when the run began
	LoadAfter    string // and when it ended
	Throughput   []throughputRow
	Latency      []latencyRow
	Held         heldResult
	Robots       robotResult
	Soak         soakResult
	Profile      *profileResult
}

func newReport(p plan, l fileLimits) *report {
	return &report{plan: p, Date: time.Now().UTC(), Cores: runtime.NumCPU(), CPU: cpuModel(),
		GoVersion: runtime.Version(), Limits: l, LoadBefore: loadAverage()}
}

// loadAverage returns the 1, 5 and 15 minute load averages of /proc/loadavg, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// target is one of the targets with its verdict.
type target struct {
	What, Want, Got string
	Pass            bool
}

func (r *report) targets() []target {
	var out []target
	for _, row := range r.Throughput {
		if strings.HasPrefix(row.Name, "FireAndForget") {
			out = append(out, target{"FireAndForget throughput on Redis, " + strings.TrimPrefix(row.Name, "FireAndForget, "),
				"≥ 0.60 × floor", fmt.Sprintf("%.2f × floor (median %.0f/s; floor %.0f/s)", row.Ratio, row.Median, r.Throughput[0].Median), row.Ratio >= 0.6})
		}
	}
	for _, row := range r.Latency {
		if row.Store == "Redis" && row.Clients == 1 {
			out = append(out, target{"LongPolling `add` p50 on Redis, 1 client", "≤ 5 ms", fmt.Sprintf("%.2f ms", row.P50), row.P50 > 0 && row.P50 <= 5})
		}
	}
	h := r.Held
	scaled := ""
	if h.Calls < h.Target {
		scaled = fmt.Sprintf(" (only %d calls: open-files limit)", h.Calls)
	}
	out = append(out,
		target{fmt.Sprintf("%d held LongPolling calls: server RSS per held call", h.Target), "≤ 32 KiB",
			fmt.Sprintf("%.1f KiB%s", h.PerCall/1024, scaled), h.PeakHeld > 0 && h.PerCall <= 32<<10 && h.Calls == h.Target},
		target{"held calls: answer after job end, p99", "≤ 1 s", fmt.Sprintf("%.0f ms (max %.0f ms)", h.LateP99, h.LateMax),
			h.Right > 0 && h.LateP99 <= 1000},
		target{"held calls: none wrong or lost", "0 wrong, 0 lost", fmt.Sprintf("%d wrong, %d lost of %d", h.Wrong, h.Lost, h.Calls),
			h.Calls > 0 && h.Wrong == 0 && h.Lost == 0},
	)
	s := r.Soak
	out = append(out,
		target{fmt.Sprintf("soak %v: server RSS bounded", s.Duration), "end ≤ 1.25 × start + 8 MiB",
			fmt.Sprintf("%.1f → %.1f MiB", mib(s.Start.RSS), mib(s.End.RSS)), s.RSSBounded && s.Failed == 0},
		target{fmt.Sprintf("soak %v: Redis memory bounded", s.Duration), "end ≤ 1.25 × start + 8 MiB",
			fmt.Sprintf("%.1f → %.1f MiB", mib(s.Start.Redis), mib(s.End.Redis)), s.RedisBound && s.Failed == 0},
	)
	return out
}

// Markdown renders the report as docs/benchmarks.md.
func (r *report) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Benchmarks")
	p("")
	p("Written by the benchmark harness (`bench/`, issue 5) on %s. Re-run it with:", r.Date.Format("2006-01-02 15:04 MST"))
	p("")
	p("```sh")
	p("SOAK=%s make bench", r.plan.soak)
	p("# which runs: go test -run '^TestHarness$' -count=1 -timeout 60m -v ./bench -args -harness -soak %s", r.plan.soak)
	p("```")
	p("")
	p("| machine | |")
	p("|---|---|")
	p("| cores (runtime.NumCPU) | %d%s |", r.Cores, ifNotEmpty(" — "+r.CPU, r.CPU))
	p("| Go | %s %s/%s |", r.GoVersion, runtime.GOOS, runtime.GOARCH)
	p("| Redis | %s, private, `appendonly yes`, `appendfsync everysec`, `noeviction` (the docker-compose setup) |", r.RedisVersion)
	p("| open files (ulimit -n) | soft %d, hard %d%s |", r.Limits.Soft, r.Limits.Hard, ifNotEmpty("; "+r.Limits.Err, r.Limits.Err))
	p("| load average (1, 5, 15 min) at start → end | %s → %s |", r.LoadBefore, r.LoadAfter)
	p("")
	p("The harness, the servers and Redis share the machine (and, when run there, with whatever")
	p("else runs on it; a load average above the core count means something else ran too): the")
	p("ratios to the floor and the CPU per request mean more than the absolute rates.")
	p("")

	p("## Targets")
	p("")
	p("| target | wanted | measured | |")
	p("|---|---|---|---|")
	for _, tg := range r.targets() {
		verdict := "**pass**"
		if !tg.Pass {
			verdict = "**FAIL**"
		}
		p("| %s | %s | %s | %s |", tg.What, tg.Want, tg.Got, verdict)
	}
	p("")

	p("## Invocation throughput (Redis, `--robots 0`)")
	p("")
	p("%d connections, closed loop, keep-alive; %d rounds of %v (after %v warm-up) per", r.plan.conns, r.plan.rounds, r.plan.runFor, r.plan.warmup)
	p("configuration, alternating, order rotated each round. \"× floor\" is the median over the rounds")
	p("of each run divided by the floor's run of the same round; the other columns are of the")
	p("median round. Redis is flushed before each run. The floor is an Echo handler in the harness")
	p("process that reads the body, writes a hash, pushes to a list and sets an expiry in one")
	p("pipeline, and answers 202.")
	p("\"Redis commands\" are INFO commandstats per request: commands run inside a script count too,")
	p("so a script shows as `evalsha` plus its inner commands, yet is one round trip. CPU per request")
	p("is from /proc/PID/stat over the whole run (medians of the rounds); the floor's server CPU is")
	p("not separable from the load generator's, which shares its process.")
	p("")
	p("| configuration | median/s | rounds/s | × floor | p50 ms | p99 ms | failed | server CPU µs/req | Redis CPU µs/req | Redis commands per request |")
	p("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
	for _, row := range r.Throughput {
		rounds := make([]string, len(row.Runs))
		for i, v := range row.Runs {
			rounds[i] = fmt.Sprintf("%.0f", v)
		}
		srvCPU := "–"
		if row.ServerCPU > 0 {
			srvCPU = fmt.Sprintf("%.0f", row.ServerCPU)
		}
		p("| %s | %.0f | %s | %.2f | %.2f | %.2f | %d | %s | %.0f | %s |", row.Name, row.Median, strings.Join(rounds, ", "),
			row.Ratio, row.P50, row.P99, row.Failed, srvCPU, row.RedisCPU, row.Redis)
	}
	p("")

	p("## LongPolling round trip (`add`, invoke → output, in-process robots)")
	p("")
	p("`--robots %s`; each client sends `{\"x\": n, \"y\": 1, \"$callMode\": \"LongPolling\"}` and checks", latencyRobots)
	p("that the answer is `{\"sum\": n+1, …}`; closed loop for %v per row.", r.plan.latencyFor)
	p("")
	p("| store | clients | calls | calls/s | p50 ms | p99 ms | failed |")
	p("|---|---:|---:|---:|---:|---:|---:|")
	for _, row := range r.Latency {
		p("| %s | %d | %d | %.0f | %.2f | %.2f | %d |", row.Store, row.Clients, row.Calls, row.PerSecond, row.P50, row.P99, row.Failed)
	}
	p("")

	h := r.Held
	p("## Held LongPolling calls")
	p("")
	if h.Scaled != "" {
		p("**Scaled down:** %s.", h.Scaled)
		p("")
	}
	p("One server on Redis with `--robots %d`, a hop longer than the jobs; %d LongPolling calls of", h.Calls, h.Calls)
	p("`sleep` (%v plus a distinct fraction each, echoed in the output, so that a swapped answer", h.Sleep)
	p("shows), sent %.0f a second, at most 64 connecting at a time, each on its own connection; all", r.plan.heldRate)
	p("are held together once sent. RSS is the server's VmRSS; per held call = (RSS while most were")
	p("held − RSS idle with its robot slots) / calls held. Lateness = when the client had the answer −")
	p("the job's `EndTime` (Jobs API); the jobs end at the rate the calls were sent. The same calls")
	p("are first held on a server without robots, to tell the held request's own cost from that of")
	p("its running job. A call held longer than `--long-poll-park` (default 1 s) is parked: its")
	p("connection waits in the hub without a goroutine (docs/configuration.md), so at the peak nearly")
	p("every held call is parked.")
	p("")
	p("| figure | value |")
	p("|---|---|")
	p("| calls | %d (wanted %d) |", h.Calls, h.Target)
	p("| most held at once (`jobgate_held_requests`) | %d |", h.PeakHeld)
	p("| of them parked (`jobgate_parked_requests`) | %.0f |", h.Peak.Parked)
	p("| all held after | %s |", durOrDash(h.Ramp))
	p("| server RSS idle → held | %.1f MiB → %.1f MiB |", mib(h.Base.RSS), mib(h.Peak.RSS))
	p("| RSS per held call (incl. its running job) | %.1f KiB |", h.PerCall/1024)
	if held := float64(h.PeakHeld); held > 0 {
		p("| per held call: goroutines / Go heap in use / goroutine stacks | %.1f / %.1f KiB / %.1f KiB |",
			(h.Peak.Goroutines-h.Base.Goroutines)/held, (h.Peak.HeapInuse-h.Base.HeapInuse)/held/1024,
			(h.Peak.StackInuse-h.Base.StackInuse)/held/1024)
	}
	if held := float64(h.AloneHeld); held > 0 {
		p("| the held request alone (`--robots 0`, jobs Pending), per held call: RSS / goroutines / Go heap in use / goroutine stacks | %.1f KiB / %.1f / %.1f KiB / %.1f KiB |",
			h.AlonePerCall/1024, (h.AlonePeak.Goroutines-h.AloneBase.Goroutines)/held, (h.AlonePeak.HeapInuse-h.AloneBase.HeapInuse)/held/1024,
			(h.AlonePeak.StackInuse-h.AloneBase.StackInuse)/held/1024)
	}
	p("| jobs ended over | %v (%.0f jobs/s) |", h.EndSpread.Round(time.Millisecond), perSecond(h.Right, h.EndSpread))
	p("| CPU from the first job's end to the last answer: server / Redis | %.2f / %.2f cores (of %d) |", h.BurstServer, h.BurstRedis, r.Cores)
	p("| answer after job end p50 / p99 / max | %.1f / %.1f / %.1f ms |", h.LateP50, h.LateP99, h.LateMax)
	p("| right / wrong / lost | %d / %d / %d |", h.Right, h.Wrong, h.Lost)
	p("| 303 hops followed | %d |", h.Hops)
	p("")

	ro := r.Robots
	p("## Robot throughput (no-op builtin `Args_AddNumbers`, Redis)")
	p("")
	p("An API-only server queues a backlog with FireAndForget; then a server with `--robots %d`", ro.Slots)
	p("starts on the same Redis and drains it. Rate = completions between 10%% and 90%% of the")
	p("backlog (`jobgate_jobs_finished_total`); the end states come from the Jobs API `$count`.")
	p("")
	p("| figure | value |")
	p("|---|---|")
	p("| backlog | %d jobs |", ro.Backlog)
	p("| jobs completed per second | %.0f |", ro.PerSecond)
	p("| drained in | %v |", ro.Drain.Round(time.Millisecond))
	p("| Successful / other states at the end | %d / %d |", ro.Completed, ro.Others)
	p("")

	s := r.Soak
	p("## Soak (%v)", s.Duration)
	p("")
	p("One server on Redis, `--robots %d --retention %v`; FireAndForget offered at %.0f/s (half the", robotSlots, s.Retention, s.Rate)
	p("robots' rate above, at most 1000/s) plus 2 LongPolling clients in a closed loop. \"Start\" is")
	p("the first reading after a third of the soak (retained jobs have reached their steady state);")
	p("bounded = end ≤ 1.25 × start + 8 MiB.")
	p("")
	p("| figure | start | end | bounded |")
	p("|---|---:|---:|---|")
	p("| server RSS | %.1f MiB | %.1f MiB | %s |", mib(s.Start.RSS), mib(s.End.RSS), yesNo(s.RSSBounded))
	p("| Redis used_memory | %.1f MiB | %.1f MiB | %s |", mib(s.Start.Redis), mib(s.End.Redis), yesNo(s.RedisBound))
	p("")
	p("Answered right: %d FireAndForget, %d LongPolling; failed: %d. At the end: %d jobs in the store", s.FFCalls, s.LPCalls, s.Failed, s.Kept)
	p("(the retention alone would keep about %.0f), %d of them Pending.", s.KeptExpected, s.Pending)
	p("")
	if len(s.Samples) > 0 {
		p("<details><summary>readings</summary>")
		p("")
		p("| at | server RSS MiB | Redis MiB |")
		p("|---:|---:|---:|")
		for _, x := range s.Samples {
			p("| %v | %.1f | %.1f |", x.At.Round(time.Second), mib(x.RSS), mib(x.Redis))
		}
		p("")
		p("</details>")
		p("")
	}

	if pr := r.Profile; pr != nil {
		p("## Allocations per request (in-process server, `-profile %s`)", pr.Dir)
		p("")
		p("The server wired in the harness process, one connection, requests one at a time; heap")
		p("allocations of the whole process (client included), and what each adds to a bare net/http")
		p("handler. CPU profiles: %s.", strings.Join(pr.Files, ", "))
		p("")
		p("| request | allocs | KiB | allocs over bare | KiB over bare |")
		p("|---|---:|---:|---:|---:|")
		for _, a := range pr.Allocs {
			p("| %s | %.0f | %.1f | %.0f | %.1f |", a.Name, a.AllocsPerReq, a.BytesPerReq/1024, a.ExtraAllocs, a.ExtraKiB)
		}
		p("")
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
func mib(b int64) float64 { return float64(b) / (1 << 20) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func durOrDash(d time.Duration) string {
	if d == 0 {
		return "– (never all at once)"
	}
	return d.Round(time.Millisecond).String()
}

func ifNotEmpty(s, cond string) string {
	if cond == "" {
		return ""
	}
	return s
}
