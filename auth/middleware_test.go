package auth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
)

// newTestEcho returns an Echo whose error handler stands in for the server's: *Error →
// status, WWW-Authenticate and a JSON body with the description as detail.
func newTestEcho() *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var ae *Error
		if !errors.As(err, &ae) {
			_ = c.JSON(http.StatusInternalServerError, map[string]string{"detail": err.Error()})
			return
		}
		if ch := ae.Challenge(); ch != "" {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, ch)
		}
		_ = c.JSON(ae.Status, map[string]string{"detail": ae.Description})
	}
	return e
}

// newTestServer serves, over a real socket, a small tenant API guarded by BearerWithConfig:
//
//	GET  /:org/:tenant/orchestrator_/whoami   any valid token for the tenant
//	POST /:org/:tenant/orchestrator_/t/:slug  also needs OR.Jobs
//	GET  /:org/:tenant/orchestrator_/public   skipped by the Skipper
//	GET  /unguarded                           RequireScope without BearerWithConfig
func newTestServer(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	e := newTestEcho()
	whoami := func(c echo.Context) error {
		p, ok := PrincipalFrom(c)
		if !ok {
			return c.String(http.StatusOK, "anonymous")
		}
		return c.JSON(http.StatusOK, p)
	}
	g := e.Group("/:org/:tenant/orchestrator_", BearerWithConfig(BearerConfig{
		Verifier: v,
		Skipper:  func(c echo.Context) bool { return strings.HasSuffix(c.Path(), "/public") },
	}))
	g.GET("/whoami", whoami)
	g.GET("/public", whoami)
	g.POST("/t/:slug", whoami, RequireScope(ScopeJobs))
	e.GET("/unguarded", whoami, RequireScope(ScopeJobs))

	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func TestBearer_OverHTTP(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, VerifierConfig{Secret: testSecret(), Now: clock(testNow)})
	srv := newTestServer(t, v)
	token := func(edits ...func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodHS256, testSecret(), validClaims(edits...), nil)
	}
	readOnly := token(func(c jwt.MapClaims) { c["scope"] = ScopeJobsRead })

	tests := []struct {
		name            string
		whenMethod      string
		whenPath        string
		givenAuth       string
		expectStatus    int
		expectChallenge string
		expectBody      string // substring
	}{
		{name: "no header", whenMethod: "GET", whenPath: "/acme/prod/orchestrator_/whoami",
			expectStatus: 401, expectChallenge: `Bearer realm="jobgate"`, expectBody: "no bearer token"},
		{name: "Basic credentials", whenMethod: "GET", whenPath: "/acme/prod/orchestrator_/whoami", givenAuth: "Basic dXNlcjpwYXNz",
			expectStatus: 401, expectChallenge: `Bearer realm="jobgate", error="invalid_token", error_description="authorization scheme must be Bearer"`},
		{name: "expired token", whenMethod: "GET", whenPath: "/acme/prod/orchestrator_/whoami",
			givenAuth:    "Bearer " + token(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-5 * time.Minute).Unix() }),
			expectStatus: 401, expectChallenge: `Bearer realm="jobgate", error="invalid_token", error_description="token is expired"`},
		{name: "token for another tenant", whenMethod: "GET", whenPath: "/acme/dev/orchestrator_/whoami", givenAuth: "Bearer " + token(),
			expectStatus: 403, expectBody: "token is for tenant acme/prod, not acme/dev"},
		{name: "token for another org", whenMethod: "GET", whenPath: "/other/prod/orchestrator_/whoami", givenAuth: "Bearer " + token(),
			expectStatus: 403, expectBody: "not other/prod"},
		{name: "valid token", whenMethod: "GET", whenPath: "/acme/prod/orchestrator_/whoami", givenAuth: "Bearer " + token(),
			expectStatus: 200, expectBody: `"Subject":"alice","Org":"acme","Tenant":"prod","Scopes":["OR.Jobs","OR.Jobs.Read"]`},
		{name: "lowercase scheme", whenMethod: "GET", whenPath: "/acme/prod/orchestrator_/whoami", givenAuth: "bearer " + token(),
			expectStatus: 200, expectBody: `"Subject":"alice"`},
		{name: "scope present", whenMethod: "POST", whenPath: "/acme/prod/orchestrator_/t/add", givenAuth: "Bearer " + token(),
			expectStatus: 200, expectBody: `"Org":"acme"`},
		{name: "scope missing", whenMethod: "POST", whenPath: "/acme/prod/orchestrator_/t/add", givenAuth: "Bearer " + readOnly,
			expectStatus: 403, expectChallenge: `Bearer realm="jobgate", error="insufficient_scope", scope="OR.Jobs"`, expectBody: "token lacks scope OR.Jobs"},
		{name: "tenant checked before scope", whenMethod: "POST", whenPath: "/acme/dev/orchestrator_/t/add", givenAuth: "Bearer " + readOnly,
			expectStatus: 403, expectBody: "token is for tenant"},
		{name: "skipped route", whenMethod: "GET", whenPath: "/acme/prod/orchestrator_/public",
			expectStatus: 200, expectBody: "anonymous"},
		{name: "RequireScope without a principal", whenMethod: "GET", whenPath: "/unguarded", givenAuth: "Bearer " + token(),
			expectStatus: 401, expectChallenge: `Bearer realm="jobgate"`, expectBody: "request is not authenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.whenMethod, srv.URL+tt.whenPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.givenAuth != "" {
				req.Header.Set("Authorization", tt.givenAuth)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.expectStatus, body)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tt.expectChallenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tt.expectChallenge)
			}
			if !strings.Contains(string(body), tt.expectBody) {
				t.Fatalf("body %s does not contain %s", body, tt.expectBody)
			}
			if tt.expectStatus == 200 && strings.HasPrefix(string(body), "{") {
				var p Principal
				if err := json.Unmarshal(body, &p); err != nil || p.Org != "acme" || p.Tenant != "prod" {
					t.Fatalf("handler saw principal %+v (%v)", p, err)
				}
			}
		})
	}
}

func TestBearerWithConfig_CustomParamsAndSkipTenantCheck(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, VerifierConfig{Secret: testSecret(), Now: clock(testNow)})
	e := newTestEcho()
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	e.GET("/o/:account/:space", ok, BearerWithConfig(BearerConfig{Verifier: v, OrgParam: "account", TenantParam: "space"}))
	e.GET("/me", ok, BearerWithConfig(BearerConfig{Verifier: v, SkipTenantCheck: true}))
	e.GET("/x/:org", ok, BearerWithConfig(BearerConfig{Verifier: v})) // no tenant param: fails closed
	auth := "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret(), validClaims(), nil)

	tests := []struct {
		whenPath     string
		expectStatus int
	}{
		{"/o/acme/prod", http.StatusNoContent},
		{"/o/acme/dev", http.StatusForbidden},
		{"/me", http.StatusNoContent},
		{"/x/acme", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.whenPath, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, tt.whenPath, nil)
			req.Header.Set("Authorization", auth)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.expectStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.expectStatus)
			}
		})
	}
}

func TestBearerWithConfig_PanicsWithoutVerifier(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("BearerWithConfig without a Verifier did not panic")
		}
	}()
	BearerWithConfig(BearerConfig{})
}

func TestDefaultBearerConfig(t *testing.T) {
	t.Parallel()
	d := DefaultBearerConfig()
	if d.OrgParam != "org" || d.TenantParam != "tenant" || d.Skipper == nil || d.Skipper(nil) || d.Verifier != nil {
		t.Fatalf("DefaultBearerConfig() = %+v", d)
	}
}
