// Command streamload is the live-stream half of `make bench` (see
// bench/README.md): against one gateway it opens many idle live streams,
// then sends webhooks at a steady rate and measures how long each change
// takes from the webhook's request to every stream that follows the
// session, and the gateway's resident memory per open stream.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "gateway base URL")
	streams := flag.Int("streams", 5000, "live streams to open")
	sessions := flag.Int("sessions", 100, "sessions the streams follow (streams/sessions per session)")
	rate := flag.Float64("rate", 20, "webhooks per second")
	duration := flag.Duration("duration", 20*time.Second, "how long webhooks are sent")
	jwtSecret := flag.String("jwt-secret", "", "SUPABASE_JWT_SECRET of the gateway")
	webhookSecret := flag.String("webhook-secret", "", "WEBHOOK_SECRET of the gateway")
	sesion := flag.Int64("sesion", 1, "sesiones row the sessions are linked to")
	user := flag.String("user", "00000000-0000-0000-0000-000000000001", "the token's sub: the owner of that sesiones row (local mode's sample user)")
	pid := flag.Int("pid", 0, "the gateway's process id, for its resident memory")
	flag.Parse()
	if err := run(config{*base, *streams, *sessions, *rate, *duration, *jwtSecret, *webhookSecret, *sesion, *user, *pid}); err != nil {
		fmt.Fprintln(os.Stderr, "streamload:", err)
		os.Exit(1)
	}
}

type config struct {
	base                     string
	streams, sessions        int
	rate                     float64
	duration                 time.Duration
	jwtSecret, webhookSecret string
	sesion                   int64
	user                     string
	pid                      int
}

func run(cfg config) error {
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": cfg.user, "aud": "authenticated", "role": "authenticated",
		"iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Hour).Unix(),
	}).SignedString([]byte(cfg.jwtSecret))
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 64,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}}
	prefix := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	ids := make([]int64, cfg.sessions)
	for i := range ids {
		if ids[i], err = createSession(client, cfg, token, fmt.Sprintf("%s-%d", prefix, i)); err != nil {
			return err
		}
	}
	runtime.GC()
	rssBefore := rssKiB(cfg.pid)

	// sent[port] is when the webhook that set server_port=port was sent.
	var sent sync.Map
	var (
		latMu     sync.Mutex
		latencies []time.Duration
		dropped   atomic.Int64
		opened    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readers sync.WaitGroup
	openErr := make(chan error, 1)
	// At most 32 streams opening at once: each open reads the session
	// twice, and a burst of 5,000 would measure the database, not streams.
	opening := make(chan struct{}, 32)
	for i := range cfg.streams {
		opened.Add(1)
		readers.Add(1)
		opening <- struct{}{}
		go func(id int64) {
			defer readers.Done()
			var once sync.Once
			ready := func() { once.Do(func() { <-opening; opened.Done() }) }
			defer ready()
			err := follow(ctx, client, cfg.base, token, id, ready, func(port int, at time.Time) {
				if t, ok := sent.Load(port); ok {
					latMu.Lock()
					latencies = append(latencies, at.Sub(t.(time.Time)))
					latMu.Unlock()
				}
			})
			if ctx.Err() == nil {
				dropped.Add(1)
				select {
				case openErr <- err:
				default:
				}
			}
		}(ids[i%len(ids)])
	}
	opened.Wait()
	select {
	case err := <-openErr:
		return fmt.Errorf("a stream failed while opening: %v", err)
	default:
	}
	time.Sleep(2 * time.Second) // let the gateway settle
	rssOpen := rssKiB(cfg.pid)

	// Webhooks at a steady rate, each to the next session, each with a
	// server_port never used before, so every one is a change.
	interval := time.Duration(float64(time.Second) / cfg.rate)
	tick := time.NewTicker(interval)
	deadline := time.Now().Add(cfg.duration)
	port, sentCount, failed := 1000, 0, 0
	var answers []time.Duration // each webhook's own answer time
	for time.Now().Before(deadline) {
		<-tick.C
		port++
		sess := fmt.Sprintf("%s-%d", prefix, sentCount%cfg.sessions)
		start := time.Now()
		sent.Store(port, start)
		if err := webhook(client, cfg, sess, port); err != nil {
			failed++
			fmt.Fprintln(os.Stderr, "streamload: webhook:", err)
		}
		answers = append(answers, time.Since(start))
		sentCount++
	}
	tick.Stop()
	time.Sleep(2 * time.Second) // the last deliveries
	rssEnd := rssKiB(cfg.pid)
	lost := dropped.Load()
	cancel()
	readers.Wait()

	latMu.Lock()
	defer latMu.Unlock()
	slices.Sort(latencies)
	expected := sentCount * (cfg.streams / cfg.sessions)
	perStream := float64(rssOpen-rssBefore) / float64(cfg.streams)
	slices.Sort(answers)
	fmt.Printf("| streams | sessions | webhooks/s | webhooks | deliveries (expected) | delivery p50 / p99 / max ms | webhook answer p50 / p99 ms | RSS before / with streams / end MiB | RSS per idle stream KiB | streams dropped | webhook errors |\n")
	fmt.Printf("| ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | ---: | ---: |\n")
	fmt.Printf("| %d | %d | %.0f | %d | %d (%d) | %.1f / %.1f / %.1f | %.1f / %.1f | %.1f / %.1f / %.1f | %.1f | %d | %d |\n",
		cfg.streams, cfg.sessions, cfg.rate, sentCount, len(latencies), expected,
		ms(pct(latencies, 0.50)), ms(pct(latencies, 0.99)), ms(pct(latencies, 1)),
		ms(pct(answers, 0.50)), ms(pct(answers, 0.99)),
		float64(rssBefore)/1024, float64(rssOpen)/1024, float64(rssEnd)/1024, perStream, lost, failed)
	if lost > 0 || len(latencies) < expected {
		return fmt.Errorf("%d streams dropped, %d of %d deliveries arrived", lost, len(latencies), expected)
	}
	return nil
}

