package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Limits and defaults of verification.
const (
	// DefaultLeeway is the clock skew VerifierConfig.Leeway defaults to.
	DefaultLeeway = 30 * time.Second
	// minRSABits refuses RSA keys too short to be trusted.
	minRSABits = 2048
	// maxTokenLen bounds the work an oversized Authorization header can cause.
	maxTokenLen = 16 << 10
)

// VerifierConfig says which tokens a Verifier accepts. At least one key is required.
type VerifierConfig struct {
	// Secret is the HS256 key. Optional; when empty, HS256 tokens are refused.
	Secret []byte
	// PublicKeys are RSA keys (at least 2048 bits, accept RS256) and ECDSA P-256 keys
	// (accept ES256), e.g. from ParsePublicKeys. Optional; other key types are an error.
	PublicKeys []crypto.PublicKey
	// Issuer, when set, must equal the token's `iss` claim (which is then required).
	// Optional.
	Issuer string
	// Audience, when set, must be one of the token's `aud` values (which are then
	// required). Optional.
	Audience string
	// Leeway is the clock skew allowed on exp and nbf. Optional. Default DefaultLeeway
	// (30s); a negative value means none.
	Leeway time.Duration
	// Now tells the time. Optional. Default time.Now.
	Now func() time.Time
	// CacheSize is how many verified tokens are remembered until they expire, so a repeated
	// token skips the signature check. Optional. Default 10,000; negative disables.
	CacheSize int
}

// Verifier checks bearer JWTs and turns them into Principals. It is safe for concurrent use.
type Verifier struct {
	cfg     VerifierConfig
	methods []string // exactly the algorithms the configured keys allow
	rsaKeys []publicKey
	ecKeys  []publicKey
	parser  *jwt.Parser
	cache   *tokenCache
}

// publicKey is a configured public key with its RFC 7638 thumbprint, matched against `kid`.
type publicKey struct {
	id  string
	key crypto.PublicKey
}

// NewVerifier returns a Verifier for cfg. It fails when cfg has no key at all or a public
// key of an unsupported type or size. The accepted algorithms are pinned to the keys:
// HS256 only with a Secret, RS256 only with an RSA key, ES256 only with a P-256 key.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	v := &Verifier{cfg: cfg}
	v.cfg.Secret = slices.Clone(cfg.Secret)
	if len(v.cfg.Secret) > 0 {
		v.methods = append(v.methods, jwt.SigningMethodHS256.Alg())
	}
	for i, k := range cfg.PublicKeys {
		id, err := KeyID(k)
		if err != nil {
			return nil, fmt.Errorf("auth: public key %d: %w", i+1, err)
		}
		switch k := k.(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() < minRSABits {
				return nil, fmt.Errorf("auth: public key %d: RSA key has %d bits, need at least %d", i+1, k.N.BitLen(), minRSABits)
			}
			v.rsaKeys = append(v.rsaKeys, publicKey{id: id, key: k})
		case *ecdsa.PublicKey: // KeyID has already refused curves other than P-256
			v.ecKeys = append(v.ecKeys, publicKey{id: id, key: k})
		}
	}
	if len(v.rsaKeys) > 0 {
		v.methods = append(v.methods, jwt.SigningMethodRS256.Alg())
	}
	if len(v.ecKeys) > 0 {
		v.methods = append(v.methods, jwt.SigningMethodES256.Alg())
	}
	if len(v.methods) == 0 {
		return nil, errors.New("auth: no verification key configured: set a secret or public keys")
	}
	if v.cfg.Now == nil {
		v.cfg.Now = time.Now
	}
	if v.cfg.CacheSize == 0 {
		v.cfg.CacheSize = 10_000
	}
	v.cache = newTokenCache(v.cfg.CacheSize)
	switch {
	case v.cfg.Leeway == 0:
		v.cfg.Leeway = DefaultLeeway
	case v.cfg.Leeway < 0:
		v.cfg.Leeway = 0
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), // an iat beyond the leeway in the future is refused
		jwt.WithLeeway(v.cfg.Leeway),
		jwt.WithTimeFunc(v.cfg.Now),
		jwt.WithStrictDecoding(), // one encoding per signature: no malleable trailing bits
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Verify checks raw (a compact JWS, without "Bearer ") and returns its Principal. Every
// failure is a 401 *Error with Code CodeInvalidToken and a description of the first
// problem found: malformed, a crit header, algorithm not accepted, bad signature, exp, nbf
// or iat not a JSON number, missing or expired exp, nbf or iat in the future, issuer or audience not accepted, missing org or tenant.
func (v *Verifier) Verify(raw string) (Principal, error) {
	if raw == "" {
		return Principal{}, invalidToken("bearer token is empty")
	}
	if len(raw) > maxTokenLen {
		return Principal{}, invalidToken("token is too long")
	}
	if p, ok := v.cache.get(raw, v.now()); ok {
		return copyPrincipal(p), nil
	}
	var c claims
	tok, err := v.parser.ParseWithClaims(raw, &c, v.keyFor)
	if err != nil {
		return Principal{}, v.describe(tok, &c, err)
	}
	if c.Org == "" || c.Tenant == "" {
		return Principal{}, invalidToken("token has no org/tenant claim")
	}
	p := Principal{
		Subject:   c.Subject,
		Org:       c.Org,
		Tenant:    c.Tenant,
		Scopes:    []string(c.Scope),
		TokenID:   c.ID,
		ExpiresAt: c.ExpiresAt.Time, // never nil: exp is required
	}
	v.cache.put(raw, p)
	return copyPrincipal(p), nil
}

