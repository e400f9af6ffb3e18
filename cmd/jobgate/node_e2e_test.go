package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The browser fetch samples of seed 002 (UiPath's call-mode page), kept as written in
// testdata/seed002_*.mjs, run by Node against the real server. Node's fetch follows redirects
// like a browser: it keeps the Authorization header on same-origin redirects and drops it on
// cross-origin ones.

// nodeSample is what one run of a sample printed.
type nodeSample struct {
	Lines  []string       // stdout, line by line
	Result map[string]any // the last line, the script's JSON result
	Stderr string
}

// nodeBinary returns the path of node, failing the test with how to install it.
func nodeBinary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed; the seed 002 browser samples run on Node.js 18 or later (global fetch): install it with `apt-get install nodejs`")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	major := 0
	if m := regexp.MustCompile(`^v(\d+)\.`).FindStringSubmatch(string(out)); m != nil {
		major, _ = strconv.Atoi(m[1])
	}
	if major < 18 {
		t.Fatalf("node %s has no global fetch; install Node.js 18 or later (e.g. `apt-get install nodejs` from NodeSource)", strings.TrimSpace(string(out)))
	}
	return node
}

// runNodeSample runs testdata/<script> with the trigger URL, token, arguments and poll interval
// in its environment, and returns its output; it fails the test if node fails.
func runNodeSample(t *testing.T, script, triggerURL, tok string, args map[string]any, sleepMS int) nodeSample {
	t.Helper()
	node := nodeBinary(t)
	argsJSON, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", script))
	cmd.Env = childEnv("TRIGGER_URL="+triggerURL, "TOKEN="+tok, "ARGS="+string(argsJSON), "SLEEP_DURATION="+strconv.Itoa(sleepMS))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	var result map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &result); err != nil {
		t.Fatalf("node %s: the last line is not the JSON result: %v\n%s", script, err, stdout.String())
	}
	return nodeSample{Lines: lines, Result: result, Stderr: stderr.String()}
}

// printedBody finds the sample's line "Got <status>, with body: <json>" (AsyncRequestReply)
// or "Got <status> with body <json>" (LongPolling) and returns the status and the body.
func printedBody(t *testing.T, s nodeSample) (int, map[string]any) {
	t.Helper()
	re := regexp.MustCompile(`^Got (\d{3}),? with body:? (\{.*\})$`)
	for _, l := range s.Lines {
		if m := re.FindStringSubmatch(l); m != nil {
			status, _ := strconv.Atoi(m[1])
			var body map[string]any
			if err := json.Unmarshal([]byte(m[2]), &body); err != nil {
				t.Fatalf("printed body is not JSON: %v: %s", err, l)
			}
			return status, body
		}
	}
	t.Fatalf("the sample printed no \"Got …with body…\" line:\n%s", strings.Join(s.Lines, "\n"))
	return 0, nil
}

func TestSeed002Browser_AsyncRequestReplyPollsThenFollowsToTheOutput(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	run := runNodeSample(t, "seed002_async_request_reply.mjs", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3}, 200)
	first := regexp.MustCompile(`^Got 202, with location: (\S+)$`).FindStringSubmatch(run.Lines[0])
	if first == nil {
		t.Fatalf("first line = %q, want \"Got 202, with location: …\"", run.Lines[0])
	}
	if !strings.HasPrefix(first[1], s.URL+"/default/default/orchestrator_/jobs/") || !strings.HasSuffix(first[1], "/status") {
		t.Errorf("Location = %q, want the absolute status URL", first[1])
	}
	status, body := printedBody(t, run)
	if status != 200 || body["sum"] != 5.0 || body["diff"] != -1.0 || body["product"] != 6.0 {
		t.Errorf("printed Got %d with body %v, want 200 and sum 5", status, body)
	}
	if run.Result["invokeStatus"] != 202.0 {
		t.Errorf("result = %v", run.Result)
	}
}

func TestSeed002Browser_AsyncRequestReplyLoopsWhileTheJobRuns(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	start := time.Now()
	run := runNodeSample(t, "seed002_async_request_reply.mjs", s.tenantURL("/t/sleep"), token(t), map[string]any{"seconds": 1.2}, 150)
	// The loop saw 200 (still running, not redirected) several times before the output.
	status, body := printedBody(t, run)
	if status != 200 || body["slept"] != 1.2 {
		t.Errorf("printed Got %d with body %v, want 200 {\"slept\":1.2}", status, body)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("the sample ended after %v, before the 1.2s job could have", took)
	}
	job := waitJobState(t, s, 1, "Successful")
	if job["CallMode"] != "AsyncRequestReply" {
		t.Errorf("job = %v", job)
	}
}

