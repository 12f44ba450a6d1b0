package migrate_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var statuses = []string{"pending", "connected", "disconnected", "expired"}

// transitions is the status table of docs/api.md, written out pair by pair so the
// test does not share a mistake with the SQL.
var transitions = []struct {
	from, to string
	allowed  bool
}{
	{"pending", "pending", true},
	{"pending", "connected", true},
	{"pending", "disconnected", true},
	{"pending", "expired", true},
	{"connected", "pending", false},
	{"connected", "connected", true},
	{"connected", "disconnected", true},
	{"connected", "expired", false},
	{"disconnected", "pending", false},
	{"disconnected", "connected", true},
	{"disconnected", "disconnected", true},
	{"disconnected", "expired", true},
	{"expired", "pending", false},
	{"expired", "connected", false},
	{"expired", "disconnected", false},
	{"expired", "expired", true},
}

func allowed(from, to string) bool {
	for _, tr := range transitions {
		if tr.from == from && tr.to == to {
			return tr.allowed
		}
	}
	return false
}

func TestStatusTransitions(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	if len(transitions) != len(statuses)*len(statuses) {
		t.Fatalf("the matrix has %d pairs, want %d", len(transitions), len(statuses)*len(statuses))
	}

	for i, tr := range transitions {
		t.Run(tr.from+"_to_"+tr.to, func(t *testing.T) {
			sessionID := fmt.Sprintf("transition_%d", i)
			mustExec(t, pool, "insert into public.whatsapp_sessions (session_id, status) values ($1, $2)", sessionID, tr.from)
			before := readSession(t, pool, sessionID)

			_, err := pool.Exec(ctx, "update public.whatsapp_sessions set status = $2 where session_id = $1", sessionID, tr.to)
			after := readSession(t, pool, sessionID)
			if tr.allowed {
				if err != nil {
					t.Fatalf("%s -> %s: got %v, want allowed", tr.from, tr.to, err)
				}
				if after.Status != tr.to {
					t.Fatalf("%s -> %s: got status %q", tr.from, tr.to, after.Status)
				}
				return
			}
			wantInvalidTransition(t, err, tr.from, tr.to)
			if after.Status != tr.from || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("%s -> %s refused: got status %q updated_at %v, want the row untouched", tr.from, tr.to, after.Status, after.UpdatedAt)
			}
		})
	}

	t.Run("the rule function agrees", func(t *testing.T) {
		for _, tr := range transitions {
			var got bool
			err := pool.QueryRow(ctx, "select public.whatsapp_session_status_transition_allowed($1, $2)", tr.from, tr.to).Scan(&got)
			if err != nil {
				t.Fatal(err)
			}
			if got != tr.allowed {
				t.Errorf("whatsapp_session_status_transition_allowed(%s, %s): got %v, want %v", tr.from, tr.to, got, tr.allowed)
			}
		}
	})

	t.Run("an unknown status is bad data, not a transition", func(t *testing.T) {
		mustExec(t, pool, "insert into public.whatsapp_sessions (session_id, status) values ('unknown_status', 'connected')")
		_, err := pool.Exec(ctx, "update public.whatsapp_sessions set status = 'online' where session_id = 'unknown_status'")
		if got := sqlState(err); got != "23514" {
			t.Fatalf("status online: got %q, want 23514", got)
		}
	})

	t.Run("other columns change freely in a final state", func(t *testing.T) {
		mustExec(t, pool, "insert into public.whatsapp_sessions (session_id, status) values ('final', 'expired')")
		mustExec(t, pool, "update public.whatsapp_sessions set phone_number = '5215512345678', server_port = 3001 where session_id = 'final'")
	})
}

// Plain UPDATEs racing on one row: every committed change must be an
// allowed step from the version it actually replaced. A test-only audit
// trigger records each committed step; the steps must chain from pending
// to the final status, each allowed by section 6.
func TestConcurrentStatusUpdates(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	mustExec(t, pool, "create table public.status_audit (seq bigserial primary key, session_id text, old_status text, new_status text)")
	mustExec(t, pool, `create function public.status_audit() returns trigger language plpgsql as $$
		begin
		  insert into public.status_audit (session_id, old_status, new_status) values (new.session_id, old.status, new.status);
		  return new;
		end $$`)
	// AFTER ROW triggers run while the row lock is held, so seq follows the
	// order in which the updates took the row.
	mustExec(t, pool, "create trigger status_audit after update on public.whatsapp_sessions for each row execute function public.status_audit()")

	const rounds, writers = 5, 20
	for round := range rounds {
		sessionID := fmt.Sprintf("race_%d", round)
		mustExec(t, pool, "insert into public.whatsapp_sessions (session_id) values ($1)", sessionID)

		var wg sync.WaitGroup
		errs := make(chan error, writers)
		start := make(chan struct{})
		for w := range writers {
			target := statuses[(w+round)%len(statuses)]
			wg.Go(func() {
				<-start
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, "update public.whatsapp_sessions set status = $2 where session_id = $1", sessionID, target); err != nil {
						return err
					}
					// Hold the row a moment so that others queue behind it
					// and must re-check against the version it commits.
					time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
					return nil
				})
				if err != nil {
					if pgErr := pgError(err); pgErr == nil || pgErr.Code != "PT409" || pgErr.Hint != "invalid_transition" {
						errs <- fmt.Errorf("update to %s: %w", target, err)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%s: got %v, want success or PT409", sessionID, err)
		}

		rows, err := pool.Query(ctx, "select old_status, new_status from public.status_audit where session_id = $1 order by seq", sessionID)
		if err != nil {
			t.Fatal(err)
		}
		type step struct{ Old, New string }
		steps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[step])
		if err != nil {
			t.Fatal(err)
		}
		current := "pending"
		for i, s := range steps {
			if s.Old != current {
				t.Fatalf("%s step %d: replaced %q, want the previous result %q (steps %v)", sessionID, i, s.Old, current, steps)
			}
			if !allowed(s.Old, s.New) {
				t.Fatalf("%s step %d: %s -> %s committed, which section 6 forbids (steps %v)", sessionID, i, s.Old, s.New, steps)
			}
			current = s.New
		}
		if got := readSession(t, pool, sessionID); got.Status != current {
			t.Fatalf("%s: final status %q, want %q, where the committed steps lead", sessionID, got.Status, current)
		}
		if len(steps) == 0 {
			t.Fatalf("%s: no update committed", sessionID)
		}
	}
}
