package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// Parked LongPolling requests (--long-poll-park): their connection waits in the hub without a
// goroutine, and their answers must be exactly those of a request that kept its goroutine.

func TestLongPolling_ParkedCallAnswersWithTheOutputAndKeepsTheConnection(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--long-poll-park", "0s")
		tok := token(t)
		for _, c := range []struct {
			name   string
			client *http.Client
		}{{"no-follow", noFollow}, {"follow", follow}} {
			r := do(t, c.client, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.5, "$callMode": "LongPolling"},
				"X-Request-Id", "parked-"+c.name)
			wantStatus(t, r, http.StatusOK)
			if out := r.json(t); out["slept"] != 0.5 {
				t.Fatalf("%s: output = %s", c.name, r.Body)
			}
			if r.Close || r.Header.Get("X-Request-Id") != "parked-"+c.name ||
				r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Date") == "" {
				t.Fatalf("%s: a parked answer has headers %v (close %v); want keep-alive, the request's X-Request-Id, a JSON Content-Type and a Date", c.name, r.Header, r.Close)
			}
		}
		m := scrape(t, s)
		if v, _ := metricValue(m, `jobgate_invocations_total{mode="LongPolling",status="200"}`); v != 2 {
			t.Fatalf("parked invocations counted %v times with status 200, want 2:\n%s", v, m)
		}
		// The gauge drops once the answer is written, a moment after the client has it.
		waitMetric(t, s.URL, "jobgate_parked_requests", 0)
	})
}

func TestLongPolling_AParkedConnectionServesTheClientsNextRequests(t *testing.T) {
	s := startServer(t, "--long-poll-park", "0s")
	tok := token(t)
	// One connection at most: every request after the first must reuse it.
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	var conns []string
	send := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", s.tenantURL("/t/sleep"), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			conns = append(conns, fmt.Sprintf("%s reused=%v", info.Conn.LocalAddr(), info.Reused))
		}}))
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	for i, c := range []struct{ body, want string }{
		{`{"seconds": 0.3, "$callMode": "LongPolling"}`, `{"slept":0.3}`}, // parked
		{`{"seconds": 0.4, "$callMode": "LongPolling"}`, `{"slept":0.4}`}, // parked again, same connection
		{`{"seconds": 0, "$callMode": "FireAndForget"}`, ``},              // an ordinary request on it
	} {
		if status, body := send(c.body); status != http.StatusOK || body != c.want {
			t.Fatalf("request %d: %d %q, want 200 %q", i+1, status, body, c.want)
		}
	}
	if len(conns) != 3 || strings.Contains(conns[1], "reused=false") || strings.Contains(conns[2], "reused=false") ||
		strings.Fields(conns[0])[0] != strings.Fields(conns[2])[0] {
		t.Fatalf("connections used: %v; want one, reused by the 2nd and 3rd request", conns)
	}
	// A client that asks to close gets its parked answer and the connection closed.
	r := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.2, "$callMode": "LongPolling"}, "Connection", "close")
	wantStatus(t, r, http.StatusOK)
	if !r.Close {
		t.Fatal("a parked answer to a request with Connection: close kept the connection")
	}
}

func TestLongPolling_ParkedCallHopsWith303ToANewURLUntilDone(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--long-poll-park", "0s", "--long-poll-hop", "400ms")
		tok := token(t)
		r := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 1.5, "$callMode": "LongPolling"})
		seen := map[string]bool{}
		for r.Status == http.StatusSeeOther {
			loc := r.Header.Get("Location")
			if seen[loc] || !strings.Contains(loc, "/wait/") {
				t.Fatalf("hop %d Location %q repeats or is not a blocking status URL", len(seen)+1, loc)
			}
			seen[loc] = true
			r = do(t, noFollow, "GET", loc, tok, nil)
		}
		wantStatus(t, r, http.StatusOK)
		if len(seen) < 2 || r.json(t)["slept"] != 1.5 {
			t.Fatalf("after %d hops: %s; want at least 2 hops then the output", len(seen), r.Body)
		}
		fol := do(t, follow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 1.1, "$callMode": "LongPolling"})
		wantStatus(t, fol, http.StatusOK)
		if fol.json(t)["slept"] != 1.1 {
			t.Fatalf("followed parked LongPolling output = %s", fol.Body)
		}
	})
}

