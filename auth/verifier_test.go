package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifier_Verify(t *testing.T) {
	t.Parallel()

	rsaKey := newRSAKey(t)
	otherRSAKey := newRSAKey(t)
	ecKey := newECKey(t, elliptic.P256())
	rsaPub := roundTripKey(t, &rsaKey.PublicKey)
	ecPub := roundTripKey(t, &ecKey.PublicKey)
	rsaPEM := pemPublicKey(t, &rsaKey.PublicKey)
	rsaDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaKID, err := KeyID(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	verifiers := map[string]*Verifier{
		"hs":  newVerifier(t, VerifierConfig{Secret: testSecret(), Now: clock(testNow)}),
		"rs":  newVerifier(t, VerifierConfig{PublicKeys: []crypto.PublicKey{rsaPub}, Now: clock(testNow)}),
		"es":  newVerifier(t, VerifierConfig{PublicKeys: []crypto.PublicKey{ecPub}, Now: clock(testNow)}),
		"all": newVerifier(t, VerifierConfig{Secret: []byte("another-secret-entirely-0123456789"), PublicKeys: []crypto.PublicKey{ecPub, rsaPub}, Now: clock(testNow)}),
		"iss-aud": newVerifier(t, VerifierConfig{
			Secret: testSecret(), Issuer: "https://idp.example", Audience: "jobgate", Now: clock(testNow),
		}),
		"no-leeway": newVerifier(t, VerifierConfig{Secret: testSecret(), Leeway: -1, Now: clock(testNow)}),
	}
	hs := func(edits ...func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodHS256, testSecret(), validClaims(edits...), nil)
	}
	set := func(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }
	del := func(k string) func(jwt.MapClaims) { return func(c jwt.MapClaims) { delete(c, k) } }
	noneToken := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims(), nil)
	valid := hs()
	header, payload, _ := strings.Cut(valid, ".")
	payload, sig, _ := strings.Cut(payload, ".")
	flipped := []byte(sig)
	flipped[3] ^= 0x01 // 'A'..'z' stay within the base64url alphabet

	tests := []struct {
		name         string
		givenToken   string
		whenVerifier string
		expectDesc   string   // "" = accepted
		expectScopes []string // checked when accepted
	}{
		{name: "valid HS256", givenToken: valid, whenVerifier: "hs", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "valid RS256", givenToken: sign(t, jwt.SigningMethodRS256, rsaKey, validClaims(), nil), whenVerifier: "rs", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "valid ES256", givenToken: sign(t, jwt.SigningMethodES256, ecKey, validClaims(), nil), whenVerifier: "es", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "RS256 among several keys, kid names it", givenToken: sign(t, jwt.SigningMethodRS256, rsaKey, validClaims(), map[string]any{"kid": rsaKID}), whenVerifier: "all", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "RS256 among several keys, unknown kid", givenToken: sign(t, jwt.SigningMethodRS256, rsaKey, validClaims(), map[string]any{"kid": "elsewhere"}), whenVerifier: "all", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "ES256 among several keys, no kid", givenToken: sign(t, jwt.SigningMethodES256, ecKey, validClaims(), nil), whenVerifier: "all", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "RS256 by another key", givenToken: sign(t, jwt.SigningMethodRS256, otherRSAKey, validClaims(), nil), whenVerifier: "rs", expectDesc: "signature is invalid"},
		{name: "RS256 by another key with the configured key's kid", givenToken: sign(t, jwt.SigningMethodRS256, otherRSAKey, validClaims(), map[string]any{"kid": rsaKID}), whenVerifier: "all", expectDesc: "signature is invalid"},
		{name: "HS256 with another secret", givenToken: sign(t, jwt.SigningMethodHS256, []byte("wrong-secret-wrong-secret-wrong!"), validClaims(), nil), whenVerifier: "hs", expectDesc: "signature is invalid"},
		{name: "signature altered", givenToken: header + "." + payload + "." + string(flipped), whenVerifier: "hs", expectDesc: "signature is invalid"},
		{name: "payload swapped under a valid signature", givenToken: header + "." + strings.Split(hs(set("tenant", "other")), ".")[1] + "." + sig, whenVerifier: "hs", expectDesc: "signature is invalid"},
		{name: "alg none refused by HS verifier", givenToken: noneToken, whenVerifier: "hs", expectDesc: "signing method none is not accepted"},
		{name: "alg none refused by RS verifier", givenToken: noneToken, whenVerifier: "rs", expectDesc: "signing method none is not accepted"},
		{name: "alg none refused by verifier with every key", givenToken: noneToken, whenVerifier: "all", expectDesc: "signing method none is not accepted"},
		{name: "HS256 refused when only RS256 is configured", givenToken: valid, whenVerifier: "rs", expectDesc: "signing method HS256 is not accepted"},
		{name: "RS256 refused when only HS256 is configured", givenToken: sign(t, jwt.SigningMethodRS256, rsaKey, validClaims(), nil), whenVerifier: "hs", expectDesc: "signing method RS256 is not accepted"},
		{name: "ES256 refused when only RS256 is configured", givenToken: sign(t, jwt.SigningMethodES256, ecKey, validClaims(), nil), whenVerifier: "rs", expectDesc: "signing method ES256 is not accepted"},
		{name: "HS512 refused though the secret matches", givenToken: sign(t, jwt.SigningMethodHS512, testSecret(), validClaims(), nil), whenVerifier: "hs", expectDesc: "signing method HS512 is not accepted"},
		{name: "key confusion: HS256 keyed with the RSA PEM, RS-only verifier", givenToken: sign(t, jwt.SigningMethodHS256, rsaPEM, validClaims(), nil), whenVerifier: "rs", expectDesc: "signing method HS256 is not accepted"},
		{name: "key confusion: HS256 keyed with the RSA DER, RS-only verifier", givenToken: sign(t, jwt.SigningMethodHS256, rsaDER, validClaims(), nil), whenVerifier: "rs", expectDesc: "signing method HS256 is not accepted"},
		{name: "key confusion: HS256 keyed with the RSA PEM, verifier with secret and RSA key", givenToken: sign(t, jwt.SigningMethodHS256, rsaPEM, validClaims(), nil), whenVerifier: "all", expectDesc: "signature is invalid"},
		{name: "unknown alg", givenToken: forgeToken(`{"alg":"XX9","typ":"JWT"}`, `{"org":"acme","tenant":"prod","exp":9999999999}`), whenVerifier: "hs", expectDesc: "signing method is not accepted"},
		{name: "no alg", givenToken: forgeToken(`{"typ":"JWT"}`, `{"org":"acme","tenant":"prod","exp":9999999999}`), whenVerifier: "hs", expectDesc: "signing method is not accepted"},
		{name: "expired", givenToken: hs(set("exp", testNow.Add(-time.Minute).Unix())), whenVerifier: "hs", expectDesc: "token is expired"},
		{name: "expired within the default 30s leeway", givenToken: hs(set("exp", testNow.Add(-10*time.Second).Unix())), whenVerifier: "hs", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "expired, leeway off", givenToken: hs(set("exp", testNow.Add(-time.Second).Unix())), whenVerifier: "no-leeway", expectDesc: "token is expired"},
		{name: "missing exp", givenToken: hs(del("exp")), whenVerifier: "hs", expectDesc: "token has no exp claim"},
		{name: "nbf in the future", givenToken: hs(set("nbf", testNow.Add(5*time.Minute).Unix())), whenVerifier: "hs", expectDesc: "token is not valid yet (nbf)"},
		{name: "nbf in the past", givenToken: hs(set("nbf", testNow.Add(-5*time.Minute).Unix())), whenVerifier: "hs", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "iss and aud as configured", givenToken: hs(set("iss", "https://idp.example"), set("aud", []string{"other", "jobgate"})), whenVerifier: "iss-aud", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "wrong iss", givenToken: hs(set("iss", "https://evil.example"), set("aud", "jobgate")), whenVerifier: "iss-aud", expectDesc: "token issuer is not accepted"},
		{name: "missing iss when configured", givenToken: hs(set("aud", "jobgate")), whenVerifier: "iss-aud", expectDesc: "token has no iss claim"},
		{name: "wrong aud", givenToken: hs(set("iss", "https://idp.example"), set("aud", "someone-else")), whenVerifier: "iss-aud", expectDesc: "token audience is not accepted"},
		{name: "missing aud when configured", givenToken: hs(set("iss", "https://idp.example")), whenVerifier: "iss-aud", expectDesc: "token has no aud claim"},
		{name: "iss and aud ignored when not configured", givenToken: hs(set("iss", "https://anyone.example"), set("aud", "anything")), whenVerifier: "hs", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "missing org", givenToken: hs(del("org")), whenVerifier: "hs", expectDesc: "token has no org/tenant claim"},
		{name: "missing tenant", givenToken: hs(del("tenant")), whenVerifier: "hs", expectDesc: "token has no org/tenant claim"},
		{name: "empty tenant", givenToken: hs(set("tenant", "")), whenVerifier: "hs", expectDesc: "token has no org/tenant claim"},
		{name: "scope as a string with extra spaces", givenToken: hs(set("scope", "  OR.Robots   OR.Settings ")), whenVerifier: "hs", expectScopes: []string{ScopeRobots, ScopeSettings}},
		{name: "scope as an array", givenToken: hs(set("scope", []string{ScopeExecution, ScopeWebhooks})), whenVerifier: "hs", expectScopes: []string{ScopeExecution, ScopeWebhooks}},
		{name: "no scope", givenToken: hs(del("scope")), whenVerifier: "hs", expectScopes: nil},
		{name: "scope of the wrong type", givenToken: hs(set("scope", 42)), whenVerifier: "hs", expectDesc: "token is malformed"},
		{name: "org of the wrong type", givenToken: hs(set("org", 7)), whenVerifier: "hs", expectDesc: "token is malformed"},
		{name: "crit header naming an unknown extension", givenToken: sign(t, jwt.SigningMethodHS256, testSecret(), validClaims(), map[string]any{"crit": []string{"exp-policy"}, "exp-policy": "strict"}), whenVerifier: "hs", expectDesc: "token header has a crit parameter naming extensions this server does not support"},
		{name: "crit header empty", givenToken: sign(t, jwt.SigningMethodHS256, testSecret(), validClaims(), map[string]any{"crit": []string{}}), whenVerifier: "hs", expectDesc: "token header has a crit parameter naming extensions this server does not support"},
		{name: "iat far in the future", givenToken: hs(set("iat", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix())), whenVerifier: "hs", expectDesc: "token is issued in the future (iat)"},
		{name: "iat in the future beyond the leeway", givenToken: hs(set("iat", testNow.Add(time.Minute).Unix())), whenVerifier: "hs", expectDesc: "token is issued in the future (iat)"},
		{name: "iat in the future within the leeway", givenToken: hs(set("iat", testNow.Add(10*time.Second).Unix())), whenVerifier: "hs", expectScopes: []string{ScopeJobs, ScopeJobsRead}},
		{name: "exp as a numeric string", givenToken: hs(set("exp", "9999999999")), whenVerifier: "hs", expectDesc: "token exp claim is not a number"},
		{name: "nbf as a numeric string", givenToken: hs(set("nbf", "1")), whenVerifier: "hs", expectDesc: "token nbf claim is not a number"},
		{name: "iat as a numeric string", givenToken: hs(set("iat", "1")), whenVerifier: "hs", expectDesc: "token iat claim is not a number"},
		{name: "exp as a boolean", givenToken: hs(set("exp", true)), whenVerifier: "hs", expectDesc: "token exp claim is not a number"},
		{name: "exp null", givenToken: hs(set("exp", nil)), whenVerifier: "hs", expectDesc: "token exp claim is not a number"},
		{name: "scope split on ASCII space only: tab and no-break space stay in the name", givenToken: hs(set("scope", "OR.Robots\tOR.Settings OR.Jobs\u00a0OR.Webhooks\u2003OR.Execution")), whenVerifier: "hs", expectScopes: []string{"OR.Robots\tOR.Settings", "OR.Jobs\u00a0OR.Webhooks\u2003OR.Execution"}},
		{name: "scope array entries split on ASCII space only", givenToken: hs(set("scope", []string{"OR.Robots OR.Settings", "OR.Jobs\nOR.Webhooks"})), whenVerifier: "hs", expectScopes: []string{ScopeRobots, ScopeSettings, "OR.Jobs\nOR.Webhooks"}},
		{name: "garbage", givenToken: "this is not a token", whenVerifier: "hs", expectDesc: "token is malformed"},
		{name: "three garbage segments", givenToken: "a.b.c", whenVerifier: "hs", expectDesc: "token is malformed"},
		{name: "four segments", givenToken: valid + ".x", whenVerifier: "hs", expectDesc: "token is malformed"},
		{name: "empty", givenToken: "", whenVerifier: "hs", expectDesc: "bearer token is empty"},
		{name: "oversized", givenToken: strings.Repeat("a", 20000), whenVerifier: "hs", expectDesc: "token is too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := verifiers[tt.whenVerifier]
			p, err := v.Verify(tt.givenToken)
			if tt.expectDesc != "" {
				e := asAuthError(t, err)
				if e.Status != 401 || e.Code != CodeInvalidToken || e.Description != tt.expectDesc {
					t.Fatalf("got %d %q %q, want 401 invalid_token %q", e.Status, e.Code, e.Description, tt.expectDesc)
				}
				if p.Org != "" || p.Tenant != "" {
					t.Fatalf("refused token still produced principal %+v", p)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Subject != "alice" || p.Org != "acme" || p.Tenant != "prod" || p.TokenID != "jti-1" {
				t.Fatalf("principal = %+v", p)
			}
			if !slices.Equal(p.Scopes, tt.expectScopes) {
				t.Fatalf("scopes = %q, want %q", p.Scopes, tt.expectScopes)
			}
			if p.ExpiresAt.IsZero() || p.ExpiresAt.After(testNow.Add(time.Hour)) {
				t.Fatalf("ExpiresAt = %v", p.ExpiresAt)
			}
		})
	}
}

