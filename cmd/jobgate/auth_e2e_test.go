package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jobgate/jobgate/auth"
)

// End-to-end tests of docs/api.md §10 (Auth) against the real server over real HTTP.

// signHS256 signs claims with key as an HS256 JWT, for tokens auth.Mint would never make.
func signHS256(t *testing.T, key []byte, c jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claimsFor returns the claims of a valid token for default/default with OR.Jobs, living an
// hour; tests change or delete claims to make it invalid.
func claimsFor(org, tenant string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": "test", "org": org, "tenant": tenant, "scope": "OR.Jobs",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "e2e",
	}
}

// wantChallenge fails unless r is a 401 problem whose WWW-Authenticate is a Bearer challenge
// for realm jobgate that contains every one of parts.
func wantChallenge(t *testing.T, r response, status int, parts ...string) map[string]any {
	t.Helper()
	p := wantProblem(t, r, status)
	ch := r.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(ch, "Bearer ") {
		t.Fatalf("WWW-Authenticate = %q, want a Bearer challenge", ch)
	}
	for _, part := range parts {
		if !strings.Contains(ch, part) {
			t.Fatalf("WWW-Authenticate = %q, want it to contain %s", ch, part)
		}
	}
	return p
}

func TestAuth_NoTokenIs401WithChallenge(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, c := range []struct{ method, path string }{
		{"POST", "/t/add"},
		{"GET", "/odata/Jobs"},
		{"GET", "/jobs/00000000-0000-0000-0000-000000000000/status"},
	} {
		r := do(t, noFollow, c.method, s.tenantURL(c.path), "", map[string]any{"x": 1, "y": 2})
		wantChallenge(t, r, http.StatusUnauthorized)
		if ch := r.Header.Get("WWW-Authenticate"); ch != `Bearer realm="jobgate"` {
			t.Errorf("%s %s: WWW-Authenticate = %q, want exactly Bearer realm=\"jobgate\" (no token was sent)", c.method, c.path, ch)
		}
	}
	// No job was created by the refused invocation.
	list := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs?$count=true"), token(t), nil)
	wantStatus(t, list, http.StatusOK)
	if n := list.json(t)["@odata.count"]; n != 0.0 {
		t.Fatalf("a refused invocation created %v jobs", n)
	}
}

func TestAuth_BadTokenIs401InvalidToken(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	otherKey := []byte("another-secret-of-at-least-32-bytes!")
	valid := token(t)
	parts := strings.Split(valid, ".")
	// Flip one character of the signature: the same claims, a wrong MAC.
	sig := []byte(parts[2])
	sig[3] ^= 1
	flipped := parts[0] + "." + parts[1] + "." + string(sig)

	cases := []struct {
		name          string
		authorization string
	}{
		{"garbage", "Bearer this-is-not-a-jwt"},
		{"three garbage segments", "Bearer aaa.bbb.ccc"},
		{"signed with another secret", "Bearer " + signHS256(t, otherKey, claimsFor("default", "default"))},
		{"signature altered", "Bearer " + flipped},
		{"other scheme", "Basic dXNlcjpwYXNz"},
		{"empty bearer", "Bearer "},
	}
	for _, c := range cases {
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), "", map[string]any{"x": 1, "y": 2}, "Authorization", c.authorization)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401: %s", c.name, r.Status, r.Body)
			continue
		}
		wantChallenge(t, r, http.StatusUnauthorized, `realm="jobgate"`, `error="invalid_token"`, `error_description="`)
	}
}

func TestAuth_BearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), "", map[string]any{"x": 1, "y": 2, "$callMode": "FireAndForget"},
			"Authorization", scheme+" "+token(t))
		wantStatus(t, r, http.StatusOK)
	}
}

func TestAuth_ExpiredTokenIs401(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := claimsFor("default", "default")
	c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
	c["exp"] = time.Now().Add(-time.Hour).Unix()
	r := do(t, noFollow, "POST", s.tenantURL("/t/add"), signHS256(t, []byte(testSecret), c), map[string]any{"x": 1, "y": 2})
	p := wantChallenge(t, r, http.StatusUnauthorized, `error="invalid_token"`)
	if !strings.Contains(p["detail"].(string), "expired") {
		t.Fatalf("detail = %q, want it to say the token is expired", p["detail"])
	}
}

func TestAuth_TokenWithoutExpIs401(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := claimsFor("default", "default")
	delete(c, "exp")
	r := do(t, noFollow, "POST", s.tenantURL("/t/add"), signHS256(t, []byte(testSecret), c), map[string]any{"x": 1, "y": 2})
	p := wantChallenge(t, r, http.StatusUnauthorized, `error="invalid_token"`)
	if !strings.Contains(p["detail"].(string), "exp") {
		t.Fatalf("detail = %q, want it to name the missing exp", p["detail"])
	}
}

