package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var profilerLine = regexp.MustCompile(`msg="profiler listening" url=(http://[0-9.:\[\]]+/debug/pprof/)`)

func TestDebugListen_ServesTheProfilerApartFromTheAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--debug-listen", "127.0.0.1:0")
	m := waitLog(t, s, profilerLine)
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Get(m[1] + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the profiler answered %d", res.StatusCode)
	}
	// Never on the API's own address.
	r := do(t, noFollow, "GET", s.URL+"/debug/pprof/", "", nil, outsideAPI, "")
	if r.Status != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ on the API address answered %d, want 404", r.Status)
	}
	if strings.Contains(s.Stderr.String(), "reachable from other machines") {
		t.Fatal("a loopback --debug-listen was warned about")
	}
}

func TestDebugListen_WarnsWhenReachableFromOtherMachines(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--debug-listen", "0.0.0.0:0")
	waitLog(t, s, regexp.MustCompile(`--debug-listen is reachable from other machines`))
}

// waitLog waits until the server's log matches re (the server logs it after it listens).
func waitLog(t *testing.T, s *testServer, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(s.Stderr.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log has no %q within 10s:\n%s", re, s.Stderr)
		}
	}
}
