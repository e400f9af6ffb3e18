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
