package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAsyncRequestReply_202ThenPollThen303ToOutput(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		tok := token(t)
		r := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.5})
		wantStatus(t, r, http.StatusAccepted)
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, s.URL+"/default/default/orchestrator_/") {
			t.Fatalf("Location %q is not an absolute URL under the tenant", loc)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("202 has no Retry-After")
		}
		body := r.json(t)
		if body["State"] != "Pending" || body["Key"] == "" || body["Id"] != 1.0 {
			t.Fatalf("202 body = %s", r.Body)
		}

		// While the job runs: 200 with the summary and Retry-After.
		st := do(t, noFollow, "GET", loc, tok, nil)
		wantStatus(t, st, http.StatusOK)
		sum := st.json(t)
		if sum["Key"] != body["Key"] || sum["CreationTime"] == nil || st.Header.Get("Retry-After") == "" {
			t.Fatalf("status while running = %s (Retry-After %q)", st.Body, st.Header.Get("Retry-After"))
		}
		if state := sum["State"]; state != "Pending" && state != "Running" {
			t.Fatalf("State while running = %v", state)
		}
		// Output before the end: 409.
		early := do(t, noFollow, "GET", strings.Replace(loc, "/status", "/output", 1), tok, nil)
		wantProblem(t, early, http.StatusConflict)

		// Poll until the 303.
		deadline := time.Now().Add(10 * time.Second)
		for st.Status == http.StatusOK && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			st = do(t, noFollow, "GET", loc, tok, nil)
		}
		wantStatus(t, st, http.StatusSeeOther)
		out := do(t, noFollow, "GET", st.Header.Get("Location"), tok, nil)
		wantStatus(t, out, http.StatusOK)
		if got := out.json(t); got["slept"] != 0.5 {
			t.Fatalf("output = %s, want {\"slept\":0.5}", out.Body)
		}

		// A client that follows redirects reaches the output from the status URL.
		fol := do(t, follow, "GET", loc, tok, nil)
		wantStatus(t, fol, http.StatusOK)
		if !strings.HasSuffix(fol.URL, "/output") || fol.json(t)["slept"] != 0.5 {
			t.Fatalf("following the status URL ended at %s with %s", fol.URL, fol.Body)
		}
	})
}

func TestAsyncRequestReply_FaultedOutputIs500Problem(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		tok := token(t)
		r := do(t, noFollow, "POST", s.tenantURL("/t/fail"), tok, nil)
		wantStatus(t, r, http.StatusAccepted)
		out := do(t, follow, "GET", r.Header.Get("Location"), tok, nil)
		for i := 0; out.Status == http.StatusOK && i < 200; i++ { // still running: poll
			time.Sleep(20 * time.Millisecond)
			out = do(t, follow, "GET", r.Header.Get("Location"), tok, nil)
		}
		p := wantProblem(t, out, http.StatusInternalServerError)
		if p["jobState"] != "Faulted" || p["info"] != "This workflow always fails" || p["jobKey"] != r.json(t)["Key"] {
			t.Fatalf("faulted output = %s", out.Body)
		}
	})
}

func TestAsyncRequestReply_SuccessWithoutOutputIsEmptyObject(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		tok := token(t)
		r := do(t, noFollow, "POST", s.tenantURL("/t/forever"), tok, map[string]any{})
		wantStatus(t, r, http.StatusAccepted)
		// Stopping a job ends it Stopped: its output is a 500 problem naming the state.
		stop := do(t, noFollow, "POST", s.tenantURL("/odata/Jobs(1)/UiPath.Server.Configuration.OData.StopJob"), tok, map[string]any{"strategy": "SoftStop"})
		wantStatus(t, stop, http.StatusOK)
		waitJobState(t, s, 1, "Stopped")
		out := do(t, follow, "GET", r.Header.Get("Location"), tok, nil)
		if p := wantProblem(t, out, http.StatusInternalServerError); p["jobState"] != "Stopped" {
			t.Fatalf("stopped output = %s", out.Body)
		}
	})
}

