package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

var (
	harnessFlag = flag.Bool("harness", false, "run the full benchmark harness and write docs/benchmarks.md (make bench); without it a small smoke run checks correctness only")
	soakFlag    = flag.Duration("soak", 5*time.Minute, "length of the soak run of the full harness")
	heldFlag    = flag.Int("held", 10_000, "LongPolling calls held at once by the full harness (scaled down when the open-files limit is lower)")
	docFlag     = flag.String("doc", "../docs/benchmarks.md", "where the full harness writes its report")
	profileFlag = flag.String("profile", "", "directory: also profile an in-process jobgate (CPU, allocations) under FireAndForget load and write the profiles there")
)

// plan is how big each measurement is: the full harness, or the smoke run of `go test`.
type plan struct {
	full bool
	// Throughput: rounds of alternating runs of conns connections, each warmup + runFor.
	rounds         int
	conns          int
	warmup, runFor time.Duration
	// LongPolling latency: closed loops of each client count for latencyFor.
	latencyClients []int
	latencyFor     time.Duration
	// smokeCalls, when positive, replaces the timed windows of the throughput and latency
	// runs by this many right answers each, so that the smoke run never depends on speed.
	smokeCalls int64
	// Held calls: held calls of jobs that sleep heldSleep, sent heldRate a second (so the
	// jobs also end at that rate).
	held      int
	heldSleep time.Duration
	heldRate  float64
	// Robot throughput: jobs in the backlog the robots drain.
	backlog int
	// Soak: how long.
	soak time.Duration
}

func fullPlan() plan {
	return plan{full: true, rounds: 5, conns: 64, warmup: time.Second, runFor: 4 * time.Second,
		latencyClients: []int{1, 16}, latencyFor: 5 * time.Second,
		held: *heldFlag, heldSleep: 20 * time.Second, heldRate: 1000, backlog: 20_000, soak: *soakFlag}
}

func smokePlan() plan {
	return plan{rounds: 1, conns: 8, latencyClients: []int{1, 4}, smokeCalls: 100,
		held: 50, heldSleep: 2 * time.Second, heldRate: 1000, backlog: 200, soak: 3 * time.Second}
}

// env is what every measurement shares: the binary, the keys, the Redis, the floor, and
// the report being filled in.
type env struct {
	plan   plan
	bin    string
	keys   signingKeys
	redis  *benchRedis
	floor  string
	limits fileLimits
	rep    *report
}

// TestHarness runs every measurement of issue 5. With -harness it is the full benchmark
// (make bench) and writes docs/benchmarks.md; without, a small smoke run of each that
// checks only that every answer was right and none was lost, never how fast.
func TestHarness(t *testing.T) {
	p := smokePlan()
	if *harnessFlag {
		p = fullPlan()
	}
	limits := raiseFileLimit()
	e := &env{plan: p, limits: limits, rep: newReport(p, limits)}
	e.bin = buildJobgate(t)
	e.keys = newSigningKeys(t)
	e.redis = startRedis(t)
	e.floor = startFloor(t, e.redis.srv.Addr())
	e.rep.RedisVersion = e.redis.version(context.Background())

	measurements := []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"InvocationThroughput", measureThroughput},
		{"LongPollingLatency", measureLatency},
		{"HeldCalls", measureHeld},
		{"RobotThroughput", measureRobots},
		{"Soak", measureSoak},
	}
	ran := 0
	for _, m := range measurements {
		t.Run(m.name, func(t *testing.T) { ran++; m.run(t, e) })
	}
	if *profileFlag != "" {
		t.Run("Profile", func(t *testing.T) { profileInProcess(t, e, *profileFlag) })
	}

	if !p.full {
		return
	}
	if ran < len(measurements) {
		t.Logf("only %d of %d measurements ran (-run): %s not written", ran, len(measurements), *docFlag)
		return
	}
	e.rep.LoadAfter = loadAverage()
	table := e.rep.Markdown()
	fmt.Fprintln(os.Stdout, "\n"+table)
	if err := os.WriteFile(*docFlag, []byte(table), 0o644); err != nil {
		t.Errorf("write %s: %v", *docFlag, err)
	} else {
		t.Logf("wrote %s", *docFlag)
	}
}

// timed sets l's window: warmup then d, or, in the smoke run, a count of right answers.
func (p plan) timed(l load, warmup, d time.Duration) load {
	if p.smokeCalls > 0 {
		l.Warmup, l.Duration, l.Limit = 0, 2*time.Minute, p.smokeCalls
		return l
	}
	l.Warmup, l.Duration = warmup, d
	return l
}

// settle lets the machine quiet down between runs: a GC of the harness and a short pause.
func settle() {
	runtime.GC()
	time.Sleep(200 * time.Millisecond)
}