func TestAuth_TokenNotValidYetIs401(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := claimsFor("default", "default")
	c["nbf"] = time.Now().Add(10 * time.Minute).Unix()
	r := do(t, noFollow, "POST", s.tenantURL("/t/add"), signHS256(t, []byte(testSecret), c), map[string]any{"x": 1, "y": 2})
	wantChallenge(t, r, http.StatusUnauthorized, `error="invalid_token"`)
}

func TestAuth_AlgNoneIs401(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsFor("default", "default")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// The same, hand-made with a capitalised "None" and with the HS256 signature left on.
	b64 := base64.RawURLEncoding.EncodeToString
	payload := strings.Split(token(t), ".")[1]
	capitalised := b64([]byte(`{"alg":"None","typ":"JWT"}`)) + "." + payload + "."
	keptSig := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + "." + strings.Split(token(t), ".")[2]
	for name, tok := range map[string]string{"none": none, "None": capitalised, "none with a signature": keptSig} {
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 2})
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401: %s", name, r.Status, r.Body)
			continue
		}
		wantChallenge(t, r, http.StatusUnauthorized, `error="invalid_token"`)
	}
}

func TestAuth_TokenForAnotherTenantIs403(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, tok := range []string{
		tokenFor(t, "other", "default"),
		tokenFor(t, "default", "other"),
		tokenFor(t, "Default", "default"), // names are compared exactly
	} {
		for _, c := range []struct{ method, path string }{
			{"POST", "/t/add"},
			{"GET", "/odata/Jobs"},
			{"GET", "/jobs/00000000-0000-0000-0000-000000000000/status"},
		} {
			r := do(t, noFollow, c.method, s.tenantURL(c.path), tok, map[string]any{"x": 1, "y": 2})
			if r.Status != http.StatusForbidden {
				t.Errorf("%s %s with a token for another tenant: status %d, want 403: %s", c.method, c.path, r.Status, r.Body)
				continue
			}
			wantProblem(t, r, http.StatusForbidden)
		}
	}
}

func TestAuth_InvokeWithoutORJobsIs403InsufficientScope(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, scopes := range [][]string{{auth.ScopeJobsRead}, {auth.ScopeExecution, auth.ScopeSettings}} {
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t, scopes...), map[string]any{"x": 1, "y": 2})
		wantChallenge(t, r, http.StatusForbidden, `error="insufficient_scope"`, `scope="OR.Jobs"`)
	}
	list := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs?$count=true"), token(t), nil)
	if n := list.json(t)["@odata.count"]; n != 0.0 {
		t.Fatalf("refused invocations created %v jobs", n)
	}
}

func TestAuth_JobsReadTokenReadsStatusOutputAndJobsButCannotStop(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	read := token(t, auth.ScopeJobsRead)

	done := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 4, "y": 3})
	wantStatus(t, done, http.StatusAccepted)
	waitJobState(t, s, 1, "Successful")
	st := do(t, noFollow, "GET", done.Header.Get("Location"), read, nil)
	wantStatus(t, st, http.StatusSeeOther)
	out := do(t, noFollow, "GET", st.Header.Get("Location"), read, nil)
	wantStatus(t, out, http.StatusOK)
	if out.json(t)["sum"] != 7.0 {
		t.Fatalf("output read with OR.Jobs.Read = %s", out.Body)
	}

	running := do(t, noFollow, "POST", s.tenantURL("/t/forever"), token(t), nil)
	wantStatus(t, running, http.StatusAccepted)
	st = do(t, noFollow, "GET", running.Header.Get("Location"), read, nil)
	wantStatus(t, st, http.StatusOK)

	// A LongPolling hop URL is readable too: ask for one with a hop of 0s.
	lp := do(t, noFollow, "POST", s.tenantURL("/t/sleep"), token(t), map[string]any{"seconds": 0.2}, "Prefer", "wait=0")
	wantStatus(t, lp, http.StatusSeeOther)
	hop := do(t, follow, "GET", lp.Header.Get("Location"), read, nil)
	wantStatus(t, hop, http.StatusOK)
	if hop.json(t)["slept"] != 0.2 {
		t.Fatalf("hop read with OR.Jobs.Read = %s", hop.Body)
	}

	list := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs?$count=true"), read, nil)
	wantStatus(t, list, http.StatusOK)
	if n := list.json(t)["@odata.count"]; n != 3.0 {
		t.Fatalf("@odata.count = %v, want 3", n)
	}
	one := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs(2)"), read, nil)
	wantStatus(t, one, http.StatusOK)

	stop := do(t, noFollow, "POST", s.tenantURL("/odata/Jobs(2)/UiPath.Server.Configuration.OData.StopJob"), read, map[string]any{"strategy": "SoftStop"})
	wantChallenge(t, stop, http.StatusForbidden, `error="insufficient_scope"`, `scope="OR.Jobs"`)
	stopAll := do(t, noFollow, "POST", s.tenantURL("/odata/Jobs/UiPath.Server.Configuration.OData.StopJobs"), read, map[string]any{"jobIds": []int{2}, "strategy": "Kill"})
	wantChallenge(t, stopAll, http.StatusForbidden, `error="insufficient_scope"`)
	if j := waitJobState(t, s, 2, "Running"); j["State"] != "Running" {
		t.Fatalf("job 2 = %v after refused stops", j["State"])
	}

	// A token with neither OR.Jobs nor OR.Jobs.Read reads nothing.
	none := token(t, auth.ScopeSettings)
	wantChallenge(t, do(t, noFollow, "GET", running.Header.Get("Location"), none, nil), http.StatusForbidden, `error="insufficient_scope"`)
	wantChallenge(t, do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), none, nil), http.StatusForbidden, `error="insufficient_scope"`)

	// An OR.Jobs token may stop it (and so the server need not wait for it at shutdown).
	stop = do(t, noFollow, "POST", s.tenantURL("/odata/Jobs(2)/UiPath.Server.Configuration.OData.StopJob"), token(t), map[string]any{"strategy": "SoftStop"})
	wantStatus(t, stop, http.StatusOK)
	waitJobState(t, s, 2, "Stopped")
}

