package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jobgate/jobgate/auth"
)

// End-to-end tests of docs/api.md §2–§9 beyond the call modes themselves: redirect auth and codes,
// disabled triggers, Idempotency-Key, CORS and X-Request-Id; and of §8's config errors.

// redirectsConfig declares three tenants besides --dev's default/default:
//   - acme/prod: capability URLs (requireAuthOnRedirects false), 303;
//   - acme/dotnet: capability URLs and 302, for clients that only follow 302 (seed 002);
//   - acme/legacy: the bearer token on every URL (the default), but 302.
const redirectsConfig = `tenants:
  - org: acme
    tenant: prod
    settings:
      requireAuthOnRedirects: false
    processes:
      - key: AddNumbers
        builtin: Args_AddNumbers
      - key: Sleeper
        builtin: Sleep
      - key: Forever
        builtin: RunUntilStoppedManually
    triggers:
      - slug: add
        process: AddNumbers
        method: POST
      - slug: forever
        process: Forever
      - slug: sleep
        process: Sleeper
        method: POST
        callMode: AsyncRequestReply
      - slug: off
        process: AddNumbers
        enabled: false
  - org: acme
    tenant: dotnet
    settings:
      requireAuthOnRedirects: false
      redirectStatus: 302
    processes:
      - key: Sleeper
        builtin: Sleep
    triggers:
      - slug: sleep
        process: Sleeper
  - org: acme
    tenant: legacy
    settings:
      redirectStatus: 302
    processes:
      - key: Sleeper
        builtin: Sleep
    triggers:
      - slug: sleep
        process: Sleeper
`

// startConfigServer starts the server with redirectsConfig plus args.
func startConfigServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	return startServer(t, append([]string{"--config", writeFile(t, "jobgate.yaml", redirectsConfig)}, args...)...)
}

// acmeURL returns the URL of a path under tenant acme/<tenant>.
func (s *testServer) acmeURL(tenant, path string) string {
	return s.URL + "/acme/" + tenant + "/orchestrator_" + path
}

// capOf returns the cap query parameter of a URL ("" when there is none).
func capOf(t *testing.T, u string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("Location %q: %v", u, err)
	}
	return parsed.Query().Get("cap")
}

