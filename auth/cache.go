package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

const (
	// cacheShards spreads lock contention; a power of two so the shard is a mask.
	cacheShards = 32
	// evictScan is how many entries an insert into a full shard inspects
	// looking for an expired one before it evicts an arbitrary one.
	evictScan = 8
)

// tokenKey identifies a token in the cache by its SHA-256, so the cache never
// holds a bearer credential that a heap dump could replay.
type tokenKey [sha256.Size]byte

// hashToken returns the cache key of token. Copying a typical token into a
// stack buffer first avoids the heap allocation a plain []byte(token)
// conversion makes, which would be the only allocation on a cache hit.
func hashToken(token string) tokenKey {
	var buf [2048]byte
	if len(token) <= len(buf) {
		return sha256.Sum256(append(buf[:0], token...))
	}
	return sha256.Sum256([]byte(token))
}

// cachedToken is a verified token's result and what must still hold for it.
type cachedToken struct {
	claims Claims
	// validUntil is exp plus leeway: the same instant the full check uses.
	validUntil time.Time
	// key verified the signature; nil for HS256, whose secret cannot change
	// without a restart. A hit is valid only while this exact key is still
	// published under kid.
	kid string
	key *verificationKey
}

// tokenCache is a bounded, sharded map from token hash to verified result.
// Eviction is deliberately simple: an insert into a full shard drops an
// expired entry if it sees one quickly, otherwise an arbitrary one (Go's map
// iteration order is randomised), which approximates random replacement.
type tokenCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu      sync.RWMutex
	entries map[tokenKey]cachedToken
}

// newTokenCache returns a cache holding about size entries, or nil (caching
// disabled) when size is not positive. All methods accept a nil cache.
func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	c := &tokenCache{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].entries = make(map[tokenKey]cachedToken)
	}
	return c
}

func (c *tokenCache) shard(k tokenKey) *cacheShard {
	return &c.shards[k[0]&(cacheShards-1)]
}

// get returns the entry for k, valid or not; the verifier judges validity
// because only it knows the clock and the current keys.
func (c *tokenCache) get(k tokenKey) (cachedToken, bool) {
	if c == nil {
		return cachedToken{}, false
	}
	sh := c.shard(k)
	sh.mu.RLock()
	e, ok := sh.entries[k]
	sh.mu.RUnlock()
	return e, ok
}

// remove drops the entry for k, if any.
func (c *tokenCache) remove(k tokenKey) {
	if c == nil {
		return
	}
	sh := c.shard(k)
	sh.mu.Lock()
	delete(sh.entries, k)
	sh.mu.Unlock()
}

// put stores e under k, evicting if the shard is full.
func (c *tokenCache) put(k tokenKey, e cachedToken, now time.Time) {
	if c == nil {
		return
	}
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, exists := sh.entries[k]; !exists && len(sh.entries) >= c.perShard {
		sh.evictOne(now)
	}
	sh.entries[k] = e
}

// evictOne removes one entry, preferring an expired one. The caller holds mu.
func (sh *cacheShard) evictOne(now time.Time) {
	var victim tokenKey
	seen := 0
	for k, e := range sh.entries {
		if !now.Before(e.validUntil) {
			victim = k
			break
		}
		if seen == 0 {
			victim = k
		}
		seen++
		if seen >= evictScan {
			break
		}
	}
	delete(sh.entries, victim)
}

// len reports the number of entries; for tests.
func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.entries)
		sh.mu.RUnlock()
	}
	return n
}
