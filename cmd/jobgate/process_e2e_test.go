package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of the jobgate binary as users run it (docs/configuration.md, "jobgate serve"): built once with
// `go build`, then run as real child processes with exec.Command.

// TestBinary builds the binary once and runs every scenario against it as a parallel subtest;
// the binary lives in TestBinary's temporary directory, removed when they have all ended.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := buildJobgate(t)

	t.Run("SIGTERM_AnswersHeldLongPollWith303HopAndExits0", func(t *testing.T) { testSIGTERMDrains(t, bin, "1m") })
	t.Run("SIGTERM_AnswersParkedLongPollWith303HopAndExits0", func(t *testing.T) { testSIGTERMDrains(t, bin, "0s") })
	t.Run("ServeDev_WithoutSecretPrintsAWorkingTokenAndCurlLines", func(t *testing.T) { testServeDevPrintsToken(t, bin) })
	t.Run("Token_PrintsOnlyAJWTTheServerAccepts", func(t *testing.T) { testTokenCommand(t, bin) })
	t.Run("Invoke_FollowsEachCallModeToTheOutput", func(t *testing.T) { testInvokeCommand(t, bin) })
	t.Run("Invoke_NeverShowsCapabilities", func(t *testing.T) { testInvokeRedactsCapabilities(t, bin) })
	t.Run("Serve_FlagsFallBackToEnvironmentAndFlagWins", func(t *testing.T) { testServeEnvironment(t, bin) })
	t.Run("Help_ListsCommandsAndEveryFlagWithItsEnvironmentName", func(t *testing.T) { testHelp(t, bin) })
}

// buildJobgate runs `go build -o DIR/jobgate .` in this package's directory.
func buildJobgate(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH (needed to build the jobgate binary): %v; install Go from https://go.dev/dl/ and put its bin directory on PATH", err)
	}
	bin := filepath.Join(t.TempDir(), "jobgate")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// childEnv is a minimal environment for a child process (no JOBGATE_* from the test's own
// environment) plus extra "K=V" entries.
func childEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	return append(env, extra...)
}

// childProcess is a running jobgate process.
type childProcess struct {
	cmd            *exec.Cmd
	Stdout, Stderr *syncBuffer
	exited         chan struct{} // closed once the process has exited
	code           int           // exit code, valid after exited is closed
	URL            string        // set by waitListening
}

// startChild starts bin with args in env and kills it when the test ends, if it still runs.
func startChild(t *testing.T, bin string, env []string, args ...string) *childProcess {
	t.Helper()
	p := &childProcess{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.Stdout, p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitListening waits for the `msg="jobgate listening" url=…` log line and returns the URL.
func (p *childProcess) waitListening(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := listeningLine.FindStringSubmatch(p.Stderr.String()); m != nil {
			p.URL = m[1]
			return p.URL
		}
		select {
		case <-p.exited:
			t.Fatalf("jobgate exited with %d before listening:\nstdout:\n%s\nstderr:\n%s", p.code, p.Stdout, p.Stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobgate did not listen within 15s:\n%s", p.Stderr)
		}
	}
}

// waitExit waits up to d for the process to exit and returns its exit code.
func (p *childProcess) waitExit(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(d):
		t.Fatalf("jobgate still runs %v later:\n%s", d, p.Stderr)
	}
	return 0
}

// runChild runs bin to its end (at most a minute) and returns stdout, stderr and the exit code.
func runChild(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run jobgate %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("jobgate %s did not end within a minute:\n%s", strings.Join(args, " "), stderr.String())
	}
	return stdout.String(), stderr.String(), code
}

// asyncResult is the answer to a request sent by sendAsync.
type asyncResult struct {
	Status   int
	Location string
	Header   http.Header
	Body     []byte
	Err      error
}