// withCap returns u with its cap query parameter replaced by c.
func withCap(t *testing.T, u, c string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	q.Set("cap", c)
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// flipChar returns s with the character at i replaced by another URL-safe one.
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// pollUntilRedirect GETs u until it answers something other than 200, and returns that.
func pollUntilRedirect(t *testing.T, u, tok string) response {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := do(t, noFollow, "GET", u, tok, nil)
		if r.Status != http.StatusOK || time.Now().After(deadline) {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopJob soft-stops job id of a tenant and waits until it is Stopped.
func stopJob(t *testing.T, s *testServer, org, tenant string, id int) {
	t.Helper()
	base := s.URL + "/" + org + "/" + tenant + "/orchestrator_/odata/Jobs(" + itoa(id) + ")"
	r := do(t, noFollow, "POST", base+"/UiPath.Server.Configuration.OData.StopJob", tokenFor(t, org, tenant), map[string]any{"strategy": "SoftStop"})
	wantStatus(t, r, http.StatusOK)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		j := do(t, noFollow, "GET", base, tokenFor(t, org, tenant), nil)
		if j.Status == http.StatusOK && j.json(t)["State"] == "Stopped" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d did not stop: %d %s", id, j.Status, j.Body)
		}
	}
}

// jobCount returns @odata.count of a tenant's Jobs.
func jobCount(t *testing.T, s *testServer, org, tenant string) float64 {
	t.Helper()
	r := do(t, noFollow, "GET", s.URL+"/"+org+"/"+tenant+"/orchestrator_/odata/Jobs?$count=true", tokenFor(t, org, tenant), nil)
	wantStatus(t, r, http.StatusOK)
	return r.json(t)["@odata.count"].(float64)
}

func TestRedirects_CapabilityURLsWorkWithoutAuthorization(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	tok := tokenFor(t, "acme", "prod")
	// Without Authorization: 200 while the job runs.
	running := do(t, noFollow, "POST", s.acmeURL("prod", "/t/forever"), tok, nil)
	wantStatus(t, running, http.StatusAccepted)
	st := do(t, noFollow, "GET", running.Header.Get("Location"), "", nil)
	wantStatus(t, st, http.StatusOK)
	if st.json(t)["Key"] != running.json(t)["Key"] || st.Header.Get("Retry-After") == "" {
		t.Fatalf("status while running = %s", st.Body)
	}
	stopJob(t, s, "acme", "prod", 1)

	// Then a 303 whose Location carries a capability, to the output.
	r := do(t, noFollow, "POST", s.acmeURL("prod", "/t/sleep"), tok, map[string]any{"seconds": 0.3})
	wantStatus(t, r, http.StatusAccepted)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, s.URL+"/acme/prod/orchestrator_/jobs/") || capOf(t, loc) == "" {
		t.Fatalf("Location %q is not an absolute status URL with a capability", loc)
	}
	st = pollUntilRedirect(t, loc, "")
	wantStatus(t, st, http.StatusSeeOther)
	out := st.Header.Get("Location")
	if !strings.Contains(out, "/output?") || capOf(t, out) == "" {
		t.Fatalf("output Location %q carries no capability", out)
	}
	res := do(t, noFollow, "GET", out, "", nil)
	wantStatus(t, res, http.StatusOK)
	if res.json(t)["slept"] != 0.3 {
		t.Fatalf("output = %s", res.Body)
	}

	// A client that follows redirects and never had a token gets there too.
	anon := &http.Client{Timeout: time.Minute}
	fol := do(t, anon, "GET", loc, "", nil)
	wantStatus(t, fol, http.StatusOK)
	if !strings.Contains(fol.URL, "/output?") || fol.json(t)["slept"] != 0.3 {
		t.Fatalf("following %s without a token ended at %s with %s", loc, fol.URL, fol.Body)
	}
	// The bearer token still works on capability URLs, and a token for another tenant does not.
	wantStatus(t, do(t, noFollow, "GET", out, tok, nil), http.StatusOK)
	wantProblem(t, do(t, noFollow, "GET", out, tokenFor(t, "default", "default"), nil), http.StatusForbidden)
}

func TestRedirects_TamperedOrForeignCapabilityIs401(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	tok := tokenFor(t, "acme", "prod")
	a := do(t, noFollow, "POST", s.acmeURL("prod", "/t/add"), tok, map[string]any{"x": 1, "y": 2})
	wantStatus(t, a, http.StatusAccepted)
	b := do(t, noFollow, "POST", s.acmeURL("prod", "/t/add"), tok, map[string]any{"x": 3, "y": 4})
	wantStatus(t, b, http.StatusAccepted)
	locA, locB := a.Header.Get("Location"), b.Header.Get("Location")
	capA := capOf(t, locA)
	wantStatus(t, pollUntilRedirect(t, locA, ""), http.StatusSeeOther) // capA works

	parts := strings.SplitN(capA, ".", 3)
	if len(parts) != 3 {
		t.Fatalf("capability %q is not version.expiry.mac", capA)
	}
	expiry, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		t.Fatalf("capability %q: expiry: %v", capA, err)
	}
	tampered := map[string]string{
		"last character of the MAC": flipChar(capA, len(capA)-1),
		"a middle character":        flipChar(capA, len(capA)/2),
		"the first character":       flipChar(capA, 0),
		"a later expiry":            parts[0] + "." + strconv.FormatInt(expiry+3600, 10) + "." + parts[2],
		"an earlier expiry":         parts[0] + "." + strconv.FormatInt(expiry-1, 10) + "." + parts[2],
		"no MAC":                    parts[0] + "." + parts[1] + ".",
		"garbage":                   "not-a-capability",
	}
	for name, c := range tampered {
		if c == capA {
			t.Fatalf("%s: tampering left the capability unchanged", name)
		}
		for _, u := range []string{withCap(t, locA, c), strings.Replace(withCap(t, locA, c), "/status?", "/output?", 1)} {
			r := do(t, noFollow, "GET", u, "", nil)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s: GET %s answered %d, want 401: %s", name, u, r.Status, r.Body)
				continue
			}
			wantChallenge(t, r, http.StatusUnauthorized, `error="invalid_token"`)
		}
	}

	// Job A's capability on job B's URLs, and on the same job in another tenant's path.
	for _, u := range []string{
		withCap(t, locB, capA),
		strings.Replace(withCap(t, locB, capA), "/status?", "/output?", 1),
		strings.Replace(withCap(t, locB, capA), "/status?", "/wait/2?", 1),
		strings.Replace(locA, "/acme/prod/", "/acme/dotnet/", 1),
	} {
		wantChallenge(t, do(t, noFollow, "GET", u, "", nil), http.StatusUnauthorized, `error="invalid_token"`)
	}
	// Job B's own capability works.
	wantStatus(t, pollUntilRedirect(t, locB, ""), http.StatusSeeOther)

	// An expired capability, genuinely signed with this server's key (derived from the JWT
	// secret, as no --capability-secret was given), is refused; a live one is accepted.
	caps, err := auth.NewCapabilities(auth.DeriveCapabilityKey([]byte(testSecret)), nil)
	if err != nil {
		t.Fatal(err)
	}
	keyA := a.json(t)["Key"].(string)
	wantStatus(t, pollUntilRedirect(t, withCap(t, locA, caps.Sign("acme", "prod", keyA, time.Hour)), ""), http.StatusSeeOther)
	expired := do(t, noFollow, "GET", withCap(t, locA, caps.Sign("acme", "prod", keyA, -time.Minute)), "", nil)
	if p := wantChallenge(t, expired, http.StatusUnauthorized, `error="invalid_token"`); !strings.Contains(p["detail"].(string), "expired") {
		t.Fatalf("expired capability: detail %q", p["detail"])
	}
}

