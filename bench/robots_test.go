package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// robotResult is what the robot throughput run measured.
type robotResult struct {
	Slots      int
	Backlog    int     // jobs queued before the robots started
	Completed  int     // Successful jobs at the end (Jobs API $count)
	Others     int     // jobs in any other state at the end
	PerSecond  float64 // completions per second between 10% and 90% of the backlog
	Drain      time.Duration
	FirstError string
}

// robotSlots is the slots of the robot throughput server.
const robotSlots = 64

// measureRobots queues a backlog of no-op jobs (`add`, FireAndForget) with an API-only
// server, then starts a server with robots on the same Redis and measures how fast they
// drain it (jobgate_jobs_finished_total), and that every job ended Successful.
func measureRobots(t *testing.T, e *env) {
	ctx := context.Background()
	res := robotResult{Slots: robotSlots}
	defer func() { e.rep.Robots = res }()
	if err := e.redis.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	redisArgs := []string{"--redis", e.redis.URL(), "--redis-prefix", "robots"}
	tok := e.keys.hs256(t)
	api := startJobgate(t, e.bin, append(append(e.keys.serverArgs(), redisArgs...), "--robots", "0")...)
	r := load{URL: api.Tenant("/t/add"), Body: constBody(`{"x":2,"y":3,"$callMode":"FireAndForget"}`),
		Tokens: []string{tok}, Conns: e.plan.conns, Duration: 10 * time.Minute, Limit: int64(e.plan.backlog)}.run(ctx)
	if r.Total < int64(e.plan.backlog) {
		t.Fatalf("queued only %d of %d jobs: %s", r.Total, e.plan.backlog, r.FirstError)
	}
	// A request the load generator cut off when it reached its limit may still be making a
	// job on the server. Stopping the server drains every request in flight (SIGTERM), so a
	// fresh API-only server then counts the backlog exactly.
	api.Stop()
	counter := startJobgate(t, e.bin, append(append(e.keys.serverArgs(), redisArgs...), "--robots", "0")...)
	pending, err := countJobs(ctx, counter, tok, "State eq 'Pending'")
	if err != nil {
		t.Fatal(err)
	}
	if all, err := countJobs(ctx, counter, tok, "Id gt 0"); err != nil {
		t.Fatal(err)
	} else if all != pending {
		t.Fatalf("the backlog holds %d jobs, %d of them Pending: an API-only server ran a job", all, pending)
	}
	res.Backlog = pending
	counter.Stop()

	settle()
	robots := startJobgate(t, e.bin, append(append(e.keys.serverArgs(), redisArgs...), "--robots", fmt.Sprint(robotSlots))...)
	type sample struct {
		at   time.Time
		done float64
	}
	var samples []sample
	start := time.Now()
	deadline := start.Add(10 * time.Minute)
	var n float64
	for {
		var err error
		n, err = robots.Metric(ctx, "jobgate_jobs_finished_total")
		if err == nil {
			samples = append(samples, sample{time.Now(), n})
			if int(n) >= res.Backlog {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("robots finished only %v of %d jobs in 10 minutes", n, res.Backlog)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.Drain = time.Since(start)
	// The rate between 10% and 90% of the backlog leaves out the start-up and the tail.
	at := func(frac float64) (time.Time, float64) {
		for _, s := range samples {
			if s.done >= frac*float64(res.Backlog) {
				return s.at, s.done
			}
		}
		last := samples[len(samples)-1]
		return last.at, last.done
	}
	if len(samples) > 0 {
		t10, n10 := at(0.1)
		t90, n90 := at(0.9)
		if d := t90.Sub(t10); d > 0 {
			res.PerSecond = (n90 - n10) / d.Seconds()
		} else if res.Drain > 0 {
			res.PerSecond = float64(res.Backlog) / res.Drain.Seconds()
		}
	}
	if res.Completed, err = countJobs(ctx, robots, tok, "State eq 'Successful'"); err != nil {
		t.Fatal(err)
	}
	if res.Others, err = countJobs(ctx, robots, tok, "State ne 'Successful'"); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d slots drained %d jobs in %v: %.0f jobs/s; %d Successful, %d in other states",
		robotSlots, res.Backlog, res.Drain.Round(time.Millisecond), res.PerSecond, res.Completed, res.Others)
	if res.Completed != res.Backlog || res.Others != 0 {
		res.FirstError = fmt.Sprintf("%d of %d jobs Successful, %d in other states", res.Completed, res.Backlog, res.Others)
		t.Error(res.FirstError)
	}
	robots.Stop()
}

// countJobs returns the number of jobs matching filter (Jobs API, $count with $top=0).
func countJobs(ctx context.Context, jg *jobgate, token, filter string) (int, error) {
	q := url.Values{"$filter": {filter}, "$count": {"true"}, "$top": {"0"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, jg.Tenant("/odata/Jobs?"+q.Encode()), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := metricsClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var page struct {
		Count *int `json:"@odata.count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK || page.Count == nil {
		return 0, fmt.Errorf("Jobs API $count of %q: status %d: %v", filter, resp.StatusCode, err)
	}
	return *page.Count, nil
}
