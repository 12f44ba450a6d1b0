package auth

import (
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is wrapped by every error TokenVerifier.Verify returns. The
// text after the sentinel is a short reason meant for the client; it never
// contains the token, a key or a secret.
var ErrInvalidToken = errors.New("invalid access token")

// ErrInvalidWebhookSignature is wrapped by every error WebhookVerifier.Verify
// returns, with a reason that never contains the secret or the sent credential.
var ErrInvalidWebhookSignature = errors.New("invalid webhook credentials")

// Internal causes raised by the key function. They are matched with errors.Is
// and turned into client-facing reasons by invalidToken, so their own text
// never leaves the package.
var (
	errAlgorithmNotAccepted = errors.New("signing algorithm not accepted")
	errMissingKeyID         = errors.New("missing kid")
	errUnknownKey           = errors.New("unknown kid")
	errKeyAlgorithmMismatch = errors.New("key does not match alg")
	errMissingSubject       = errors.New("missing sub")
)

// tokenReasons maps causes to client-facing reasons. It is ordered: jwt joins
// several claim failures into one error, and the first match wins so a token
// that is both expired and for the wrong audience reads as expired.
var tokenReasons = []struct {
	cause  error
	reason string
}{
	{errAlgorithmNotAccepted, "token signing algorithm is not accepted"},
	{errMissingKeyID, "token header has no key id"},
	{errUnknownKey, "token was signed by an unknown key"},
	{errKeyAlgorithmMismatch, "token algorithm does not match its key"},
	{jwt.ErrTokenMalformed, "token is malformed"},
	{jwt.ErrTokenSignatureInvalid, "token signature is invalid or its algorithm is not accepted"},
	{jwt.ErrTokenExpired, "token has expired"},
	{jwt.ErrTokenNotValidYet, "token is not valid yet"},
	{jwt.ErrTokenUsedBeforeIssued, "token was issued in the future"},
	{jwt.ErrTokenInvalidAudience, "token audience is not accepted"},
	{jwt.ErrTokenInvalidIssuer, "token issuer is not this project"},
	{jwt.ErrTokenRequiredClaimMissing, "token is missing a required claim (exp or aud)"},
	{errMissingSubject, "token has no subject"},
	{jwt.ErrInvalidType, "token has a claim of the wrong type"},
}

// invalidToken wraps ErrInvalidToken with a fixed reason. Callers pass a
// constant string, never anything derived from the token.
func invalidToken(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
}

// classifyTokenError turns an error from the jwt parser into ErrInvalidToken
// with a safe reason. The original error is dropped on purpose: jwt messages
// can quote header values chosen by the sender.
func classifyTokenError(err error) error {
	for _, r := range tokenReasons {
		if errors.Is(err, r.cause) {
			return invalidToken(r.reason)
		}
	}
	return invalidToken("token could not be verified")
}

// invalidWebhook wraps ErrInvalidWebhookSignature with a fixed reason.
func invalidWebhook(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidWebhookSignature, reason)
}