func TestRedirects_LongPollingHopsCarryCapabilitiesAndWorkWithoutToken(t *testing.T) {
	heldKinds(t, testHopsCarryCapabilities)
}

func testHopsCarryCapabilities(t *testing.T, park string) {
	s := startConfigServer(t, "--long-poll-hop", "300ms", "--long-poll-park", park)
	tok := tokenFor(t, "acme", "prod")
	// A job that runs until stopped hops for as long as one likes.
	r := do(t, noFollow, "POST", s.acmeURL("prod", "/t/forever"), tok, map[string]any{"$callMode": "LongPolling"})
	seen := map[string]bool{}
	for hop := 1; hop <= 3; hop++ {
		wantStatus(t, r, http.StatusSeeOther)
		loc := r.Header.Get("Location")
		if !strings.Contains(loc, "/wait/") || capOf(t, loc) == "" || seen[loc] {
			t.Fatalf("hop %d Location %q: want a new blocking status URL with a capability", hop, loc)
		}
		seen[loc] = true
		r = do(t, noFollow, "GET", loc, "", nil)
	}
	wantStatus(t, r, http.StatusSeeOther)
	// Stopped while a tokenless client holds a hop: the hop answers as the output would.
	held := make(chan response, 1)
	go func() {
		res, err := noFollow.Get(r.Header.Get("Location"))
		if err != nil {
			held <- response{}
			return
		}
		defer res.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, res.Body)
		held <- response{Status: res.StatusCode, Header: res.Header, Body: []byte(b.String())}
	}()
	stopJob(t, s, "acme", "prod", 1)
	last := <-held
	for last.Status == http.StatusSeeOther { // the hop may have ended just before the stop
		last = do(t, noFollow, "GET", last.Header.Get("Location"), "", nil)
	}
	if p := wantProblem(t, last, http.StatusInternalServerError); p["jobState"] != "Stopped" {
		t.Fatalf("hop after the stop = %s", last.Body)
	}

	// A following client whose hops carry no token (like HttpClient) reaches the output: start
	// with a POST that has one, then follow with a client that strips it.
	stripping := &http.Client{Timeout: time.Minute, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		req.Header.Del("Authorization")
		return nil
	}}
	fol := do(t, stripping, "POST", s.acmeURL("prod", "/t/sleep"), tok, map[string]any{"seconds": 0.8, "$callMode": "LongPolling"})
	wantStatus(t, fol, http.StatusOK)
	if fol.json(t)["slept"] != 0.8 || !strings.Contains(fol.URL, "/wait/") {
		t.Fatalf("followed LongPolling ended at %s with %s", fol.URL, fol.Body)
	}
}

