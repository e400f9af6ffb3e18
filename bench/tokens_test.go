package bench

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/jobgate/jobgate/auth"
)

// signingKeys are the keys of one harness run: an HS256 secret and an RSA key whose public
// half the servers load with --jwt-public-key.
type signingKeys struct {
	secret        string
	rsa           *rsa.PrivateKey
	publicKeyFile string
}

// newSigningKeys makes a random secret and a 2048-bit RSA key, and writes the public key as
// PEM into a temporary directory.
func newSigningKeys(t testing.TB) signingKeys {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "jwt-public.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return signingKeys{secret: hex.EncodeToString(b), rsa: key, publicKeyFile: file}
}

// serverArgs are the jobgate flags that accept both kinds of token.
func (k signingKeys) serverArgs() []string {
	return []string{"--jwt-secret", k.secret, "--jwt-public-key", k.publicKeyFile}
}

// hs256 mints an HS256 token for default/default with every scope, valid for 2 hours.
func (k signingKeys) hs256(t testing.TB) string {
	t.Helper()
	tok, err := auth.Mint(auth.MintConfig{Secret: []byte(k.secret), Org: "default", Tenant: "default",
		Subject: "bench", TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rs256 signs an RS256 token for default/default with the OR.Jobs scope, valid for 2 hours,
// the way an external identity provider would.
func (k signingKeys) rs256(t testing.TB) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"sub": "bench", "org": "default", "tenant": "default", "scope": "OR.Jobs",
		"iat": now.Unix(), "exp": now.Add(2 * time.Hour).Unix(), "jti": uuid.NewString(),
	}).SignedString(k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tokens returns n tokens made by mint: one per client connection.
func tokens(t testing.TB, n int, mint func(testing.TB) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = mint(t)
	}
	return out
}