// follow reads one live stream until ctx ends, calling ready after the
// first event and got for every session event with its server_port.
func follow(ctx context.Context, client *http.Client, base, token string, id int64, ready func(), got func(port int, at time.Time)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/whatsapp_sessions/%d/events", base, id), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("open: %d %s", res.StatusCode, b)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 4096), 1<<20)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		at := time.Now()
		if first {
			first = false
			ready()
			continue
		}
		if p := portOf(line); p > 0 {
			got(p, at)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

func portOf(line string) int {
	_, rest, ok := strings.Cut(line, `"server_port":`)
	if !ok {
		return 0
	}
	end := strings.IndexAny(rest, ",}")
	if end < 0 {
		return 0
	}
	p, _ := strconv.Atoi(rest[:end])
	return p
}

func createSession(client *http.Client, cfg config, token, sessionID string) (int64, error) {
	body := fmt.Sprintf(`{"session_id":%q,"sesion_id":%d}`, sessionID, cfg.sesion)
	req, _ := http.NewRequest(http.MethodPost, cfg.base+"/api/whatsapp_sessions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("create session: %d %s", res.StatusCode, b)
	}
	_, rest, _ := strings.Cut(string(b), `"id":`)
	end := strings.IndexAny(rest, ",}")
	return strconv.ParseInt(rest[:max(end, 0)], 10, 64)
}

func webhook(client *http.Client, cfg config, sessionID string, port int) error {
	body := fmt.Sprintf(`{"session_id":%q,"status":"connected","phone_number":"5215512345678","server_port":%d}`, sessionID, port)
	req, _ := http.NewRequest(http.MethodPost, cfg.base+"/api/whatsapp_sessions/new-session-connected", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cfg.webhookSecret)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// rssKiB is a process's resident memory (VmRSS), 0 when unknown.
func rssKiB(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
