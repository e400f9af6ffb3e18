package auth

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// newCapabilities builds Capabilities on a key derived from the test secret.
func newCapabilities(t *testing.T, now func() time.Time) *Capabilities {
	t.Helper()
	c, err := NewCapabilities(DeriveCapabilityKey(testSecret()), now)
	if err != nil {
		t.Fatalf("NewCapabilities: %v", err)
	}
	return c
}

// flipChar replaces the character at i with another URL-safe one.
func flipChar(s string, i int) string {
	b := []byte(s)
	switch {
	case b[i] == '9':
		b[i] = '8'
	case b[i] >= '0' && b[i] <= '8':
		b[i]++
	case b[i] == 'A':
		b[i] = 'B'
	default:
		b[i] = 'A'
	}
	return string(b)
}

func TestCapabilities_SignVerify(t *testing.T) {
	t.Parallel()
	caps := newCapabilities(t, clock(testNow))
	const org, tenant, job = "acme", "prod", "6f1c2e1a-7d8b-4e0f-9a51-2c3d4e5f6a7b"
	good := caps.Sign(org, tenant, job, 10*time.Minute)
	parts := strings.Split(good, ".")
	if len(parts) != 3 {
		t.Fatalf("capability %q has %d parts, want 3", good, len(parts))
	}
	if strings.Trim(good, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" || strings.Contains(good, "=") {
		t.Fatalf("capability %q is not URL-safe", good)
	}
	macStart := len(parts[0]) + 1 + len(parts[1]) + 1

	otherKey, err := NewCapabilities(DeriveCapabilityKey([]byte("some other secret entirely")), clock(testNow))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		whenCaps   *Capabilities
		givenToken string
		whenOrg    string
		whenTenant string
		whenJob    string
		expectDesc string // "" = accepted
	}{
		{name: "round trip", givenToken: good},
		{name: "one second before expiry", whenCaps: newCapabilities(t, clock(testNow.Add(10*time.Minute-time.Second))), givenToken: good},
		{name: "at expiry", whenCaps: newCapabilities(t, clock(testNow.Add(10*time.Minute))), givenToken: good, expectDesc: "capability has expired"},
		{name: "long expired", whenCaps: newCapabilities(t, clock(testNow.Add(24*time.Hour))), givenToken: good, expectDesc: "capability has expired"},
		{name: "another job", givenToken: good, whenJob: "6f1c2e1a-7d8b-4e0f-9a51-2c3d4e5f6a7c", expectDesc: "capability does not match this job"},
		{name: "another tenant", givenToken: good, whenTenant: "dev", expectDesc: "capability does not match this job"},
		{name: "another org", givenToken: good, whenOrg: "evil", expectDesc: "capability does not match this job"},
		{name: "fields shifted across the separator", givenToken: caps.Sign("acm", "eprod", job, time.Hour), expectDesc: "capability does not match this job"},
		{name: "another key", whenCaps: otherKey, givenToken: good, expectDesc: "capability does not match this job"},
		{name: "version altered", givenToken: flipChar(good, 0), expectDesc: "capability is malformed"},
		{name: "expiry altered (first digit)", givenToken: flipChar(good, 2), expectDesc: "capability does not match this job"},
		{name: "expiry altered (last digit)", givenToken: flipChar(good, macStart-2), expectDesc: "capability does not match this job"},
		{name: "expiry extended", givenToken: parts[0] + "." + "9" + parts[1] + "." + parts[2], expectDesc: "capability does not match this job"},
		{name: "expiry with a leading zero", givenToken: parts[0] + ".0" + parts[1] + "." + parts[2], expectDesc: "capability is malformed"},
		{name: "mac altered (first char)", givenToken: flipChar(good, macStart), expectDesc: "capability does not match this job"},
		{name: "mac altered (last char)", givenToken: flipChar(good, len(good)-1), expectDesc: "capability does not match this job"},
		{name: "mac truncated", givenToken: good[:len(good)-1], expectDesc: "capability does not match this job"},
		{name: "mac missing", givenToken: parts[0] + "." + parts[1] + ".", expectDesc: "capability is malformed"},
		{name: "two parts", givenToken: parts[1] + "." + parts[2], expectDesc: "capability is malformed"},
		{name: "empty", givenToken: "", expectDesc: "capability is malformed"},
		{name: "oversized", givenToken: good + strings.Repeat("A", 200), expectDesc: "capability is malformed"},
		{name: "a JWT is not a capability", givenToken: "eyJhbGciOiJIUzI1NiJ9.eyJvcmciOiJhY21lIn0.c2ln", expectDesc: "capability is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := caps
			if tt.whenCaps != nil {
				c = tt.whenCaps
			}
			o, tn, j := org, tenant, job
			if tt.whenOrg != "" {
				o = tt.whenOrg
			}
			if tt.whenTenant != "" {
				tn = tt.whenTenant
			}
			if tt.whenJob != "" {
				j = tt.whenJob
			}
			err := c.Verify(tt.givenToken, o, tn, j)
			if tt.expectDesc == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			e := asAuthError(t, err)
			if e.Status != 401 || e.Code != CodeInvalidToken || e.Description != tt.expectDesc {
				t.Fatalf("got %d %q %q, want 401 invalid_token %q", e.Status, e.Code, e.Description, tt.expectDesc)
			}
		})
	}
}

func TestCapabilities_ExpiresWithTheRealClock(t *testing.T) {
	t.Parallel()
	caps, err := NewCapabilities(DeriveCapabilityKey(testSecret()), nil) // default clock
	if err != nil {
		t.Fatal(err)
	}
	if err := caps.Verify(caps.Sign("a", "b", "k", time.Minute), "a", "b", "k"); err != nil {
		t.Fatalf("fresh capability refused: %v", err)
	}
	if err := caps.Verify(caps.Sign("a", "b", "k", -time.Minute), "a", "b", "k"); err == nil {
		t.Fatal("capability signed already expired was accepted")
	}
}

func TestNewCapabilities_KeyLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		givenKey []byte
		expectOK bool
	}{
		{name: "nil", givenKey: nil},
		{name: "15 bytes", givenKey: bytes.Repeat([]byte{1}, 15)},
		{name: "16 bytes", givenKey: bytes.Repeat([]byte{1}, 16), expectOK: true},
		{name: "derived", givenKey: DeriveCapabilityKey([]byte("x")), expectOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewCapabilities(tt.givenKey, nil)
			if tt.expectOK != (err == nil) || tt.expectOK != (c != nil) {
				t.Fatalf("NewCapabilities(%d bytes) = %v, %v", len(tt.givenKey), c, err)
			}
		})
	}
}

func TestDeriveCapabilityKey(t *testing.T) {
	t.Parallel()
	a := DeriveCapabilityKey([]byte("secret-a"))
	if len(a) != 32 {
		t.Fatalf("key has %d bytes, want 32", len(a))
	}
	if !bytes.Equal(a, DeriveCapabilityKey([]byte("secret-a"))) {
		t.Fatal("derivation is not deterministic")
	}
	if bytes.Equal(a, DeriveCapabilityKey([]byte("secret-b"))) {
		t.Fatal("different secrets derive the same key")
	}
	if bytes.Contains(a, []byte("secret-a")) {
		t.Fatal("derived key contains the secret")
	}
}
