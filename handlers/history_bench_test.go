package handlers_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkWebhookWrite is the webhook end to end (gateway, client, local
// Data API, PostgreSQL), every delivery applied to the next of 50 linked
// sessions, with the history trigger on and off: the trigger's price on the
// hottest write path. See also bench/history.sh for the same under load.
func BenchmarkWebhookWrite(b *testing.B) {
	for _, history := range []string{"on", "off"} {
		b.Run("history="+history, func(b *testing.B) {
			s := newStack(b)
			ctx := context.Background()
			const sessions = 50
			if _, err := s.Pool.Exec(ctx, `
				insert into public.whatsapp_sessions (session_id, sesion_id)
				select 'bench_' || g, $1 from generate_series(1, $2) g`, s.SesionID, sessions); err != nil {
				b.Fatal(err)
			}
			if history == "off" {
				if _, err := s.Pool.Exec(ctx, `alter table public.whatsapp_sessions disable trigger whatsapp_sessions_record_event`); err != nil {
					b.Fatal(err)
				}
			}
			url := s.URL + "/api/whatsapp_sessions/new-session-connected"
			before := s.count(b, `select count(*) from public.whatsapp_session_events`)
			b.ResetTimer()
			for i := range b.N {
				// No last_seen: "seen now", so every delivery writes.
				body := `{"session_id":"bench_` + strconv.Itoa(i%sessions+1) + `","phone_number":"5215512345678","status":"connected"}`
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+testWebhookSecret)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("got status %d, want 200", res.StatusCode)
				}
			}
			b.StopTimer()
			written := s.count(b, `select count(*) from public.whatsapp_session_events`) - before
			b.ReportMetric(float64(written)/float64(b.N), "entries/op")
		})
	}
}
