package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestParsePublicKeys(t *testing.T) {
	t.Parallel()
	rsaKey := newRSAKey(t)
	ecKey := newECKey(t, elliptic.P256())

	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "idp.example"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp.example"}}, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})
	privDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})

	tests := []struct {
		name       string
		givenPEM   string
		expectKeys []crypto.PublicKey
		expectErr  string
	}{
		{name: "PKIX RSA", givenPEM: string(pemPublicKey(t, &rsaKey.PublicKey)), expectKeys: []crypto.PublicKey{&rsaKey.PublicKey}},
		{name: "PKIX ECDSA", givenPEM: string(pemPublicKey(t, &ecKey.PublicKey)), expectKeys: []crypto.PublicKey{&ecKey.PublicKey}},
		{name: "PKCS #1 RSA", givenPEM: string(pkcs1PEM), expectKeys: []crypto.PublicKey{&rsaKey.PublicKey}},
		{name: "certificate", givenPEM: string(certPEM), expectKeys: []crypto.PublicKey{&ecKey.PublicKey}},
		{
			name:       "several blocks with text between",
			givenPEM:   "# signing keys\n" + string(pemPublicKey(t, &ecKey.PublicKey)) + "\nrotated 2026-01\n" + string(pkcs1PEM),
			expectKeys: []crypto.PublicKey{&ecKey.PublicKey, &rsaKey.PublicKey},
		},
		{name: "private key refused", givenPEM: string(privPEM), expectErr: "private key"},
		{name: "private key after a good one refused", givenPEM: string(pkcs1PEM) + string(privPEM), expectErr: "PEM block 2"},
		{name: "unknown block", givenPEM: "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", expectErr: "not a public key"},
		{name: "corrupt key", givenPEM: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", expectErr: "parse PKIX"},
		{name: "not PEM", givenPEM: "hello", expectErr: "no PEM public key"},
		{name: "empty", givenPEM: "", expectErr: "no PEM public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := ParsePublicKeys([]byte(tt.givenPEM))
			if tt.expectErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.expectErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.expectErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePublicKeys: %v", err)
			}
			if len(keys) != len(tt.expectKeys) {
				t.Fatalf("got %d keys, want %d", len(keys), len(tt.expectKeys))
			}
			for i, want := range tt.expectKeys {
				eq, ok := keys[i].(interface{ Equal(crypto.PublicKey) bool })
				if !ok || !eq.Equal(want) {
					t.Fatalf("key %d = %T, not the expected key", i, keys[i])
				}
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	// The example key and thumbprint of RFC 7638 §3.1.
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	got, err := KeyID(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("KeyID = %s, want %s", got, want)
	}

	a, b := newECKey(t, elliptic.P256()), newECKey(t, elliptic.P256())
	idA, err := KeyID(&a.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	idA2, _ := KeyID(roundTripKey(t, &a.PublicKey))
	idB, _ := KeyID(&b.PublicKey)
	if idA != idA2 || idA == idB || len(idA) != 43 {
		t.Fatalf("EC key ids: a=%s a'=%s b=%s", idA, idA2, idB)
	}
	if _, err := KeyID(&newECKey(t, elliptic.P384()).PublicKey); err == nil {
		t.Fatal("P-384 key got an id")
	}
	if _, err := KeyID(&ecdsa.PublicKey{}); err == nil {
		t.Fatal("empty ECDSA key got an id")
	}
}
