package client

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

func TestEncodeInvocation_PostSendsObjectBodyWithCallMode(t *testing.T) {
	t.Parallel()
	target := mustURL(t, "http://h/default/default/orchestrator_/t/add")
	args := map[string]any{"x": 1, "y": 2}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		u, body, err := encodeInvocation(method, target, args, "LongPolling")
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if u.String() != target.String() {
			t.Errorf("%s: url = %s, want %s", method, u, target)
		}
		if want := `{"$callMode":"LongPolling","x":1,"y":2}`; string(body) != want {
			t.Errorf("%s: body = %s, want %s", method, body, want)
		}
	}
	if _, ok := args["$callMode"]; ok {
		t.Error("encodeInvocation changed the arguments map")
	}
	_, body, err := encodeInvocation(http.MethodPost, target, map[string]any{}, "")
	if err != nil || string(body) != `{}` {
		t.Errorf("no args, no mode: body = %s, err = %v; want {}", body, err)
	}
}

func TestEncodeInvocation_GetPutsArgumentsInTheQuery(t *testing.T) {
	t.Parallel()
	target := mustURL(t, "http://h/default/default/orchestrator_/t/add-get")
	args := map[string]any{"o": map[string]any{"k": 1}, "x": json.Number("5"), "name": "a b&c", "ok": true}
	u, body, err := encodeInvocation(http.MethodGet, target, args, "AsyncRequestReply")
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		t.Errorf("GET body = %s, want none", body)
	}
	want := url.Values{"x": {"5"}, "name": {"a b&c"}, "ok": {"true"}, "o": {`{"k":1}`}, "$callMode": {"AsyncRequestReply"}}
	if got := u.Query(); !reflect.DeepEqual(got, want) {
		t.Errorf("query = %v, want %v", got, want)
	}
	if u.Path != target.Path || target.RawQuery != "" {
		t.Errorf("path = %s (target %s changed? query %q)", u.Path, target, target.RawQuery)
	}
}

func TestTriggerURL_EscapesEachPart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		givenBase, givenOrg, givenTenant, givenSlug string
		expect                                      string
	}{
		{"http://127.0.0.1:8080", "default", "default", "add", "http://127.0.0.1:8080/default/default/orchestrator_/t/add"},
		{"http://127.0.0.1:8080/", "acme", "prod", "add", "http://127.0.0.1:8080/acme/prod/orchestrator_/t/add"},
		{"https://gw.example/jobs/", "acme", "prod", "add", "https://gw.example/jobs/acme/prod/orchestrator_/t/add"},
		{"http://h", "o", "t", "a/b c?d#e", "http://h/o/t/orchestrator_/t/a%2Fb%20c%3Fd%23e"},
		{"http://h", "o", "t", "caf\u00e9", "http://h/o/t/orchestrator_/t/caf%C3%A9"},
	}
	for _, tt := range tests {
		got, err := TriggerURL(tt.givenBase, Tenant{tt.givenOrg, tt.givenTenant}, tt.givenSlug)
		if err != nil {
			t.Errorf("TriggerURL(%q, …, %q): %v", tt.givenBase, tt.givenSlug, err)
			continue
		}
		if got.String() != tt.expect {
			t.Errorf("TriggerURL(%q, …, %q) = %s, want %s", tt.givenBase, tt.givenSlug, got, tt.expect)
		}
	}
}

func TestTriggerURL_RejectsUnusableBase(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"127.0.0.1:8080", "localhost", "ftp://h", "http://", "/relative", "http://h/?x=1", "http://h/#f", "http://h:bad/"} {
		if got, err := TriggerURL(base, Tenant{"o", "t"}, "s"); err == nil {
			t.Errorf("TriggerURL(%q) = %s, want an error", base, got)
		}
	}
	if _, err := TriggerURL("http://h", Tenant{"o", "t"}, ""); err == nil {
		t.Error("empty slug: want an error")
	}
}

func TestSameOrigin_ComparesSchemeHostAndPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		givenA, givenB string
		expect         bool
	}{
		{"http://h:8080/a", "http://h:8080/b?cap=x", true},
		{"http://h/a", "http://h:80/b", true},
		{"https://h:443/a", "https://h/b", true},
		{"http://Host.Example/a", "HTTP://host.example/b", true},
		{"http://u:p@h/a", "http://h/b", true},
		{"http://[::1]:8080/a", "http://[::1]:8080/b", true},
		{"http://h:8080/a", "http://h:8081/a", false},
		{"http://h/a", "https://h/a", false},
		{"https://h/a", "https://h:80/a", false},
		{"http://h/a", "http://h.evil/a", false},
		{"http://127.0.0.1:8080/a", "http://localhost:8080/a", false},
	}
	for _, tt := range tests {
		if got := SameOrigin(mustURL(t, tt.givenA), mustURL(t, tt.givenB)); got != tt.expect {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tt.givenA, tt.givenB, got, tt.expect)
		}
	}
}

