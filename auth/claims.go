package auth

import (
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

// scopeList is the `scope` claim. It is written as one space-separated string (RFC 8693
// §4.2) and read from either that or a JSON array of strings, which some issuers emit.
type scopeList []string

// MarshalJSON writes the scopes as one space-separated string.
func (s scopeList) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Join(s, " "))
}

// UnmarshalJSON reads a space-separated string, an array of strings or null.
func (s *scopeList) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*s = strings.Fields(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New("scope claim is neither a string nor an array of strings")
	}
	var out scopeList
	for _, m := range many {
		out = append(out, strings.Fields(m)...)
	}
	*s = out
	return nil
}