func TestFireAndForget_200WithNoBodyAndTheJobRuns(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		tok := token(t)
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 2, "y": 3, "$callMode": "FireAndForget"})
		wantStatus(t, r, http.StatusOK)
		if len(r.Body) != 0 || r.Header.Get("Location") != "" {
			t.Fatalf("FireAndForget answered with body %q and Location %q", r.Body, r.Header.Get("Location"))
		}
		job := waitJobState(t, s, 1, "Successful")
		if out := job["OutputArguments"].(map[string]any); out["sum"] != 5.0 {
			t.Fatalf("job output = %v", out)
		}
		if job["CallMode"] != "FireAndForget" || job["SourceType"] != "ApiTrigger" || job["TriggerSlug"] != "add" {
			t.Fatalf("job = %v", job)
		}
	})
}

func TestLongPolling_AnswersWithTheOutputWhenDone(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		for _, c := range []struct {
			name   string
			client *http.Client
		}{{"no-follow", noFollow}, {"follow", follow}} {
			r := do(t, c.client, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3, "$callMode": "longpolling"})
			wantStatus(t, r, http.StatusOK)
			if out := r.json(t); out["sum"] != 5.0 || out["diff"] != -1.0 || out["product"] != 6.0 {
				t.Fatalf("%s: output = %s", c.name, r.Body)
			}
		}
	})
}

func TestLongPolling_HopsWith303ToANewURLUntilDone(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--long-poll-hop", "300ms")
		tok := token(t)
		r := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 1.2, "$callMode": "LongPolling"})
		seen := map[string]bool{}
		hops := 0
		for r.Status == http.StatusSeeOther {
			loc := r.Header.Get("Location")
			if seen[loc] {
				t.Fatalf("hop URL %s repeats", loc)
			}
			seen[loc] = true
			if !strings.Contains(loc, "/wait/") {
				t.Fatalf("hop Location %q is not a blocking status URL", loc)
			}
			hops++
			r = do(t, noFollow, "GET", loc, tok, nil)
		}
		wantStatus(t, r, http.StatusOK)
		if hops < 2 || r.json(t)["slept"] != 1.2 {
			t.Fatalf("after %d hops: %s; want at least 2 hops then the output", hops, r.Body)
		}
		// A client that follows redirects sees only the output.
		fol := do(t, follow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.8, "$callMode": "LongPolling"})
		wantStatus(t, fol, http.StatusOK)
		if fol.json(t)["slept"] != 0.8 {
			t.Fatalf("followed LongPolling output = %s", fol.Body)
		}
	})
}

func TestLongPolling_FaultedJobIs500Problem(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		r := do(t, noFollow, "POST", s.tenantURL("/t/fail"), token(t), map[string]any{"$callMode": "LongPolling"})
		if p := wantProblem(t, r, http.StatusInternalServerError); p["jobState"] != "Faulted" || p["info"] != "This workflow always fails" {
			t.Fatalf("problem = %s", r.Body)
		}
	})
}

func TestLongPolling_MaxKillsTheJobAsFaulted(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--long-poll-max", "700ms")
		began := time.Now()
		r := do(t, follow, "POST", s.tenantURL("/t/sleep"), token(t), map[string]any{"seconds": 30, "$callMode": "LongPolling"})
		p := wantProblem(t, r, http.StatusInternalServerError)
		if p["jobState"] != "Faulted" || !strings.Contains(p["info"].(string), "LongPolling limit of 700ms") {
			t.Fatalf("problem = %s", r.Body)
		}
		if took := time.Since(began); took > 20*time.Second {
			t.Fatalf("the capped job ended after %v", took)
		}
	})
}

