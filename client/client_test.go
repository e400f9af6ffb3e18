package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jobgate/jobgate/client"
	"github.com/jobgate/jobgate/internal/redistest"
)

var defaultTenant = client.Tenant{Org: "default", Name: "default"}

// recorder keeps the progress events and the requests a client sent.
type recorder struct {
	mu       sync.Mutex
	events   []client.Event
	requests []*http.Request
}

func (r *recorder) event(e client.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// steps counts the requests of each step.
func (r *recorder) steps() map[client.Step]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[client.Step]int{}
	for _, e := range r.events {
		if !e.Answered {
			n[e.Step]++
		}
	}
	return n
}

// newClient returns a client of base with tok whose events and requests rec records.
func newClient(base, tok string, rec *recorder) *client.Client {
	return client.New(base, client.WithToken(tok), client.WithProgress(rec.event),
		client.WithHTTPClient(&http.Client{Transport: rec}))
}

func wantJSON(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output %s is not JSON: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("output = %s, want %s", got, want)
	}
}

// onEachStore runs fn against a server on the embedded store and one on Redis.
func onEachStore(t *testing.T, fn func(t *testing.T, base string)) {
	t.Run("memstore", func(t *testing.T) {
		t.Parallel()
		fn(t, startServer(t, "--long-poll-hop", "300ms"))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		fn(t, startServer(t, "--long-poll-hop", "300ms", "--redis", redistest.Start(t).URL()))
	})
}

func TestInvoke_FollowsEachCallModeToTheOutput(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, base string) {
		tok := mint("default", "default")
		sum := `{"sum":5,"diff":-1,"product":6}`
		for _, mode := range []client.Mode{client.LongPolling, client.AsyncRequestReply, client.DefaultMode} {
			rec := &recorder{}
			out, err := newClient(base, tok, rec).Invoke(t.Context(), defaultTenant, "add", map[string]any{"x": 2, "y": 3}, mode)
			if err != nil {
				t.Fatalf("%q: %v", mode, err)
			}
			wantJSON(t, out, sum)
		}
		out, err := client.New(base, client.WithToken(tok)).Invoke(t.Context(), defaultTenant, "add", map[string]any{"x": 2, "y": 3}, client.FireAndForget)
		if err != nil || out != nil {
			t.Fatalf("FireAndForget: output %s, err %v; want none and nil", out, err)
		}
	})
}

func TestInvoke_LongPollingHopsUntilTheJobEnds(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, base string) {
		rec := &recorder{}
		out, err := newClient(base, mint("default", "default"), rec).Invoke(t.Context(), defaultTenant, "sleep",
			map[string]any{"seconds": 1}, client.LongPolling)
		if err != nil {
			t.Fatal(err)
		}
		wantJSON(t, out, `{"slept":1}`)
		if n := rec.steps()[client.StepHop]; n < 2 { // 1 s job, 300 ms hops
			t.Errorf("%d hops, want at least 2: %+v", n, rec.events)
		}
	})
}

func TestInvoke_AsyncRequestReplyPollsThenFetchesTheOutput(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	out, err := newClient(env.exampleURL, mint("default", "default"), rec).Invoke(t.Context(), defaultTenant, "sleep",
		map[string]any{"seconds": 1}, client.AsyncRequestReply)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, out, `{"slept":1}`)
	steps := rec.steps()
	if steps[client.StepPoll] < 1 || steps[client.StepOutput] != 1 {
		t.Errorf("steps %v: want polls and one output GET", steps)
	}
}

func TestInvoke_FaultedJobIsAJobError(t *testing.T) {
	t.Parallel()
	c := client.New(env.exampleURL, client.WithToken(mint("default", "default")))
	for _, mode := range []client.Mode{client.LongPolling, client.AsyncRequestReply} {
		_, err := c.Invoke(t.Context(), defaultTenant, "fail", nil, mode)
		var job *client.JobError
		if !errors.As(err, &job) || job.State != "Faulted" || job.Info == "" || job.JobKey == "" {
			t.Fatalf("%s: err = %v (%T), want a *client.JobError with state Faulted, info and key", mode, err, err)
		}
	}
}

