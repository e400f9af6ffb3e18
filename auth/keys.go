package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// ParsePublicKeys reads every PEM block of pemData and returns the public keys in order.
// It accepts "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY" (PKCS #1) and "CERTIFICATE" blocks (the
// certificate's key is taken; the certificate itself is not validated). Text between blocks
// is ignored. A private key block is refused so that one is never mistaken for a public
// key file. Which key types a Verifier accepts is checked by NewVerifier.
func ParsePublicKeys(pemData []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	rest := pemData
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		key, err := parsePEMBlock(block)
		if err != nil {
			return nil, fmt.Errorf("auth: PEM block %d (%s): %w", n, block.Type, err)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("auth: no PEM public key or certificate found")
	}
	return keys, nil
}

// parsePEMBlock returns the public key in one PEM block.
func parsePEMBlock(block *pem.Block) (crypto.PublicKey, error) {
	switch block.Type {
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKIX public key: %w", err)
		}
		return key, nil
	case "RSA PUBLIC KEY":
		key, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS #1 public key: %w", err)
		}
		return key, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		return cert.PublicKey, nil
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("is a private key; give jobgate only the public key")
	default:
		return nil, errors.New("is not a public key or certificate")
	}
}

// KeyID returns the RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of an RSA
// or ECDSA P-256 public key. A Verifier with several public keys uses it to pick the key a
// token's `kid` header names; issuers that set `kid` to this thumbprint get a direct match.
func KeyID(pub crypto.PublicKey) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	var jwk string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		e := big.NewInt(int64(k.E)).Bytes()
		// Members in lexicographic order, no whitespace (RFC 7638 §3).
		jwk = `{"e":"` + b64(e) + `","kty":"RSA","n":"` + b64(k.N.Bytes()) + `"}`
	case *ecdsa.PublicKey:
		if k.Curve == nil || k.Curve.Params().Name != "P-256" {
			return "", errors.New("auth: key id: only ECDSA keys on P-256 are supported")
		}
		ecdhKey, err := k.ECDH()
		if err != nil {
			return "", fmt.Errorf("auth: key id: %w", err)
		}
		point := ecdhKey.Bytes() // 0x04 || X || Y, 65 bytes on P-256
		jwk = `{"crv":"P-256","kty":"EC","x":"` + b64(point[1:33]) + `","y":"` + b64(point[33:]) + `"}`
	default:
		return "", fmt.Errorf("auth: key id: key type %T is not supported", pub)
	}
	sum := sha256.Sum256([]byte(jwk))
	return b64(sum[:]), nil
}