// writePublicKeys makes an RSA and an ECDSA P-256 key, writes both public halves as PEM
// blocks of one file and returns the keys and the file's path and bytes.
func writePublicKeys(t *testing.T) (*rsa.PrivateKey, *ecdsa.PrivateKey, string, []byte) {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	for _, pub := range []any{&rsaKey.PublicKey, &ecKey.PublicKey} {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	return rsaKey, ecKey, writeFile(t, "jwt.pub.pem", string(data)), data
}

func TestAuth_PublicKeyAcceptsRS256AndES256AndRefusesAlgorithmSwap(t *testing.T) {
	t.Parallel()
	key, ecKey, path, pemBytes := writePublicKeys(t)
	// An empty --jwt-secret (the last one given wins) leaves the public keys as the only keys.
	s := startServer(t, "--jwt-secret", "", "--jwt-public-key", path)

	rs, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claimsFor("default", "default")).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	es, err := jwt.NewWithClaims(jwt.SigningMethodES256, claimsFor("default", "default")).SignedString(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"RS256": rs, "ES256": es} {
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 2, "y": 3, "$callMode": "LongPolling"})
		wantStatus(t, r, http.StatusOK)
		if r.json(t)["sum"] != 5.0 {
			t.Fatalf("%s: output = %s", name, r.Body)
		}
		// The status resources take the same tokens.
		a := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 2, "y": 3})
		wantStatus(t, a, http.StatusAccepted)
		if fol := do(t, follow, "GET", a.Header.Get("Location"), tok, nil); fol.Status != http.StatusOK {
			t.Fatalf("%s: following the status URL: %d %s", name, fol.Status, fol.Body)
		}
	}

	// The classic swap: HS256 with the public key's PEM bytes as the secret.
	swapped := signHS256(t, pemBytes, claimsFor("default", "default"))
	wantChallenge(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), swapped, map[string]any{"x": 2, "y": 3}),
		http.StatusUnauthorized, `error="invalid_token"`)
	// The test secret is no key of this server.
	wantChallenge(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3}),
		http.StatusUnauthorized, `error="invalid_token"`)
	// An RS256 token from another key pair.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claimsFor("default", "default")).SignedString(other)
	if err != nil {
		t.Fatal(err)
	}
	wantChallenge(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), foreign, map[string]any{"x": 2, "y": 3}),
		http.StatusUnauthorized, `error="invalid_token"`)
	// RS256 tokens still need exp.
	noExp := claimsFor("default", "default")
	delete(noExp, "exp")
	rsNoExp, err := jwt.NewWithClaims(jwt.SigningMethodRS256, noExp).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	wantChallenge(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), rsNoExp, map[string]any{"x": 2, "y": 3}),
		http.StatusUnauthorized, `error="invalid_token"`)
}

