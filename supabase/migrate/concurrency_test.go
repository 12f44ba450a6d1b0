package migrate_test

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// The orchestrator's webhook and the frontend's create race for the same
// session_id, from many connections at once, at READ COMMITTED. Whatever
// the interleaving, the end state must be the one docs/api.md describes:
// one row, linked to the sesión whose create won, connected, carrying the
// newest report, and that sesión activo.
func TestWebhookAndCreateRace(t *testing.T) {
	t.Parallel()
	const rounds, callers = 10, 20
	base := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		// lastSeen gives the report of webhook caller i.
		lastSeen func(i int) time.Time
		// identical: every webhook sends the same report, so all but the
		// first to write must be duplicates.
		identical bool
	}{
		{"distinct reports", func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }, false},
		{"one report delivered many times", func(int) time.Time { return base }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := newDatabase(t)
			ctx := testContext(t)
			orders := map[string]int{}
			defer func() { t.Logf("winning creates over %d rounds: %v", rounds, orders) }()
			for round := range rounds {
				sessionID := fmt.Sprintf("race_%d", round)
				sesiones := []int64{newSesion(t, pool), newSesion(t, pool)}

				var (
					wg        sync.WaitGroup
					mu        sync.Mutex
					creates   = map[string]int{} // outcome or SQLSTATE -> count
					webhooks  = map[string]int{}
					winner    int64
					newest    time.Time
					startLine = make(chan struct{})
				)
				for i := range callers {
					if i%2 == 0 {
						seen := tt.lastSeen(i)
						if seen.After(newest) {
							newest = seen
						}
						wg.Go(func() {
							<-startLine
							r, err := connected(ctx, pool, sessionID, map[string]any{
								"phone_number": "5215512345678", "last_seen": seen, "server_port": 3000 + round,
							})
							mu.Lock()
							defer mu.Unlock()
							if err != nil {
								webhooks["error "+sqlState(err)]++
								return
							}
							webhooks[r.Outcome]++
						})
						continue
					}
					sesionID := sesiones[(i/2)%2]
					wg.Go(func() {
						<-startLine
						r, err := createSession(ctx, pool, sessionID, sesionID)
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							creates["error "+sqlState(err)]++
							return
						}
						creates[r.Outcome]++
						winner = sesionID
					})
				}
				close(startLine)
				wg.Wait()

				// Exactly one create wins; the others are told the session exists.
				if creates["created"]+creates["linked"] != 1 || creates["error 23505"] != callers/2-1 {
					t.Fatalf("%s creates: got %v, want one created or linked and %d × 23505", sessionID, creates, callers/2-1)
				}
				for outcome := range webhooks {
					switch outcome {
					case "early", "applied", "stale", "duplicate":
					default:
						t.Fatalf("%s webhooks: got %v, want only early, applied, stale, duplicate", sessionID, webhooks)
					}
				}
				// Exactly one caller inserted the row, and it is "linked"
				// exactly when a webhook inserted it.
				if webhooks["early"]+creates["created"] != 1 || (creates["linked"] == 1) != (webhooks["early"] == 1) {
					t.Fatalf("%s: creates %v, webhooks %v; want exactly one insert", sessionID, creates, webhooks)
				}

				if tt.identical && webhooks["early"]+webhooks["applied"] != 1 {
					t.Fatalf("%s webhooks: got %v, want one early or applied and the rest duplicate", sessionID, webhooks)
				}
				for outcome, n := range creates {
					if outcome == "created" || outcome == "linked" {
						orders[outcome] += n
					}
				}

				if n := count(t, pool, "select count(*) from public.whatsapp_sessions where session_id = $1", sessionID); n != 1 {
					t.Fatalf("%s: got %d rows, want 1", sessionID, n)
				}
				got := readSession(t, pool, sessionID)
				if got.SesionID == nil || *got.SesionID != winner || got.Status != "connected" ||
					got.LastSeen == nil || !got.LastSeen.Equal(newest) || deref(got.PhoneNumber) != "5215512345678" {
					t.Fatalf("%s: got %v, want linked to %d, connected, last_seen %v", sessionID, got, winner, newest)
				}
				for _, id := range sesiones {
					s := readSesion(t, pool, id)
					if id == winner && (s.Estado != "activo" || deref(s.PhoneNumber) != "5215512345678") {
						t.Fatalf("%s: winning sesión %d is %q with phone %v, want activo with 5215512345678", sessionID, id, s.Estado, deref(s.PhoneNumber))
					}
					if id != winner && s.Estado != "inactivo" {
						t.Fatalf("%s: losing sesión %d is %q, want inactivo", sessionID, id, s.Estado)
					}
				}
			}
		})
	}
}