func TestLongPolling_ParkedCallOfAKilledJobIs500ProblemWithItsRequestId(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--long-poll-park", "0s")
		// A job that ends badly while its call is parked: a sleep job killed.
		held := sendAsync(s.tenantURL("/t/sleep"), token(t), map[string]any{"seconds": 60, "$callMode": "LongPolling"})
		waitMetric(t, s.URL, "jobgate_parked_requests", 1)
		waitJobState(t, s, 1, "Running")
		stop := do(t, noFollow, "POST", s.tenantURL("/odata/Jobs(1)/UiPath.Server.Configuration.OData.StopJob"), token(t),
			map[string]any{"strategy": "Kill"})
		wantStatus(t, stop, http.StatusOK)
		var r asyncResult
		select {
		case r = <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("the parked call of a killed job got no answer within 30s")
		}
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		p := wantProblem(t, response{Status: r.Status, Header: r.Header, Body: r.Body}, http.StatusInternalServerError)
		if p["jobState"] != "Stopped" || p["requestId"] != r.Header.Get("X-Request-Id") || p["requestId"] == "" {
			t.Fatalf("problem = %s, X-Request-Id %q", r.Body, r.Header.Get("X-Request-Id"))
		}
	})
}

func TestLongPolling_ClientThatLeavesAParkedCallDoesNotCancelTheJob(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--long-poll-park", "0s")
		impatient := &http.Client{Timeout: 300 * time.Millisecond}
		req, _ := http.NewRequest("POST", s.tenantURL("/t/sleep"), strings.NewReader(`{"seconds": 1, "$callMode": "LongPolling"}`))
		req.Header.Set("Authorization", "Bearer "+token(t))
		if res, err := impatient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("the parked request answered %d before the job ended", res.StatusCode)
		}
		job := waitJobState(t, s, 1, "Successful")
		if job["OutputArguments"].(map[string]any)["slept"] != 1.0 {
			t.Fatalf("job = %v", job)
		}
		// Its answer went nowhere; the server is fine and holds nothing.
		waitMetric(t, s.URL, "jobgate_held_requests", 0)
		wantSum5(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3, "$callMode": "LongPolling"}))
	})
}

func TestLongPolling_ParkingWaitsForTheParkTimeAndKeepsQuickCallsAlive(t *testing.T) {
	s := startServer(t, "--long-poll-park", "1m")
	tok := token(t)
	for i := range 3 {
		r := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.2, "$callMode": "LongPolling"})
		wantStatus(t, r, http.StatusOK)
		if r.Close {
			t.Fatalf("call %d: a call answered before --long-poll-park closed its connection", i)
		}
	}
	held := sendAsync(s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 3, "$callMode": "LongPolling"})
	waitHeld(t, s.URL, 1)
	if v, _ := metricValue(scrape(t, s), "jobgate_parked_requests"); v != 0 {
		t.Fatalf("a call held for less than --long-poll-park 1m is parked")
	}
	if r := <-held; r.Err != nil || r.Status != http.StatusOK {
		t.Fatalf("held call: %d %s %v", r.Status, r.Body, r.Err)
	}
}

func TestLongPolling_ManyParkedCallsAllGetTheirOwnOutput(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--long-poll-park", "0s", "--robots", "64")
		tok := token(t)
		const n = 50
		results := make([]<-chan asyncResult, n)
		for i := range results {
			results[i] = sendAsync(s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 1 + float64(i)/1000, "$callMode": "LongPolling"})
		}
		for i, ch := range results {
			r := <-ch
			want := fmt.Sprintf(`{"slept":%g}`, 1+float64(i)/1000)
			if r.Err != nil || r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != want {
				t.Fatalf("call %d: %d %s %v; want 200 %s", i, r.Status, r.Body, r.Err, want)
			}
		}
	})
}