func TestSeed002Browser_AsyncRequestReplyPrintsTheFaultOfAFailedJob(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	run := runNodeSample(t, "seed002_async_request_reply.mjs", s.tenantURL("/t/fail"), token(t), map[string]any{}, 200)
	status, body := printedBody(t, run)
	if status != 500 || body["jobState"] != "Faulted" || body["info"] != "This workflow always fails" {
		t.Errorf("printed Got %d with body %v, want 500 naming the fault", status, body)
	}
}

func TestSeed002Browser_FireAndForgetGets200(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	run := runNodeSample(t, "seed002_fire_and_forget.mjs", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3}, 0)
	if run.Lines[0] != "Got 200" {
		t.Errorf("the sample printed %q, want \"Got 200\"", run.Lines[0])
	}
	if run.Result["status"] != 200.0 || run.Result["body"] != "" {
		t.Errorf("result = %v, want status 200 and no body", run.Result)
	}
	job := waitJobState(t, s, 1, "Successful")
	if job["CallMode"] != "FireAndForget" || job["OutputArguments"].(map[string]any)["sum"] != 5.0 {
		t.Errorf("job = %v", job)
	}
}

func TestSeed002Browser_LongPollingGetsTheOutput(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	run := runNodeSample(t, "seed002_long_polling.mjs", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3}, 0)
	status, body := printedBody(t, run)
	if status != 200 || body["sum"] != 5.0 || body["diff"] != -1.0 || body["product"] != 6.0 {
		t.Errorf("printed Got %d with body %v, want 200 and sum 5", status, body)
	}
	if run.Result["redirected"] != false {
		t.Errorf("a quick job was redirected: %v", run.Result)
	}
}

func TestSeed002Browser_LongPollingFollowsSeveral303HopsToTheOutput(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--long-poll-hop", "300ms")
	// 2.5s: long enough for several hops even when a loaded machine delays the client.
	run := runNodeSample(t, "seed002_long_polling.mjs", s.tenantURL("/t/sleep"), token(t), map[string]any{"seconds": 2.5}, 0)
	status, body := printedBody(t, run)
	if status != 200 || body["slept"] != 2.5 {
		t.Fatalf("printed Got %d with body %v, want 200 {\"slept\":2.5}", status, body)
	}
	// fetch ended on a blocking status URL after several hops, keeping the token (same origin).
	final, _ := run.Result["url"].(string)
	m := regexp.MustCompile(`/orchestrator_/jobs/[0-9a-f-]+/wait/(\d+)$`).FindStringSubmatch(final)
	if run.Result["redirected"] != true || m == nil {
		t.Fatalf("result = %v, want it redirected to a …/wait/N URL", run.Result)
	}
	if n, _ := strconv.Atoi(m[1]); n < 3 {
		t.Errorf("ended at hop URL %s, want at least two 303 hops for a 2.5s job with 300ms hops", final)
	}
}

// TestSeed002Browser_LongPollingAcrossOriginsNeedsCapabilityURLs runs the LongPolling sample
// where the hop URLs are on another origin (the server's --public-url, a proxy in front of
// it), so fetch drops the Authorization header on the hops. A tenant with
// requireAuthOnRedirects: false gets capability URLs that work without it; the default
// tenant requires the token and answers 401.
func TestSeed002Browser_LongPollingAcrossOriginsNeedsCapabilityURLs(t *testing.T) {
	t.Parallel()
	var target atomic.Pointer[url.URL]
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httputil.NewSingleHostReverseProxy(target.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	cfg := writeFile(t, "jobgate.yaml", `tenants:
  - org: acme
    tenant: web
    settings:
      requireAuthOnRedirects: false
    processes:
      - key: Sleep
        builtin: Sleep
    triggers:
      - slug: nap
        process: Sleep
        method: POST
`)
	s := startServer(t, "--config", cfg, "--long-poll-hop", "300ms", "--public-url", proxy.URL)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	target.Store(u)

	run := runNodeSample(t, "seed002_long_polling.mjs", s.URL+"/acme/web/orchestrator_/t/nap", tokenFor(t, "acme", "web"), map[string]any{"seconds": 1}, 0)
	status, body := printedBody(t, run)
	if status != 200 || body["slept"] != 1.0 {
		t.Fatalf("printed Got %d with body %v, want 200 {\"slept\":1}", status, body)
	}
	final, _ := run.Result["url"].(string)
	if !strings.HasPrefix(final, proxy.URL+"/acme/web/orchestrator_/jobs/") || !strings.Contains(final, "cap=") {
		t.Errorf("fetch ended at %q, want a capability hop URL on the other origin %s", final, proxy.URL)
	}

	// The default tenant requires the token on redirects, which fetch did not send across
	// origins: the first hop is refused.
	run = runNodeSample(t, "seed002_long_polling.mjs", s.tenantURL("/t/sleep"), token(t), map[string]any{"seconds": 1}, 0)
	status, body = printedBody(t, run)
	if status != 401 || body["status"] != 401.0 {
		t.Errorf("printed Got %d with body %v, want 401: the hop crossed origins without the token", status, body)
	}
}