func TestAuth_IssuerAndAudienceAreCheckedWhenConfigured(t *testing.T) {
	t.Parallel()
	const iss, aud = "https://login.example.com", "jobgate-api"
	s := startServer(t, "--jwt-issuer", iss, "--jwt-audience", aud)
	mint := func(issuer, audience string) string {
		tok, err := auth.Mint(auth.MintConfig{Secret: []byte(testSecret), Org: "default", Tenant: "default",
			Issuer: issuer, Audience: audience, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, c := range []struct {
		name, iss, aud string
	}{
		{"no iss, no aud", "", ""},
		{"no iss", "", aud},
		{"no aud", iss, ""},
		{"wrong iss", "https://evil.example.com", aud},
		{"wrong aud", iss, "another-api"},
	} {
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), mint(c.iss, c.aud), map[string]any{"x": 1, "y": 1})
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401: %s", c.name, r.Status, r.Body)
			continue
		}
		wantChallenge(t, r, http.StatusUnauthorized, `error="invalid_token"`)
	}
	// aud may be an array; one matching value is enough.
	c := claimsFor("default", "default")
	c["iss"], c["aud"] = iss, []string{"another-api", aud}
	for name, tok := range map[string]string{"minted": mint(iss, aud), "aud array": signHS256(t, []byte(testSecret), c)} {
		r := do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 1, "y": 1, "$callMode": "LongPolling"})
		if r.Status != http.StatusOK || r.json(t)["sum"] != 2.0 {
			t.Errorf("%s: status %d, body %s; want 200 with the output", name, r.Status, r.Body)
		}
	}
}

func TestAuth_TokenIsNeverLogged(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--log-level", "debug")
	valid := token(t)
	expiredClaims := claimsFor("default", "default")
	expiredClaims["exp"] = time.Now().Add(-time.Hour).Unix()
	tokens := map[string]string{
		"valid":        valid,
		"expired":      signHS256(t, []byte(testSecret), expiredClaims),
		"wrong secret": signHS256(t, []byte("another-secret-of-at-least-32-bytes!"), claimsFor("default", "default")),
		"other tenant": tokenFor(t, "other", "default"),
		"read only":    token(t, auth.ScopeJobsRead),
		"garbage":      "garbage-token-value-e2e-1234567890",
	}
	for name, tok := range tokens {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/t/add", map[string]any{"x": 1, "y": 1}},
			{"POST", "/t/fail", nil},
			{"GET", "/odata/Jobs?$filter=State%20eq%20'Faulted'", nil},
			{"GET", "/odata/Jobs?$filter=bogus(", nil},
			{"GET", "/jobs/00000000-0000-0000-0000-000000000000/status", nil},
		} {
			r := do(t, noFollow, c.method, s.tenantURL(c.path), tok, c.body)
			if strings.Contains(string(r.Body), tok) || strings.Contains(r.Header.Get("WWW-Authenticate"), tok) {
				t.Errorf("%s token: %s %s answered with the token in its body or challenge", name, c.method, c.path)
			}
		}
	}
	waitJobState(t, s, 2, "Faulted") // let the robots log what they do with the jobs
	logs := s.Stderr.String() + s.Stdout.String()
	if !strings.Contains(logs, `msg=request`) {
		t.Fatalf("debug logging is off, so this test proves nothing:\n%s", logs)
	}
	for name, tok := range tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("the %s token appears in the server's output", name)
		}
		// Nor any part of it that identifies it: its signature.
		if parts := strings.Split(tok, "."); len(parts) == 3 && strings.Contains(logs, parts[2]) {
			t.Errorf("the %s token's signature appears in the server's output", name)
		}
	}
	if strings.Contains(logs, testSecret) {
		t.Error("the JWT secret appears in the server's output")
	}
}

func TestAuth_TokenWithCritFutureIatOrStringTimesIs401(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	key := []byte(testSecret)
	edit := func(k string, v any) string {
		c := claimsFor("default", "default")
		c[k] = v
		return signHS256(t, key, c)
	}
	crit := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsFor("default", "default"))
	crit.Header["crit"] = []string{"x-policy"}
	crit.Header["x-policy"] = "strict"
	critTok, err := crit.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, tok, desc string }{
		{"crit with an unknown name", critTok, "crit parameter"},
		{"iat in 2100", edit("iat", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()), "issued in the future"},
		{"exp as a string", edit("exp", "9999999999"), "exp claim is not a number"},
		{"nbf as a string", edit("nbf", "1"), "nbf claim is not a number"},
		{"iat as a string", edit("iat", "1"), "iat claim is not a number"},
	}
	for _, c := range cases {
		r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), c.tok, nil)
		p := wantChallenge(t, r, http.StatusUnauthorized, `error="invalid_token"`, c.desc)
		if !strings.Contains(p["detail"].(string), c.desc) {
			t.Errorf("%s: detail = %q, want it to mention %q", c.name, p["detail"], c.desc)
		}
	}
}

func TestAuth_ScopesSplitOnASCIISpaceOnly(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	// "OR.Robots OR.Jobs" separated by a no-break space is one unknown scope, not OR.Jobs.
	c := claimsFor("default", "default")
	c["scope"] = "OR.Robots\u00a0OR.Jobs"
	r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), signHS256(t, []byte(testSecret), c), nil)
	wantProblem(t, r, http.StatusForbidden)
	c["scope"] = "OR.Robots OR.Jobs"
	r = do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), signHS256(t, []byte(testSecret), c), nil)
	wantStatus(t, r, http.StatusOK)
}
