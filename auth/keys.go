package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"slices"

	"github.com/MicahParks/jwkset"
)

// Algorithms the verifier knows. Each asymmetric key is bound to exactly one
// of them, derived from the key itself, so the token's "alg" header can never
// choose how a key is used (RFC 8725, section 3.1).
const (
	algES256 = "ES256"
	algRS256 = "RS256"
	algEdDSA = "EdDSA"
	algHS256 = "HS256"
)

// minRSABits rejects RSA keys too short to be trusted (RFC 7518, section 3.3).
const minRSABits = 2048

// verificationKey is one usable public key and the only algorithm it may
// verify. Pointers to it are compared by the token cache, so a key that is
// unchanged across refreshes keeps its identity (see keepIdentity).
type verificationKey struct {
	alg string
	key crypto.PublicKey
}

// keySet is an immutable snapshot of the published keys by kid.
type keySet struct {
	byKID map[string]*verificationKey
}

// newKeySet builds a snapshot from a JWKS document. Keys that are malformed,
// unsupported, not for signatures, or without a kid are skipped rather than
// failing the whole document, so one odd entry cannot lock every user out; a
// repeated kid keeps its first key, because a kid must name one key.
func newKeySet(keys []jwkset.JWKMarshal) *keySet {
	set := &keySet{byKID: make(map[string]*verificationKey, len(keys))}
	for _, m := range keys {
		k, ok := toVerificationKey(m)
		if !ok {
			continue
		}
		if _, dup := set.byKID[m.KID]; dup {
			continue
		}
		set.byKID[m.KID] = k
	}
	return set
}

// toVerificationKey parses one JWK with jwkset (public part only: a private
// "d" is ignored) and binds it to its algorithm. A key must be meant for
// signatures: "use", when present, is "sig", and "key_ops", when present,
// includes "verify".
func toVerificationKey(m jwkset.JWKMarshal) (*verificationKey, bool) {
	if m.KID == "" || (m.USE != "" && m.USE != jwkset.UseSig) {
		return nil, false
	}
	if len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return nil, false
	}
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return nil, false
	}
	var alg string
	switch k := jwk.Key().(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, false
		}
		alg = algES256
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, false
		}
		alg = algRS256
	case ed25519.PublicKey:
		alg = algEdDSA
	default:
		return nil, false
	}
	// A key that declares another algorithm (say PS256 on an RSA key) is one
	// we do not support, not one we may use with the algorithm we picked.
	if m.ALG != "" && string(m.ALG) != alg {
		return nil, false
	}
	return &verificationKey{alg: alg, key: jwk.Key()}, true
}

// keepIdentity reuses prev's pointer for every key that is unchanged, so
// tokens cached under it stay valid across a routine refresh, while a key
// that was removed or replaced under the same kid invalidates them.
func (s *keySet) keepIdentity(prev *keySet) *keySet {
	if prev == nil {
		return s
	}
	for kid, k := range s.byKID {
		if p, ok := prev.byKID[kid]; ok && p.alg == k.alg && samePublicKey(p.key, k.key) {
			s.byKID[kid] = p
		}
	}
	return s
}

// samePublicKey compares keys with the Equal method every crypto public key
// type in the standard library has.
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
