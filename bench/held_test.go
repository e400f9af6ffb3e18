package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// heldResult is what the held-calls runs measured.
type heldResult struct {
	Target, Calls    int    // calls wanted, and made (fewer when the open-files limit caps them)
	Scaled           string // why Calls < Target
	Sleep            time.Duration
	PeakHeld         int           // most requests the server reported held at once
	Ramp             time.Duration // from the first call to all held (0: never all at once)
	Base, Peak       goRuntime     // the server before the calls, and while most were held (highest RSS)
	PerCall          float64       // (Peak.RSS - Base.RSS) / PeakHeld, bytes
	EndSpread        time.Duration // from the first job's end to the last's
	BurstServer      float64       // CPU cores the server used from the first job's end to the last answer
	BurstRedis       float64       // and Redis
	LateP50, LateP99 float64       // how long after its job's EndTime each answer arrived, ms
	LateMax          float64
	Right            int // 200 with the output of its own job
	Wrong            int // any other answer
	Lost             int // no answer, or no job
	Hops             int // 303 hops followed in all (0 when the hop outlasts the job)
	FirstError       string
	// The same calls held with no robot (--robots 0): the jobs stay Pending, so this is the
	// cost of the held request alone, without its running job.
	AloneHeld            int
	AloneBase, AlonePeak goRuntime
	AlonePerCall         float64
}

type hopsKey struct{}

// heldCall is one held call as the client saw it.
type heldCall struct {
	seconds float64 // the job's sleep, unique per call, echoed in its output
	recv    time.Time
	status  int
	slept   float64
	hops    int
	err     error
}

