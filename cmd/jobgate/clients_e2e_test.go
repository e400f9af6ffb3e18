package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The client programs of the README's "Clients" section (../../clients), each built with its
// own toolchain and run against the real server: C# on Mono, Java, Python's urllib, curl,
// Node's fetch and the Go client package. Every run has a timeout, and its output is printed
// when it fails.

// clientsConfig declares the tenants the client programs need besides the --dev samples:
// acme/legacy answers redirects with 302 (UiPath's C# polling loop compares with
// HttpStatusCode.Redirect), acme/web hands out capability URLs (HttpClient drops the token on
// redirects).
const clientsConfig = `tenants:
  - org: acme
    tenant: legacy
    settings:
      redirectStatus: 302
    processes:
      - key: Sleep
        builtin: Sleep
    triggers:
      - slug: sleep
        process: Sleep
  - org: acme
    tenant: web
    settings:
      requireAuthOnRedirects: false
    processes:
      - key: Sleep
        builtin: Sleep
    triggers:
      - slug: sleep
        process: Sleep
`

// clientRun is one client program run against the server.
type clientRun struct {
	name   string
	tool   string   // the toolchain command, named in the failure when it is missing
	build  []string // command that builds the program into dir ("{dir}" is replaced); none = none
	run    []string // command that runs it ("{dir}" is replaced)
	org    string   // tenant acme/legacy, acme/web, or default/default
	tenant string
	args   string // the JSON body
	wait   int    // Prefer: wait=N seconds
}

// clientPrograms are the programs of ../../clients with what each needs.
func clientPrograms() []clientRun {
	const sleep3 = `{"seconds": 3}`
	return []clientRun{
		{name: "CSharp_SeedPollingLoopOn302Tenant", tool: "mcs", org: "acme", tenant: "legacy",
			build: []string{"mcs", "-r:System.Net.Http.dll", "-out:{dir}/PollingLoop.exe", "../../clients/csharp/PollingLoop.cs"},
			run:   []string{"mono", "{dir}/PollingLoop.exe"}, args: `{"seconds": 2, "$callMode": "AsyncRequestReply"}`},
		{name: "CSharp_HttpClientAutoRedirectWithCapabilities", tool: "mcs", org: "acme", tenant: "web",
			build: []string{"mcs", "-r:System.Net.Http.dll", "-out:{dir}/AutoRedirect.exe", "../../clients/csharp/AutoRedirect.cs"},
			run:   []string{"mono", "{dir}/AutoRedirect.exe"}, args: sleep3, wait: 1},
		{name: "Java_HttpClientWithPreferWait", tool: "javac", org: "default", tenant: "default",
			build: []string{"javac", "-d", "{dir}", "../../clients/java/LongPoll.java"},
			run:   []string{"java", "-cp", "{dir}", "LongPoll"}, args: sleep3, wait: 1},
		{name: "Python_UrllibWithPreferWait", tool: "python3", org: "default", tenant: "default",
			run: []string{"python3", "../../clients/python/long_poll.py"}, args: sleep3, wait: 1},
		{name: "Curl_FollowsHops", tool: "curl", org: "default", tenant: "default",
			run: []string{"sh", "../../clients/curl/long_poll.sh"}, args: sleep3, wait: 1},
		{name: "Node_FetchFollowsHops", tool: "node", org: "default", tenant: "default",
			run: []string{"node", "../../clients/node/long_poll.mjs"}, args: sleep3, wait: 1},
		{name: "Go_ClientPackage", tool: "go", org: "default", tenant: "default",
			build: []string{"go", "build", "-o", "{dir}/goclient", "../../clients/go"},
			run:   []string{"{dir}/goclient"}, args: sleep3},
	}
}

// TestClients_RealToolchainsGetTheJobOutput runs every client program against one server whose
// default hop (300 ms) would take a 3 s job past Java's 5 redirects: the programs that follow
// redirects themselves send Prefer: wait=1, which holds every hop 1 s.
func TestClients_RealToolchainsGetTheJobOutput(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--config", writeFile(t, "clients.yaml", clientsConfig), "--long-poll-hop", "300ms")
	for _, c := range clientPrograms() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := runClient(t, s, c)
			var got map[string]any
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil || got["slept"] == nil {
				t.Fatalf("%s printed no job output (want {\"slept\":…}) as its last line:\n%s", c.name, out)
			}
		})
	}
}

// TestClients_JavaWithoutPreferWaitStopsAtItsRedirectCap shows why the README asks Java
// callers for Prefer: wait: with 300 ms hops a 3 s job needs about 10 redirects, and
// HttpClient hands back the 6th 303 as the answer.
func TestClients_JavaWithoutPreferWaitStopsAtItsRedirectCap(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--long-poll-hop", "300ms")
	c := clientPrograms()[2]
	c.args, c.wait = `{"seconds": 3, "$callMode": "LongPolling"}`, 0
	stdout, stderr, err := execClient(t, s, c)
	if err == nil || !strings.Contains(stderr, "303") {
		t.Fatalf("Java without Prefer: wait: err %v, want an exit naming the 303 it was handed\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
}

// runClient builds and runs c, failing the test with its output unless it exits 0.
func runClient(t *testing.T, s *testServer, c clientRun) string {
	t.Helper()
	stdout, stderr, err := execClient(t, s, c)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(c.run, " "), err, stdout, stderr)
	}
	return stdout
}

// execClient builds c (if it needs building) and runs it with a timeout; it returns its output.
func execClient(t *testing.T, s *testServer, c clientRun) (string, string, error) {
	t.Helper()
	if _, err := exec.LookPath(c.tool); err != nil {
		t.Fatalf("%s is not installed: run `make test-deps` (as root it installs mono-complete, default-jdk-headless, python3, curl and nodejs with apt-get)", c.tool)
	}
	dir := t.TempDir()
	expand := func(argv []string) []string {
		out := make([]string, len(argv))
		for i, a := range argv {
			out[i] = strings.ReplaceAll(a, "{dir}", dir)
		}
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if len(c.build) > 0 {
		b := expand(c.build)
		if out, err := exec.CommandContext(ctx, b[0], b[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(b, " "), err, out)
		}
	}
	tok := tokenFor(t, c.org, c.tenant)
	base := s.URL + "/" + c.org + "/" + c.tenant + "/orchestrator_/t/sleep"
	r := expand(c.run)
	cmd := exec.CommandContext(ctx, r[0], r[1:]...)
	cmd.Env = childEnv("TRIGGER_URL="+base, "TOKEN="+tok, "ARGS="+c.args, "WAIT="+itoa(c.wait),
		"BASE_URL="+s.URL, "ORG="+c.org, "TENANT="+c.tenant, "SLUG=sleep",
		"GOCACHE="+goEnv(t, "GOCACHE"), "GOPATH="+goEnv(t, "GOPATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return stdout.String(), stderr.String(), err
}

// goEnv returns `go env NAME`, so that a child sees the test's Go caches.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return filepath.Clean(strings.TrimSpace(string(out)))
}
