package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Quotas per tenant (issue 8, "Amplification" and "Slow readers"): each reproduction is
// refused with 429 (or 413 for a request that can never fit), Retry-After and a
// problem+json document naming the quota and its limit.

// quotaConfig declares default/default's quotas (settings) and a process Blob that takes a
// string argument, for StartJobs with large input.
func quotaConfig(t *testing.T, settings string) string {
	t.Helper()
	return writeFile(t, "quota.yaml", fmt.Sprintf(`tenants:
  - org: default
    tenant: default
    settings: {%s}
    processes:
      - key: Blob
        command: ["/bin/true"]
        arguments:
          blob: {type: string}
`, settings))
}

// wantQuotaProblem checks a quota refusal: status, the problem naming quota and limit, and
// Retry-After on a 429.
func wantQuotaProblem(t *testing.T, r response, status int, quota string, limit int64) map[string]any {
	t.Helper()
	p := wantProblem(t, r, status)
	if p["quota"] != quota || p["limit"] != float64(limit) || !strings.Contains(p["detail"].(string), quota) {
		t.Fatalf("problem = %v; want quota %q and limit %d named", p, quota, limit)
	}
	if ra := r.Header.Get("Retry-After"); status == http.StatusTooManyRequests && ra == "" {
		t.Fatalf("a 429 without Retry-After: %v", r.Header)
	}
	return p
}

func jobsOf(t *testing.T, m mgmt) float64 {
	t.Helper()
	return m.get("Jobs", "$count", "true", "$top", "0").json(t)["@odata.count"].(float64)
}

func startJobs(m mgmt, count int, input string) response {
	return m.do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs", map[string]any{"startInfo": map[string]any{
		"ReleaseName": "Blob", "JobsCount": count, "InputArguments": input}})
}

// TestStartJobs_AmplificationIsBounded: JobsCount over 100 is refused; JobsCount × input
// over maxStartJobsBytes is refused with 413 and creates nothing; a batch within the cap
// answers with slim jobs (no InputArguments copies).
func TestStartJobs_AmplificationIsBounded(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--config", quotaConfig(t, "maxStartJobsBytes: 2000000"), "--robots", "0")
	m := newMgmt(t, s)
	blob := fmt.Sprintf(`{"blob": %q}`, strings.Repeat("x", 100_000)) // ~100 KB per job

	wantFields(t, wantProblem(t, startJobs(m, 101, `{}`), http.StatusBadRequest), "startInfo.JobsCount")
	r := startJobs(m, 100, blob) // 100 × 100 KB = 10 MB > 2 MB
	wantQuotaProblem(t, r, http.StatusRequestEntityTooLarge, "maxStartJobsBytes", 2_000_000)
	if n := jobsOf(t, m); n != 0 {
		t.Fatalf("the refused StartJobs created %v jobs", n)
	}

	ok := startJobs(m, 19, blob) // 1.9 MB: fits
	wantStatus(t, ok, http.StatusCreated)
	if len(ok.Body) > 19*2000 {
		t.Fatalf("the answer is %d bytes for 19 jobs: it repeats the input", len(ok.Body))
	}
	for _, v := range ok.json(t)["value"].([]any) {
		j := v.(map[string]any)
		if j["Key"] == "" || j["Id"] == nil || j["State"] != "Pending" || j["InputArguments"] != nil {
			t.Fatalf("started job = %v; want Id, Key, State and no InputArguments", j)
		}
	}
	if n := jobsOf(t, m); n != 19 {
		t.Fatalf("%v jobs, want 19", n)
	}
}