func TestSendsToken_OnlyToTheOriginAndNotWithACapability(t *testing.T) {
	t.Parallel()
	origin := mustURL(t, "http://h:8080/o/t/orchestrator_/t/add")
	tests := []struct {
		givenTarget string
		expect      bool
	}{
		{"http://h:8080/o/t/orchestrator_/jobs/k/status", true},
		{"http://h:8080/o/t/orchestrator_/jobs/k/status?cap=abc", false},
		{"http://h:8080/o/t/orchestrator_/jobs/k/status?cap=", true},
		{"http://other:8080/o/t/orchestrator_/jobs/k/status", false},
		{"https://h:8080/o/t/orchestrator_/jobs/k/status", false},
	}
	for _, tt := range tests {
		if got := sendsToken(origin, mustURL(t, tt.givenTarget)); got != tt.expect {
			t.Errorf("sendsToken(%s) = %v, want %v", tt.givenTarget, got, tt.expect)
		}
	}
}

func TestRetryAfter_SecondsOrDateCappedAt30s(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		given  string
		expect time.Duration
	}{
		{"", time.Second},
		{"   ", time.Second},
		{"3", 3 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"30", 30 * time.Second},
		{"31", 30 * time.Second},
		{"99999999999999999999999", 30 * time.Second},
		{"-1", time.Second},
		{"1.5", time.Second},
		{"soon", time.Second},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
		{now.Add(time.Hour).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.given, now); got != tt.expect {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.given, got, tt.expect)
		}
	}
}

func TestResolveLocation_AgainstTheAnsweringURL(t *testing.T) {
	t.Parallel()
	cur := mustURL(t, "http://h:8080/o/t/orchestrator_/jobs/k/status?cap=a")
	tests := []struct {
		given, expect string
	}{
		{"/o/t/orchestrator_/jobs/k/output?cap=b", "http://h:8080/o/t/orchestrator_/jobs/k/output?cap=b"},
		{"output", "http://h:8080/o/t/orchestrator_/jobs/k/output"},
		{"../k/wait/2", "http://h:8080/o/t/orchestrator_/jobs/k/wait/2"},
		{"https://other/x", "https://other/x"},
	}
	for _, tt := range tests {
		got, err := resolveLocation(cur, tt.given)
		if err != nil || got.String() != tt.expect {
			t.Errorf("resolveLocation(%q) = %v, %v; want %s", tt.given, got, err, tt.expect)
		}
	}
	for _, given := range []string{"", "javascript:alert(1)", "file:///etc/passwd", "http://h:bad/"} {
		if got, err := resolveLocation(cur, given); err == nil {
			t.Errorf("resolveLocation(%q) = %s, want an error", given, got)
		}
	}
}

func TestRedact_HidesCapabilityAndPassword(t *testing.T) {
	t.Parallel()
	got := Redact(mustURL(t, "http://u:secret@h/o/t/orchestrator_/jobs/k/status?cap=SIGNED.VALUE"))
	if strings.Contains(got, "SIGNED") || strings.Contains(got, "secret") {
		t.Errorf("redactURL leaked a secret: %s", got)
	}
	if !strings.Contains(got, "cap=REDACTED") || !strings.Contains(got, "/jobs/k/status") {
		t.Errorf("redactURL = %s, want the URL with cap=REDACTED", got)
	}
	plain := "http://h/o/t/orchestrator_/t/add?x=1"
	if got := Redact(mustURL(t, plain)); got != plain {
		t.Errorf("Redact(%s) = %s, want it unchanged", plain, got)
	}
}

func TestJobSummaryString_ShowsStateAndProgress(t *testing.T) {
	t.Parallel()
	var s JobSummary
	if err := json.Unmarshal([]byte(`{"Key":"k","Id":7,"State":"Running","Progress":{"Percent":40,"Message":"step 2"}}`), &s); err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "Running 40% step 2"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	if got, want := (JobSummary{State: "Pending"}).String(), "Pending"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
}

func TestDecodeFailure_JobEndedOrProblemOrRawBody(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest("GET", "http://h/o/t/orchestrator_/jobs/k/output", nil)
	tests := []struct {
		name        string
		givenStatus int
		givenBody   string
		expect      string
	}{
		{"faulted job", 500, `{"type":"https://jobgate.dev/problems/job-faulted","title":"Job Faulted","status":500,"jobState":"Faulted","info":"This workflow always fails","jobKey":"k-1"}`,
			"job k-1 ended Faulted: This workflow always fails"},
		{"stopped job without info", 500, `{"title":"Job Stopped","status":500,"jobState":"Stopped","info":"","jobKey":"k-2"}`,
			"job k-2 ended Stopped: (no info)"},
		{"argument errors", 400, `{"type":"t","title":"Bad Request","status":400,"detail":"bad arguments","requestId":"r-9","errors":[{"name":"x","detail":"required"}]}`,
			"400 Bad Request: bad arguments"},
		{"problem without title or detail", 404, `{"status":404}`, "404 Not Found"},
		{"not a problem document", 502, "<html>\n  Bad gateway\n</html>", "502 Bad Gateway: <html> Bad gateway </html>"},
		{"empty body", 503, "", "503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := decodeFailure(answer{status: tt.givenStatus, body: []byte(tt.givenBody)}, req)
			if err.Error() != tt.expect {
				t.Errorf("error = %q, want %q", err, tt.expect)
			}
			var job *JobError
			var p *ProblemError
			if strings.HasPrefix(tt.expect, "job ") != (errAs(err, &job)) || (job == nil) != errAs(err, &p) {
				t.Errorf("error type %T: want *JobError for a failed job, else *ProblemError", err)
			}
		})
	}
}

func errAs[T any](err error, target *T) bool {
	v, ok := err.(T)
	if ok {
		*target = v
	}
	return ok
}
