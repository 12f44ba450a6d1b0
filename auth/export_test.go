package auth

// Hooks into internals for the black-box tests in package auth_test.

// CachedTokens reports how many verified tokens v currently caches.
func CachedTokens(v *TokenVerifier) int {
	return v.cache.len()
}

// TokenReasons lists every reason Verify may put after ErrInvalidToken.
func TokenReasons() []string {
	reasons := []string{
		"token is missing",
		"token is too large",
		"token could not be verified",
	}
	for _, r := range tokenReasons {
		reasons = append(reasons, r.reason)
	}
	return reasons
}
