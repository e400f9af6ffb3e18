package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// Error codes of RFC 6750 §3.1 that jobgate uses in Error.Code.
const (
	CodeInvalidToken      = "invalid_token"      // a token was sent but is not acceptable (401)
	CodeInsufficientScope = "insufficient_scope" // the token lacks the scope the route needs (403)
)

// realm names jobgate in every Bearer challenge.
const realm = "jobgate"

// Error is every auth failure. The server maps it to HTTP in one place: Status (401 or
// 403), the WWW-Authenticate header from Challenge (when not empty) and a problem+json body
// whose detail is Description. Description never contains a token.
type Error struct {
	// Status is http.StatusUnauthorized or http.StatusForbidden.
	Status int
	// Code is "" when no token was sent (401) or the token is for another tenant (403),
	// CodeInvalidToken (401) or CodeInsufficientScope (403).
	Code string
	// Description says what is wrong, for people; safe to show to the client.
	Description string
	// Scope lists the acceptable scopes (space-separated) when Code is CodeInsufficientScope.
	Scope string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("auth: %d: %s", e.Status, e.Description)
	}
	return fmt.Sprintf("auth: %d %s: %s", e.Status, e.Code, e.Description)
}

// Challenge returns the WWW-Authenticate header value for e:
//
//	401, no token:      Bearer realm="jobgate"
//	401, bad token:     Bearer realm="jobgate", error="invalid_token", error_description="…"
//	403, scope missing: Bearer realm="jobgate", error="insufficient_scope", scope="OR.Jobs"
//	403, wrong tenant:  "" (no header: more credentials of the same kind would not help)
//
// Quoted values are reduced to the characters RFC 6750 allows inside them, so a
// description can never break the header.
func (e *Error) Challenge() string {
	switch {
	case e.Status == http.StatusUnauthorized && e.Code == "":
		return `Bearer realm="` + realm + `"`
	case e.Status == http.StatusUnauthorized:
		return `Bearer realm="` + realm + `", error="` + headerSafe(e.Code) +
			`", error_description="` + headerSafe(e.Description) + `"`
	case e.Code == CodeInsufficientScope:
		return `Bearer realm="` + realm + `", error="` + CodeInsufficientScope +
			`", scope="` + headerSafe(e.Scope) + `"`
	default:
		return ""
	}
}

// headerSafe keeps the characters RFC 6750 allows in a quoted auth-param value
// (%x20-21 / %x23-5B / %x5D-7E): it turns `"` into `'`, `\` into `/` and drops the rest
// (control characters, newlines, non-ASCII).
func headerSafe(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteByte('\'')
		case c == '\\':
			b.WriteByte('/')
		case c >= 0x20 && c <= 0x7e:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// invalidToken returns a 401 invalid_token *Error with the given description.
func invalidToken(description string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Description: description}
}
