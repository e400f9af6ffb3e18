package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// claims is the payload of a jobgate token: the registered claims (sub, iss, aud, exp, nbf,
// iat, jti) plus the tenant it is for and its scopes.
type claims struct {
	jwt.RegisteredClaims
	Org    string    `json:"org,omitempty"`
	Tenant string    `json:"tenant,omitempty"`
	Scope  scopeList `json:"scope,omitempty"`
}

// UnmarshalJSON decodes the payload after checking that exp, nbf and iat, when present,
// are JSON numbers: jwt.NumericDate also takes a numeric string ("exp":"9999999999"),
// which RFC 7519 §2 does not allow and which an issuer would not send on purpose.
func (c *claims) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return errors.New("token claims are not a JSON object")
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, ok := raw[name]
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return invalidToken("token " + name + " claim is not a number")
		}
	}
	type plain claims // without this method, so the next line does not recurse
	return json.Unmarshal(data, (*plain)(c))
}

// scopeList is the `scope` claim. It is written as one space-separated string (RFC 8693
// §4.2) and read from either that or a JSON array of strings, which some issuers emit.
type scopeList []string

// MarshalJSON writes the scopes as one space-separated string.
func (s scopeList) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Join(s, " "))
}

// UnmarshalJSON reads a space-separated string, an array of strings or null. Scopes are
// split on ASCII space (U+0020) only, as RFC 6749 §3.3 says: other whitespace (a tab, a
// no-break space, U+2003) is part of a scope name, so it matches no known scope.
func (s *scopeList) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*s = splitScopes(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New("scope claim is neither a string nor an array of strings")
	}
	var out scopeList
	for _, m := range many {
		out = append(out, splitScopes(m)...)
	}
	*s = out
	return nil
}

// splitScopes splits s on runs of ASCII spaces, dropping empty names.
func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' })
}
