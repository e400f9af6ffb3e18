package main

import (
	"net/http"
	"strings"
	"testing"
)

// End-to-end tests of issue 8's correctness findings against the real server.

func TestRequestID_LongOrInvisibleIsReplacedEverywhere(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	huge := strings.Repeat("x", 10<<10)
	for _, id := range []string{huge, "two words", "caf\u00e9"} {
		r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs(999999)"), token(t), nil, "X-Request-Id", id)
		p := wantProblem(t, r, http.StatusNotFound)
		got := r.Header.Get("X-Request-Id")
		if got == id || len(got) != 36 || p["requestId"] != got {
			t.Fatalf("sent X-Request-Id %.20q…: answered %.40q, problem requestId %.40v; want a new UUID in both", id, got, p["requestId"])
		}
	}
	r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs(999999)"), token(t), nil, "X-Request-Id", "trace-42")
	if p := wantProblem(t, r, http.StatusNotFound); p["requestId"] != "trace-42" {
		t.Fatalf("a valid X-Request-Id was not kept: %v", p["requestId"])
	}
}

func TestOutput_InfinityEndsTheJobFaultedOnEveryStore(t *testing.T) {
	for _, st := range stores[:2] { // memstore and Redis: the two stores the finding names
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, st.args(t)...)
			// 1e200 × 1e200 = +Inf: the product has no JSON form.
			r := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1e200, "y": 1e200, "$callMode": "LongPolling"})
			p := wantProblem(t, r, http.StatusInternalServerError)
			info, _ := p["info"].(string)
			if p["jobState"] != "Faulted" || !strings.Contains(info, `"product"`) || !strings.Contains(info, "+Infinity") {
				t.Fatalf("problem = %s; want a Faulted job whose info names the product and +Infinity", r.Body)
			}
			list := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), token(t), nil)
			wantStatus(t, list, http.StatusOK)
			jobs, _ := list.json(t)["value"].([]any)
			if len(jobs) != 1 {
				t.Fatalf("Jobs list = %s; want the one job", list.Body)
			}
			j, _ := jobs[0].(map[string]any)
			if j == nil || j["State"] != "Faulted" || j["Info"] != info {
				t.Fatalf("Jobs list shows %v; want the Faulted job with info %q", jobs[0], info)
			}
		})
	}
}

func TestJSONBody_DuplicateNamesAndInvalidUTF8Are400(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cases := []struct{ name, url, body, want string }{
		{"trigger: duplicate argument", s.tenantURL("/t/add"), `{"x": 1, "y": 2, "x": 3}`, `gives member "x" twice`},
		{"trigger: invalid UTF-8", s.tenantURL("/t/add"), "{\"x\": 1, \"y\": 2, \"note\": \"caf\xe9\"}", "not valid UTF-8"},
		{"OData: duplicate member", s.tenantURL("/odata/Releases"), `{"Name": "A", "Name": "B", "ProcessKey": "Args_AddNumbers"}`, `gives member "Name" twice`},
		{"OData: invalid UTF-8", s.tenantURL("/odata/Releases"), "{\"Name\": \"\xff\", \"ProcessKey\": \"Args_AddNumbers\"}", "not valid UTF-8"},
		{"StopJob: wrong type worded without Go types", s.tenantURL("/odata/Jobs(1)" + stopJobAction), `{"strategy": ["Kill"]}`, "strategy is array"},
	}
	for _, c := range cases {
		r := do(t, noFollow, "POST", c.url, token(t), []byte(c.body))
		p := wantProblem(t, r, http.StatusBadRequest)
		d, _ := p["detail"].(string)
		if !strings.Contains(d, c.want) || strings.Contains(d, "Go ") || strings.Contains(d, "interface {}") || strings.Contains(d, "json:") {
			t.Errorf("%s: detail %q; want it to contain %q and no Go wording", c.name, d, c.want)
		}
	}
}