func TestRedirects_DefaultTenantRequiresTheTokenOnRedirects(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t, "--long-poll-hop", "200ms")
	tok := token(t)
	r := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.5})
	wantStatus(t, r, http.StatusAccepted)
	loc := r.Header.Get("Location")
	if strings.Contains(loc, "?") {
		t.Fatalf("Location %q carries a query although the tenant requires auth on redirects", loc)
	}
	wantChallenge(t, do(t, noFollow, "GET", loc, "", nil), http.StatusUnauthorized, `realm="jobgate"`)

	// Even a capability this server's key really signed for this very job is refused here.
	key := r.json(t)["Key"].(string)
	caps, err := auth.NewCapabilities(auth.DeriveCapabilityKey([]byte(testSecret)), nil)
	if err != nil {
		t.Fatal(err)
	}
	genuine := caps.Sign("default", "default", key, time.Hour)
	for _, u := range []string{loc + "?cap=" + genuine, strings.Replace(loc, "/status", "/output", 1) + "?cap=" + genuine, loc + "?cap=1.2.x"} {
		wantChallenge(t, do(t, noFollow, "GET", u, "", nil), http.StatusUnauthorized, `realm="jobgate"`)
	}
	// With the token all is well; the 303 carries no capability.
	st := pollUntilRedirect(t, loc, tok)
	wantStatus(t, st, http.StatusSeeOther)
	if out := st.Header.Get("Location"); strings.Contains(out, "cap=") {
		t.Fatalf("output Location %q carries a capability", out)
	}
	wantChallenge(t, do(t, noFollow, "GET", st.Header.Get("Location"), "", nil), http.StatusUnauthorized, `realm="jobgate"`)

	// LongPolling hops need it too.
	lp := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.5, "$callMode": "LongPolling"})
	wantStatus(t, lp, http.StatusSeeOther)
	hop := lp.Header.Get("Location")
	if strings.Contains(hop, "cap=") {
		t.Fatalf("hop Location %q carries a capability", hop)
	}
	wantChallenge(t, do(t, noFollow, "GET", hop, "", nil), http.StatusUnauthorized, `realm="jobgate"`)
	if fol := do(t, follow, "GET", hop, tok, nil); fol.Status != http.StatusOK || fol.json(t)["slept"] != 0.5 {
		t.Fatalf("following the hop with the token: %d %s", fol.Status, fol.Body)
	}
}

func TestRedirects_RedirectStatus302ForStatusAndHops(t *testing.T) {
	heldKinds(t, testRedirectStatus302)
}

func testRedirectStatus302(t *testing.T, park string) {
	s := startConfigServer(t, "--long-poll-hop", "200ms", "--long-poll-park", park)
	for _, c := range []struct {
		tenant  string
		caps    bool
		client  *http.Client
		hopAuth string // the token sent on hops
	}{
		{"dotnet", true, &http.Client{Timeout: time.Minute}, ""},
		{"legacy", false, follow, "token"},
	} {
		tok := tokenFor(t, "acme", c.tenant)
		hopTok := ""
		if c.hopAuth != "" {
			hopTok = tok
		}
		r := do(t, noFollow, "POST", s.acmeURL(c.tenant, "/t/sleep"), tok, map[string]any{"seconds": 0.1})
		wantStatus(t, r, http.StatusAccepted)
		loc := r.Header.Get("Location")
		if (capOf(t, loc) != "") != c.caps {
			t.Fatalf("%s: Location %q, capability wanted: %v", c.tenant, loc, c.caps)
		}
		st := pollUntilRedirect(t, loc, hopTok)
		wantStatus(t, st, http.StatusFound)
		if !strings.Contains(st.Header.Get("Location"), "/output") {
			t.Fatalf("%s: 302 Location = %q", c.tenant, st.Header.Get("Location"))
		}
		fol := do(t, c.client, "GET", loc, hopTok, nil)
		wantStatus(t, fol, http.StatusOK)
		if fol.json(t)["slept"] != 0.1 {
			t.Fatalf("%s: following the status URL: %s", c.tenant, fol.Body)
		}

		// LongPolling hops are 302 as well, and a following client gets the output of a POST.
		lp := do(t, noFollow, "POST", s.acmeURL(c.tenant, "/t/sleep"), tok, map[string]any{"seconds": 0.6, "$callMode": "LongPolling"})
		wantStatus(t, lp, http.StatusFound)
		hop := lp.Header.Get("Location")
		if !strings.Contains(hop, "/wait/") || (capOf(t, hop) != "") != c.caps {
			t.Fatalf("%s: hop Location %q", c.tenant, hop)
		}
		next := do(t, noFollow, "GET", hop, hopTok, nil)
		if next.Status != http.StatusFound && next.Status != http.StatusOK {
			t.Fatalf("%s: hop answered %d, want 302 or 200: %s", c.tenant, next.Status, next.Body)
		}
		out := do(t, c.client, "POST", s.acmeURL(c.tenant, "/t/sleep"), tok, map[string]any{"seconds": 0.6, "$callMode": "LongPolling"})
		wantStatus(t, out, http.StatusOK)
		if out.json(t)["slept"] != 0.6 {
			t.Fatalf("%s: followed LongPolling: %s", c.tenant, out.Body)
		}
	}
}

