package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/internal/redistest"
)

// testSecret is the HS256 secret every in-process test server uses.
const testSecret = "test-secret-of-at-least-32-bytes!!"

// syncBuffer is a bytes.Buffer safe for a writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is the real jobgate server, started through run on a free port.
type testServer struct {
	URL    string // e.g. http://127.0.0.1:41234
	Stdout *syncBuffer
	Stderr *syncBuffer
	stop   context.CancelFunc
	done   chan int
}

var listeningLine = regexp.MustCompile(`msg="jobgate listening" url=(http://[0-9.:]+)`)

// startServer runs `jobgate serve --dev` on a free port with the test secret, plus args;
// it stops the server when the test ends.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, stop: cancel, done: make(chan int, 1)}
	full := append([]string{"serve", "--dev", "--listen", "127.0.0.1:0", "--jwt-secret", testSecret, "--robots", "4", "--log-level", "info"}, args...)
	getenv := func(string) string { return "" }
	go func() { s.done <- run(ctx, full, getenv, s.Stdout, s.Stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listeningLine.FindStringSubmatch(s.Stderr.String()); m != nil {
			s.URL = m[1]
			break
		}
		select {
		case code := <-s.done:
			t.Fatalf("server exited with %d before listening:\n%s", code, s.Stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start within 10s:\n%s", s.Stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-s.done:
			if code != 0 {
				t.Errorf("server exited with %d:\n%s", code, s.Stderr.String())
			}
		case <-time.After(40 * time.Second):
			t.Errorf("server did not stop within 40s")
		}
	})
	return s
}

// tenantURL returns the URL of a path under tenant default/default.
func (s *testServer) tenantURL(path string) string {
	return s.URL + "/default/default/orchestrator_" + path
}

// token mints a token for default/default with every scope, or the given scopes.
func token(t *testing.T, scopes ...string) string {
	t.Helper()
	return tokenFor(t, "default", "default", scopes...)
}

func tokenFor(t *testing.T, org, tenant string, scopes ...string) string {
	t.Helper()
	tok, err := auth.Mint(auth.MintConfig{Secret: []byte(testSecret), Org: org, Tenant: tenant, Subject: "test", Scopes: scopes, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// noFollow is a client that does not follow redirects, like C#'s HttpClient with
// AllowAutoRedirect = false.
var noFollow = &http.Client{
	Timeout:       2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// follow is a client that follows redirects and keeps the Authorization header on them
// (Go keeps it on same-host redirects), like a browser's fetch with redirect: "follow".
var follow = &http.Client{Timeout: 2 * time.Minute}

// response is a read HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	URL    string // final URL (after redirects)
	Close  bool   // the server closes the connection after this answer ("Connection: close")
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// do sends a request with an optional bearer token and JSON body, and reads the answer.
func do(t *testing.T, c *http.Client, method, url, tok string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	outside := false
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == outsideAPI {
			outside = true
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !outside {
		checkOpenAPI(t, res, data) // every answer must be one openapi.json describes
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: data, URL: res.Request.URL.String(), Close: res.Close}
}

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d\nheaders: %v\nbody: %s", r.Status, status, r.Header, r.Body)
	}
}

// wantProblem checks an RFC 9457 answer and returns its body.
func wantProblem(t *testing.T, r response, status int) map[string]any {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	p := r.json(t)
	for _, k := range []string{"type", "title", "status", "detail", "requestId"} {
		if _, ok := p[k]; !ok {
			t.Fatalf("problem lacks %q: %s", k, r.Body)
		}
	}
	if int(p["status"].(float64)) != status {
		t.Fatalf("problem status = %v, want %d", p["status"], status)
	}
	if p["requestId"] != r.Header.Get("X-Request-Id") {
		t.Fatalf("problem requestId %v differs from X-Request-Id %q", p["requestId"], r.Header.Get("X-Request-Id"))
	}
	return p
}

// writeFile writes a file in the test's temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitJobState polls the Jobs API until job id reaches state.
func waitJobState(t *testing.T, s *testServer, id int, state string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs("+itoa(id)+")"), token(t), nil)
		if r.Status == 200 {
			j := r.json(t)
			if j["State"] == state {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d is %v (Info %v), want %s", id, j["State"], j["Info"], state)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("job %d: status %d %s", id, r.Status, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// storeKind names a job store the end-to-end suites run on.
type storeKind struct {
	name string
	args func(t *testing.T) []string // serve flags selecting the store
}

// stores are the job stores every call-mode test runs on: the embedded one, Redis on a
// private redis-server, and a private three-master Redis Cluster, each started for the test.
var stores = []storeKind{
	{"memstore", func(*testing.T) []string { return nil }},
	{"redis", func(t *testing.T) []string { return []string{"--redis", redistest.Start(t).URL()} }},
	{"cluster", func(t *testing.T) []string {
		return []string{"--redis-cluster", strings.Join(redistest.StartCluster(t, 3).Addrs(), ",")}
	}},
}

// onEachStore runs fn as a subtest per store; start starts a server on that store.
func onEachStore(t *testing.T, fn func(t *testing.T, start func(args ...string) *testServer)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			fn(t, func(args ...string) *testServer {
				return startServer(t, append(st.args(t), args...)...)
			})
		})
	}
}
