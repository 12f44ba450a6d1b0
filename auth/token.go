package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	defaultAudience              = "authenticated"
	defaultRefreshInterval       = 10 * time.Minute
	defaultUnknownKIDRefreshRate = time.Minute
	defaultCacheSize             = 10_000
	// minHS256SecretBytes follows RFC 7518 section 3.2 (a key at least as long
	// as the hash); Supabase's own JWT secrets are at least 32 characters.
	minHS256SecretBytes = 32
	// maxLeeway keeps "clock skew" from becoming a way to extend tokens.
	maxLeeway = 5 * time.Minute
	// maxTokenBytes rejects absurd inputs before hashing or parsing them; real
	// Supabase access tokens are one to a few KiB even with user metadata.
	maxTokenBytes = 16 << 10
)

// TokenVerifierConfig configures NewTokenVerifier. At least one of JWKSURL and
// HS256Secret must be set.
type TokenVerifierConfig struct {
	// JWKSURL is ${SUPABASE_URL}/auth/v1/.well-known/jwks.json. Empty means no
	// asymmetric keys: ES256, RS256 and EdDSA tokens are rejected.
	JWKSURL string
	// HS256Secret is the legacy SUPABASE_JWT_SECRET, as its raw bytes, at
	// least 32 of them. Empty means HS256 tokens are rejected. It is copied.
	HS256Secret []byte
	// Audience must appear in the token's "aud"; empty means "authenticated".
	Audience string
	// Issuer, if set, must equal the token's "iss" (Supabase Auth issues
	// ${SUPABASE_URL}/auth/v1), so a token of another project signed with a
	// shared or leaked legacy secret is refused.
	Issuer string
	// Leeway is the clock skew allowed for exp, nbf and iat, 0 to 5 minutes.
	Leeway time.Duration
	// HTTPClient fetches the JWKS; nil means a client on http.DefaultTransport.
	// Each fetch is also bounded to 5 seconds.
	HTTPClient *http.Client
	// RefreshInterval is how often the JWKS is fetched in the background;
	// 0 means 10 minutes. After a failed fetch the next one comes sooner
	// (1 s, doubling up to RefreshInterval).
	RefreshInterval time.Duration
	// UnknownKIDRefreshRate is the minimum spacing between JWKS fetches
	// triggered by tokens with a kid we do not have; 0 means 1 minute.
	UnknownKIDRefreshRate time.Duration
	// CacheSize is the number of verified tokens remembered; 0 means 10000,
	// a negative value disables the cache.
	CacheSize int
	// Now is the clock for token times and the cache; nil means time.Now.
	// Background refresh scheduling always uses the real clock.
	Now func() time.Time
	// Admin, if enabled, marks the tokens that hold it as operators'
	// (Claims.Admin).
	Admin AdminClaim
	// OnRefreshError, if set, is told about every failed JWKS fetch, including
	// the first one at start-up, so the caller can log it. It is never called
	// concurrently with itself. The error may contain the JWKS URL, never a
	// token or secret.
	OnRefreshError func(err error)
}

// TokenVerifier checks Supabase Auth access tokens. It is safe for concurrent
// use. Verified tokens are cached by their SHA-256 so a client repeating the
// same token does not pay for a signature check each time.
type TokenVerifier struct {
	parser      *jwt.Parser
	hs256Secret []byte
	jwks        *jwksSource
	cache       *tokenCache
	leeway      time.Duration
	now         func() time.Time
	admin       AdminClaim
	closeOnce   sync.Once
}

// NewTokenVerifier validates cfg and returns a ready verifier. With a JWKSURL
// it downloads the key set once before returning (at most 5 seconds) and keeps
// refreshing it in the background until ctx ends or Close is called.
//
// An unreachable JWKS at start-up is not an error: Supabase or the network
// being briefly down must not stop the gateway from starting. The failure goes
// to OnRefreshError, asymmetric tokens fail with ErrInvalidToken until a
// fetch succeeds, and fetches are retried in the background (from 1 s,
// backing off) and on demand when a token names an unknown kid. Only a bad
// configuration returns an error.
func NewTokenVerifier(ctx context.Context, cfg TokenVerifierConfig) (*TokenVerifier, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	var methods []string
	if cfg.JWKSURL != "" {
		methods = append(methods, algES256, algRS256, algEdDSA)
	}
	if len(cfg.HS256Secret) > 0 {
		methods = append(methods, algHS256)
	}
	v := &TokenVerifier{
		hs256Secret: slices.Clone(cfg.HS256Secret),
		cache:       newTokenCache(cfg.CacheSize),
		leeway:      cfg.Leeway,
		now:         cfg.Now,
		admin:       cfg.Admin,
	}
	options := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		// Canonical base64 only, so one token has one spelling (and one cache key).
		jwt.WithStrictDecoding(),
	}
	if cfg.Issuer != "" {
		options = append(options, jwt.WithIssuer(cfg.Issuer))
	}
	v.parser = jwt.NewParser(options...)
	if cfg.JWKSURL != "" {
		v.jwks = startJWKSSource(ctx, cfg.JWKSURL, cfg.HTTPClient, cfg.RefreshInterval, cfg.UnknownKIDRefreshRate, cfg.OnRefreshError)
	}
	return v, nil
}