// TestQuota_PendingJobsRefusedUntilTheyDrain: a tenant at maxPendingJobs is refused (429,
// nothing created) on every store, and accepted again once its jobs left Pending. Tenants
// cannot lift the quota through the Settings API.
func TestQuota_PendingJobsRefusedUntilTheyDrain(t *testing.T) {
	for _, st := range stores[:2] { // the embedded store and Redis
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, append(st.args(t), "--config", quotaConfig(t, "maxPendingJobs: 3"), "--robots", "0")...)
			m := newMgmt(t, s)
			var ids []any
			for range 3 {
				r := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 2})
				wantStatus(t, r, http.StatusAccepted)
				ids = append(ids, r.json(t)["Id"])
			}
			r := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 2})
			wantQuotaProblem(t, r, http.StatusTooManyRequests, "maxPendingJobs", 3)
			wantQuotaProblem(t, startJobs(m, 1, `{}`), http.StatusTooManyRequests, "maxPendingJobs", 3)
			if n := jobsOf(t, m); n != 3 {
				t.Fatalf("%v jobs after the refusals, want 3: nothing may be created", n)
			}
			// A tenant admin cannot raise its own quota.
			put := m.do("PUT", "Settings", map[string]any{"RequireAuthOnRedirects": true, "RedirectStatus": 303, "maxPendingJobs": 1000})
			wantFields(t, wantProblem(t, put, http.StatusBadRequest), "maxPendingJobs")

			stop := m.do("POST", "Jobs/UiPath.Server.Configuration.OData.StopJobs", map[string]any{"jobIds": ids, "strategy": "SoftStop"})
			wantStatus(t, stop, http.StatusOK)
			r = do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 2})
			wantStatus(t, r, http.StatusAccepted)
		})
	}
}

// TestQuota_HeldCallsRefusedOverTheLimit: a tenant holding maxHeldCalls LongPolling calls
// on a server gets 429 for the next one, before any job is created.
func TestQuota_HeldCallsRefusedOverTheLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--config", quotaConfig(t, "maxHeldCalls: 2"), "--robots", "0")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "POST", s.tenantURL("/t/add"), strings.NewReader(`{"x":1,"y":2,"$callMode":"LongPolling"}`))
			req.Header.Set("Authorization", "Bearer "+token(t))
			if res, err := noFollow.Do(req); err == nil {
				_ = res.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for heldRequests(t, s) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the two LongPolling calls were not held within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 2, "$callMode": "LongPolling"})
	wantQuotaProblem(t, r, http.StatusTooManyRequests, "maxHeldCalls", 2)
	if n := jobsOf(t, newMgmt(t, s)); n != 2 {
		t.Fatalf("%v jobs, want 2: the refused call must create none", n)
	}
	// Other call modes are not held, and not refused.
	wantStatus(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 2}), http.StatusAccepted)
}

// heldRequests reads jobgate_held_requests from /metrics.
func heldRequests(t *testing.T, s *testServer) float64 {
	t.Helper()
	res, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		var v float64
		if _, err := fmt.Sscanf(sc.Text(), "jobgate_held_requests %g", &v); err == nil {
			return v
		}
	}
	return 0
}

// TestConnections_PerAddressLimitAnswers429OnTheRawSocket: the connection over
// --max-conns-per-address gets a raw HTTP/1.1 429 with Retry-After and a problem+json body,
// then is closed; once a connection closes, a new one is served.
func TestConnections_PerAddressLimitAnswers429OnTheRawSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--max-conns-per-address", "3")
	addr := strings.TrimPrefix(s.URL, "http://")
	healthz := "GET /healthz HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	var open []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		open = append(open, c)
		if res := rawRequest(t, c, healthz); res.StatusCode != http.StatusOK {
			t.Fatalf("connection within the limit: %d", res.StatusCode)
		}
	}
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	res := rawRequest(t, over, healthz)
	body, _ := io.ReadAll(res.Body)
	var p map[string]any
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" ||
		res.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &p) != nil ||
		p["quota"] != "maxConnsPerAddress" || p["limit"] != 3.0 {
		t.Fatalf("connection over the limit: %d %v %s; want a 429 problem naming maxConnsPerAddress, limit 3", res.StatusCode, res.Header, body)
	}
	_ = over.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := over.Read(make([]byte, 1)); err == nil || n > 0 {
		t.Fatal("the refused connection stayed open")
	}
	_ = open[0].Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		res := rawRequest(t, c, healthz)
		_ = c.Close()
		if res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a new connection after one closed: %d, want 200", res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond) // the server notices the close asynchronously
	}
}

// rawRequest writes req on c and reads one answer.
func rawRequest(t *testing.T, c net.Conn, req string) *http.Response {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
