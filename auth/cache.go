package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// tokenCache remembers tokens verified once, until they expire, so a client that sends the
// same token on every call pays the signature check (RS256/ES256 cost far more than HS256)
// only once. It is keyed by the token's SHA-256, holds at most max entries, and only ever
// holds tokens that passed every check.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]Principal
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[[32]byte]Principal)}
}

func (c *tokenCache) get(raw string, now time.Time) (Principal, bool) {
	if c.max <= 0 {
		return Principal{}, false
	}
	sum := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.entries[sum]
	if !ok {
		return Principal{}, false
	}
	if !now.Before(p.ExpiresAt) {
		delete(c.entries, sum)
		return Principal{}, false
	}
	return p, true
}

func (c *tokenCache) put(raw string, p Principal) {
	if c.max <= 0 {
		return
	}
	sum := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Full: drop about half, arbitrary entries (map order). Cheap, bounded, and a dropped
		// token is simply verified again.
		n := 0
		for k := range c.entries {
			delete(c.entries, k)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.entries[sum] = p
}