// sendAsync sends a JSON POST with a bearer token from another goroutine, without following
// redirects; it reports errors in the result instead of failing the test (t.Fatal must not be
// called off the test's goroutine).
func sendAsync(url, tok string, body any) <-chan asyncResult {
	ch := make(chan asyncResult, 1)
	go func() {
		data, _ := json.Marshal(body)
		req, err := http.NewRequest("POST", url, bytes.NewReader(data))
		if err != nil {
			ch <- asyncResult{Err: err}
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := noFollow.Do(req)
		if err != nil {
			ch <- asyncResult{Err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		ch <- asyncResult{Status: res.StatusCode, Location: res.Header.Get("Location"), Header: res.Header, Body: b, Err: err}
	}()
	return ch
}

// waitHeld polls base's /metrics until jobgate_held_requests is n.
func waitHeld(t *testing.T, base string, n float64) {
	t.Helper()
	waitMetric(t, base, "jobgate_held_requests", n)
}

// waitMetric polls base's /metrics until the metric is n.
func waitMetric(t *testing.T, base, metric string, n float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := do(t, noFollow, "GET", base+"/metrics", "", nil)
		if v, ok := metricValue(string(r.Body), metric); ok && v == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %v:\n%s", metric, n, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantSum5 fails unless r is the 200 output of Args_AddNumbers with x=2, y=3.
func wantSum5(t *testing.T, r response) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	if out := r.json(t); out["sum"] != 5.0 || out["diff"] != -1.0 || out["product"] != 6.0 {
		t.Fatalf("output = %s, want sum 5, diff -1, product 6", r.Body)
	}
}

// testSIGTERMDrains holds a LongPolling call, with its goroutine (park "1m") or parked
// (park "0s"), and sends SIGTERM.
func testSIGTERMDrains(t *testing.T, bin, park string) {
	t.Parallel()
	p := startChild(t, bin, childEnv(), "serve", "--dev", "--listen", "127.0.0.1:0", "--jwt-secret", testSecret,
		"--long-poll-hop", "30s", "--drain-timeout", "1s", "--long-poll-park", park)
	base := p.waitListening(t)
	tenant := base + "/default/default/orchestrator_"
	held := sendAsync(tenant+"/t/sleep", token(t), map[string]any{"seconds": 20, "$callMode": "LongPolling"})
	waitHeld(t, base, 1)
	if park == "0s" {
		waitMetric(t, base, "jobgate_parked_requests", 1)
	}

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var r asyncResult
	select {
	case r = <-held:
	case <-time.After(10 * time.Second):
		t.Fatalf("the held LongPolling request was not answered within 10s of SIGTERM")
	}
	if r.Err != nil {
		t.Fatalf("the held request got no answer but %v: a drain must answer it with its 303 hop", r.Err)
	}
	if r.Status != http.StatusSeeOther {
		t.Fatalf("the held request was answered %d %s, want 303", r.Status, r.Body)
	}
	if !strings.HasPrefix(r.Location, tenant+"/jobs/") || !strings.HasSuffix(r.Location, "/wait/2") {
		t.Fatalf("hop Location = %q, want the absolute blocking status URL …/wait/2", r.Location)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the held request was answered %v after SIGTERM, long before its 30s hop but too slowly", took)
	}
	if code := p.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("jobgate exited with %d after SIGTERM, want 0:\n%s", code, p.Stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("jobgate took %v to exit after SIGTERM with --drain-timeout 1s", took)
	}
	log := p.Stderr.String()
	for _, want := range []string{"shutting down", `msg=stopped`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "level=ERROR") {
		t.Errorf("the drain logged errors:\n%s", log)
	}
	// It no longer accepts connections.
	if res, err := http.Get(base + "/healthz"); err == nil {
		res.Body.Close()
		t.Errorf("the stopped server still answers /healthz")
	}
}

var (
	devTokenLine  = regexp.MustCompile(`(?m)^\s*export TOKEN=(\S+)$`)
	devSecretLine = regexp.MustCompile(`(?m)^\s*export JOBGATE_JWT_SECRET=(\S+)$`)
	devCurlLine   = regexp.MustCompile(`(?m)^\s*(curl .+)$`)
)

func testServeDevPrintsToken(t *testing.T, bin string) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is not installed (needed to run the curl lines `serve --dev` prints): install it with `apt-get install curl`")
	}
	p := startChild(t, bin, childEnv(), "serve", "--dev", "--listen", "127.0.0.1:0")
	base := p.waitListening(t)
	var out string
	deadline := time.Now().Add(10 * time.Second)
	for out = p.Stdout.String(); !strings.Contains(out, "curl ") || !strings.Contains(out, "invoke"); out = p.Stdout.String() {
		if time.Now().After(deadline) {
			t.Fatalf("serve --dev printed no token and curl lines on stdout:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m := devTokenLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no `export TOKEN=…` line on stdout:\n%s", out)
	}
	tok := m[1]
	if strings.Contains(p.Stderr.String(), tok) {
		t.Errorf("the dev token is in the log (stderr)")
	}
	wantSum5(t, do(t, noFollow, "POST", base+"/default/default/orchestrator_/t/add", tok, map[string]any{"x": 2, "y": 3, "$callMode": "LongPolling"}))

	// The printed secret mints tokens the server accepts (jobgate token reads it from the
	// environment, as the printed export line suggests).
	sec := devSecretLine.FindStringSubmatch(out)
	if sec == nil {
		t.Fatalf("no `export JOBGATE_JWT_SECRET=…` line for the generated secret:\n%s", out)
	}
	minted, stderr, code := runChild(t, bin, childEnv("JOBGATE_JWT_SECRET="+sec[1]), "token", "--org", "default", "--tenant", "default")
	if code != 0 {
		t.Fatalf("jobgate token with the printed secret: exit %d: %s", code, stderr)
	}
	wantSum5(t, do(t, noFollow, "POST", base+"/default/default/orchestrator_/t/add", strings.TrimSpace(minted), map[string]any{"x": 2, "y": 3, "$callMode": "LongPolling"}))

	// Each printed curl line, run as printed by a shell with TOKEN exported, gets its call
	// mode's answer.
	lines := devCurlLine.FindAllStringSubmatch(out, -1)
	modes := map[string]bool{}
	for _, l := range lines {
		line := l[1]
		if !strings.Contains(line, base+"/default/default/orchestrator_/t/") {
			t.Errorf("curl line does not use the server's URL %s: %s", base, line)
		}
		cmd := exec.Command("sh", "-c", strings.Replace(line, "curl ", curl+" -sS --max-time 30 ", 1))
		cmd.Env = childEnv("TOKEN=" + tok)
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, got)
			continue
		}
		text := string(got)
		switch {
		case strings.Contains(line, "FireAndForget"):
			modes["FireAndForget"] = strings.HasPrefix(text, "HTTP/1.1 200")
		case strings.Contains(line, "LongPolling"):
			modes["LongPolling"] = modes["LongPolling"] || (strings.Contains(text, "HTTP/1.1 200") && strings.Contains(text, `"sum":5`))
		default:
			modes["AsyncRequestReply"] = strings.HasPrefix(text, "HTTP/1.1 202") && strings.Contains(text, "Location: "+base+"/")
		}
		if !strings.Contains(text, "HTTP/1.1 20") {
			t.Errorf("%s answered:\n%s", line, text)
		}
	}
	for _, mode := range []string{"AsyncRequestReply", "FireAndForget", "LongPolling"} {
		if !modes[mode] {
			t.Errorf("no working curl line for %s among:\n%s", mode, out)
		}
	}
}

