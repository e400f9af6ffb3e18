package auth

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestMint_VerifyRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		givenConfig   MintConfig
		whenVerifier  VerifierConfig
		expectSubject string
		expectScopes  []string
		expectExp     time.Time
	}{
		{
			name:          "defaults",
			givenConfig:   MintConfig{Secret: testSecret(), Org: "default", Tenant: "default", Now: clock(testNow)},
			whenVerifier:  VerifierConfig{Secret: testSecret(), Now: clock(testNow)},
			expectSubject: "jobgate-cli",
			expectScopes:  []string{ScopeJobs, ScopeJobsRead, ScopeExecution, ScopeWebhooks, ScopeRobots, ScopeSettings},
			expectExp:     testNow.Add(time.Hour),
		},
		{
			name: "everything set",
			givenConfig: MintConfig{
				Secret: testSecret(), Org: "acme", Tenant: "prod", Subject: "ci-bot", Scopes: []string{ScopeJobsRead},
				TTL: 5 * time.Minute, Issuer: "jobgate-test", Audience: "jobgate", Now: clock(testNow),
			},
			whenVerifier:  VerifierConfig{Secret: testSecret(), Issuer: "jobgate-test", Audience: "jobgate", Now: clock(testNow)},
			expectSubject: "ci-bot",
			expectScopes:  []string{ScopeJobsRead},
			expectExp:     testNow.Add(5 * time.Minute),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := Mint(tt.givenConfig)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			p, err := newVerifier(t, tt.whenVerifier).Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Subject != tt.expectSubject || p.Org != tt.givenConfig.Org || p.Tenant != tt.givenConfig.Tenant {
				t.Fatalf("principal = %+v", p)
			}
			if !slices.Equal(p.Scopes, tt.expectScopes) {
				t.Fatalf("scopes = %q, want %q", p.Scopes, tt.expectScopes)
			}
			if !p.ExpiresAt.Equal(tt.expectExp) {
				t.Fatalf("ExpiresAt = %v, want %v", p.ExpiresAt, tt.expectExp)
			}
			if _, err := uuid.Parse(p.TokenID); err != nil {
				t.Fatalf("jti %q is not a UUID: %v", p.TokenID, err)
			}
		})
	}
}

func TestMint_ClaimsOnTheWire(t *testing.T) {
	t.Parallel()
	tok, err := Mint(MintConfig{Secret: testSecret(), Org: "acme", Tenant: "prod", Scopes: []string{ScopeJobs, ScopeRobots}, Now: clock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	rawHeader, _ := base64.RawURLEncoding.DecodeString(parts[0])
	rawClaims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var header, claims map[string]any
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rawClaims, &claims); err != nil {
		t.Fatal(err)
	}
	if header["alg"] != "HS256" {
		t.Fatalf("alg = %v", header["alg"])
	}
	// The contract fixes the scope claim as one space-separated string.
	if claims["scope"] != "OR.Jobs OR.Robots" {
		t.Fatalf("scope claim = %#v", claims["scope"])
	}
	for _, name := range []string{"sub", "org", "tenant", "iat", "exp", "jti"} {
		if _, ok := claims[name]; !ok {
			t.Errorf("claim %s missing from %v", name, claims)
		}
	}
	for _, name := range []string{"iss", "aud", "nbf"} {
		if _, ok := claims[name]; ok {
			t.Errorf("claim %s present though not configured", name)
		}
	}
	if claims["iat"] != float64(testNow.Unix()) || claims["exp"] != float64(testNow.Add(time.Hour).Unix()) {
		t.Fatalf("iat/exp = %v/%v", claims["iat"], claims["exp"])
	}
	again, err := Mint(MintConfig{Secret: testSecret(), Org: "acme", Tenant: "prod", Now: clock(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	if again == tok {
		t.Fatal("two mints at the same instant gave the same token (jti not random)")
	}
}

func TestMint_Refuses(t *testing.T) {
	t.Parallel()
	ok := MintConfig{Secret: testSecret(), Org: "acme", Tenant: "prod"}
	tests := []struct {
		name      string
		givenEdit func(*MintConfig)
		expectErr string
	}{
		{name: "no secret", givenEdit: func(c *MintConfig) { c.Secret = nil }, expectErr: "no secret"},
		{name: "no org", givenEdit: func(c *MintConfig) { c.Org = "" }, expectErr: "org"},
		{name: "no tenant", givenEdit: func(c *MintConfig) { c.Tenant = "" }, expectErr: "tenant"},
		{name: "org with a slash", givenEdit: func(c *MintConfig) { c.Org = "acme/prod" }, expectErr: "org"},
		{name: "tenant too long", givenEdit: func(c *MintConfig) { c.Tenant = strings.Repeat("t", 65) }, expectErr: "tenant"},
		{name: "negative ttl", givenEdit: func(c *MintConfig) { c.TTL = -time.Minute }, expectErr: "negative"},
		{name: "scope with a space", givenEdit: func(c *MintConfig) { c.Scopes = []string{"OR.Jobs OR.Robots"} }, expectErr: "scope"},
		{name: "empty scope", givenEdit: func(c *MintConfig) { c.Scopes = []string{ScopeJobs, ""} }, expectErr: "scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tt.givenEdit(&cfg)
			tok, err := Mint(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.expectErr) || tok != "" {
				t.Fatalf("Mint = %q, %v; want an error containing %q", tok, err, tt.expectErr)
			}
		})
	}
	if _, err := Mint(ok); err != nil {
		t.Fatalf("the unedited config fails: %v", err)
	}
}
