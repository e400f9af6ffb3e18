package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/internal/redistest"
)

func TestRedis_LongPollHeldOnOneServerIsAnsweredByARobotOnAnother(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	api := startServer(t, "--redis", r.URL(), "--robots", "0")
	worker := startServer(t, "--redis", r.URL(), "--robots", "2")
	tok := token(t)

	res := do(t, follow, "POST", api.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.3, "$callMode": "LongPolling"})
	wantStatus(t, res, http.StatusOK)
	if res.json(t)["slept"] != 0.3 {
		t.Fatalf("output = %s", res.Body)
	}
	job := waitJobState(t, api, 1, "Successful")
	if job["Robot"] == nil {
		t.Fatalf("job has no robot: %v", job)
	}

	// AsyncRequestReply created on the API server, polled on the worker.
	acc := do(t, noFollow, "POST", api.tenantURL("/t/add"), tok, map[string]any{"x": 4, "y": 5})
	wantStatus(t, acc, http.StatusAccepted)
	loc := strings.Replace(acc.Header.Get("Location"), api.URL, worker.URL, 1)
	out := do(t, follow, "GET", loc, tok, nil)
	for i := 0; out.Status == http.StatusOK && !strings.HasSuffix(out.URL, "/output") && i < 200; i++ {
		time.Sleep(20 * time.Millisecond)
		out = do(t, follow, "GET", loc, tok, nil)
	}
	wantStatus(t, out, http.StatusOK)
	if out.json(t)["sum"] != 9.0 {
		t.Fatalf("output read on the other server = %s", out.Body)
	}
}

// holdLongPolls starts n LongPolling calls of the sleep trigger and returns a channel of
// their answers.
func holdLongPolls(t *testing.T, s *testServer, n int, seconds float64) <-chan response {
	t.Helper()
	answers := make(chan response, n)
	tok := token(t)
	for i := 0; i < n; i++ {
		go func() {
			req, _ := http.NewRequest("POST", s.tenantURL("/t/sleep"), strings.NewReader(fmt.Sprintf(`{"seconds": %v, "$callMode": "LongPolling"}`, seconds)))
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := follow.Do(req)
			if err != nil {
				answers <- response{Status: -1, Body: []byte(err.Error())}
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			answers <- response{Status: res.StatusCode, Body: b}
		}()
	}
	return answers
}

// waitHeldAtLeast waits until the server holds n requests (jobgate_held_requests).
func waitHeldAtLeast(t *testing.T, s *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		m := do(t, noFollow, "GET", s.URL+"/metrics", "", nil)
		for _, line := range strings.Split(string(m.Body), "\n") {
			if strings.HasPrefix(line, "jobgate_held_requests ") {
				if v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64); int(v) >= n {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the server never held %d requests", n)
}

func collect(t *testing.T, answers <-chan response, n int, within time.Duration, wantSlept float64) {
	t.Helper()
	timeout := time.After(within)
	for i := 0; i < n; i++ {
		select {
		case r := <-answers:
			if r.Status != http.StatusOK || !strings.Contains(string(r.Body), fmt.Sprintf(`"slept":%v`, wantSlept)) {
				t.Errorf("answer %d: %d %s", i, r.Status, r.Body)
			}
		case <-timeout:
			t.Fatalf("only %d of %d held calls were answered within %v", i, n, within)
		}
	}
}

// heldKinds runs fn with held LongPolling calls kept on their goroutine (--long-poll-park
// 1m), and parked at once (0s).
func heldKinds(t *testing.T, fn func(t *testing.T, park string)) {
	for _, k := range []struct{ name, park string }{{"goroutine", "1m"}, {"parked", "0s"}} {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, k.park)
		})
	}
}

func TestRedis_RestartWhile50LongPollsAreHeld_AllAnswered(t *testing.T) {
	heldKinds(t, testRestartWhileHeld)
}

func testRestartWhileHeld(t *testing.T, park string) {
	r := redistest.Start(t)
	s := startServer(t, "--redis", r.URL(), "--robots", "50", "--long-poll-park", park)
	const n = 50
	answers := holdLongPolls(t, s, n, 2)
	waitHeldAtLeast(t, s, n)

	r.Stop()
	// While Redis is down a new invocation is refused at once with 503 and Retry-After.
	began := time.Now()
	down := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 1})
	p := wantProblem(t, down, http.StatusServiceUnavailable)
	if down.Header.Get("Retry-After") == "" || time.Since(began) > 10*time.Second || strings.Contains(p["detail"].(string), "dial") {
		t.Fatalf("503 after %v, Retry-After %q, detail %q", time.Since(began), down.Header.Get("Retry-After"), p["detail"])
	}
	ready := do(t, noFollow, "GET", s.URL+"/readyz", "", nil)
	wantStatus(t, ready, http.StatusServiceUnavailable)
	time.Sleep(2500 * time.Millisecond) // the jobs end while Redis is down; robots keep their results
	r.Restart()

	collect(t, answers, n, 40*time.Second, 2)
	wantStatus(t, do(t, noFollow, "GET", s.URL+"/readyz", "", nil), http.StatusOK)
	for i := 1; i <= n; i++ {
		waitJobState(t, s, i, "Successful") // none lost
	}
}