// jwtClaims decodes the payload of a JWT without checking it.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT (three dot-separated parts)", tok)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(data, &claims); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return claims
}

var jwtShape = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$`)

func testTokenCommand(t *testing.T, bin string) {
	t.Parallel()
	s := startServer(t) // --jwt-secret testSecret
	invoke := func(tok string) response {
		return do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 2, "y": 3, "$callMode": "LongPolling"})
	}

	stdout, stderr, code := runChild(t, bin, childEnv(), "token", "--org", "default", "--tenant", "default", "--secret", testSecret)
	if code != 0 || !jwtShape.MatchString(stdout) {
		t.Fatalf("jobgate token: exit %d, stdout %q (want only a JWT line), stderr %q", code, stdout, stderr)
	}
	tok := strings.TrimSpace(stdout)
	wantSum5(t, invoke(tok))
	claims := jwtClaims(t, tok)
	for _, c := range []string{"sub", "org", "tenant", "scope", "iat", "exp", "jti"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("token lacks the %q claim: %v", c, claims)
		}
	}
	if claims["org"] != "default" || claims["tenant"] != "default" {
		t.Errorf("claims = %v", claims)
	}
	for _, scope := range []string{"OR.Jobs", "OR.Jobs.Read", "OR.Execution", "OR.Webhooks", "OR.Robots", "OR.Settings"} {
		if !strings.Contains(" "+claims["scope"].(string)+" ", " "+scope+" ") {
			t.Errorf("default scope %q lacks %s", claims["scope"], scope)
		}
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 3600 {
		t.Errorf("exp - iat = %v, want the default ttl of 1h", exp-iat)
	}

	// The secret from the environment, with subject, scope and ttl flags.
	stdout, stderr, code = runChild(t, bin, childEnv("JOBGATE_JWT_SECRET="+testSecret), "token", "--org", "default", "--tenant", "default",
		"--subject", "ci-bot", "--scope", "OR.Jobs.Read", "--ttl", "10m")
	if code != 0 || !jwtShape.MatchString(stdout) {
		t.Fatalf("jobgate token with JOBGATE_JWT_SECRET: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	ro := strings.TrimSpace(stdout)
	if c := jwtClaims(t, ro); c["sub"] != "ci-bot" || c["scope"] != "OR.Jobs.Read" || c["exp"].(float64)-c["iat"].(float64) != 600 {
		t.Errorf("claims = %v", c)
	}
	wantStatus(t, do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), ro, nil), http.StatusOK)
	if r := invoke(ro); r.Status != http.StatusForbidden || !strings.Contains(r.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Errorf("a read-only token invoked a trigger: %d %s", r.Status, r.Body)
	}

	// --secret wins over the environment; a token of another secret is refused.
	stdout, _, code = runChild(t, bin, childEnv("JOBGATE_JWT_SECRET=not-the-server-secret"), "token", "--org", "default", "--tenant", "default", "--secret", testSecret)
	if code != 0 {
		t.Fatalf("jobgate token --secret: exit %d", code)
	}
	wantSum5(t, invoke(strings.TrimSpace(stdout)))
	stdout, _, _ = runChild(t, bin, childEnv("JOBGATE_JWT_SECRET=not-the-server-secret"), "token", "--org", "default", "--tenant", "default")
	if r := invoke(strings.TrimSpace(stdout)); r.Status != http.StatusUnauthorized {
		t.Errorf("a token of another secret got %d, want 401", r.Status)
	}
	// A token for another tenant is refused here.
	stdout, _, _ = runChild(t, bin, childEnv(), "token", "--org", "acme", "--tenant", "prod", "--secret", testSecret)
	wantProblem(t, invoke(strings.TrimSpace(stdout)), http.StatusForbidden)

	// Usage errors: exit 2, nothing on stdout, the reason on stderr.
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"missing org", childEnv(), []string{"token", "--tenant", "default", "--secret", testSecret}, "--org"},
		{"missing tenant", childEnv(), []string{"token", "--org", "default", "--secret", testSecret}, "--tenant"},
		{"missing secret", childEnv(), []string{"token", "--org", "default", "--tenant", "default"}, "JOBGATE_JWT_SECRET"},
		{"bad ttl", childEnv(), []string{"token", "--org", "default", "--tenant", "default", "--secret", testSecret, "--ttl", "-1h"}, "--ttl"},
		{"unknown flag", childEnv(), []string{"token", "--org", "default", "--tenant", "default", "--secret", testSecret, "--colour", "red"}, "colour"},
	} {
		stdout, stderr, code := runChild(t, bin, c.env, c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d (want 2), stdout %q (want empty), stderr %q (want it to name %s)", c.name, code, stdout, stderr, c.want)
		}
	}
}

func testInvokeCommand(t *testing.T, bin string) {
	t.Parallel()
	s := startServer(t, "--long-poll-hop", "400ms")
	tok := token(t)
	cases := []struct {
		name       string
		env        []string
		args       []string
		wantCode   int
		wantStdout string // JSON the stdout must equal; empty = stdout must be empty
		wantStderr string
	}{
		{"LongPolling", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "--mode", "LongPolling", "--arg", "x=2", "--arg", "y=3", "add"},
			0, `{"sum":5,"diff":-1,"product":6}`, "200 OK"},
		{"AsyncRequestReply", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "--mode", "AsyncRequestReply", "--arg", "x=2", "--arg", "y=3", "add"},
			0, `{"sum":5,"diff":-1,"product":6}`, "202 Accepted"},
		{"trigger's default mode and -d", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "-d", `{"x": 2, "y": 3}`, "add"},
			0, `{"sum":5,"diff":-1,"product":6}`, "202 Accepted"},
		{"LongPolling through 303 hops", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "--mode", "longpolling", "--arg", "seconds=3", "sleep"},
			0, `{"slept":3}`, "hop 2 GET"},
		{"FireAndForget", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "--mode", "FireAndForget", "--arg", "x=2", "--arg", "y=3", "add"},
			0, "", "FireAndForget"},
		{"GET trigger", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "--method", "GET", "--mode", "LongPolling", "--arg", "x=2", "--arg", "y=3", "add-get"},
			0, `{"sum":5,"diff":-1,"product":6}`, "200 OK"},
		{"token and URL from the environment", childEnv("JOBGATE_TOKEN="+tok, "JOBGATE_URL="+s.URL), []string{"invoke", "add", "--mode", "LongPolling", "--arg", "x=2", "--arg", "y=3"},
			0, `{"sum":5,"diff":-1,"product":6}`, "200 OK"},
		{"Faulted job, LongPolling", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "--mode", "LongPolling", "fail"},
			1, "", "This workflow always fails"},
		{"Faulted job, AsyncRequestReply", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "fail"},
			1, "", "This workflow always fails"},
		{"bad arguments", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "--arg", "x=two", "--arg", "y=3", "add"},
			1, "", "400"},
		{"unknown trigger", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "nope"},
			1, "", "404"},
		{"no token", childEnv(), []string{"invoke", "--url", s.URL, "--mode", "LongPolling", "--arg", "x=2", "--arg", "y=3", "add"},
			1, "", "JOBGATE_TOKEN"},
		{"wrong token", childEnv(), []string{"invoke", "--url", s.URL, "--token", "not.a.token", "--mode", "LongPolling", "add"},
			1, "", "401"},
		{"usage error", childEnv(), []string{"invoke", "--url", s.URL, "--token", tok, "--mode", "Sometimes", "add"},
			2, "", "--mode"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runChild(t, bin, c.env, c.args...)
			if code != c.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.wantCode, stdout, stderr)
			}
			if c.wantStdout == "" {
				if stdout != "" {
					t.Errorf("stdout = %q, want nothing", stdout)
				}
			} else {
				var got, want any
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("stdout is not the output JSON: %v\n%s\nstderr: %s", err, stdout, stderr)
				}
				_ = json.Unmarshal([]byte(c.wantStdout), &want)
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				if !bytes.Equal(g, w) {
					t.Errorf("stdout = %s, want %s", stdout, c.wantStdout)
				}
			}
			if !strings.Contains(stderr, c.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", c.wantStderr, stderr)
			}
			if strings.Contains(stderr, tok) || strings.Contains(stdout, tok) {
				t.Errorf("the token appears in the output:\nstdout: %s\nstderr: %s", stdout, stderr)
			}
		})
	}
}

// testInvokeRedactsCapabilities runs `jobgate invoke` against a tenant whose hop URLs carry
// capabilities: they work without the token, and their value, as good as a token for the job,
// is not shown in the progress lines.
func testInvokeRedactsCapabilities(t *testing.T, bin string) {
	t.Parallel()
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
        callMode: LongPolling
`)
	s := startServer(t, "--config", cfg, "--long-poll-hop", "300ms")
	tok := tokenFor(t, "acme", "web")
	stdout, stderr, code := runChild(t, bin, childEnv("JOBGATE_TOKEN="+tok), "invoke", "--url", s.URL, "--org", "acme", "--tenant", "web", "--arg", "seconds=2", "nap")
	if code != 0 || strings.TrimSpace(stdout) != "{\n  \"slept\": 2\n}" {
		t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "hop 2") || !strings.Contains(stderr, "cap=REDACTED") {
		t.Errorf("stderr shows no redacted capability hops:\n%s", stderr)
	}
	if regexp.MustCompile(`cap=[^R]`).MatchString(stderr) || strings.Contains(stderr, tok) {
		t.Errorf("stderr shows a capability or the token:\n%s", stderr)
	}
}

