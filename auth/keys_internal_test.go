package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
)

// publicJWK returns the JWK of key's public half with the given metadata.
func publicJWK(tb testing.TB, pub any, kid string, alg jwkset.ALG, use jwkset.USE) jwkset.JWKMarshal {
	tb.Helper()
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: use}})
	if err != nil {
		tb.Fatalf("JWK %s: %v", kid, err)
	}
	return j.Marshal()
}

// withKeyOps returns m with its key_ops set.
func withKeyOps(m jwkset.JWKMarshal, ops ...jwkset.KEYOPS) jwkset.JWKMarshal {
	m.KEYOPS = ops
	return m
}

func TestNewKeySetKeepsOnlyUsableSigningKeys(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	tests := []struct {
		name    string
		jwk     jwkset.JWKMarshal
		wantAlg string // empty: the key must be skipped
	}{
		{"P-256", publicJWK(t, &p256.PublicKey, "p256", jwkset.AlgES256, jwkset.UseSig), algES256},
		{"P-256 without alg or use", publicJWK(t, &p256.PublicKey, "p256-bare", "", ""), algES256},
		{"RSA 2048", publicJWK(t, &rsa2048.PublicKey, "rsa", jwkset.AlgRS256, jwkset.UseSig), algRS256},
		{"Ed25519", publicJWK(t, edPub, "ed", jwkset.AlgEdDSA, jwkset.UseSig), algEdDSA},
		{"no kid", publicJWK(t, &p256.PublicKey, "", jwkset.AlgES256, jwkset.UseSig), ""},
		{"encryption key", publicJWK(t, &p256.PublicKey, "enc", "", jwkset.UseEnc), ""},
		{"key_ops with verify", withKeyOps(publicJWK(t, &p256.PublicKey, "ops-verify", jwkset.AlgES256, jwkset.UseSig), jwkset.KeyOpsVerify), algES256},
		{"key_ops without verify", withKeyOps(publicJWK(t, &p256.PublicKey, "ops-encrypt", jwkset.AlgES256, ""), jwkset.KeyOpsEncrypt), ""},
		{"P-384", publicJWK(t, &p384.PublicKey, "p384", jwkset.AlgES384, jwkset.UseSig), ""},
		{"RSA 1024", publicJWK(t, &rsa1024.PublicKey, "rsa1024", jwkset.AlgRS256, jwkset.UseSig), ""},
		{"RSA declared PS256", publicJWK(t, &rsa2048.PublicKey, "ps256", jwkset.AlgPS256, jwkset.UseSig), ""},
		{"P-256 declared RS256", publicJWK(t, &p256.PublicKey, "liar", jwkset.AlgRS256, jwkset.UseSig), ""},
		{"symmetric key", jwkset.JWKMarshal{KTY: jwkset.KtyOct, KID: "oct", K: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}, ""},
		{"broken coordinates", jwkset.JWKMarshal{KTY: jwkset.KtyEC, CRV: jwkset.CrvP256, KID: "broken", X: "AA", Y: "AA"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := newKeySet([]jwkset.JWKMarshal{tt.jwk})
			k := set.byKID[tt.jwk.KID]
			switch {
			case tt.wantAlg == "" && k != nil:
				t.Errorf("key %q: got usable with %s, want skipped", tt.jwk.KID, k.alg)
			case tt.wantAlg != "" && k == nil:
				t.Errorf("key %q: got skipped, want usable with %s", tt.jwk.KID, tt.wantAlg)
			case k != nil && k.alg != tt.wantAlg:
				t.Errorf("key %q: got alg %s, want %s", tt.jwk.KID, k.alg, tt.wantAlg)
			}
		})
	}

	t.Run("repeated kid keeps the first key", func(t *testing.T) {
		set := newKeySet([]jwkset.JWKMarshal{
			publicJWK(t, &p256.PublicKey, "dup", jwkset.AlgES256, jwkset.UseSig),
			publicJWK(t, &other.PublicKey, "dup", jwkset.AlgES256, jwkset.UseSig),
		})
		if k := set.byKID["dup"]; k == nil || !samePublicKey(k.key, &p256.PublicKey) {
			t.Errorf("key for repeated kid: got %v, want the first one published", k)
		}
	})
}

func TestKeepIdentityPreservesOnlyUnchangedKeys(t *testing.T) {
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	prev := newKeySet([]jwkset.JWKMarshal{
		publicJWK(t, &a.PublicKey, "same", jwkset.AlgES256, jwkset.UseSig),
		publicJWK(t, &a.PublicKey, "replaced", jwkset.AlgES256, jwkset.UseSig),
	})
	next := newKeySet([]jwkset.JWKMarshal{
		publicJWK(t, &a.PublicKey, "same", jwkset.AlgES256, jwkset.UseSig),
		publicJWK(t, &b.PublicKey, "replaced", jwkset.AlgES256, jwkset.UseSig),
	}).keepIdentity(prev)

	if next.byKID["same"] != prev.byKID["same"] {
		t.Error("unchanged key after refresh: got a new identity, want the previous one (cached tokens stay valid)")
	}
	if next.byKID["replaced"] == prev.byKID["replaced"] {
		t.Error("key replaced under the same kid: got the previous identity, want a new one (cached tokens invalidated)")
	}
}

func TestTokenCacheEvictsExpiredEntriesFirst(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	// Four entries per shard, and every key below lands in shard 0.
	c := newTokenCache(4 * cacheShards)
	key := func(i byte) tokenKey { return tokenKey{0, i} }
	live := cachedToken{validUntil: now.Add(time.Hour)}
	c.put(key(1), live, now)
	c.put(key(2), cachedToken{validUntil: now.Add(-time.Second)}, now)
	c.put(key(3), live, now)
	c.put(key(4), live, now)
	c.put(key(5), live, now)

	if _, ok := c.get(key(2)); ok {
		t.Error("expired entry after inserting into a full shard: got present, want evicted")
	}
	for _, i := range []byte{1, 3, 4, 5} {
		if _, ok := c.get(key(i)); !ok {
			t.Errorf("live entry %d: got evicted, want present", i)
		}
	}
	if n := c.len(); n != 4 {
		t.Errorf("entries: got %d, want 4", n)
	}
}

func TestTokenCacheDisabled(t *testing.T) {
	c := newTokenCache(-1)
	c.put(tokenKey{1}, cachedToken{}, time.Now())
	if _, ok := c.get(tokenKey{1}); ok {
		t.Error("get from a disabled cache: got a hit, want a miss")
	}
	c.remove(tokenKey{1})
	if n := c.len(); n != 0 {
		t.Errorf("entries in a disabled cache: got %d, want 0", n)
	}
}