// forgeToken builds a token from raw JSON header and claims with a junk signature.
func forgeToken(header, claims string) string {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return enc(header) + "." + enc(claims) + "." + enc("not a signature")
}

func TestVerifier_ExpiresAtIsExp(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, VerifierConfig{Secret: testSecret(), Now: clock(testNow)})
	exp := testNow.Add(17 * time.Minute)
	p, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret(), validClaims(func(c jwt.MapClaims) { c["exp"] = exp.Unix() }), nil))
	if err != nil {
		t.Fatal(err)
	}
	if !p.ExpiresAt.Equal(exp) {
		t.Fatalf("ExpiresAt = %v, want %v", p.ExpiresAt, exp)
	}
}

func TestVerifier_DefaultClockIsReal(t *testing.T) {
	t.Parallel()
	// Without Now, a token minted for the real present passes and the fixed past one fails.
	v := newVerifier(t, VerifierConfig{Secret: testSecret()})
	tok, err := Mint(MintConfig{Secret: testSecret(), Org: "acme", Tenant: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	old, err := Mint(MintConfig{Secret: testSecret(), Org: "acme", Tenant: "prod", Now: clock(time.Now().Add(-2 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(old); asAuthError(t, err).Description != "token is expired" {
		t.Fatalf("old token: %v", err)
	}
}

func TestNewVerifier(t *testing.T) {
	t.Parallel()
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384 := newECKey(t, elliptic.P384())
	p256 := newECKey(t, elliptic.P256())

	tests := []struct {
		name        string
		givenConfig VerifierConfig
		expectErr   string // substring; "" = success
	}{
		{name: "no key at all", givenConfig: VerifierConfig{}, expectErr: "no verification key"},
		{name: "empty secret only", givenConfig: VerifierConfig{Secret: []byte{}}, expectErr: "no verification key"},
		{name: "RSA key under 2048 bits", givenConfig: VerifierConfig{PublicKeys: []crypto.PublicKey{&smallRSA.PublicKey}}, expectErr: "1024 bits"},
		{name: "ECDSA on P-384", givenConfig: VerifierConfig{PublicKeys: []crypto.PublicKey{&p384.PublicKey}}, expectErr: "P-256"},
		{name: "Ed25519", givenConfig: VerifierConfig{PublicKeys: []crypto.PublicKey{edKey.Public()}}, expectErr: "not supported"},
		{name: "private key instead of public", givenConfig: VerifierConfig{PublicKeys: []crypto.PublicKey{p256}}, expectErr: "not supported"},
		{name: "secret", givenConfig: VerifierConfig{Secret: testSecret()}},
		{name: "P-256 key", givenConfig: VerifierConfig{PublicKeys: []crypto.PublicKey{&p256.PublicKey}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := NewVerifier(tt.givenConfig)
			if tt.expectErr == "" {
				if err != nil || v == nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.expectErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.expectErr)
			}
		})
	}
}

func TestNewVerifier_SecretIsCopied(t *testing.T) {
	t.Parallel()
	secret := testSecret()
	v := newVerifier(t, VerifierConfig{Secret: secret, Now: clock(testNow)})
	tok := sign(t, jwt.SigningMethodHS256, testSecret(), validClaims(), nil)
	secret[0] ^= 0xff // the caller reusing its buffer must not change what the verifier accepts
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("Verify after caller changed its slice: %v", err)
	}
}

func TestVerifier_FromHeader(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, VerifierConfig{Secret: testSecret(), Now: clock(testNow)})
	tok := sign(t, jwt.SigningMethodHS256, testSecret(), validClaims(), nil)

	tests := []struct {
		name            string
		givenHeader     string
		expectCode      string // meaningful when expectDesc != ""
		expectDesc      string // "" = accepted
		expectChallenge string
	}{
		{name: "no header", givenHeader: "", expectCode: "", expectDesc: "no bearer token", expectChallenge: `Bearer realm="jobgate"`},
		{name: "blank header", givenHeader: "   ", expectCode: "", expectDesc: "no bearer token", expectChallenge: `Bearer realm="jobgate"`},
		{name: "Basic scheme", givenHeader: "Basic x", expectCode: CodeInvalidToken, expectDesc: "authorization scheme must be Bearer",
			expectChallenge: `Bearer realm="jobgate", error="invalid_token", error_description="authorization scheme must be Bearer"`},
		{name: "token without scheme", givenHeader: tok, expectCode: CodeInvalidToken, expectDesc: "authorization scheme must be Bearer"},
		{name: "Bearer without token", givenHeader: "Bearer", expectCode: CodeInvalidToken, expectDesc: "bearer token is empty"},
		{name: "Bearer and spaces", givenHeader: "Bearer    ", expectCode: CodeInvalidToken, expectDesc: "bearer token is empty"},
		{name: "bad token", givenHeader: "Bearer nope", expectCode: CodeInvalidToken, expectDesc: "token is malformed",
			expectChallenge: `Bearer realm="jobgate", error="invalid_token", error_description="token is malformed"`},
		{name: "Bearer", givenHeader: "Bearer " + tok},
		{name: "lowercase bearer", givenHeader: "bearer " + tok},
		{name: "uppercase BEARER with extra spaces", givenHeader: "BEARER   " + tok + " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := v.FromHeader(tt.givenHeader)
			if tt.expectDesc == "" {
				if err != nil {
					t.Fatalf("FromHeader: %v", err)
				}
				if p.Org != "acme" || p.Tenant != "prod" {
					t.Fatalf("principal = %+v", p)
				}
				return
			}
			e := asAuthError(t, err)
			if e.Status != 401 || e.Code != tt.expectCode || e.Description != tt.expectDesc {
				t.Fatalf("got %d %q %q, want 401 %q %q", e.Status, e.Code, e.Description, tt.expectCode, tt.expectDesc)
			}
			if tt.expectChallenge != "" && e.Challenge() != tt.expectChallenge {
				t.Fatalf("Challenge() = %s, want %s", e.Challenge(), tt.expectChallenge)
			}
		})
	}
}
