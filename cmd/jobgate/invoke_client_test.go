package main

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jobgate/jobgate/client"
)

func noEnv(string) string { return "" }

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

func TestDescribeFailure_JobEndedOrProblemLines(t *testing.T) {
	t.Parallel()
	info := "This workflow always fails"
	tests := []struct {
		name   string
		given  error
		expect []string
	}{
		{"faulted job", &client.JobError{JobKey: "k-1", State: "Faulted", Info: info}, []string{"job k-1 ended Faulted: This workflow always fails"}},
		{"argument errors", &client.ProblemError{Status: 400, Title: "Bad Request", Detail: "bad arguments", RequestID: "r-9",
			Errors: []client.FieldError{{Name: "x", Detail: "required"}, {Name: "z", Detail: "not declared"}}},
			[]string{"error: 400 Bad Request: bad arguments", "  x: required", "  z: not declared", "  request id: r-9"}},
		{"problem without detail", &client.ProblemError{Status: 404, Title: "Not Found"}, []string{"error: 404 Not Found"}},
	}
	for _, tt := range tests {
		if got := describeFailure(tt.given); !reflect.DeepEqual(got, tt.expect) {
			t.Errorf("%s: describeFailure = %q, want %q", tt.name, got, tt.expect)
		}
	}
}
