// Package config loads the gateway's settings from config.yaml and the
// environment into one typed, validated Config. Nothing else in the project
// reads files or the environment for settings, and viper stays in here.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/wasessions/gateway/auth"
)

// Config is every setting of the gateway, validated.
type Config struct {
	Port                 int
	SupabaseURL          string // empty means local mode
	SupabaseKey          string
	SupabaseJWTSecret    string
	WebhookSecret        string
	DatabaseURL          string
	LogLevel             string
	LogFormat            string // json or console
	BodyLimit            int64
	ListMaxLimit         int
	UpstreamTimeout      time.Duration
	ShutdownGrace        time.Duration
	WebhookTolerance     time.Duration
	CORSAllowedOrigins   []string
	RateLimitRPS         float64 // 0 disables rate limiting
	RateLimitBurst       int
	TrustedProxies       []*net.IPNet
	MetricsToken         string
	ReadinessCacheTTL    time.Duration
	UpstreamMaxIdleConns int
	PendingTTL           time.Duration // 0 disables the expiry of pending sessions
	ExpiryInterval       time.Duration
	HistoryRetention     time.Duration // 0 keeps the history forever
	// SesionesOwnerColumn is the column of sesiones holding the owning
	// user's id; empty lets every signed-in user manage every session.
	SesionesOwnerColumn string
	// AdminRoleClaim marks operators' tokens, which see every session.
	AdminRoleClaim     auth.AdminClaim
	StreamHeartbeat    time.Duration
	StreamPollInterval time.Duration
	StreamMaxClients   int
}

// LocalMode reports whether no Supabase project is configured, so the
// gateway serves from local PostgreSQL.
func (c Config) LocalMode() bool { return c.SupabaseURL == "" }

// setting is one configuration key: its environment name (the config.yaml
// key is the same name in lower case), default and meaning.
type setting struct {
	env, def, doc string
}

// Settings lists every key, in the order the README's table shows them.
var settings = []setting{
	{"PORT", "8080", "TCP port the gateway listens on"},
	{"SUPABASE_URL", "", "Supabase project URL; empty runs local mode"},
	{"SUPABASE_SERVICE_ROLE_KEY", "", "secret key (sb_secret_...) or legacy service-role JWT; alias SUPABASE_SECRET_KEY"},
	{"SUPABASE_JWT_SECRET", "", "legacy HS256 JWT secret; empty verifies user tokens with the project's JWKS"},
	{"WEBHOOK_SECRET", "", "shared secret of the orchestrator's webhook; required outside local mode"},
	{"DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL used in local mode"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"LOG_FORMAT", "auto", "json, console, or auto (console in local mode, json otherwise)"},
	{"BODY_LIMIT", "65536", "largest request body in bytes"},
	{"LIST_MAX_LIMIT", "1000", "largest limit= of a list, and the limit when none is given; keep it at or below the project's Data API Max Rows"},
	{"UPSTREAM_TIMEOUT", "10s", "deadline of each call to Supabase"},
	{"SHUTDOWN_GRACE", "15s", "time in-flight requests get to finish after SIGTERM"},
	{"WEBHOOK_TOLERANCE", "300s", "how far X-Webhook-Timestamp may be from now"},
	{"CORS_ALLOWED_ORIGINS", "", "comma list of browser origins allowed to call the API; none by default"},
	{"RATE_LIMIT_RPS", "50", "requests per second per client IP; 0 disables"},
	{"RATE_LIMIT_BURST", "100", "burst allowed above RATE_LIMIT_RPS"},
	{"TRUSTED_PROXIES", "", "comma list of proxy networks (CIDR) whose X-Forwarded-For gives the client IP; empty uses the peer address"},
	{"METRICS_TOKEN", "", "bearer token for /metrics; empty serves /metrics only to loopback callers"},
	{"READINESS_CACHE_TTL", "5s", "how long a /readyz answer is reused"},
	{"UPSTREAM_MAX_IDLE_CONNS", "128", "idle keep-alive connections kept to Supabase"},
	{"PENDING_TTL", "10m", "how long a session may stay pending before the sweep expires it; 0 disables"},
	{"EXPIRY_INTERVAL", "30s", "time between two sweeps (expiry and history pruning)"},
	{"HISTORY_RETENTION", "2160h", "how long history entries are kept; 0 keeps them all"},
	{"SESIONES_OWNER_COLUMN", "", "column of sesiones holding the owning user's id; each user then sees only their sessions (local mode: user_id; - turns it off)"},
	{"ADMIN_ROLE_CLAIM", "", "claim.path=value marking operators' tokens, which see every session, e.g. app_metadata.role=admin"},
	{"STREAM_HEARTBEAT", "15s", "interval of the comment line that keeps an idle live stream open through proxies"},
	{"STREAM_POLL_INTERVAL", "1s", "how often a replica reads the session history for its open live streams"},
	{"STREAM_MAX_CLIENTS", "10000", "open live streams per replica; more are answered 503"},
}