// measureHeld holds e.plan.held LongPolling calls of jobs that sleep on one server at once
// (Redis store, a robot slot per job, a hop longer than the jobs), and measures the server's
// RSS per held call and how late each answer came after its job ended. It first holds the
// same number of calls on a server without robots, to tell the held request's own cost from
// that of its running job.
func measureHeld(t *testing.T, e *env) {
	ctx := context.Background()
	n := e.limits.heldCallsAllowed(e.plan.held)
	res := heldResult{Target: e.plan.held, Calls: n, Sleep: e.plan.heldSleep}
	if n < e.plan.held {
		res.Scaled = fmt.Sprintf("the open-files limit (ulimit -n %d, hard %d) caps this run at %d held calls instead of %d: raise it (ulimit -n %d) for the full run",
			e.limits.Soft, e.limits.Hard, n, e.plan.held, e.plan.held+2*fdReserve)
		t.Log(res.Scaled)
	}
	defer func() { e.rep.Held = res }()
	if n <= 0 {
		t.Errorf("no held calls possible: %s", res.Scaled)
		return
	}
	hop := e.plan.heldSleep + 10*time.Minute
	tok := "Bearer " + e.keys.hs256(t)
	newCalls := func() []heldCall {
		calls := make([]heldCall, n)
		for i := range calls {
			calls[i].seconds = e.plan.heldSleep.Seconds() + float64(i)*1e-5
		}
		return calls
	}
	start := func(robots int) *jobgate {
		if err := e.redis.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		jg := startJobgate(t, e.bin, append(e.keys.serverArgs(), "--redis", e.redis.URL(), "--redis-prefix", "held",
			"--robots", strconv.Itoa(robots), "--long-poll-hop", hop.String(), "--long-poll-max", (2*hop).String())...)
		time.Sleep(2 * time.Second) // let the idle robot slots settle
		return jg
	}

	// The held requests alone: nothing runs the jobs; the calls are dropped once all are held
	// (or once the count stops growing for 10s).
	{
		jg := start(0)
		var err error
		if res.AloneBase, err = jg.Runtime(ctx); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		alone := newCalls()
		wait := holdCalls(cctx, jg.Tenant("/t/sleep"), tok, alone, hop, e.plan.heldRate)
		for grew := time.Now(); res.AloneHeld < n && time.Since(grew) < 10*time.Second; {
			time.Sleep(200 * time.Millisecond)
			rt, err := jg.Runtime(ctx)
			switch h := int(rt.HeldRequests); {
			case err != nil:
			case h > res.AloneHeld:
				res.AloneHeld, res.AlonePeak, grew = h, rt, time.Now()
			case h == res.AloneHeld && rt.RSS > res.AlonePeak.RSS:
				res.AlonePeak = rt
			}
		}
		time.Sleep(time.Second) // one more reading once all are held, for a settled RSS
		if rt, err := jg.Runtime(ctx); err == nil && int(rt.HeldRequests) >= res.AloneHeld {
			res.AloneHeld, res.AlonePeak = int(rt.HeldRequests), rt
		}
		cancel()
		wait()
		failed, firstErr := 0, error(nil)
		for _, c := range alone {
			if c.err != nil && !errors.Is(c.err, context.Canceled) {
				if failed++; firstErr == nil {
					firstErr = c.err
				}
			}
		}
		if res.AloneHeld > 0 {
			res.AlonePerCall = float64(res.AlonePeak.RSS-res.AloneBase.RSS) / float64(res.AloneHeld)
		}
		t.Logf("without robots: %d held, server RSS %d MiB → %d MiB (%.1f KiB per held call), goroutines %.0f → %.0f, heap in use %.0f → %.0f MiB, stacks %.0f → %.0f MiB; %d calls failed (%v)",
			res.AloneHeld, res.AloneBase.RSS>>20, res.AlonePeak.RSS>>20, res.AlonePerCall/1024, res.AloneBase.Goroutines, res.AlonePeak.Goroutines,
			res.AloneBase.HeapInuse/(1<<20), res.AlonePeak.HeapInuse/(1<<20), res.AloneBase.StackInuse/(1<<20), res.AlonePeak.StackInuse/(1<<20),
			failed, firstErr)
		if failed > 0 {
			t.Errorf("without robots: %d of %d calls failed; first: %v\nserver log:\n%s", failed, n, firstErr, jg.LogTail(20))
		}
		jg.Stop()
	}

	// The real thing: every job runs on a robot slot and ends after the sleep.
	jg := start(n)
	var err error
	if res.Base, err = jg.Runtime(ctx); err != nil {
		t.Fatal(err)
	}
	redisPID, err := e.redis.PID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type cpuSample struct {
		at            time.Time
		server, redis time.Duration
	}
	var cpu []cpuSample
	calls := newCalls()
	began := time.Now()
	wait := holdCalls(ctx, jg.Tenant("/t/sleep"), tok, calls, hop, e.plan.heldRate)
	launched := time.Since(began)
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
watch:
	for {
		select {
		case <-done:
			break watch
		case <-tick.C:
		}
		srv, err1 := processCPU(jg.PID())
		rds, err2 := processCPU(redisPID)
		if err1 == nil && err2 == nil {
			cpu = append(cpu, cpuSample{time.Now(), srv, rds})
		}
		rt, err := jg.Runtime(ctx)
		if err != nil {
			continue
		}
		switch h := int(rt.HeldRequests); {
		case h > res.PeakHeld:
			res.PeakHeld, res.Peak = h, rt
			if h == n && res.Ramp == 0 {
				res.Ramp = time.Since(began)
			}
		case h == res.PeakHeld && rt.RSS > res.Peak.RSS:
			res.Peak = rt
		}
	}
	if srv, err1 := processCPU(jg.PID()); err1 == nil {
		if rds, err2 := processCPU(redisPID); err2 == nil {
			cpu = append(cpu, cpuSample{time.Now(), srv, rds})
		}
	}
	t.Logf("%d calls launched in %v, %d held at most (all held after %v), server RSS %d MiB → %d MiB, goroutines %.0f → %.0f, heap in use %.0f → %.0f MiB, stacks %.0f → %.0f MiB",
		n, launched.Round(time.Millisecond), res.PeakHeld, res.Ramp.Round(time.Millisecond), res.Base.RSS>>20, res.Peak.RSS>>20,
		res.Base.Goroutines, res.Peak.Goroutines, res.Base.HeapInuse/(1<<20), res.Peak.HeapInuse/(1<<20), res.Base.StackInuse/(1<<20), res.Peak.StackInuse/(1<<20))
	if res.PeakHeld > 0 {
		res.PerCall = float64(res.Peak.RSS-res.Base.RSS) / float64(res.PeakHeld)
	}

	ends, err := sleepJobEnds(ctx, jg, tok)
	if err != nil {
		t.Fatalf("read the jobs' end times: %v", err)
	}
	var late []time.Duration
	var first, last, lastRecv time.Time
	for i := range calls {
		c := &calls[i]
		res.Hops += c.hops
		end, found := ends[c.seconds]
		if found && (first.IsZero() || end.Before(first)) {
			first = end
		}
		if found && end.After(last) {
			last = end
		}
		switch {
		case c.err != nil && c.status == 0, !found:
			res.Lost++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("call %d lost: job found %v, error %v", i, found, c.err)
			}
		case c.err != nil || c.status != http.StatusOK || c.slept != c.seconds:
			res.Wrong++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("call %d wrong: status %d, slept %v want %v, error %v", i, c.status, c.slept, c.seconds, c.err)
			}
		default:
			res.Right++
			late = append(late, c.recv.Sub(end))
			if c.recv.After(lastRecv) {
				lastRecv = c.recv
			}
		}
	}
	res.EndSpread = last.Sub(first)
	// CPU use over the answer burst: the readings just before the first job ended and just
	// after the last answer.
	var from, to *cpuSample
	for i := range cpu {
		if !cpu[i].at.After(first) {
			from = &cpu[i]
		}
		if to == nil && !cpu[i].at.Before(lastRecv) {
			to = &cpu[i]
		}
	}
	if from != nil && to != nil && to.at.After(from.at) {
		d := to.at.Sub(from.at).Seconds()
		res.BurstServer, res.BurstRedis = (to.server-from.server).Seconds()/d, (to.redis-from.redis).Seconds()/d
	}
	slices.Sort(late)
	if len(late) > 0 {
		res.LateP50, res.LateP99, res.LateMax = ms(percentile(late, 50)), ms(percentile(late, 99)), ms(late[len(late)-1])
	}
	t.Logf("right %d, wrong %d, lost %d, hops %d; jobs ended over %v (server %.2f cores, Redis %.2f cores); answer after job end p50 %.1f ms p99 %.1f ms max %.1f ms; %.1f KiB RSS per held call",
		res.Right, res.Wrong, res.Lost, res.Hops, res.EndSpread.Round(time.Millisecond), res.BurstServer, res.BurstRedis,
		res.LateP50, res.LateP99, res.LateMax, res.PerCall/1024)
	if res.Wrong > 0 || res.Lost > 0 {
		t.Errorf("%d wrong and %d lost of %d held calls; first: %s\nserver log:\n%s", res.Wrong, res.Lost, n, res.FirstError, jg.LogTail(20))
	}
	jg.Stop()
}

