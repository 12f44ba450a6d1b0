package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaultsAreLocalMode(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.LocalMode() || c.Port != 8080 || c.BodyLimit != 64<<10 || c.ListMaxLimit != 1000 || c.UpstreamTimeout != 10*time.Second || c.LogFormat != "console" {
		t.Errorf("got %+v, want local-mode defaults", c)
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://postgres@127.0.0.1:5432/") {
		t.Errorf("got DATABASE_URL %q, want the local default", c.DatabaseURL)
	}
}

func TestLoadFileThenEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("port: 9090\nlog_level: debug\ncors_allowed_origins: \"https://a.example, https://b.example\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, env(map[string]string{"LOG_LEVEL": "warn"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9090 || c.LogLevel != "warn" || len(c.CORSAllowedOrigins) != 2 || c.CORSAllowedOrigins[1] != "https://b.example" {
		t.Errorf("got port %d level %s origins %v, want 9090 from the file, warn from the environment, two origins", c.Port, c.LogLevel, c.CORSAllowedOrigins)
	}
}

func TestLoadSupabaseMode(t *testing.T) {
	c, err := Load("", env(map[string]string{
		"SUPABASE_URL":        "https://abcd.supabase.co/",
		"SUPABASE_SECRET_KEY": "sb_secret_x",
		"WEBHOOK_SECRET":      "0123456789abcdef",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalMode() || c.SupabaseURL != "https://abcd.supabase.co" || c.SupabaseKey != "sb_secret_x" || c.LogFormat != "json" {
		t.Errorf("got %+v, want Supabase mode with the alias key and JSON logs", c)
	}
}

func TestLoadRefusesBadSettingsNamingThem(t *testing.T) {
	supabase := map[string]string{"SUPABASE_URL": "https://abcd.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": "k", "WEBHOOK_SECRET": "0123456789abcdef"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range supabase {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"port not a number", map[string]string{"PORT": "eighty"}, "PORT"},
		{"port out of range", map[string]string{"PORT": "70000"}, "PORT"},
		{"bad duration", map[string]string{"UPSTREAM_TIMEOUT": "soon"}, "UPSTREAM_TIMEOUT"},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"bad network", map[string]string{"TRUSTED_PROXIES": "10.0.0.1"}, "TRUSTED_PROXIES"},
		{"negative rate", map[string]string{"RATE_LIMIT_RPS": "-1"}, "RATE_LIMIT_RPS"},
		{"NaN rate", map[string]string{"RATE_LIMIT_RPS": "NaN"}, "RATE_LIMIT_RPS"},
		{"short JWT secret", map[string]string{"SUPABASE_JWT_SECRET": "short"}, "SUPABASE_JWT_SECRET"},
		{"URL without scheme", with("SUPABASE_URL", "abcd.supabase.co"), "SUPABASE_URL"},
		{"missing key", with("SUPABASE_SERVICE_ROLE_KEY", ""), "SUPABASE_SERVICE_ROLE_KEY"},
		{"missing webhook secret", with("WEBHOOK_SECRET", ""), "WEBHOOK_SECRET"},
		{"short webhook secret", with("WEBHOOK_SECRET", "short"), "WEBHOOK_SECRET"},
		{"short webhook secret in local mode", map[string]string{"WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET"},
		{"negative TTL", map[string]string{"PENDING_TTL": "-1m"}, "PENDING_TTL"},
		{"TTL without unit", map[string]string{"PENDING_TTL": "10"}, "PENDING_TTL"},
		{"zero interval", map[string]string{"EXPIRY_INTERVAL": "0"}, "EXPIRY_INTERVAL"},
		{"bad retention", map[string]string{"HISTORY_RETENTION": "90d"}, "HISTORY_RETENTION"},
		{"owner column not a plain name", map[string]string{"SESIONES_OWNER_COLUMN": "user_id; drop table x"}, "SESIONES_OWNER_COLUMN"},
		{"owner column with a dot", map[string]string{"SESIONES_OWNER_COLUMN": "sesiones.user_id"}, "SESIONES_OWNER_COLUMN"},
		{"admin claim without a value", map[string]string{"ADMIN_ROLE_CLAIM": "app_metadata.role"}, "ADMIN_ROLE_CLAIM"},
		{"admin claim users can edit", map[string]string{"ADMIN_ROLE_CLAIM": "user_metadata.role=admin"}, "ADMIN_ROLE_CLAIM"},
		{"admin claim on the email", map[string]string{"ADMIN_ROLE_CLAIM": "email=boss@example.com"}, "ADMIN_ROLE_CLAIM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "sb_secret") {
				t.Errorf("got %v, want no key in the message", err)
			}
		})
	}
}

func TestLoadRefusesUnknownFileKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("prot: 9090\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, env(nil)); err == nil || !strings.Contains(err.Error(), `"prot"`) {
		t.Errorf("got %v, want an error naming the misspelt key", err)
	}
}

func TestLoadListsAndNetworksFromYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	yaml := "cors_allowed_origins:\n  - https://a.example\n  - https://b.example\ntrusted_proxies: \"10.0.0.0/8, 192.168.1.0/24\"\nsupabase_secret_key: sb_secret_file\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CORSAllowedOrigins) != 2 || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.0/24" || c.SupabaseKey != "sb_secret_file" {
		t.Errorf("got origins %v proxies %v key %q, want both lists and the aliased key from the file", c.CORSAllowedOrigins, c.TrustedProxies, c.SupabaseKey)
	}
}

func TestLoadLifecycleSettings(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.PendingTTL != 10*time.Minute || c.ExpiryInterval != 30*time.Second || c.HistoryRetention != 90*24*time.Hour {
		t.Errorf("got PENDING_TTL %v EXPIRY_INTERVAL %v HISTORY_RETENTION %v, want 10m, 30s, 2160h", c.PendingTTL, c.ExpiryInterval, c.HistoryRetention)
	}
	c, err = Load("", env(map[string]string{"PENDING_TTL": "0", "HISTORY_RETENTION": "0s", "EXPIRY_INTERVAL": "5s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PendingTTL != 0 || c.HistoryRetention != 0 || c.ExpiryInterval != 5*time.Second {
		t.Errorf("got PENDING_TTL %v HISTORY_RETENTION %v EXPIRY_INTERVAL %v, want both off and 5s", c.PendingTTL, c.HistoryRetention, c.ExpiryInterval)
	}
}

func TestOwnerColumnDefaultsOnlyInLocalMode(t *testing.T) {
	local, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if local.SesionesOwnerColumn != "user_id" {
		t.Errorf("local mode: got SESIONES_OWNER_COLUMN %q, want user_id (the column local mode's seed adds)", local.SesionesOwnerColumn)
	}
	remote, err := Load("", env(map[string]string{"SUPABASE_URL": "https://abcd.supabase.co", "SUPABASE_SECRET_KEY": "k", "WEBHOOK_SECRET": "0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	if remote.SesionesOwnerColumn != "" {
		t.Errorf("with SUPABASE_URL: got SESIONES_OWNER_COLUMN %q, want none unless set", remote.SesionesOwnerColumn)
	}
	off, err := Load("", env(map[string]string{"SESIONES_OWNER_COLUMN": "-"}))
	if err != nil {
		t.Fatal(err)
	}
	if off.SesionesOwnerColumn != "" {
		t.Errorf("local mode with SESIONES_OWNER_COLUMN=-: got %q, want none", off.SesionesOwnerColumn)
	}
	set, err := Load("", env(map[string]string{"SESIONES_OWNER_COLUMN": "owner_id", "ADMIN_ROLE_CLAIM": "app_metadata.role=admin"}))
	if err != nil {
		t.Fatal(err)
	}
	if set.SesionesOwnerColumn != "owner_id" || set.AdminRoleClaim.String() != "app_metadata.role=admin" {
		t.Errorf("got %q and %q, want owner_id and app_metadata.role=admin", set.SesionesOwnerColumn, set.AdminRoleClaim)
	}
}