func testServeEnvironment(t *testing.T, bin string) {
	t.Parallel()
	invoke := func(base, tok string, mode string, args map[string]any) response {
		body := map[string]any{"$callMode": mode}
		for k, v := range args {
			body[k] = v
		}
		return do(t, noFollow, "POST", base+"/default/default/orchestrator_/t/add", tok, body)
	}

	t.Run("environment used when flags are absent", func(t *testing.T) {
		t.Parallel()
		p := startChild(t, bin, childEnv("JOBGATE_LISTEN=127.0.0.1:0", "JOBGATE_JWT_SECRET="+testSecret, "JOBGATE_LONG_POLL_HOP=200ms"), "serve", "--dev")
		base := p.waitListening(t)
		wantSum5(t, invoke(base, token(t), "LongPolling", map[string]any{"x": 2, "y": 3}))
		// The hop comes from JOBGATE_LONG_POLL_HOP: a 1s job is answered with a 303 first.
		r := do(t, noFollow, "POST", base+"/default/default/orchestrator_/t/sleep", token(t), map[string]any{"seconds": 1, "$callMode": "LongPolling"})
		wantStatus(t, r, http.StatusSeeOther)
		// With a configured secret, --dev makes no random one.
		time.Sleep(100 * time.Millisecond)
		if out := p.Stdout.String(); strings.Contains(out, "JOBGATE_JWT_SECRET=") {
			t.Errorf("serve --dev made a random secret although JOBGATE_JWT_SECRET is set:\n%s", out)
		}
		if m := devTokenLine.FindStringSubmatch(p.Stdout.String()); m != nil {
			wantSum5(t, invoke(base, m[1], "LongPolling", map[string]any{"x": 2, "y": 3}))
		}
	})
	t.Run("flag wins over environment", func(t *testing.T) {
		t.Parallel()
		p := startChild(t, bin, childEnv("JOBGATE_LISTEN=no-such-host.invalid:99999", "JOBGATE_JWT_SECRET=the-environment-secret-is-not-used",
			"JOBGATE_ROBOTS=0"),
			"serve", "--dev", "--listen", "127.0.0.1:0", "--jwt-secret", testSecret, "--robots", "2")
		base := p.waitListening(t)
		// --robots 2 beat JOBGATE_ROBOTS=0: the job runs.
		wantSum5(t, invoke(base, token(t), "LongPolling", map[string]any{"x": 2, "y": 3}))
		stdout, _, _ := runChild(t, bin, childEnv(), "token", "--org", "default", "--tenant", "default", "--secret", "the-environment-secret-is-not-used")
		wantProblem(t, invoke(base, strings.TrimSpace(stdout), "LongPolling", map[string]any{"x": 2, "y": 3}), http.StatusUnauthorized)
	})
	t.Run("bad environment value is a usage error naming the variable", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := runChild(t, bin, childEnv("JOBGATE_ROBOTS=many"), "serve", "--dev", "--listen", "127.0.0.1:0", "--jwt-secret", testSecret)
		if code != 2 || !strings.Contains(stderr, "JOBGATE_ROBOTS") {
			t.Errorf("JOBGATE_ROBOTS=many: exit %d, stderr %q; want 2 naming the variable", code, stderr)
		}
	})
}

