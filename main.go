// Command gateway serves the WhatsApp sessions API in front of a Supabase
// project, or, with no SUPABASE_URL, in front of local PostgreSQL.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/wasessions/gateway/auth"
	"github.com/wasessions/gateway/config"
	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/live"
	"github.com/wasessions/gateway/metrics"
	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/supabase/localmode"
	"github.com/wasessions/gateway/sweep"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// run starts the gateway and blocks until ctx ends, then shuts down
// gracefully. Everything it needs comes in as arguments, so tests can run it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("gateway", flag.ContinueOnError)
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: gateway [-config file]          serve the API\n       gateway [-config file] token [-sub uuid]   print a user access token signed with SUPABASE_JWT_SECRET (for trying the API)")
		flags.PrintDefaults()
	}
	configPath := flags.String("config", "config.yaml", "path of the YAML configuration file")
	if err := flags.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, getenv)
	if err != nil {
		return err
	}
	if flags.Arg(0) == "token" {
		return printToken(cfg, flags.Args()[1:], stdout)
	}
	log, err := newLogger(cfg, stdout)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	tuneGC(getenv)

	var (
		local     *localmode.Backend
		generated []string // secrets made for this run, to print
	)
	supabaseURL, supabaseKey := cfg.SupabaseURL, cfg.SupabaseKey
	if cfg.LocalMode() {
		local, err = localmode.Start(ctx, cfg.DatabaseURL, log)
		if err != nil {
			return err
		}
		defer func() {
			// Normally already closed after the graceful shutdown below;
			// this covers the early returns.
			closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = local.Close(closeCtx)
		}()
		supabaseURL, supabaseKey = local.URL, local.Key
		generated = fillLocalSecrets(&cfg)
	}

	meters := metrics.New()
	store, err := supabase.NewClient(supabase.ClientConfig{
		URL:       supabaseURL,
		Key:       supabaseKey,
		UserAgent: "whatsapp-sessions-gateway/" + version,
		Timeout:   cfg.UpstreamTimeout,
		Transport: supabase.NewHTTPTransport(cfg.UpstreamMaxIdleConns),
		Observe:   meters.ObserveUpstream,
		Log:       log,
	})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := checkOwnership(ctx, cfg, store, log); err != nil {
		return err
	}

	verifierCtx, stopVerifier := context.WithCancel(context.Background())
	defer stopVerifier()
	tokenCfg := auth.TokenVerifierConfig{
		HS256Secret:    []byte(cfg.SupabaseJWTSecret),
		Admin:          cfg.AdminRoleClaim,
		Audience:       "authenticated",
		Leeway:         30 * time.Second,
		OnRefreshError: func(err error) { log.Warn("JWKS refresh failed; cached keys stay in use", zap.Error(err)) },
	}
	// Always trust the project's published keys: a project moving from the
	// legacy secret to asymmetric keys has both kinds of token live. Local
	// mode reads them from the local server, as from a project that signs
	// with its HS256 secret only (an empty key set).
	tokenCfg.JWKSURL = supabaseURL + "/auth/v1/.well-known/jwks.json"
	if !cfg.LocalMode() {
		tokenCfg.Issuer = cfg.SupabaseURL + "/auth/v1"
	}
	tokens, err := auth.NewTokenVerifier(verifierCtx, tokenCfg)
	if err != nil {
		return err
	}
	defer tokens.Close()

	// One broker per replica: one history read per poll interval for all
	// its live streams.
	broker := live.New(live.Config{
		Source: store, PollInterval: cfg.StreamPollInterval, Heartbeat: cfg.StreamHeartbeat, MaxClients: cfg.StreamMaxClients, Log: log,
	})
	meters.WatchStreams(broker.OpenStreams)
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	brokerDone := make(chan struct{})
	go func() { defer close(brokerDone); broker.Run(brokerCtx) }()
	defer func() { stopBroker(); <-brokerDone }()

	e := handlers.New(handlers.Deps{
		Store:          store,
		History:        store,
		Tokens:         tokens,
		Ownership:      supabase.Ownership{Column: cfg.SesionesOwnerColumn},
		Webhooks:       auth.NewWebhookVerifier([]byte(cfg.WebhookSecret), cfg.WebhookTolerance, nil),
		Log:            log,
		BodyLimit:      cfg.BodyLimit,
		ListMaxLimit:   cfg.ListMaxLimit,
		CORSOrigins:    cfg.CORSAllowedOrigins,
		RateLimitRPS:   cfg.RateLimitRPS,
		RateLimitBurst: cfg.RateLimitBurst,
		TrustedProxies: cfg.TrustedProxies,
		Ready:          store.Ready,
		ReadyCacheTTL:  cfg.ReadinessCacheTTL,
		Metrics:        meters.Handler(),
		MetricsToken:   cfg.MetricsToken,
		ObserveRequest: meters.ObserveRequest,
		ObserveWebhook: meters.ObserveWebhook,
		ObserveAbort:   meters.ObserveAbort,
		OpenAPI:        handlers.OpenAPI,

		Streams: broker,
		Events:  store,
	})

	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.Port))
	if err != nil {
		return fmt.Errorf("PORT %d: %w", cfg.Port, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      cfg.UpstreamTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	// Shutdown does not see live streams (the broker took their
	// connections over): the broker ends them, each with a retry: hint to
	// reconnect elsewhere, and shutdown waits for that below.
	srv.RegisterOnShutdown(broker.Drain)
	if cfg.LocalMode() {
		printLocalBanner(stdout, cfg, generated, ln.Addr().(*net.TCPAddr).Port, local.SampleSesion)
	}
	log.Info("listening", zap.String("addr", ln.Addr().String()), zap.Bool("local_mode", cfg.LocalMode()), zap.String("version", version))

	// Expiry and history pruning, on every replica: the database makes
	// concurrent sweeps safe. Stopped before local mode's server closes.
	sweeper := sweep.New(store, sweep.Config{
		PendingTTL:     cfg.PendingTTL,
		Retention:      cfg.HistoryRetention,
		Interval:       cfg.ExpiryInterval,
		Log:            log.Named("sweep"),
		ObserveExpired: meters.ObserveExpired,
		ObservePruned:  meters.ObservePruned,
		// The expiry committed: this replica's streams hear of it at once.
		OnExpired: func([]json.RawMessage) { broker.Poke() },
	})
	sweepCtx, cancelSweep := context.WithCancel(context.WithoutCancel(ctx))
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); sweeper.Run(sweepCtx) }()
	stopSweep := func() { cancelSweep(); <-sweepDone }
	defer stopSweep()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}

	log.Info("shutting down", zap.Duration("grace", cfg.ShutdownGrace))
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if err != nil {
		// The grace is over: cut the requests still running.
		_ = srv.Close()
	}
	broker.Drain()
	err = errors.Join(err, broker.Wait(shutdownCtx))
	stopSweep()
	if local != nil {
		err = errors.Join(err, local.Close(shutdownCtx))
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// ownershipCheckDeadline bounds the start-up look at the owner column.
const ownershipCheckDeadline = 10 * time.Second

// checkOwnership says at start-up how sessions are scoped. Without an owner
// column every signed-in user manages every session, which is worth a
// warning outside local mode; with one, the column must exist on the
// project's sesiones and hold a user id, or the gateway does not start.
// Supabase being unreachable is not a reason to stay down (as with the
// JWKS): a wrong column then fails every scoped request closed.
func checkOwnership(ctx context.Context, cfg config.Config, store *supabase.Client, log *zap.Logger) error {
	if cfg.SesionesOwnerColumn == "" {
		if !cfg.LocalMode() {
			log.Warn("SESIONES_OWNER_COLUMN is not set: every signed-in user of the project can list, change and delete every WhatsApp session")
		}
		return nil
	}
	checkCtx, cancel := context.WithTimeout(ctx, ownershipCheckDeadline)
	defer cancel()
	err := store.CheckOwnerColumn(checkCtx, cfg.SesionesOwnerColumn)
	switch supabase.ErrorCode(err) {
	case supabase.CodeUpstreamUnavailable, supabase.CodeUpstreamTimeout:
		log.Warn("SESIONES_OWNER_COLUMN could not be checked: Supabase is not answering", zap.Error(err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("SESIONES_OWNER_COLUMN: %w", err)
	}
	log.Info("sessions are scoped to their owner", zap.String("owner_column", cfg.SesionesOwnerColumn), zap.String("admin_claim", cfg.AdminRoleClaim.String()))
	return nil
}

// tuneGC trades a little memory for a lot less garbage collection: the
// live heap is a few MiB, so the default GOGC=100 collects after every few
// hundred requests. GOGC=400 with a 64 MiB soft limit keeps the process
// small and the collector quiet. The standard GOGC and GOMEMLIMIT
// environment variables, when set, win.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
}
