package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testNow is the fixed clock of every test that does not care about the real time.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// clock returns a Now func that always answers t.
func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// testSecret returns the HS256 key of the tests (a new slice each time, so parallel tests
// share nothing mutable).
func testSecret() []byte { return []byte("test-secret-0123456789-abcdefghij") }

// validClaims returns the claims of a token that a verifier at testNow accepts, changed by
// each edit.
func validClaims(edits ...func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub":    "alice",
		"org":    "acme",
		"tenant": "prod",
		"scope":  "OR.Jobs OR.Jobs.Read",
		"iat":    testNow.Add(-time.Minute).Unix(),
		"exp":    testNow.Add(time.Hour).Unix(),
		"jti":    "jti-1",
	}
	for _, e := range edits {
		e(c)
	}
	return c
}

// sign signs claims with method and key, adding header fields (such as kid).
func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// newRSAKey makes a fresh 2048-bit RSA key.
func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return k
}

// newECKey makes a fresh ECDSA key on curve.
func newECKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatalf("generate ECDSA key: %v", err)
	}
	return k
}

// pemPublicKey PEM-encodes pub as a PKIX "PUBLIC KEY" block.
func pemPublicKey(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// roundTripKey PEM-encodes pub and reads it back with ParsePublicKeys, the way a key file
// reaches jobgate.
func roundTripKey(t *testing.T, pub crypto.PublicKey) crypto.PublicKey {
	t.Helper()
	keys, err := ParsePublicKeys(pemPublicKey(t, pub))
	if err != nil {
		t.Fatalf("ParsePublicKeys: %v", err)
	}
	if len(keys) != 1 {
		t.Fatalf("ParsePublicKeys returned %d keys, want 1", len(keys))
	}
	return keys[0]
}

// newVerifier builds a Verifier or fails the test.
func newVerifier(t *testing.T, cfg VerifierConfig) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// asAuthError returns err as *Error or fails the test.
func asAuthError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	return e
}