// normalized fills defaults and rejects configurations that cannot work or
// would be unsafe.
func (cfg TokenVerifierConfig) normalized() (TokenVerifierConfig, error) {
	if cfg.JWKSURL == "" && len(cfg.HS256Secret) == 0 {
		return cfg, errors.New("auth: token verifier needs JWKSURL or HS256Secret; with neither no token could be verified")
	}
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return cfg, fmt.Errorf("auth: JWKSURL %q is not an absolute http(s) URL", cfg.JWKSURL)
		}
	}
	if n := len(cfg.HS256Secret); n > 0 && n < minHS256SecretBytes {
		return cfg, fmt.Errorf("auth: HS256Secret is %d bytes; it must be at least %d", n, minHS256SecretBytes)
	}
	if cfg.Leeway < 0 || cfg.Leeway > maxLeeway {
		return cfg, fmt.Errorf("auth: Leeway %v is outside 0..%v", cfg.Leeway, maxLeeway)
	}
	if cfg.RefreshInterval < 0 || cfg.UnknownKIDRefreshRate < 0 {
		return cfg, errors.New("auth: RefreshInterval and UnknownKIDRefreshRate must not be negative")
	}
	if cfg.Audience == "" {
		cfg.Audience = defaultAudience
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = defaultRefreshInterval
	}
	if cfg.UnknownKIDRefreshRate == 0 {
		cfg.UnknownKIDRefreshRate = defaultUnknownKIDRefreshRate
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = defaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

// Verify checks token, the compact JWS without any "Bearer " prefix, and
// returns its claims. The signature must verify with a key whose kind matches
// "alg" (ES256, RS256, EdDSA from the JWKS by kid; HS256 with the secret);
// "exp" is required; "nbf" and "iat" are checked with the leeway; "aud" must
// contain the audience; "sub" must be present. Every error wraps
// ErrInvalidToken. ctx bounds any wait for a JWKS refresh.
func (v *TokenVerifier) Verify(ctx context.Context, token string) (Claims, error) {
	switch {
	case token == "":
		return Claims{}, invalidToken("token is missing")
	case len(token) > maxTokenBytes:
		return Claims{}, invalidToken("token is too large")
	}
	now := v.now()
	key := hashToken(token)
	if e, ok := v.cache.get(key); ok {
		if v.stillValid(e, now) {
			return e.claims, nil
		}
		v.cache.remove(key)
	}

	var (
		wire    supabaseClaims
		usedKey *verificationKey
		usedKID string
	)
	if _, err := v.parser.ParseWithClaims(token, &wire, v.keyFunc(ctx, &usedKey, &usedKID)); err != nil {
		return Claims{}, classifyTokenError(err)
	}
	claims := wire.claims()
	claims.Admin = v.admin.matches(wire.raw)
	v.cache.put(key, cachedToken{
		claims:     claims,
		validUntil: claims.ExpiresAt.Add(v.leeway),
		kid:        usedKID,
		key:        usedKey,
	}, now)
	return claims, nil
}

// stillValid decides a cache hit: the token must not have expired (with the
// same leeway as the full check) and, unless it was HS256, the very key that
// verified it must still be published under its kid, so a key removed or
// replaced in the JWKS stops its cached tokens at the next refresh.
func (v *TokenVerifier) stillValid(e cachedToken, now time.Time) bool {
	if !now.Before(e.validUntil) {
		return false
	}
	return e.key == nil || v.jwks.key(e.kid) == e.key
}

// keyFunc selects the verification key for a parsed but unverified token and
// records which one it chose. The key's kind is tied to the algorithm, so a
// public key can never be offered as an HMAC secret and the HS256 secret is
// never used for anything but HS256.
func (v *TokenVerifier) keyFunc(ctx context.Context, usedKey **verificationKey, usedKID *string) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		if alg == algHS256 {
			if len(v.hs256Secret) == 0 {
				return nil, errAlgorithmNotAccepted
			}
			return v.hs256Secret, nil
		}
		if v.jwks == nil {
			return nil, errAlgorithmNotAccepted
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errMissingKeyID
		}
		k, err := v.jwks.lookup(ctx, kid)
		if err != nil {
			return nil, err
		}
		if k.alg != alg {
			return nil, errKeyAlgorithmMismatch
		}
		*usedKey, *usedKID = k, kid
		return k.key, nil
	}
}

// Close stops the background JWKS refresher and waits for it and any fetch
// in flight to finish. Verify keeps working afterwards with the keys already
// loaded, but they are no longer refreshed. Close is idempotent.
func (v *TokenVerifier) Close() {
	v.closeOnce.Do(func() {
		if v.jwks != nil {
			v.jwks.close()
		}
	})
}
