package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/time/rate"
)

const (
	// fetchTimeout bounds one JWKS download, whoever started it, so neither
	// start-up nor a request waiting on a refresh can hang on a silent upstream.
	fetchTimeout = 5 * time.Second
	// maxJWKSBytes caps the document we decode; a real JWKS is a few KiB and a
	// misbehaving upstream must not be able to make us buffer without limit.
	maxJWKSBytes = 1 << 20
	// minRetryDelay is the first pause after a failed refresh; it doubles up to
	// the refresh interval so an outage is retried promptly but not hammered.
	minRetryDelay = time.Second
)

// errSourceClosed is returned by refresh after close; it never reaches clients.
var errSourceClosed = errors.New("auth: JWKS source closed")

// jwksSource keeps the current verification keys of one JWKS URL. Readers get
// an immutable snapshot through an atomic pointer, so the hot path (and the
// token cache's "is the key still published" check) takes no lock.
//
// We use jwkset for what it does well, parsing and validating JWKs, but not its
// HTTP storage: its refresh goroutine cannot be joined (Close must prove no
// goroutine is left), and its unknown-kid refresh blocks the caller on the
// rate limiter and times the download out with that same wait budget.
type jwksSource struct {
	url        string
	client     *http.Client
	interval   time.Duration
	unknownKID *rate.Limiter
	onError    func(error)

	keys atomic.Pointer[keySet]

	life context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	inflight *refreshCall
}

// refreshCall is one download shared by everyone who asked for a refresh
// while it ran, so a burst of callers costs Supabase a single request.
type refreshCall struct {
	done chan struct{}
	err  error
}

// startJWKSSource fetches the JWKS once, synchronously, and starts the
// background refresher. A failed first fetch is reported through onError and
// is not fatal: the refresher retries with backoff, and tokens with a kid we
// do not know yet trigger an on-demand refresh (rate limited).
func startJWKSSource(ctx context.Context, url string, client *http.Client, interval, unknownKIDRate time.Duration, onError func(error)) *jwksSource {
	life, stop := context.WithCancel(ctx)
	s := &jwksSource{
		url:        url,
		client:     client,
		interval:   interval,
		unknownKID: rate.NewLimiter(rate.Every(unknownKIDRate), 1),
		onError:    onError,
		life:       life,
		stop:       stop,
	}
	s.keys.Store(&keySet{})
	err := s.refresh(life)
	s.wg.Add(1)
	go s.run(err != nil)
	return s
}

// run refreshes every interval until the source is closed; after a failure it
// retries sooner, doubling the pause from minRetryDelay up to the interval.
func (s *jwksSource) run(failed bool) {
	defer s.wg.Done()
	retry := minRetryDelay
	for {
		wait := s.interval
		if failed {
			wait = min(retry, s.interval)
			retry = min(2*retry, s.interval)
		} else {
			retry = minRetryDelay
		}
		timer := time.NewTimer(wait)
		select {
		case <-s.life.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		failed = s.refresh(s.life) != nil
	}
}

// key returns the published key for kid, or nil.
func (s *jwksSource) key(kid string) *verificationKey {
	return s.keys.Load().byKID[kid]
}

// lookup returns the key for kid, refreshing once if it is unknown. Unknown
// kids are either a key Supabase just rotated in or a forgery; the limiter
// caps the forgeries' cost at one download per unknownKIDRate, and a caller
// that finds a download already running joins it instead of starting another.
func (s *jwksSource) lookup(ctx context.Context, kid string) (*verificationKey, error) {
	if k := s.key(kid); k != nil {
		return k, nil
	}
	if !s.refreshing() && !s.unknownKID.Allow() {
		return nil, errUnknownKey
	}
	if err := s.refresh(ctx); err != nil {
		return nil, errUnknownKey
	}
	if k := s.key(kid); k != nil {
		return k, nil
	}
	return nil, errUnknownKey
}

// refreshing reports whether a download is running right now.
func (s *jwksSource) refreshing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight != nil
}

// refresh downloads the JWKS, or joins the download already running, and
// waits for it or for ctx. The download itself runs on the source's own
// lifetime, so a caller giving up does not abort it for the others.
func (s *jwksSource) refresh(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errSourceClosed
	}
	call := s.inflight
	if call == nil {
		call = &refreshCall{done: make(chan struct{})}
		s.inflight = call
		s.wg.Add(1)
		go s.download(call)
	}
	s.mu.Unlock()

	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// download performs one fetch for call and publishes the result. On failure
// the previous keys stay published: an outage must not log everyone out.
func (s *jwksSource) download(call *refreshCall) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.life, fetchTimeout)
	defer cancel()

	fresh, err := s.fetch(ctx)
	if err == nil {
		s.keys.Store(fresh.keepIdentity(s.keys.Load()))
	} else if s.life.Err() == nil && s.onError != nil {
		s.onError(err)
	}

	s.mu.Lock()
	s.inflight = nil
	s.mu.Unlock()
	call.err = err
	close(call.done)
}

// fetch downloads and parses the JWKS document.
func (s *jwksSource) fetch(ctx context.Context) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: build JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: fetch JWKS %s: unexpected status %d", s.url, resp.StatusCode)
	}
	var doc jwkset.JWKSMarshal
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("auth: decode JWKS %s: %w", s.url, err)
	}
	// A missing or null "keys" is an error page that happens to be JSON, not
	// a project without asymmetric keys; keep what we have.
	if doc.Keys == nil {
		return nil, fmt.Errorf("auth: decode JWKS %s: no \"keys\" member", s.url)
	}
	return newKeySet(doc.Keys), nil
}

// close stops the refresher and waits for every goroutine the source started,
// including a download in flight, which is cancelled.
func (s *jwksSource) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
}
