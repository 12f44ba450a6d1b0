// Command benchtool is the load benchmark's helper: it mints the user's
// access token, signs webhook bodies, finds free loopback ports, waits for
// and probes the servers under test, and seeds the local stack through the
// API. bench/run.sh calls it; nothing here is part of the gateway.
//
//	benchtool token -secret S [-iss I] [-ttl 2h] print an HS256 Supabase access token
//	benchtool sign -secret S -body B            print "timestamp signature" for B, signed now
//	benchtool freeport [-n 1]                   print n free loopback ports
//	benchtool wait -url U [-timeout 30s]        poll U until it answers 200
//	benchtool probe -url U [-method M] ...      one request; fail unless the status is -want
//	                                            and the body starts with -prefix
//	benchtool seed -url U -token T ...          create sessions and connect some of them
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool token|sign|freeport|wait|probe|seed [flags]")
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"token": token, "sign": sign, "freeport": freeport,
		"wait": wait, "probe": probe, "seed": seed,
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "benchtool: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// token prints an access token shaped like Supabase Auth's: HS256 with the
// legacy JWT secret, aud=authenticated, a subject, role and session id.
func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	secret := fs.String("secret", "", "SUPABASE_JWT_SECRET of the gateway under test")
	ttl := fs.Duration("ttl", 2*time.Hour, "lifetime of the token")
	iss := fs.String("iss", "", `"iss" claim: ${SUPABASE_URL}/auth/v1 of the gateway under test; empty leaves it out`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("-secret is required")
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"sub":        "8d0fd2b3-9ca7-4d9e-a95f-9e13f1d3ae2a",
		"aud":        "authenticated",
		"exp":        now.Add(*ttl).Unix(),
		"iat":        now.Unix(),
		"email":      "bench@example.com",
		"phone":      "",
		"role":       "authenticated",
		"aal":        "aal1",
		"session_id": "6a1b5e8e-3f7c-4b0f-a9a4-0d7f7b9c1e21",
		"app_metadata": map[string]any{
			"provider": "email", "providers": []string{"email"},
		},
		"user_metadata": map[string]any{},
		"is_anonymous":  false,
	}
	if *iss != "" {
		claims["iss"] = *iss
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(*secret))
	if err != nil {
		return err
	}
	fmt.Println(signed)
	return nil
}

// sign prints the webhook headers' values for body, signed now: the unix
// timestamp and sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).
func sign(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	secret := fs.String("secret", "", "WEBHOOK_SECRET of the gateway under test")
	body := fs.String("body", "", "exact body that will be sent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("-secret is required")
	}
	ts, sig := signature(*secret, []byte(*body), time.Now())
	fmt.Println(ts, sig)
	return nil
}

func signature(secret string, body []byte, at time.Time) (ts, sig string) {
	ts = strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return ts, "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// freeport prints ports that were free on 127.0.0.1 a moment ago. They are
// held open together so that n ports are distinct.
func freeport(args []string) error {
	fs := flag.NewFlagSet("freeport", flag.ContinueOnError)
	n := fs.Int("n", 1, "how many ports")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for range *n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		held = append(held, l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// wait polls url until it answers 200, so a script knows a server is up.
func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	url := fs.String("url", "", "URL that answers 200 once the server is ready")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(*timeout)
	for {
		resp, err := client.Get(*url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %v (last error: %v)", *url, *timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probe sends the request a scenario will repeat, once, and checks the
// status, so a misconfigured target (a 401 at 50,000 requests/s) fails the
// run instead of producing a number.
func probe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	url := fs.String("url", "", "request URL")
	method := fs.String("method", http.MethodGet, "request method")
	body := fs.String("body", "", "request body (sent as application/json)")
	authz := fs.String("auth", "", "Authorization header value")
	ts := fs.String("ts", "", "X-Webhook-Timestamp")
	sig := fs.String("sig", "", "X-Webhook-Signature")
	want := fs.Int("want", http.StatusOK, "expected status")
	prefix := fs.String("prefix", "", "expected start of the body")
	if err := fs.Parse(args); err != nil {
		return err
	}
	status, got, err := do(context.Background(), *method, *url, *body, *authz, *ts, *sig)
	if err != nil {
		return err
	}
	if status != *want {
		return fmt.Errorf("%s %s answered %d, want %d: %s", *method, *url, status, *want, clip(got))
	}
	if !bytes.HasPrefix(got, []byte(*prefix)) {
		return fmt.Errorf("%s %s answered %s, want a body starting %s", *method, *url, clip(got), *prefix)
	}
	return nil
}

func do(ctx context.Context, method, url, body, authz, ts, sig string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if ts != "" {
		req.Header.Set("X-Webhook-Timestamp", ts)
		req.Header.Set("X-Webhook-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return resp.StatusCode, got, err
}

// seed fills the local stack through the API: -n sessions created by the
// frontend's POST, of which -connected are then reported connected by a
// signed webhook. It checks that ?status=eq.connected lists them.
func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	base := fs.String("url", "", "gateway base URL, e.g. http://127.0.0.1:8080")
	tok := fs.String("token", "", "user access token")
	secret := fs.String("webhook-secret", "", "WEBHOOK_SECRET")
	sesion := fs.Int64("sesion-id", 0, "id of an existing sesiones row")
	n := fs.Int("n", 20, "sessions to create")
	connected := fs.Int("connected", 10, "of which this many are connected")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *tok == "" || *secret == "" || *sesion <= 0 || *connected > *n {
		return errors.New("-url, -token, -webhook-secret and -sesion-id are required, and -connected ≤ -n")
	}
	ctx := context.Background()
	api := strings.TrimRight(*base, "/") + "/api/whatsapp_sessions"
	prefix := "bench_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range *n {
		sid := fmt.Sprintf("%s_%04d", prefix, i)
		body, _ := json.Marshal(map[string]any{"session_id": sid, "sesion_id": *sesion})
		status, got, err := do(ctx, http.MethodPost, api, string(body), "Bearer "+*tok, "", "")
		if err != nil {
			return err
		}
		if status != http.StatusCreated {
			return fmt.Errorf("create %s: status %d: %s", sid, status, clip(got))
		}
		if i >= *connected {
			continue
		}
		hook, _ := json.Marshal(map[string]any{
			"session_id": sid, "phone_number": "52155" + fmt.Sprintf("%08d", i), "status": "connected",
			"last_seen": time.Now().UTC().Format(time.RFC3339), "auth_folder_path": "/data/auth/" + sid,
			"server_port": 3001, "whatsapp_user_id": fmt.Sprintf("52155%08d@s.whatsapp.net", i),
		})
		ts, sig := signature(*secret, hook, time.Now())
		status, got, err = do(ctx, http.MethodPost, api+"/new-session-connected", string(hook), "", ts, sig)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("webhook %s: status %d: %s", sid, status, clip(got))
		}
	}
	status, got, err := do(ctx, http.MethodGet, api+"?status=eq.connected", "", "Bearer "+*tok, "", "")
	if err != nil {
		return err
	}
	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	if status != http.StatusOK || json.Unmarshal(got, &list) != nil || len(list.Data) < *connected {
		return fmt.Errorf("list ?status=eq.connected after seeding: status %d, want %d rows: %s", status, *connected, clip(got))
	}
	return nil
}

func clip(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
