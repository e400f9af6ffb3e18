package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

func TestBuildArguments_MergesDataAndArgsWithJSONValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		givenData  string
		givenArgs  []string
		expectJSON string
	}{
		{name: "nothing", expectJSON: `{}`},
		{name: "data only", givenData: `{"x": 2, "y": 3}`, expectJSON: `{"x":2,"y":3}`},
		{name: "blank data", givenData: "  ", expectJSON: `{}`},
		{name: "numbers", givenArgs: []string{"x=1", "y=-2.5e3"}, expectJSON: `{"x":1,"y":-2.5e3}`},
		{name: "big number keeps its digits", givenArgs: []string{"n=12345678901234567890"}, expectJSON: `{"n":12345678901234567890}`},
		{name: "booleans and null", givenArgs: []string{"a=true", "b=false", "c=null"}, expectJSON: `{"a":true,"b":false,"c":null}`},
		{name: "object and array", givenArgs: []string{`o={"k":[1,"two"]}`, "l=[1,2]"}, expectJSON: `{"l":[1,2],"o":{"k":[1,"two"]}}`},
		{name: "plain word is a string", givenArgs: []string{"name=Ada"}, expectJSON: `{"name":"Ada"}`},
		{name: "quoted JSON string stays a string", givenArgs: []string{`zip="01234"`}, expectJSON: `{"zip":"01234"}`},
		{name: "not quite JSON is a string", givenArgs: []string{"v=1 2", "w={oops"}, expectJSON: `{"v":"1 2","w":"{oops"}`},
		{name: "empty value is an empty string", givenArgs: []string{"e="}, expectJSON: `{"e":""}`},
		{name: "value may contain =", givenArgs: []string{"q=a=b"}, expectJSON: `{"q":"a=b"}`},
		{name: "args win over data", givenData: `{"x": 1, "y": 2}`, givenArgs: []string{"y=20", "z=3"}, expectJSON: `{"x":1,"y":20,"z":3}`},
		{name: "last arg wins", givenArgs: []string{"x=1", "x=2"}, expectJSON: `{"x":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := buildArguments(tt.givenData, tt.givenArgs)
			if err != nil {
				t.Fatalf("buildArguments: %v", err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(b) != tt.expectJSON {
				t.Errorf("got %s, want %s", b, tt.expectJSON)
			}
		})
	}
}

func TestBuildArguments_RejectsWhatIsNotAnObjectOrAPair(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenData   string
		givenArgs   []string
		expectInErr string
	}{
		{name: "array", givenData: `[1,2]`, expectInErr: "want a JSON object"},
		{name: "number", givenData: `5`, expectInErr: "got a number"},
		{name: "string", givenData: `"x"`, expectInErr: "got a string"},
		{name: "null", givenData: `null`, expectInErr: "got null"},
		{name: "invalid JSON", givenData: `{"x":`, expectInErr: "not valid JSON"},
		{name: "unquoted", givenData: `x=1`, expectInErr: "not valid JSON"},
		{name: "two values", givenData: `{} {}`, expectInErr: "unexpected data"},
		{name: "arg without =", givenArgs: []string{"x"}, expectInErr: "want name=value"},
		{name: "arg with empty name", givenArgs: []string{"=1"}, expectInErr: "empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := buildArguments(tt.givenData, tt.givenArgs)
			if err == nil || !strings.Contains(err.Error(), tt.expectInErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.expectInErr)
			}
		})
	}
}

func TestEncodeInvocation_PostSendsObjectBodyWithCallMode(t *testing.T) {
	t.Parallel()
	target := mustURL(t, "http://h/default/default/orchestrator_/t/add")
	args, err := buildArguments(`{"x":1}`, []string{"y=2"})
	if err != nil {
		t.Fatal(err)
	}
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
	args, err := buildArguments(`{"o":{"k":1}}`, []string{"x=5", "name=a b&c", "ok=true"})
	if err != nil {
		t.Fatal(err)
	}
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
		got, err := triggerURL(tt.givenBase, tt.givenOrg, tt.givenTenant, tt.givenSlug)
		if err != nil {
			t.Errorf("triggerURL(%q, …, %q): %v", tt.givenBase, tt.givenSlug, err)
			continue
		}
		if got.String() != tt.expect {
			t.Errorf("triggerURL(%q, …, %q) = %s, want %s", tt.givenBase, tt.givenSlug, got, tt.expect)
		}
	}
}

func TestTriggerURL_RejectsUnusableBase(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"127.0.0.1:8080", "localhost", "ftp://h", "http://", "/relative", "http://h/?x=1", "http://h/#f", "http://h:bad/"} {
		if got, err := triggerURL(base, "o", "t", "s"); err == nil {
			t.Errorf("triggerURL(%q) = %s, want an error", base, got)
		}
	}
	if _, err := triggerURL("http://h", "o", "t", ""); err == nil {
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
		if got := sameOrigin(mustURL(t, tt.givenA), mustURL(t, tt.givenB)); got != tt.expect {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", tt.givenA, tt.givenB, got, tt.expect)
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

func TestCanonicalMode_MatchesCaseInsensitively(t *testing.T) {
	t.Parallel()
	for given, expect := range map[string]string{
		"": "", "asyncrequestreply": "AsyncRequestReply", "FIREANDFORGET": "FireAndForget",
		"LongPolling": "LongPolling", "longPOLLING": "LongPolling",
	} {
		if got, err := canonicalMode(given); err != nil || got != expect {
			t.Errorf("canonicalMode(%q) = %q, %v; want %q", given, got, err, expect)
		}
	}
	for _, given := range []string{"Long Polling", "async", "Sync"} {
		if _, err := canonicalMode(given); err == nil {
			t.Errorf("canonicalMode(%q): want an error", given)
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

func TestRedactURL_HidesCapabilityAndPassword(t *testing.T) {
	t.Parallel()
	got := redactURL(mustURL(t, "http://u:secret@h/o/t/orchestrator_/jobs/k/status?cap=SIGNED.VALUE"))
	if strings.Contains(got, "SIGNED") || strings.Contains(got, "secret") {
		t.Errorf("redactURL leaked a secret: %s", got)
	}
	if !strings.Contains(got, "cap=REDACTED") || !strings.Contains(got, "/jobs/k/status") {
		t.Errorf("redactURL = %s, want the URL with cap=REDACTED", got)
	}
	plain := "http://h/o/t/orchestrator_/t/add?x=1"
	if got := redactURL(mustURL(t, plain)); got != plain {
		t.Errorf("redactURL(%s) = %s, want it unchanged", plain, got)
	}
}

func TestDescribeFailure_JobEndedOrProblemOrRawBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenStatus int
		givenBody   string
		expect      []string
	}{
		{
			name:        "faulted job",
			givenStatus: 500,
			givenBody:   `{"type":"https://jobgate.dev/problems/job-faulted","title":"Job Faulted","status":500,"jobState":"Faulted","info":"This workflow always fails","jobKey":"k-1"}`,
			expect:      []string{"job k-1 ended Faulted: This workflow always fails"},
		},
		{
			name:        "stopped job without info",
			givenStatus: 500,
			givenBody:   `{"title":"Job Stopped","status":500,"jobState":"Stopped","info":"","jobKey":"k-2"}`,
			expect:      []string{"job k-2 ended Stopped: (no info)"},
		},
		{
			name:        "argument errors",
			givenStatus: 400,
			givenBody:   `{"type":"t","title":"Bad Request","status":400,"detail":"bad arguments","requestId":"r-9","errors":[{"name":"x","detail":"required"},{"name":"z","detail":"not declared"}]}`,
			expect:      []string{"error: 400 Bad Request: bad arguments", "  x: required", "  z: not declared", "  request id: r-9"},
		},
		{
			name:        "problem without title or detail",
			givenStatus: 404,
			givenBody:   `{"status":404}`,
			expect:      []string{"error: 404 Not Found"},
		},
		{
			name:        "not a problem document",
			givenStatus: 502,
			givenBody:   "<html>\n  Bad gateway\n</html>",
			expect:      []string{"error: 502 Bad Gateway: <html> Bad gateway </html>"},
		},
		{
			name:        "empty body",
			givenStatus: 503,
			expect:      []string{"error: 503 Service Unavailable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := describeFailure(tt.givenStatus, []byte(tt.givenBody)); !reflect.DeepEqual(got, tt.expect) {
				t.Errorf("describeFailure = %q, want %q", got, tt.expect)
			}
		})
	}
}

func TestJobSummaryDescribe_ShowsStateAndProgress(t *testing.T) {
	t.Parallel()
	var s jobSummary
	if err := json.Unmarshal([]byte(`{"Key":"k","Id":7,"State":"Running","Progress":{"Percent":40,"Message":"step 2"}}`), &s); err != nil {
		t.Fatal(err)
	}
	if got, want := s.describe(), "Running 40% step 2"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	if got, want := (jobSummary{State: "Pending"}).describe(), "Pending"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
}

func TestParseInvokeOptions_SlugFirstOrLast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		givenArgs []string
	}{
		{"slug last", []string{"--arg", "x=1", "--mode", "longpolling", "--method", "put", "add"}},
		{"slug first", []string{"add", "--arg", "x=1", "--mode", "longpolling", "--method", "put"}},
		{"slug between", []string{"--mode", "longpolling", "add", "--arg", "x=1", "--method", "put"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := parseInvokeOptions(tt.givenArgs, noEnv, io.Discard)
			if err != nil {
				t.Fatalf("parseInvokeOptions: %v", err)
			}
			if o.slug != "add" || o.mode != "LongPolling" || o.method != "PUT" || !reflect.DeepEqual([]string(o.args), []string{"x=1"}) {
				t.Errorf("got slug %q mode %q method %q args %q", o.slug, o.mode, o.method, o.args)
			}
			if o.org != "default" || o.tenant != "default" || o.base != "http://127.0.0.1:8080" || o.timeout != 20*time.Minute {
				t.Errorf("defaults: org %q tenant %q url %q timeout %s", o.org, o.tenant, o.base, o.timeout)
			}
		})
	}
}

func TestParseInvokeOptions_TokenFromEnvironmentFlagWins(t *testing.T) {
	t.Parallel()
	env := func(k string) string {
		return map[string]string{"JOBGATE_TOKEN": "from-env", "JOBGATE_ORG": "acme"}[k]
	}
	o, err := parseInvokeOptions([]string{"add"}, env, io.Discard)
	if err != nil || o.token != "from-env" || o.org != "acme" {
		t.Fatalf("token %q org %q err %v; want from-env, acme", o.token, o.org, err)
	}
	o, err = parseInvokeOptions([]string{"add", "--token", "from-flag"}, env, io.Discard)
	if err != nil || o.token != "from-flag" {
		t.Fatalf("token %q err %v; want from-flag", o.token, err)
	}
}

func TestParseInvokeOptions_RejectsUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenArgs   []string
		expectInErr string
	}{
		{"no slug", []string{"--arg", "x=1"}, "missing SLUG"},
		{"two slugs", []string{"add", "sub"}, "unexpected argument"},
		{"unknown mode", []string{"--mode", "Sync", "add"}, "--mode"},
		{"unknown method", []string{"--method", "PATCH", "add"}, "--method"},
		{"bad org", []string{"--org", "a/b", "add"}, "--org"},
		{"empty tenant", []string{"--tenant", "", "add"}, "--tenant"},
		{"zero timeout", []string{"--timeout", "0s", "add"}, "--timeout"},
		{"unknown flag", []string{"--nope", "add"}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseInvokeOptions(tt.givenArgs, noEnv, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.expectInErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.expectInErr)
			}
		})
	}
}

func TestRunInvoke_UsageErrorsExit2BeforeSending(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenArgs   []string
		expectInErr string
	}{
		{"data not an object", []string{"--url", "http://127.0.0.1:1", "-d", "[1]", "add"}, "want a JSON object"},
		{"bad url", []string{"--url", "localhost:8080", "add"}, "--url"},
		{"bad mode", []string{"--url", "http://127.0.0.1:1", "--mode", "x", "add"}, "--mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr strings.Builder
			if code := runInvoke(t.Context(), tt.givenArgs, noEnv, &stdout, &stderr); code != 2 {
				t.Errorf("exit code = %d, want 2 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.expectInErr) || stdout.Len() != 0 {
				t.Errorf("stderr = %q (want %q), stdout = %q (want empty)", stderr.String(), tt.expectInErr, stdout.String())
			}
		})
	}
	var stderr strings.Builder
	if code := runInvoke(t.Context(), []string{"-h"}, noEnv, io.Discard, &stderr); code != 0 || !strings.Contains(stderr.String(), "SLUG") {
		t.Errorf("-h: exit %d, usage %q; want 0 and a usage naming SLUG", code, stderr.String())
	}
}
