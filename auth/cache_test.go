package auth

import (
	"testing"
	"time"
)

func TestTokenCache_RemembersUntilExpiryAndStaysBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newTokenCache(4)
	c.put("a", Principal{Org: "o", ExpiresAt: now.Add(time.Minute)})
	if p, ok := c.get("a", now); !ok || p.Org != "o" {
		t.Fatalf("get = %v, %v; want the cached principal", p, ok)
	}
	if _, ok := c.get("a", now.Add(time.Minute)); ok {
		t.Fatal("an expired token was served from the cache")
	}
	for i := 0; i < 100; i++ {
		c.put(string(rune('A'+i)), Principal{ExpiresAt: now.Add(time.Hour)})
		if len(c.entries) > 4 {
			t.Fatalf("cache holds %d entries, max 4", len(c.entries))
		}
	}
}

func TestVerifier_CachedTokenStillExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	v, err := NewVerifier(VerifierConfig{Secret: []byte("0123456789abcdef0123456789abcdef"), Leeway: -1, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Mint(MintConfig{Secret: []byte("0123456789abcdef0123456789abcdef"), Org: "o", Tenant: "t", TTL: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second call is served from the cache
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("Verify #%d: %v", i+1, err)
		}
	}
	p, _ := v.Verify(tok)
	p.Scopes[0] = "changed"
	if again, _ := v.Verify(tok); again.Scopes[0] == "changed" {
		t.Fatal("a caller changed the cached principal")
	}
	clock = now.Add(time.Minute)
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("an expired token verified from the cache")
	}
}

func BenchmarkVerify(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	tok, _ := Mint(MintConfig{Secret: secret, Org: "o", Tenant: "t", TTL: time.Hour})
	for _, size := range []int{-1, 0} {
		name := map[int]string{-1: "uncached", 0: "cached"}[size]
		b.Run(name, func(b *testing.B) {
			v, _ := NewVerifier(VerifierConfig{Secret: secret, CacheSize: size})
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
