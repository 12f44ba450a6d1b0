package live

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wasessions/gateway/supabase"
)

// noHistory is a history with no entries.
type noHistory struct{}

func (noHistory) EventsSince(context.Context, int64, []int64, int) ([]supabase.SessionEvent, error) {
	return nil, nil
}

func (noHistory) LatestEvents(context.Context, int) ([]supabase.SessionEvent, error) {
	return nil, nil
}

// A stream that falls behind before its writer has taken anything still
// answers with its response head: the retry hint alone would not be HTTP.
func TestLagBeforeTheFirstWriteKeepsTheResponseHead(t *testing.T) {
	// One P: the writer Attach starts cannot run before the deliver below.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b := New(Config{Source: noHistory{}, MaxPending: 100})
	s, err := b.Open(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	near, far := net.Pipe()
	defer far.Close()
	head := []byte("HTTP/1.1 200 OK\r\n\r\n")
	row := []byte(`{"padding":"` + strings.Repeat("x", 200) + `"}`)
	s.Attach(near, head, []supabase.SessionEvent{{ID: 1, SessionID: 1, Row: row}}, 0, time.Time{})
	s.deliver(supabase.SessionEvent{ID: 2, SessionID: 1, Row: row})
	_ = far.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(far)
	if !bytes.HasPrefix(got, head) || !bytes.Contains(got, []byte("retry: ")) {
		t.Fatalf("got %q, want the head, then a retry hint", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Wait(ctx); err != nil {
		t.Fatalf("wait: %v", err)
	}
}