// localOwnerColumn is the owner column local mode's seed adds to sesiones;
// ownershipOff, which no column can be named, turns local mode's default off.
const (
	localOwnerColumn = "user_id"
	ownershipOff     = "-"
)

// secretKeyAlias is Supabase's newer name for the service-role key setting.
const secretKeyAlias = "SUPABASE_SECRET_KEY"

// refuseUnknownKeys catches a misspelt key in the file, which would
// otherwise be ignored silently.
func refuseUnknownKeys(v *viper.Viper) error {
	known := map[string]bool{strings.ToLower(secretKeyAlias): true}
	for _, s := range settings {
		known[strings.ToLower(s.env)] = true
	}
	for _, key := range v.AllKeys() {
		if !known[key] {
			return fmt.Errorf("unknown key %q (see the configuration table in README.md)", key)
		}
	}
	return nil
}

// Load reads path (if it exists) and then the environment through getenv,
// which wins. The error names the first bad setting.
func Load(path string, getenv func(string) string) (Config, error) {
	v := viper.New()
	for _, s := range settings {
		v.SetDefault(strings.ToLower(s.env), s.def)
	}
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			v.SetConfigFile(path)
			if err := v.ReadInConfig(); err != nil {
				return Config{}, fmt.Errorf("config file %s: %w", path, err)
			}
		}
	}
	if err := refuseUnknownKeys(v); err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	for _, s := range settings {
		if val := getenv(s.env); val != "" {
			v.Set(strings.ToLower(s.env), val)
		}
	}
	if v.GetString("supabase_service_role_key") == "" {
		// The new name of the same key, from the environment or the file.
		if alias := getenv(secretKeyAlias); alias != "" {
			v.Set("supabase_service_role_key", alias)
		} else {
			v.Set("supabase_service_role_key", v.GetString(strings.ToLower(secretKeyAlias)))
		}
	}
	r := reader{v: v}
	c := Config{
		Port:                 r.intIn("PORT", 0, 65535),
		SupabaseURL:          strings.TrimRight(r.str("SUPABASE_URL"), "/"),
		SupabaseKey:          r.str("SUPABASE_SERVICE_ROLE_KEY"),
		SupabaseJWTSecret:    r.str("SUPABASE_JWT_SECRET"),
		WebhookSecret:        r.str("WEBHOOK_SECRET"),
		DatabaseURL:          r.str("DATABASE_URL"),
		LogLevel:             r.oneOf("LOG_LEVEL", "debug", "info", "warn", "error"),
		LogFormat:            r.oneOf("LOG_FORMAT", "auto", "json", "console"),
		BodyLimit:            int64(r.intIn("BODY_LIMIT", 1, 64<<20)),
		ListMaxLimit:         r.intIn("LIST_MAX_LIMIT", 1, 100000),
		UpstreamTimeout:      r.duration("UPSTREAM_TIMEOUT"),
		ShutdownGrace:        r.duration("SHUTDOWN_GRACE"),
		WebhookTolerance:     r.duration("WEBHOOK_TOLERANCE"),
		CORSAllowedOrigins:   r.list("CORS_ALLOWED_ORIGINS"),
		RateLimitRPS:         r.float("RATE_LIMIT_RPS"),
		RateLimitBurst:       r.intIn("RATE_LIMIT_BURST", 1, 1<<20),
		TrustedProxies:       r.networks("TRUSTED_PROXIES"),
		MetricsToken:         r.str("METRICS_TOKEN"),
		ReadinessCacheTTL:    r.duration("READINESS_CACHE_TTL"),
		UpstreamMaxIdleConns: r.intIn("UPSTREAM_MAX_IDLE_CONNS", 1, 10000),
		PendingTTL:           r.durationOrOff("PENDING_TTL"),
		ExpiryInterval:       r.duration("EXPIRY_INTERVAL"),
		HistoryRetention:     r.durationOrOff("HISTORY_RETENTION"),
		SesionesOwnerColumn:  r.identifier("SESIONES_OWNER_COLUMN"),
		AdminRoleClaim:       r.adminClaim("ADMIN_ROLE_CLAIM"),
		StreamHeartbeat:      r.duration("STREAM_HEARTBEAT"),
		StreamPollInterval:   r.duration("STREAM_POLL_INTERVAL"),
		StreamMaxClients:     r.intIn("STREAM_MAX_CLIENTS", 1, 1000000),
	}
	if r.err != nil {
		return Config{}, r.err
	}
	switch {
	case c.SesionesOwnerColumn == ownershipOff:
		c.SesionesOwnerColumn = ""
	case c.SesionesOwnerColumn == "" && c.LocalMode():
		c.SesionesOwnerColumn = localOwnerColumn
	}
	if c.LogFormat == "auto" {
		c.LogFormat = "json"
		if c.LocalMode() {
			c.LogFormat = "console"
		}
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if c.SupabaseJWTSecret != "" && len(c.SupabaseJWTSecret) < 32 {
		return errors.New("SUPABASE_JWT_SECRET must be at least 32 characters (Supabase's legacy JWT secrets are longer)")
	}
	// A short secret is as guessable in local mode as anywhere; only an
	// unset one is generated there.
	if c.WebhookSecret != "" && len(c.WebhookSecret) < 16 {
		return errors.New("WEBHOOK_SECRET must be at least 16 characters")
	}
	if c.LocalMode() {
		if c.DatabaseURL == "" {
			return errors.New("DATABASE_URL is required in local mode (no SUPABASE_URL is set)")
		}
		return nil
	}
	u, err := url.Parse(c.SupabaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("SUPABASE_URL must be an http(s) URL such as https://abcd.supabase.co")
	}
	if c.SupabaseKey == "" {
		return errors.New("SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_SECRET_KEY) is required when SUPABASE_URL is set")
	}
	if c.WebhookSecret == "" {
		return errors.New("WEBHOOK_SECRET is required when SUPABASE_URL is set")
	}
	return nil
}