func TestInvoke_RefusalIsAProblemError(t *testing.T) {
	t.Parallel()
	tok := mint("default", "default")
	_, err := client.New(env.exampleURL, client.WithToken(tok)).Invoke(t.Context(), defaultTenant, "add", map[string]any{"x": "two", "y": 3}, client.LongPolling)
	var p *client.ProblemError
	if !errors.As(err, &p) || p.Status != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Name != "x" || p.RequestID == "" {
		t.Fatalf("bad argument: err = %#v, want a 400 *client.ProblemError naming x", err)
	}
	_, err = client.New(env.exampleURL).Invoke(t.Context(), defaultTenant, "add", nil, client.LongPolling)
	if !errors.As(err, &p) || p.Status != http.StatusUnauthorized || p.TokenSent {
		t.Fatalf("no token: err = %#v, want a 401 *client.ProblemError", err)
	}
	_, err = client.New(env.exampleURL, client.WithToken(tok)).Invoke(t.Context(), defaultTenant, "nope", nil, client.LongPolling)
	if !errors.As(err, &p) || p.Status != http.StatusNotFound {
		t.Fatalf("unknown trigger: err = %#v, want a 404 *client.ProblemError", err)
	}
}

func TestInvoke_CapabilityURLsGetNoToken(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	out, err := newClient(env.exampleURL, mint("acme", "web"), rec).Invoke(t.Context(), client.Tenant{Org: "acme", Name: "web"}, "nap",
		map[string]any{"seconds": 1}, client.DefaultMode)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, out, `{"slept":1}`)
	hops := 0
	for _, req := range rec.requests {
		capURL := req.URL.Query().Get("cap") != ""
		if sent := req.Header.Get("Authorization") != ""; sent == capURL {
			t.Errorf("%s %s: Authorization sent %v; want it on the trigger only", req.Method, client.Redact(req.URL), sent)
		}
		if capURL {
			hops++
		}
	}
	if hops < 2 {
		t.Errorf("%d capability hops, want at least 2 (302 redirects)", hops)
	}
}

func TestInvoke_GetTriggerSendsTheArgumentsInTheQuery(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	out, err := newClient(env.exampleURL, mint("default", "default"), rec).Invoke(t.Context(), defaultTenant, "add-get",
		map[string]any{"x": 2, "y": 3}, client.LongPolling, client.WithMethod(http.MethodGet))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, out, `{"sum":5,"diff":-1,"product":6}`)
	if first := rec.requests[0]; first.Method != http.MethodGet || first.URL.Query().Get("x") != "2" {
		t.Errorf("first request %s %s, want GET with x=2 in the query", first.Method, first.URL)
	}
}

func TestInvoke_IdempotencyKeyRefersToTheFirstJob(t *testing.T) {
	t.Parallel()
	keys := make([]string, 2)
	for i := range keys {
		rec := &recorder{}
		_, err := newClient(env.exampleURL, mint("default", "default"), rec).Invoke(t.Context(), defaultTenant, "add",
			map[string]any{"x": 2, "y": 3}, client.AsyncRequestReply, client.WithIdempotencyKey("client-test-idem-1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range rec.events {
			if e.Job != nil && e.Status == http.StatusAccepted {
				keys[i] = e.Job.Key
			}
		}
	}
	if keys[0] == "" || keys[0] != keys[1] {
		t.Errorf("job keys %q: want the same job twice", keys)
	}
}

func TestInvoke_StopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	rec := &recorder{}
	c := client.New(env.exampleURL, client.WithToken(mint("default", "default")), client.WithProgress(func(e client.Event) {
		rec.event(e)
		if e.Step == client.StepHop && !e.Answered {
			cancel(errors.New("caller gave up"))
		}
	}))
	_, err := c.Invoke(ctx, defaultTenant, "sleep", map[string]any{"seconds": 30}, client.LongPolling)
	if err == nil || !strings.Contains(err.Error(), "caller gave up") {
		t.Fatalf("err = %v, want the context's cause", err)
	}
}

func TestInvoke_BadBaseURLIsAnError(t *testing.T) {
	t.Parallel()
	_, err := client.New("localhost:8080").Invoke(t.Context(), defaultTenant, "add", nil, client.LongPolling)
	if err == nil || !strings.Contains(err.Error(), "base URL") {
		t.Fatalf("err = %v, want one naming the base URL", err)
	}
}