func TestInvoke_DisabledTriggerIs409(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	tok := tokenFor(t, "acme", "prod")
	r := do(t, noFollow, "POST", s.acmeURL("prod", "/t/off"), tok, map[string]any{"x": 1, "y": 2})
	p := wantProblem(t, r, http.StatusConflict)
	if !strings.Contains(p["detail"].(string), "disabled") {
		t.Fatalf("detail = %q, want it to say the trigger is disabled", p["detail"])
	}
	if n := jobCount(t, s, "acme", "prod"); n != 0 {
		t.Fatalf("a disabled trigger created %v jobs", n)
	}
	// The trigger is listed as disabled, not hidden: an unknown slug is still 404.
	wantProblem(t, do(t, noFollow, "POST", s.acmeURL("prod", "/t/nope"), tok, map[string]any{}), http.StatusNotFound)
}

func TestIdempotencyKey_SameKeySameBodyIsTheSameJob(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	tok := tokenFor(t, "acme", "prod")
	const key = "order-4711"
	first := do(t, noFollow, "POST", s.acmeURL("prod", "/t/add"), tok, `{"x": 1, "y": 2}`, "Idempotency-Key", key)
	wantStatus(t, first, http.StatusAccepted)
	// The same arguments, spelled differently.
	again := do(t, noFollow, "POST", s.acmeURL("prod", "/t/add"), tok, `{"y":2,"x":1}`, "Idempotency-Key", key)
	wantStatus(t, again, http.StatusAccepted)
	if first.Header.Get("Location") != again.Header.Get("Location") {
		t.Fatalf("Location differs:\n%s\n%s", first.Header.Get("Location"), again.Header.Get("Location"))
	}
	// Slugs are case-insensitive: /t/ADD is the same trigger.
	upper := do(t, noFollow, "POST", s.acmeURL("prod", "/t/ADD"), tok, `{"x": 1, "y": 2}`, "Idempotency-Key", key)
	wantStatus(t, upper, http.StatusAccepted)
	if upper.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("/t/ADD Location differs:\n%s\n%s", first.Header.Get("Location"), upper.Header.Get("Location"))
	}
	if first.json(t)["Key"] != again.json(t)["Key"] || first.json(t)["Id"] != again.json(t)["Id"] {
		t.Fatalf("bodies name different jobs: %s / %s", first.Body, again.Body)
	}
	if n := jobCount(t, s, "acme", "prod"); n != 1 {
		t.Fatalf("@odata.count = %v after a repeated Idempotency-Key, want 1", n)
	}
	// After the job ended, the repeat still refers to it.
	wantStatus(t, pollUntilRedirect(t, first.Header.Get("Location"), ""), http.StatusSeeOther)
	late := do(t, noFollow, "POST", s.acmeURL("prod", "/t/add"), tok, `{"x": 1, "y": 2}`, "Idempotency-Key", key)
	wantStatus(t, late, http.StatusAccepted)
	if late.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("Location after the end differs:\n%s\n%s", first.Header.Get("Location"), late.Header.Get("Location"))
	}

	// The same key with another body: 422, and no job.
	other := do(t, noFollow, "POST", s.acmeURL("prod", "/t/add"), tok, `{"x": 1, "y": 3}`, "Idempotency-Key", key)
	p := wantProblem(t, other, http.StatusUnprocessableEntity)
	if !strings.Contains(p["detail"].(string), "Idempotency-Key") {
		t.Fatalf("422 detail = %q", p["detail"])
	}
	// The same key on another trigger is another job.
	sl := do(t, noFollow, "POST", s.acmeURL("prod", "/t/sleep"), tok, `{"seconds": 0.1}`, "Idempotency-Key", key)
	wantStatus(t, sl, http.StatusAccepted)
	if sl.Header.Get("Location") == first.Header.Get("Location") || sl.json(t)["Id"] == first.json(t)["Id"] {
		t.Fatalf("another trigger reused the job: %s", sl.Body)
	}
	// And in another tenant too.
	dflt := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), `{"x": 1, "y": 2}`, "Idempotency-Key", key)
	wantStatus(t, dflt, http.StatusAccepted)
	if n := jobCount(t, s, "acme", "prod"); n != 2 {
		t.Fatalf("@odata.count = %v, want 2", n)
	}
	if n := jobCount(t, s, "default", "default"); n != 1 {
		t.Fatalf("default/default @odata.count = %v, want 1", n)
	}
}

