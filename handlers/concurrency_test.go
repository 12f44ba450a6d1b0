package handlers_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentPatchesRespectTransitions races 20 PATCHes with conflicting
// statuses on one session. Whatever the interleaving, every answer must be
// 200 or 409 invalid_transition, and the final status must agree with the
// answers: once a PATCH to expired succeeded, nothing may leave expired.
func TestConcurrentPatchesRespectTransitions(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	for round := 0; round < 3; round++ {
		row := s.create(t, fmt.Sprintf("race_patch_%d", round))
		path := "/api/whatsapp_sessions/" + itoa(row.ID)
		targets := []string{"connected", "disconnected", "expired", "connected", "disconnected"}

		var wg sync.WaitGroup
		results := make([]response, 20)
		for i := range results {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				results[i] = s.user(t, http.MethodPatch, path, `{"status":"`+targets[i%len(targets)]+`"}`)
			}(i)
		}
		wg.Wait()

		expiredApplied := false
		for i, r := range results {
			switch {
			case r.Status == http.StatusOK:
				if targets[i%len(targets)] == "expired" {
					expiredApplied = true
				}
			case r.Status == http.StatusConflict && r.Error.Code == "invalid_transition":
			default:
				t.Fatalf("request %d: got %d %s, want 200 or 409 invalid_transition", i, r.Status, r.Raw)
			}
		}
		final := s.user(t, http.MethodGet, path, "").session(t).Status
		if expiredApplied && final != "expired" {
			t.Errorf("round %d: a PATCH to expired succeeded but the final status is %s: a later write overrode a final state", round, final)
		}
		if final == "pending" {
			t.Errorf("round %d: final status pending, but no transition leads back to pending", round)
		}
	}
}

// TestWebhookRacingCreate sends the orchestrator's webhook and the
// frontend's create for the same session at the same moment, many times.
// Every pair must end with exactly one row, linked, connected, and the
// sesiones row active, whichever request won.
func TestWebhookRacingCreate(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	const pairs = 20
	sesiones := make([]int64, pairs)
	for i := range sesiones {
		sesiones[i] = s.newSesion(t)
	}
	var wg sync.WaitGroup
	creates := make([]response, pairs)
	hooks := make([]response, pairs)
	for i := 0; i < pairs; i++ {
		id := fmt.Sprintf("race_pair_%d", i)
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			creates[i] = s.user(t, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"`+id+`","sesion_id":`+itoa(sesiones[i])+`}`)
		}(i)
		go func(i int) {
			defer wg.Done()
			hooks[i] = s.webhook(t, orchestratorBody(id, "2024-01-15T10:30:00Z"))
		}(i)
	}
	wg.Wait()

	for i := 0; i < pairs; i++ {
		wantStatus(t, creates[i], http.StatusCreated)
		wantStatus(t, hooks[i], http.StatusOK)
		id := fmt.Sprintf("race_pair_%d", i)
		if n := s.count(t, `select count(*) from public.whatsapp_sessions where session_id = $1 and sesion_id = $2 and status = 'connected'`, id, sesiones[i]); n != 1 {
			t.Errorf("pair %d: got %d linked connected rows, want 1", i, n)
		}
		if estado, _ := s.sesion(t, sesiones[i]); estado != "activo" {
			t.Errorf("pair %d: got estado %q, want activo", i, estado)
		}
	}
}