func TestRedis_DroppedSubscriptionWhileCallsAreHeld_AllAnswered(t *testing.T) {
	heldKinds(t, testDroppedSubscriptionWhileHeld)
}

func testDroppedSubscriptionWhileHeld(t *testing.T, park string) {
	r := redistest.Start(t)
	// A long safety-net recheck would hide a lost wake-up; the hop is long too.
	s := startServer(t, "--redis", r.URL(), "--robots", "20", "--long-poll-park", park)
	const n = 20
	answers := holdLongPolls(t, s, n, 1.5)
	waitHeldAtLeast(t, s, n)
	if out, err := r.CLI("CLIENT", "KILL", "TYPE", "pubsub"); err != nil || out == "0" {
		t.Fatalf("CLIENT KILL TYPE pubsub = %q, %v", out, err)
	}
	// Answers must come from notifications (or the reconnect's re-read), well before the
	// 10 s safety-net recheck.
	collect(t, answers, n, 8*time.Second, 1.5)
}

func TestRedis_KeysAreBoundedAfter1000Jobs(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	s := startServer(t, "--redis", r.URL(), "--robots", "4", "--retention", "3s")
	tok := token(t)
	const n = 1000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			res := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": i, "y": 1, "$callMode": "FireAndForget"},
				"Idempotency-Key", fmt.Sprintf("k-%d", i))
			if res.Status != http.StatusOK {
				t.Errorf("invocation %d: %d %s", i, res.Status, res.Body)
			}
		}(i)
	}
	wg.Wait()
	for deadline := time.Now().Add(60 * time.Second); ; {
		// Every job has ended (the first may already be gone: the retention is 3 s).
		list := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs?$filter=State%20ne%20'Successful'&$count=true&$top=0"), tok, nil)
		if list.json(t)["@odata.count"] == 0.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still not Successful after 60s: %s", list.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Every key that grows with jobs expires; the rest are a fixed handful.
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var persistent []string
	for _, k := range keys {
		// -1: no expiry. (-2: the reaper deleted the key since KEYS listed it.)
		if ttl := rdb.PTTL(ctx, k).Val(); ttl == -1 {
			persistent = append(persistent, k)
		}
	}
	if len(keys) < n || len(persistent) > 8 {
		t.Fatalf("%d keys, %d without expiry after %d jobs: %v", len(keys), len(persistent), n, persistent)
	}
	// After the retention the reaper deletes the jobs and their index entries; what is left
	// is the fixed handful and the idempotency records, which expire after 24 h.
	deadline := time.Now().Add(20 * time.Second)
	for {
		jobKeys := len(rdb.Keys(ctx, "{jobgate}:job:*").Val())
		indexed := rdb.ZCard(ctx, "{jobgate}:byid:default/default").Val()
		idem := len(rdb.Keys(ctx, "{jobgate}:idem:*").Val())
		size := int(rdb.DBSize(ctx).Val())
		if jobKeys == 0 && indexed == 0 && size-idem <= 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the retention Redis holds %d job hashes, %d indexed jobs, %d keys (%d idempotency records)", jobKeys, indexed, size, idem)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRedis_HeldCallOutlastedByAnOutageAnswersItsNextHop(t *testing.T) {
	for _, park := range []string{"0s", "5s"} { // parked, and held with its goroutine (park time past the hop)
		t.Run("park="+park, func(t *testing.T) {
			t.Parallel()
			r := redistest.Start(t)
			s := startServer(t, "--redis", r.URL(), "--long-poll-hop", "1s", "--long-poll-park", park)
			first := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), token(t), map[string]any{"seconds": 3, "$callMode": "LongPolling"})
			wantStatus(t, first, http.StatusSeeOther)
			hop2 := first.Header.Get("Location")
			if !strings.HasSuffix(strings.SplitN(hop2, "?", 2)[0], "/wait/2") {
				t.Fatalf("first hop went to %q", hop2)
			}
			r.Stop()
			// The outage outlasts the whole hop: the call answers its next hop, not 503.
			down := do(t, noFollow, "GET", hop2, token(t), nil)
			wantStatus(t, down, http.StatusSeeOther)
			hop3 := down.Header.Get("Location")
			if !strings.HasSuffix(strings.SplitN(hop3, "?", 2)[0], "/wait/3") {
				t.Fatalf("hop during the outage went to %q, want …/wait/3", hop3)
			}
			r.Restart()
			// Once Redis is back the chain goes on to the output.
			out := do(t, follow, "GET", hop3, token(t), nil)
			wantStatus(t, out, http.StatusOK)
			if out.json(t)["slept"] != 3.0 {
				t.Fatalf("output = %s", out.Body)
			}
		})
	}
}