func testHelp(t *testing.T, bin string) {
	t.Parallel()
	stdout, stderr, code := runChild(t, bin, childEnv(), "help")
	if code != 0 {
		t.Errorf("jobgate help: exit %d, want 0: %s", code, stderr)
	}
	for _, cmd := range []string{"serve", "token", "invoke"} {
		if !regexp.MustCompile(`(?m)^\s+` + cmd + `\s`).MatchString(stdout) {
			t.Errorf("jobgate help does not list %s:\n%s", cmd, stdout)
		}
	}

	// serve -h lists every flag of docs/configuration.md, "jobgate serve" with its environment fallback.
	stdout, stderr, code = runChild(t, bin, childEnv(), "serve", "-h")
	if code != 0 {
		t.Errorf("jobgate serve -h: exit %d, want 0", code)
	}
	help := stdout + stderr
	for _, f := range []string{"listen", "redis", "config", "dev", "robots", "long-poll-hop", "long-poll-max", "public-url",
		"jwt-secret", "jwt-public-key", "jwt-issuer", "jwt-audience", "cors-origins"} {
		env := "JOBGATE_" + strings.ToUpper(strings.ReplaceAll(f, "-", "_"))
		if !regexp.MustCompile(`(?m)--` + regexp.QuoteMeta(f) + `\b.*\$` + env + `\b`).MatchString(help) {
			t.Errorf("serve -h has no line for --%s with $%s:\n%s", f, env, help)
		}
	}
	for _, def := range []string{"127.0.0.1:8080", "50s", "15m0s"} {
		if !strings.Contains(help, def) {
			t.Errorf("serve -h does not show the default %s", def)
		}
	}

	for cmd, flags := range map[string][]string{
		"token":  {"org", "tenant", "subject", "scope", "ttl", "secret"},
		"invoke": {"url", "token", "org", "tenant", "mode", "d", "arg"},
	} {
		stdout, stderr, code := runChild(t, bin, childEnv(), cmd, "-h")
		if code != 0 {
			t.Errorf("jobgate %s -h: exit %d, want 0", cmd, code)
		}
		for _, f := range flags {
			if !regexp.MustCompile(`(?m)^\s*-?-` + regexp.QuoteMeta(f) + `\b`).MatchString(stdout + stderr) {
				t.Errorf("jobgate %s -h does not list --%s:\n%s", cmd, f, stdout+stderr)
			}
		}
	}

	for _, args := range [][]string{{"frobnicate"}, {}} {
		stdout, stderr, code := runChild(t, bin, childEnv(), args...)
		if code != 2 {
			t.Errorf("jobgate %v: exit %d, want 2", args, code)
		}
		if !strings.Contains(stderr, "serve") {
			t.Errorf("jobgate %v: stderr does not show the usage: %q", args, stderr)
		}
		if len(args) > 0 && !strings.Contains(stderr, `unknown command "frobnicate"`) {
			t.Errorf("jobgate frobnicate: stderr %q does not name the unknown command", stderr)
		}
		if stdout != "" {
			t.Errorf("jobgate %v wrote to stdout: %q", args, stdout)
		}
	}
	_, stderr, code = runChild(t, bin, childEnv(), "serve", "--no-such-flag")
	if code != 2 || !strings.Contains(stderr, "no-such-flag") {
		t.Errorf("serve --no-such-flag: exit %d, stderr %q; want 2 naming the flag", code, stderr)
	}
}