func TestLongPolling_ClientThatLeavesDoesNotCancelTheJob(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		impatient := &http.Client{Timeout: 200 * time.Millisecond}
		req, _ := http.NewRequest("POST", s.tenantURL("/t/sleep"), strings.NewReader(`{"seconds": 0.8, "$callMode": "LongPolling"}`))
		req.Header.Set("Authorization", "Bearer "+token(t))
		if res, err := impatient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("the held request answered %d before the job ended", res.StatusCode)
		}
		job := waitJobState(t, s, 1, "Successful")
		if job["OutputArguments"].(map[string]any)["slept"] != 0.8 {
			t.Fatalf("job = %v", job)
		}
	})
}

func TestPrefer_SelectsModeAndIsReportedApplied(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		tok := token(t)
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 1}, "Prefer", "respond-async")
		wantStatus(t, r, http.StatusAccepted)
		if r.Header.Get("Preference-Applied") != "respond-async" {
			t.Fatalf("Preference-Applied = %q", r.Header.Get("Preference-Applied"))
		}
		r = do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 1}, "Prefer", "wait=10")
		wantStatus(t, r, http.StatusOK)
		if r.Header.Get("Preference-Applied") != "wait=10" || r.json(t)["sum"] != 2.0 {
			t.Fatalf("wait=10: Preference-Applied %q, body %s", r.Header.Get("Preference-Applied"), r.Body)
		}
		// wait=0: LongPolling whose first hop comes at once.
		r = do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 1}, "Prefer", "wait=0")
		wantStatus(t, r, http.StatusSeeOther)
		// $callMode wins over Prefer, and no preference is reported applied.
		r = do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 1, "$callMode": "FireAndForget"}, "Prefer", "respond-async")
		wantStatus(t, r, http.StatusOK)
		if r.Header.Get("Preference-Applied") != "" {
			t.Fatalf("Preference-Applied = %q although $callMode decided", r.Header.Get("Preference-Applied"))
		}
	})
}

func TestInvoke_GetTakesQueryStringConvertedToDeclaredTypes(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		r := do(t, noFollow, "GET", s.tenantURL("/t/add-get?x=2.5&y=4&$callMode=LongPolling"), token(t), nil)
		wantStatus(t, r, http.StatusOK)
		if r.json(t)["sum"] != 6.5 {
			t.Fatalf("output = %s", r.Body)
		}
		bad := do(t, noFollow, "GET", s.tenantURL("/t/add-get?x=two&y=4"), token(t), nil)
		p := wantProblem(t, bad, http.StatusBadRequest)
		if errs := p["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["name"] != "x" {
			t.Fatalf("errors = %v", p["errors"])
		}
	})
}