func TestIdempotencyKey_LongPollingRetryWaitsOnTheFirstJob(t *testing.T) {
	t.Parallel()
	s := startConfigServer(t)
	tok := tokenFor(t, "acme", "prod")
	body := `{"seconds": 1, "$callMode": "LongPolling"}`

	// A client gives up on a held LongPolling call, then retries with the same key.
	impatient := &http.Client{Timeout: 200 * time.Millisecond}
	req, _ := http.NewRequest("POST", s.acmeURL("prod", "/t/sleep"), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Idempotency-Key", "retry-1")
	if res, err := impatient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the held call answered %d before the job ended", res.StatusCode)
	}
	for deadline := time.Now().Add(5 * time.Second); jobCount(t, s, "acme", "prod") != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the first call created no job")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := do(t, noFollow, "POST", s.acmeURL("prod", "/t/sleep"), tok, body, "Idempotency-Key", "retry-1")
	wantStatus(t, r, http.StatusOK)
	if r.json(t)["slept"] != 1.0 {
		t.Fatalf("retried LongPolling output = %s", r.Body)
	}
	if n := jobCount(t, s, "acme", "prod"); n != 1 {
		t.Fatalf("@odata.count = %v after a LongPolling retry, want 1", n)
	}

	// An AsyncRequestReply call, then the same call asking to wait (Prefer is a header, so
	// the body is the same): the wait is on the first job.
	a := do(t, noFollow, "POST", s.acmeURL("prod", "/t/sleep"), tok, `{"seconds": 0.5}`, "Idempotency-Key", "retry-2")
	wantStatus(t, a, http.StatusAccepted)
	w := do(t, noFollow, "POST", s.acmeURL("prod", "/t/sleep"), tok, `{"seconds": 0.5}`, "Idempotency-Key", "retry-2", "Prefer", "wait=20")
	wantStatus(t, w, http.StatusOK)
	if w.json(t)["slept"] != 0.5 {
		t.Fatalf("waited output = %s", w.Body)
	}
	if n := jobCount(t, s, "acme", "prod"); n != 2 {
		t.Fatalf("@odata.count = %v, want 2", n)
	}
}

const appOrigin = "https://app.example.com"