// holdCalls sends one LongPolling call of `sleep` per element of calls, each on its own
// connection, rate calls a second, and fills in what each call got. It returns once every call was sent; the
// returned func waits until every call has its answer (or ctx ended). At most 64 calls are
// connecting or sending at once, so that the listen backlog never overflows: each slot is
// freed as soon as the request is written and the call is held.
func holdCalls(ctx context.Context, url, bearer string, calls []heldCall, hop time.Duration, rate float64) (wait func()) {
	tr := &http.Transport{DisableKeepAlives: true, DisableCompression: true, MaxIdleConnsPerHost: -1}
	client := &http.Client{Transport: tr, Timeout: hop + time.Minute,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if p, ok := req.Context().Value(hopsKey{}).(*int); ok {
				*p = len(via)
			}
			if len(via) >= 20 {
				return fmt.Errorf("more than 20 hops")
			}
			return nil
		}}
	connecting := make(chan struct{}, 64)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range calls {
		if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
		select {
		case connecting <- struct{}{}:
		case <-ctx.Done():
			return wg.Wait
		}
		wg.Add(1)
		go func(c *heldCall) {
			defer wg.Done()
			release := sync.OnceFunc(func() { <-connecting })
			defer release()
			cctx := httptrace.WithClientTrace(context.WithValue(ctx, hopsKey{}, &c.hops),
				&httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { release() }})
			body := fmt.Appendf(nil, `{"seconds":%s,"$callMode":"LongPolling"}`, strconv.FormatFloat(c.seconds, 'g', -1, 64))
			req, _ := http.NewRequestWithContext(cctx, http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Authorization", bearer)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				c.err = err
				return
			}
			out, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.recv, c.status = time.Now(), resp.StatusCode
			if err != nil {
				c.err = err
				return
			}
			var o struct {
				Slept *float64 `json:"slept"`
			}
			if json.Unmarshal(out, &o) != nil || o.Slept == nil {
				c.err = fmt.Errorf("status %d, output %.200q", resp.StatusCode, out)
				return
			}
			c.slept = *o.Slept
		}(&calls[i])
	}
	return func() {
		wg.Wait()
		tr.CloseIdleConnections()
	}
}

// sleepJobEnds reads every `sleep` job through the Jobs API and returns their EndTimes by
// their `seconds` argument.
func sleepJobEnds(ctx context.Context, jg *jobgate, bearer string) (map[float64]time.Time, error) {
	ends := map[float64]time.Time{}
	for skip := 0; ; skip += 1000 {
		q := url.Values{"$filter": {"TriggerSlug eq 'sleep'"}, "$orderby": {"Id"}, "$top": {"1000"}, "$skip": {strconv.Itoa(skip)}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, jg.Tenant("/odata/Jobs?"+q.Encode()), nil)
		req.Header.Set("Authorization", bearer)
		resp, err := metricsClient.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Value []struct {
				State          string
				EndTime        *time.Time
				InputArguments struct {
					Seconds float64 `json:"seconds"`
				}
			} `json:"value"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("Jobs API: status %d: %v", resp.StatusCode, err)
		}
		for _, j := range page.Value {
			if j.State == "Successful" && j.EndTime != nil {
				ends[j.InputArguments.Seconds] = *j.EndTime
			}
		}
		if len(page.Value) < 1000 {
			return ends, nil
		}
	}
}
