package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// soakSample is one reading during the soak.
type soakSample struct {
	At         time.Duration
	RSS, Redis int64 // server RSS, Redis used_memory (bytes)
}

// soakResult is what the soak measured.
type soakResult struct {
	Duration, Retention    time.Duration
	Rate                   float64 // FireAndForget invocations offered per second
	FFCalls, LPCalls       int64   // right answers
	Failed                 int64
	FirstError             string
	Samples                []soakSample
	Start, End             soakSample // after the first third (steady state), and at the end
	Pending                int        // jobs still Pending at the end
	Kept                   int        // jobs in the store at the end (Jobs API $count)
	KeptExpected           float64    // what the retention alone would keep: jobs/s × retention
	RSSBounded, RedisBound bool
}

// bounded is the soak's test of "no unbounded growth": the end reading is at most 25% plus
// 8 MiB above the reading after the first third, when the retained jobs reached their
// steady state.
func bounded(start, end int64) bool { return float64(end) <= 1.25*float64(start)+8<<20 }

// measureSoak runs a steady mixed load (FireAndForget at half the robots' measured rate,
// plus two LongPolling clients) for the soak duration on one server with robots and a
// short --retention, and samples the server's RSS and Redis's memory.
func measureSoak(t *testing.T, e *env) {
	ctx := context.Background()
	soak := e.plan.soak
	res := soakResult{Duration: soak, Retention: min(max(soak/6, 5*time.Second), time.Minute), Rate: 100}
	if r := e.rep.Robots.PerSecond; r > 0 {
		res.Rate = min(max(r/2, 20), 1000)
	}
	defer func() { e.rep.Soak = res }()
	if err := e.redis.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	jg := startJobgate(t, e.bin, append(e.keys.serverArgs(), "--redis", e.redis.URL(), "--redis-prefix", "soak",
		"--robots", fmt.Sprint(robotSlots), "--retention", res.Retention.String())...)
	tok := e.keys.hs256(t)

	var ff, lp loadResult
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		ff = load{URL: jg.Tenant("/t/add"), Body: constBody(`{"x":2,"y":3,"$callMode":"FireAndForget"}`),
			Tokens: []string{tok}, Conns: 16, Duration: soak, Rate: res.Rate}.run(ctx)
	}()
	go func() {
		defer wg.Done()
		lp = load{URL: jg.Tenant("/t/add"), Tokens: []string{tok}, Conns: 2, Duration: soak, Check: checkSum,
			Body: func(seq uint64) []byte {
				return fmt.Appendf(nil, `{"x":%d,"y":1,"$callMode":"LongPolling"}`, seq)
			}}.run(ctx)
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	start := time.Now()
	every := max(soak/20, 500*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	sample := func() {
		if n := len(res.Samples); n > 0 && time.Since(start)-res.Samples[n-1].At < every/2 {
			return // the last tick was just now
		}
		rss, err1 := jg.RSS()
		mem, err2 := e.redis.UsedMemory(ctx)
		if err1 == nil && err2 == nil {
			res.Samples = append(res.Samples, soakSample{At: time.Since(start), RSS: rss, Redis: mem})
		}
	}
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			sample()
		}
	}
	sample()
	res.FFCalls, res.LPCalls, res.Failed = ff.Total, lp.Total, ff.Failed+lp.Failed
	res.FirstError = ff.FirstError
	if res.FirstError == "" {
		res.FirstError = lp.FirstError
	}
	var err error
	if res.Pending, err = countJobs(ctx, jg, tok, "State eq 'Pending'"); err != nil {
		t.Error(err)
	}
	if res.Kept, err = countJobs(ctx, jg, tok, "Id gt 0"); err != nil {
		t.Error(err)
	}
	res.KeptExpected = float64(res.FFCalls+res.LPCalls) / soak.Seconds() * min(res.Retention, soak).Seconds()
	if len(res.Samples) > 0 {
		res.Start, res.End = res.Samples[0], res.Samples[len(res.Samples)-1]
		for _, s := range res.Samples {
			if s.At >= soak/3 {
				res.Start = s
				break
			}
		}
		res.RSSBounded, res.RedisBound = bounded(res.Start.RSS, res.End.RSS), bounded(res.Start.Redis, res.End.Redis)
	}
	t.Logf("soak %v (retention %v): %d FireAndForget at %.0f/s, %d LongPolling; RSS %d → %d MiB, Redis %d → %d MiB; at the end %d jobs kept (retention alone: ~%.0f), %d Pending; failed %d",
		soak, res.Retention, res.FFCalls, res.Rate, res.LPCalls, res.Start.RSS>>20, res.End.RSS>>20,
		res.Start.Redis>>20, res.End.Redis>>20, res.Kept, res.KeptExpected, res.Pending, res.Failed)
	if res.Failed > 0 || res.FFCalls == 0 || res.LPCalls == 0 {
		t.Errorf("soak: %d failed, %d FireAndForget and %d LongPolling right; first: %s", res.Failed, res.FFCalls, res.LPCalls, res.FirstError)
	}
	jg.Stop()
}