// copyPrincipal keeps callers from changing a cached principal's scopes.
func copyPrincipal(p Principal) Principal {
	p.Scopes = append([]string(nil), p.Scopes...)
	return p
}

// FromHeader verifies the bearer token in an Authorization header value. An empty header
// is a 401 *Error with an empty Code (no credentials were offered); any other scheme than
// Bearer (matched case-insensitively) or a missing token is 401 invalid_token; otherwise
// it returns what Verify returns.
func (v *Verifier) FromHeader(authorization string) (Principal, error) {
	if strings.TrimSpace(authorization) == "" {
		return Principal{}, &Error{Status: http.StatusUnauthorized, Description: "no bearer token"}
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, invalidToken("authorization scheme must be Bearer")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return Principal{}, invalidToken("bearer token is empty")
	}
	return v.Verify(token)
}

// keyFor is the jwt.Keyfunc: it hands the parser only keys of the token's (already
// vetted) algorithm, so an HS256 token is only ever checked against the Secret and never
// against public key bytes.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	// RFC 7515 §4.1.11: a `crit` header names extensions the recipient must understand.
	// This verifier understands none, so any crit (even an empty or malformed one) refuses
	// the token rather than ignoring semantics the issuer said were mandatory.
	if _, ok := t.Header["crit"]; ok {
		return nil, invalidToken("token header has a crit parameter naming extensions this server does not support")
	}
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		return v.cfg.Secret, nil
	case jwt.SigningMethodRS256.Alg():
		return keySet(v.rsaKeys, t), nil
	case jwt.SigningMethodES256.Alg():
		return keySet(v.ecKeys, t), nil
	default: // unreachable: WithValidMethods refuses other algorithms first
		return nil, invalidToken("signing method is not accepted")
	}
}

// keySet returns the key whose thumbprint the token's `kid` names or, when there is no
// such key, every key of the algorithm's type: the configured keys carry no names of their
// own, so an unknown kid cannot be refused outright.
func keySet(keys []publicKey, t *jwt.Token) jwt.VerificationKeySet {
	if kid, ok := t.Header["kid"].(string); ok && kid != "" {
		for _, k := range keys {
			if k.id == kid {
				return jwt.VerificationKeySet{Keys: []jwt.VerificationKey{k.key}}
			}
		}
	}
	set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.key)
	}
	return set
}

// describe turns a parser error into a 401 *Error that says what is wrong without echoing
// anything the client sent (an unknown alg value could be arbitrary text).
func (v *Verifier) describe(tok *jwt.Token, c *claims, err error) *Error {
	var authErr *Error
	if errors.As(err, &authErr) { // our own words, e.g. from claims decoding or keyFor
		return authErr
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return invalidToken("token is malformed")
	}
	if tok != nil {
		alg, _ := tok.Header["alg"].(string)
		if !slices.Contains(v.methods, alg) {
			if slices.Contains(jwt.GetAlgorithms(), alg) {
				return invalidToken("signing method " + alg + " is not accepted")
			}
			return invalidToken("signing method is not accepted")
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return invalidToken("signature is invalid")
	case !errors.Is(err, jwt.ErrTokenInvalidClaims):
		return invalidToken("token is invalid")
	// Claims were decoded before validation failed, so they can be inspected directly.
	case c.ExpiresAt == nil:
		return invalidToken("token has no exp claim")
	case errors.Is(err, jwt.ErrTokenExpired):
		return invalidToken("token is expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return invalidToken("token is not valid yet (nbf)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return invalidToken("token is issued in the future (iat)")
	case v.cfg.Issuer != "" && c.Issuer == "":
		return invalidToken("token has no iss claim")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return invalidToken("token issuer is not accepted")
	case v.cfg.Audience != "" && len(c.Audience) == 0:
		return invalidToken("token has no aud claim")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return invalidToken("token audience is not accepted")
	default:
		return invalidToken("token claims are invalid")
	}
}

func (v *Verifier) now() time.Time { return v.cfg.Now() }
