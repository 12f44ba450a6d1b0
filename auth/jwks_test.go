package auth_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/auth"
)

func TestVerifyAcceptsRotatedKeyWithoutRestart(t *testing.T) {
	first := newES256Key(t, "key-1")
	second := newRS256Key(t, "key-2")
	jwks := newJWKSServer(t, first)
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:               jwks.URL(),
		HTTPClient:            jwks.srv.Client(),
		RefreshInterval:       time.Hour, // only the unknown kid can trigger the fetch
		UnknownKIDRefreshRate: time.Millisecond,
	})
	mustVerify(t, v, first.sign(t, userClaims(time.Now())))

	jwks.publish(t, first, second)
	mustVerify(t, v, second.sign(t, userClaims(time.Now())))
	mustVerify(t, v, first.sign(t, edit(userClaims(time.Now()), jwt.MapClaims{"session_id": "after-rotation"})))
}

func TestVerifyKeepsCachedKeysDuringJWKSOutage(t *testing.T) {
	es := newES256Key(t, "es-1")
	jwks := newJWKSServer(t, es)
	var refreshErrors countingHook
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:               jwks.URL(),
		HTTPClient:            jwks.srv.Client(),
		RefreshInterval:       20 * time.Millisecond,
		UnknownKIDRefreshRate: time.Millisecond,
		CacheSize:             -1, // every Verify below needs the key, not a cached result
		OnRefreshError:        refreshErrors.record,
	})
	mustVerify(t, v, es.sign(t, userClaims(time.Now())))

	jwks.setStatus(503)
	waitFor(t, 5*time.Second, "a failed refresh", func() bool { return refreshErrors.count() >= 1 })
	mustVerify(t, v, es.sign(t, edit(userClaims(time.Now()), jwt.MapClaims{"session_id": "during-outage"})))
	mustReject(t, v, newES256Key(t, "new-during-outage").sign(t, userClaims(time.Now())))
}

func TestNewTokenVerifierStartsWhileJWKSDown(t *testing.T) {
	es := newES256Key(t, "es-1")
	jwks := newJWKSServer(t, es)
	jwks.setStatus(502)
	var refreshErrors countingHook
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:         jwks.URL(),
		HTTPClient:      jwks.srv.Client(),
		RefreshInterval: 20 * time.Millisecond,
		OnRefreshError:  refreshErrors.record,
	})
	if refreshErrors.count() < 1 {
		t.Fatalf("refresh errors reported at start-up: got %d, want at least 1", refreshErrors.count())
	}
	token := es.sign(t, userClaims(time.Now()))
	mustReject(t, v, token)

	jwks.setStatus(200)
	waitFor(t, 5*time.Second, "the token to verify once the JWKS is back", func() bool {
		_, err := v.Verify(context.Background(), token)
		return err == nil
	})
}

func TestUnknownKIDFloodIsRateLimited(t *testing.T) {
	es := newES256Key(t, "es-1")
	forger := newES256Key(t, "")
	jwks := newJWKSServer(t, es)
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:               jwks.URL(),
		HTTPClient:            jwks.srv.Client(),
		RefreshInterval:       time.Hour,
		UnknownKIDRefreshRate: time.Hour,
	})
	start := jwks.Hits()

	const workers, perWorker = 16, 50
	tokens := make([][]string, workers)
	for w := range tokens {
		for i := range perWorker {
			forger.kid = fmt.Sprintf("bogus-%d-%d", w, i)
			tokens[w] = append(tokens[w], forger.sign(t, userClaims(time.Now())))
		}
	}
	errs := make(chan error, workers*perWorker)
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for _, tok := range tokens[w] {
				_, err := v.Verify(context.Background(), tok)
				errs <- err
			}
		}()
	}
	for range workers {
		<-done
	}
	close(errs)
	for err := range errs {
		if err == nil {
			t.Fatal("Verify of a bogus kid: got nil error, want ErrInvalidToken")
		}
	}
	if extra := jwks.Hits() - start; extra > 1 {
		t.Errorf("JWKS fetches caused by %d bogus kids: got %d, want at most 1", workers*perWorker, extra)
	}
	mustVerify(t, v, es.sign(t, userClaims(time.Now())))
}

func TestCloseIsIdempotentAndVerifyStillUsesLoadedKeys(t *testing.T) {
	es := newES256Key(t, "es-1")
	jwks := newJWKSServer(t, es)
	v, err := auth.NewTokenVerifier(context.Background(), auth.TokenVerifierConfig{JWKSURL: jwks.URL(), HTTPClient: jwks.srv.Client()})
	if err != nil {
		t.Fatalf("NewTokenVerifier: got error %v, want nil", err)
	}
	v.Close()
	v.Close()
	mustVerify(t, v, es.sign(t, userClaims(time.Now())))
	mustReject(t, v, newES256Key(t, "unknown").sign(t, userClaims(time.Now())))
}

func TestCancelledContextStopsRefresher(t *testing.T) {
	es := newES256Key(t, "es-1")
	jwks := newJWKSServer(t, es)
	ctx, cancel := context.WithCancel(context.Background())
	v, err := auth.NewTokenVerifier(ctx, auth.TokenVerifierConfig{
		JWKSURL:         jwks.URL(),
		HTTPClient:      jwks.srv.Client(),
		RefreshInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("NewTokenVerifier: got error %v, want nil", err)
	}
	defer v.Close()
	cancel()
	// A fetch already on its way may still arrive, late on a loaded
	// machine: wait until forty refresh intervals pass without one (a
	// refresher still running never allows that), then check none follow.
	waitFor(t, 10*time.Second, "JWKS fetches to stop after the context ended", func() bool {
		seen := jwks.Hits()
		time.Sleep(200 * time.Millisecond)
		return jwks.Hits() == seen
	})
	seen := jwks.Hits()
	time.Sleep(200 * time.Millisecond)
	if got := jwks.Hits(); got != seen {
		t.Errorf("JWKS fetches after the context ended: got %d more, want 0", got-seen)
	}
}
