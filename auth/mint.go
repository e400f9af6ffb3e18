package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Defaults of MintConfig.
const (
	// DefaultSubject is the `sub` of minted tokens when MintConfig.Subject is empty.
	DefaultSubject = "jobgate-cli"
	// DefaultTTL is the lifetime of minted tokens when MintConfig.TTL is zero.
	DefaultTTL = time.Hour
)

// MintConfig describes the token Mint makes (`jobgate token`).
type MintConfig struct {
	// Secret is the HS256 key. Required.
	Secret []byte
	// Org and Tenant are the tenant the token is for. Required; each must match
	// [A-Za-z0-9_-]{1,64}, the shape of names in jobgate's URLs.
	Org, Tenant string
	// Subject is the `sub` claim. Optional. Default DefaultSubject ("jobgate-cli").
	Subject string
	// Scopes are written to the `scope` claim. Optional. Default (when empty) AllScopes().
	// Each must be non-empty and free of spaces and quotes.
	Scopes []string
	// TTL is how long the token lives. Optional. Default DefaultTTL (1h); negative is an
	// error.
	TTL time.Duration
	// Issuer and Audience become `iss` and `aud` when set. Optional.
	Issuer, Audience string
	// Now tells the time. Optional. Default time.Now.
	Now func() time.Time
}

// Mint returns an HS256 JWT with the claims sub, org, tenant, scope (space-separated),
// iat, exp, jti (a random UUID) and, when set, iss and aud. It fails when the secret,
// org or tenant is missing or a value is malformed.
func Mint(cfg MintConfig) (string, error) {
	if len(cfg.Secret) == 0 {
		return "", errors.New("auth: mint: no secret")
	}
	if !validName(cfg.Org) {
		return "", fmt.Errorf("auth: mint: org %q must match [A-Za-z0-9_-]{1,64}", cfg.Org)
	}
	if !validName(cfg.Tenant) {
		return "", fmt.Errorf("auth: mint: tenant %q must match [A-Za-z0-9_-]{1,64}", cfg.Tenant)
	}
	if cfg.TTL < 0 {
		return "", fmt.Errorf("auth: mint: ttl %s is negative", cfg.TTL)
	}
	scopes := slices.Clone(cfg.Scopes)
	if len(scopes) == 0 {
		scopes = AllScopes()
	}
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return "", fmt.Errorf("auth: mint: scope %q must be non-empty, without spaces or quotes", s)
		}
	}
	if cfg.Subject == "" {
		cfg.Subject = DefaultSubject
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	now := cfg.Now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   cfg.Subject,
			Issuer:    cfg.Issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(cfg.TTL)),
			ID:        uuid.NewString(),
		},
		Org:    cfg.Org,
		Tenant: cfg.Tenant,
		Scope:  scopes,
	}
	if cfg.Audience != "" {
		c.Audience = jwt.ClaimStrings{cfg.Audience}
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(cfg.Secret)
	if err != nil {
		return "", fmt.Errorf("auth: mint: sign: %w", err)
	}
	return signed, nil
}

// validName reports whether s is an org or tenant name: [A-Za-z0-9_-]{1,64}.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
