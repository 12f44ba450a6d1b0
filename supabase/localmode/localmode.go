// Package localmode runs the gateway's storage without a Supabase project:
// it applies the migrations to a local PostgreSQL, loads the sample data of
// supabase/seed.sql, and serves the database through the local
// PostgREST-protocol server on a loopback port, with a key made for this run.
package localmode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/supabase/localrest"
	"github.com/wasessions/gateway/supabase/migrate"
	"github.com/wasessions/gateway/utils"
)

// Backend is a running local Data API.
type Backend struct {
	URL          string // base URL, like a Supabase project URL
	Key          string // the secret key the gateway must present
	SampleSesion int64  // id of a sesiones row to try the API with
	Pool         *pgxpool.Pool
	server       *http.Server
}

// Start connects to databaseURL, migrates, seeds and serves. Close stops it.
func Start(ctx context.Context, databaseURL string, log *zap.Logger) (*Backend, error) {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("local mode needs PostgreSQL at DATABASE_URL and cannot reach it (start it, or set SUPABASE_URL): %w", err)
	}
	// The API roles and default privileges first, so the migrations'
	// grants land on them as they do on Supabase.
	if err := localrest.PrepareDatabase(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	applied, err := migrate.Apply(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	if len(applied) > 0 {
		log.Info("migrations applied", zap.Strings("versions", applied))
	}
	sample, err := ensureSampleSesion(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}

	key := utils.SecretKeyPrefix + randomHex(24)
	rest, err := localrest.New(ctx, pool, key, log.Named("localrest"))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("start local data API: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("listen for local data API: %w", err)
	}
	srv := &http.Server{Handler: rest, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("local data API stopped", zap.Error(err))
		}
	}()
	return &Backend{URL: "http://" + ln.Addr().String(), Key: key, SampleSesion: sample, Pool: pool, server: srv}, nil
}

// Close stops the server after in-flight calls finish, then the pool.
func (b *Backend) Close(ctx context.Context) error {
	err := b.server.Shutdown(ctx)
	b.Pool.Close()
	return err
}

// ensureSampleSesion runs supabase/seed.sql, which gives a fresh database
// one sesiones row owned by the user of the printed token (and sesiones
// its owner column), so the printed examples work, and returns that row's id.
func ensureSampleSesion(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	if _, err := pool.Exec(ctx, supabase.Seed()); err != nil {
		return 0, fmt.Errorf("seed sample data (supabase/seed.sql): %w", err)
	}
	var id int64
	if err := pool.QueryRow(ctx, `select min(id) from public.sesiones`).Scan(&id); err != nil {
		return 0, fmt.Errorf("seed sample sesiones row: %w", err)
	}
	return id, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
