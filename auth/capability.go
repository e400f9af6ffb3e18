package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Capability token format, version 1:
//
//	"1" "." expiry "." mac
//
// expiry is the Unix second after which the capability is dead, in canonical decimal; mac
// is base64url (no padding) of HMAC-SHA256(key, capabilityTag || 0x00 ||
// len(org) org || len(tenant) tenant || len(jobKey) jobKey || len(expiry) expiry), every
// len a 4-byte big-endian count, so no two inputs share a MAC input. All characters are
// URL-safe.
const (
	capabilityVersion = "1"
	capabilityTag     = "jobgate capability v1"
	// minCapabilityKey is the shortest key NewCapabilities accepts.
	minCapabilityKey = 16
	// maxCapabilityLen bounds the work a forged capability can cause (a real one is ~56).
	maxCapabilityLen = 128
)

// Capabilities signs and checks capability tokens: proof, carried in a status, output or
// hop URL, that the server itself issued that URL for one job of one tenant until a given
// time. Tenants with RequireAuthOnRedirects=false get these so that clients which drop
// Authorization on redirects can still follow them. Safe for concurrent use.
type Capabilities struct {
	key []byte
	now func() time.Time
}

// NewCapabilities returns Capabilities that sign with key (at least 16 bytes; use
// DeriveCapabilityKey on the JWT secret, or random bytes when there is none) and read the
// clock with now (Optional. Default time.Now).
func NewCapabilities(key []byte, now func() time.Time) (*Capabilities, error) {
	if len(key) < minCapabilityKey {
		return nil, fmt.Errorf("auth: capability key has %d bytes, need at least %d", len(key), minCapabilityKey)
	}
	if now == nil {
		now = time.Now
	}
	return &Capabilities{key: append([]byte(nil), key...), now: now}, nil
}

// DeriveCapabilityKey returns HMAC-SHA256(secret, "jobgate capability v1"): a 32-byte key
// bound to the JWT secret, so one configured secret serves both while the JWT key itself
// never signs a capability (key separation: neither use can leak into the other).
func DeriveCapabilityKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(capabilityTag))
	return m.Sum(nil)
}

// Sign returns a capability for jobKey in org/tenant that expires ttl from now (rounded
// down to the second; a ttl under one second yields one that is already dead).
func (c *Capabilities) Sign(org, tenant, jobKey string, ttl time.Duration) string {
	return c.SignUntil(org, tenant, jobKey, c.now().Add(ttl))
}

// SignUntil returns a capability for jobKey in org/tenant that expires at expiry (rounded
// down to the second). The same arguments always give the same capability, so a server can
// hand out one stable URL per job.
func (c *Capabilities) SignUntil(org, tenant, jobKey string, expiry time.Time) string {
	exp := strconv.FormatInt(expiry.Unix(), 10)
	return capabilityVersion + "." + exp + "." + c.mac(org, tenant, jobKey, exp)
}

// Verify returns nil when token is a capability this key signed for exactly org, tenant
// and jobKey and it has not expired. Otherwise it returns a 401 invalid_token *Error:
// "capability is malformed", "capability does not match this job" (which also covers any
// tampering, since the MAC is checked before the expiry is believed) or "capability has
// expired".
func (c *Capabilities) Verify(token, org, tenant, jobKey string) error {
	if len(token) > maxCapabilityLen {
		return invalidToken("capability is malformed")
	}
	version, rest, ok1 := strings.Cut(token, ".")
	expiry, mac, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || version != capabilityVersion || mac == "" {
		return invalidToken("capability is malformed")
	}
	unix, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || strconv.FormatInt(unix, 10) != expiry {
		return invalidToken("capability is malformed")
	}
	// Comparing the canonical encodings catches every altered character, including the
	// last one of the base64 text, whose low bits a lenient decoder would ignore.
	want := c.mac(org, tenant, jobKey, expiry)
	if subtle.ConstantTimeCompare([]byte(mac), []byte(want)) != 1 {
		return invalidToken("capability does not match this job")
	}
	if !c.now().Before(time.Unix(unix, 0)) {
		return invalidToken("capability has expired")
	}
	return nil
}

// mac computes the base64url MAC of one capability (see the format above).
func (c *Capabilities) mac(org, tenant, jobKey, expiry string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(capabilityTag))
	m.Write([]byte{0})
	for _, field := range []string{org, tenant, jobKey, expiry} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(field)))
		m.Write(n[:])
		m.Write([]byte(field))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