func TestCORS_PreflightAndResponsesForAllowedOrigins(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--cors-origins", appOrigin)
	tok := token(t)

	pre := do(t, noFollow, "OPTIONS", s.tenantURL("/t/add"), "", nil,
		"Origin", appOrigin,
		"Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type,prefer,idempotency-key")
	if pre.Status < 200 || pre.Status > 299 {
		t.Fatalf("preflight status = %d, want 2xx: %v %s", pre.Status, pre.Header, pre.Body)
	}
	if pre.Header.Get("X-Request-Id") == "" {
		t.Error("the preflight answer has no X-Request-Id")
	}
	if got := pre.Header.Get("Access-Control-Allow-Origin"); got != appOrigin {
		t.Fatalf("preflight Access-Control-Allow-Origin = %q", got)
	}
	allowed := strings.ToLower(strings.Join(pre.Header.Values("Access-Control-Allow-Headers"), ","))
	for _, h := range []string{"authorization", "content-type", "prefer", "idempotency-key"} {
		if !listHas(allowed, h) {
			t.Errorf("preflight Access-Control-Allow-Headers %q lacks %s", allowed, h)
		}
	}
	if methods := strings.Join(pre.Header.Values("Access-Control-Allow-Methods"), ","); !listHas(methods, "POST") {
		t.Errorf("preflight Access-Control-Allow-Methods %q lacks POST", methods)
	}
	// The preflight of a status URL (a GET with Authorization) is answered too.
	pre2 := do(t, noFollow, "OPTIONS", s.tenantURL("/jobs/00000000-0000-0000-0000-000000000000/status"), "", nil,
		"Origin", appOrigin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	if pre2.Status < 200 || pre2.Status > 299 || pre2.Header.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Fatalf("status URL preflight = %d %v", pre2.Status, pre2.Header)
	}

	wantCORS := func(name string, r response) {
		t.Helper()
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != appOrigin {
			t.Errorf("%s (%d): Access-Control-Allow-Origin = %q, want %s", name, r.Status, got, appOrigin)
		}
		exposed := strings.Join(r.Header.Values("Access-Control-Expose-Headers"), ",")
		for _, h := range []string{"Location", "Retry-After", "Preference-Applied", "X-Request-Id"} {
			if !listHas(exposed, h) {
				t.Errorf("%s (%d): Access-Control-Expose-Headers %q lacks %s", name, r.Status, exposed, h)
			}
		}
	}
	acc := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 2}, "Origin", appOrigin)
	wantStatus(t, acc, http.StatusAccepted)
	wantCORS("202", acc)
	st := pollUntilRedirect(t, acc.Header.Get("Location"), tok)
	wantStatus(t, st, http.StatusSeeOther)
	st = do(t, noFollow, "GET", acc.Header.Get("Location"), tok, nil, "Origin", appOrigin)
	wantStatus(t, st, http.StatusSeeOther)
	wantCORS("303", st)
	out := do(t, noFollow, "GET", st.Header.Get("Location"), tok, nil, "Origin", appOrigin)
	wantStatus(t, out, http.StatusOK)
	wantCORS("200 output", out)
	// Errors must be readable by the page too.
	unauth := do(t, noFollow, "POST", s.tenantURL("/t/add"), "", map[string]any{"x": 1, "y": 2}, "Origin", appOrigin)
	wantStatus(t, unauth, http.StatusUnauthorized)
	wantCORS("401", unauth)
	bad := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": "one"}, "Origin", appOrigin)
	wantStatus(t, bad, http.StatusBadRequest)
	wantCORS("400", bad)
	lp := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 0.1}, "Origin", appOrigin, "Prefer", "wait=0")
	wantStatus(t, lp, http.StatusSeeOther)
	wantCORS("LongPolling 303", lp)

	// Another origin gets no CORS grant, on preflights or on answers.
	const evil = "https://evil.example.com"
	epre := do(t, noFollow, "OPTIONS", s.tenantURL("/t/add"), "", nil,
		"Origin", evil, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
	if got := epre.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q", evil, got)
	}
	eacc := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 2}, "Origin", evil)
	wantStatus(t, eacc, http.StatusAccepted)
	if got := eacc.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("202 to %s: Access-Control-Allow-Origin = %q", evil, got)
	}
}

func TestCORS_OffByDefault(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 2}, "Origin", appOrigin)
	wantStatus(t, r, http.StatusAccepted)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("without --cors-origins: Access-Control-Allow-Origin = %q", got)
	}
}

// listHas reports whether the comma-separated list has item (case-insensitive).
func listHas(list, item string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), item) {
			return true
		}
	}
	return false
}