func TestInvoke_BadInputIsA4xxProblemAndCreatesNoJob(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--max-body", "1024")
		tok := token(t)
		cases := []struct {
			name       string
			method     string
			path       string
			body       any
			status     int
			wantDetail string
			wantNames  []string
		}{
			{"unknown mode", "POST", "/t/add", `{"x":1,"y":2,"$callMode":"Sometimes"}`, 400, "unknown call mode", []string{"$callMode"}},
			{"mode not a string", "POST", "/t/add", `{"x":1,"y":2,"$callMode":5}`, 400, "$callMode must be a string", nil},
			{"undeclared, missing and wrong type", "POST", "/t/add", `{"x":"1","z":true}`, 400, "invalid arguments", []string{"x", "z", "y"}},
			{"integer-looking string is not a number", "POST", "/t/add", `{"x":1,"y":"2"}`, 400, "invalid arguments", []string{"y"}},
			{"body is an array", "POST", "/t/add", `[1,2]`, 400, "must be a JSON object", nil},
			{"body is a string", "POST", "/t/add", `"x"`, 400, "must be a JSON object", nil},
			{"malformed JSON", "POST", "/t/add", `{"x":1,`, 400, "not valid JSON", nil},
			{"trailing data", "POST", "/t/add", `{"x":1,"y":2} {}`, 400, "data after", nil},
			{"too large", "POST", "/t/add", `{"x":1,"y":2,"pad":"` + strings.Repeat("a", 2000) + `"}`, 413, "larger than 1024 bytes", nil},
			{"unknown slug", "POST", "/t/nope", `{}`, 404, "no trigger", nil},
			{"wrong method", "PUT", "/t/add", `{}`, 405, "invoked with POST", nil},
			{"repeated query parameter", "GET", "/t/add-get?x=1&x=2&y=1", nil, 400, "given 2 times", []string{"x"}},
			{"bad Idempotency-Key", "POST", "/t/add", `{"x":1,"y":2}`, 400, "Idempotency-Key", []string{"Idempotency-Key"}},
		}
		for _, c := range cases {
			headers := []string{}
			if c.name == "bad Idempotency-Key" {
				headers = []string{"Idempotency-Key", "has spaces in it"}
			}
			r := do(t, noFollow, c.method, s.tenantURL(c.path), tok, c.body, headers...)
			p := wantProblem(t, r, c.status)
			if !strings.Contains(p["detail"].(string), c.wantDetail) {
				t.Errorf("%s: detail %q lacks %q", c.name, p["detail"], c.wantDetail)
			}
			if c.status == 405 && r.Header.Get("Allow") != "POST" {
				t.Errorf("%s: Allow = %q, want POST", c.name, r.Header.Get("Allow"))
			}
			var names []string
			if errs, ok := p["errors"].([]any); ok {
				for _, e := range errs {
					names = append(names, e.(map[string]any)["name"].(string))
				}
			}
			if c.wantNames != nil && strings.Join(names, ",") != strings.Join(c.wantNames, ",") {
				t.Errorf("%s: errors name %v, want %v", c.name, names, c.wantNames)
			}
		}
		list := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs?$count=true"), tok, nil)
		wantStatus(t, list, 200)
		if n := list.json(t)["@odata.count"]; n != 0.0 {
			t.Fatalf("bad input created %v jobs", n)
		}
	})
}

func TestInvoke_EmptyBodyMeansNoArguments(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		r := do(t, noFollow, "POST", s.tenantURL("/t/fail"), token(t), nil)
		wantStatus(t, r, http.StatusAccepted)
	})
}

func TestInvoke_SlugIsCaseInsensitive(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		r := do(t, noFollow, "POST", s.tenantURL("/t/ADD"), token(t), map[string]any{"x": 1, "y": 1, "$callMode": "LongPolling"})
		wantStatus(t, r, http.StatusOK)
	})
}

// TestPrefer_WaitAppliesToEveryHop: the wait=N of a call's Prefer header is carried in every
// hop URL, so a 3 s job with wait=1 takes about 3 hops, not the 30 that --long-poll-hop 100ms
// would make; and it is capped by --long-poll-hop-max, also through capability URLs.
func TestPrefer_WaitAppliesToEveryHop(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--long-poll-hop", "100ms", "--long-poll-hop-max", "1s")
		tok := token(t)
		r := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 3}, "Prefer", "wait=5")
		if got := r.Header.Get("Preference-Applied"); got != "wait=1" {
			t.Fatalf("Preference-Applied = %q, want wait=1 (capped by --long-poll-hop-max)", got)
		}
		hops := 0
		for r.Status == http.StatusSeeOther {
			hops++
			loc, err := url.Parse(r.Header.Get("Location"))
			if err != nil || loc.Query().Get("wait") != "1" {
				t.Fatalf("hop %d Location %q: want it to carry wait=1", hops, r.Header.Get("Location"))
			}
			if hops > 8 {
				t.Fatalf("%d hops for a 3 s job with 1 s hops: later hops ignore the call's wait", hops)
			}
			r = do(t, noFollow, "GET", loc.String(), tok, nil)
		}
		wantStatus(t, r, http.StatusOK)
		if r.json(t)["slept"] != 3.0 {
			t.Fatalf("output %s", r.Body)
		}
		// Without Prefer, hops carry no wait (they are held --long-poll-hop).
		r = do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 1, "$callMode": "LongPolling"})
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); strings.Contains(loc, "wait=") {
			t.Fatalf("Location %q carries a wait without a Prefer: wait", loc)
		}
	})
}
