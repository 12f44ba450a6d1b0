package supabasetest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/wasessions/gateway/supabase/localrest"
)

// NewLocalREST serves the local PostgREST-protocol server over pool on an
// httptest server, with a fresh random sb_secret_ key, and stops it when the
// test ends. baseURL has no /rest/v1: clients append it, as they do to a
// Supabase project URL. Create the tables first; the catalogue is read now.
func NewLocalREST(tb testing.TB, pool *pgxpool.Pool, opts ...localrest.Option) (baseURL, apiKey string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	apiKey = "sb_secret_" + randomHex(tb, 16)
	srv, err := localrest.New(ctx, pool, apiKey, zaptest.NewLogger(tb, zaptest.Level(zap.WarnLevel)), opts...)
	if err != nil {
		tb.Fatalf("supabasetest: start local REST server: %v", err)
	}
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	return ts.URL, apiKey
}