// reader converts viper values, keeping the first error so Load can report
// exactly one bad setting.
type reader struct {
	v   *viper.Viper
	err error
}

func (r *reader) str(env string) string {
	return strings.TrimSpace(r.v.GetString(strings.ToLower(env)))
}

func (r *reader) fail(env, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s is malformed: want %s", env, want)
	}
}

func (r *reader) intIn(env string, lo, hi int) int {
	n, err := strconv.Atoi(r.str(env))
	if err != nil || n < lo || n > hi {
		r.fail(env, fmt.Sprintf("an integer from %d to %d", lo, hi))
	}
	return n
}

// identifierPattern is a plain PostgreSQL column name, which PostgREST
// query strings carry without quoting.
var identifierPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func (r *reader) identifier(env string) string {
	s := r.str(env)
	if s != "" && s != ownershipOff && !identifierPattern.MatchString(s) {
		r.fail(env, "a column name of letters, digits and _ (at most 63), or - for none")
	}
	return s
}

func (r *reader) adminClaim(env string) auth.AdminClaim {
	a, err := auth.ParseAdminClaim(r.str(env))
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s is malformed: %w", env, err)
	}
	return a
}

func (r *reader) float(env string) float64 {
	f, err := strconv.ParseFloat(r.str(env), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		r.fail(env, "a number ≥ 0")
	}
	return f
}

func (r *reader) duration(env string) time.Duration {
	d, err := time.ParseDuration(r.str(env))
	if err != nil || d <= 0 {
		r.fail(env, "a positive duration such as 10s")
	}
	return d
}

// durationOrOff is a duration where 0 means "off".
func (r *reader) durationOrOff(env string) time.Duration {
	if r.str(env) == "0" {
		return 0
	}
	d, err := time.ParseDuration(r.str(env))
	if err != nil || d < 0 {
		r.fail(env, "a duration such as 10m, or 0 to turn it off")
	}
	return d
}

func (r *reader) oneOf(env string, allowed ...string) string {
	s := strings.ToLower(r.str(env))
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	r.fail(env, "one of "+strings.Join(allowed, ", "))
	return s
}

// list reads a comma-separated string, or a YAML list.
func (r *reader) list(env string) []string {
	raw := r.v.Get(strings.ToLower(env))
	var items []string
	if seq, ok := raw.([]any); ok {
		for _, item := range seq {
			items = append(items, fmt.Sprint(item))
		}
	} else {
		items = strings.Split(r.str(env), ",")
	}
	var out []string
	for _, item := range items {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (r *reader) networks(env string) []*net.IPNet {
	var nets []*net.IPNet
	for _, item := range r.list(env) {
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			r.fail(env, "a comma list of CIDR networks such as 10.0.0.0/8")
			return nil
		}
		nets = append(nets, n)
	}
	return nets
}