func TestRequestID_OnEveryResponseAndEchoed(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	tok := token(t)
	seen := map[string]string{}
	check := func(name string, r response, status int) {
		t.Helper()
		wantStatus(t, r, status)
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			t.Errorf("%s (%d) has no X-Request-Id", name, r.Status)
			return
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share X-Request-Id %s", name, other, id)
		}
		seen[id] = name
	}
	acc := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 2})
	check("202", acc, http.StatusAccepted)
	check("303", pollUntilRedirect(t, acc.Header.Get("Location"), tok), http.StatusSeeOther)
	check("200", do(t, noFollow, "GET", strings.Replace(acc.Header.Get("Location"), "/status", "/output", 1), tok, nil), http.StatusOK)
	check("FireAndForget 200", do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 2, "$callMode": "FireAndForget"}), http.StatusOK)
	check("400", do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, "[]"), http.StatusBadRequest)
	check("401", do(t, noFollow, "POST", s.tenantURL("/t/add"), "", nil), http.StatusUnauthorized)
	check("403", do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t, auth.ScopeJobsRead), nil), http.StatusForbidden)
	check("404 slug", do(t, noFollow, "POST", s.tenantURL("/t/nope"), tok, nil), http.StatusNotFound)
	check("404 route", do(t, noFollow, "GET", s.URL+"/no/such/route", "", nil, outsideAPI, "bogus route"), http.StatusNotFound)
	check("healthz", do(t, noFollow, "GET", s.URL+"/healthz", "", nil), http.StatusOK)
	check("readyz", do(t, noFollow, "GET", s.URL+"/readyz", "", nil), http.StatusOK)
	check("metrics", do(t, noFollow, "GET", s.URL+"/metrics", "", nil), http.StatusOK)
	check("odata", do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), tok, nil), http.StatusOK)

	// A client's own id is echoed, and names the problem.
	const mine = "client-chosen-id-42"
	r := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": "one"}, "X-Request-Id", mine)
	if got := r.Header.Get("X-Request-Id"); got != mine {
		t.Fatalf("X-Request-Id = %q, want the client's %q", got, mine)
	}
	if p := wantProblem(t, r, http.StatusBadRequest); p["requestId"] != mine {
		t.Fatalf("problem requestId = %v, want %q", p["requestId"], mine)
	}
	unauth := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), "", nil, "X-Request-Id", mine)
	if p := wantProblem(t, unauth, http.StatusUnauthorized); p["requestId"] != mine {
		t.Fatalf("401 problem requestId = %v, want %q", p["requestId"], mine)
	}
	ok := do(t, noFollow, "GET", s.URL+"/healthz", "", nil, "X-Request-Id", mine)
	if got := ok.Header.Get("X-Request-Id"); got != mine {
		t.Fatalf("healthz X-Request-Id = %q, want %q", got, mine)
	}
}

// runUntilExit runs `jobgate serve` with args and returns its exit code and stderr; it fails
// the test if the server starts listening instead of exiting.
func runUntilExit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	full := append([]string{"serve", "--listen", "127.0.0.1:0", "--jwt-secret", testSecret, "--robots", "0"}, args...)
	go func() { done <- run(ctx, full, func(string) string { return "" }, stdout, stderr) }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case code := <-done:
			return code, stderr.String()
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("serve did not exit within 10s:\n%s", stderr.String())
		case <-time.After(10 * time.Millisecond):
			if listeningLine.MatchString(stderr.String()) {
				cancel()
				<-done
				t.Fatalf("serve started although its config is wrong:\n%s", stderr.String())
			}
		}
	}
}

func TestConfig_UnknownKeyFailsNamingFileAndLine(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "typo.yaml", `tenants:
  - org: acme
    tenant: prod
    settings:
      requireAuthOnRedirect: false
    processes:
      - key: AddNumbers
        builtin: Args_AddNumbers
`)
	code, stderr := runUntilExit(t, "--config", path)
	if code == 0 {
		t.Fatalf("exit code 0 for a config with an unknown key:\n%s", stderr)
	}
	for _, want := range []string{path, "line 5", "requireAuthOnRedirect"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
