package live

import (
	"reflect"
	"testing"
	"time"
)

func TestCursorGaps(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		start     []int64 // newest first, as LatestEvents returns them
		polls     [][]int64
		wantAt    int64
		wantGaps  []int64
		wantFresh [][]bool
	}{
		{
			name:      "in order: no gaps",
			start:     []int64{3, 2, 1},
			polls:     [][]int64{{4, 5}},
			wantAt:    5,
			wantFresh: [][]bool{{true, true}},
		},
		{
			// A transaction holding id 5 commits after the one holding 6:
			// the first poll sees 6 only, the next one asks for 5 again.
			name:      "late commit fills its gap",
			start:     []int64{4},
			polls:     [][]int64{{6}, {5, 7}},
			wantAt:    7,
			wantFresh: [][]bool{{true}, {true, true}},
		},
		{
			name:      "gap inside the first read",
			start:     []int64{10, 7},
			polls:     [][]int64{{8, 11}},
			wantAt:    11,
			wantGaps:  []int64{9},
			wantFresh: [][]bool{{true, true}},
		},
		{
			name:      "seen twice is delivered once",
			start:     []int64{1},
			polls:     [][]int64{{2, 3}, {3}},
			wantAt:    3,
			wantFresh: [][]bool{{true, true}, {false}},
		},
		{
			name:      "a long skip keeps only the newest gaps",
			start:     []int64{1},
			polls:     [][]int64{{100}},
			wantAt:    100,
			wantGaps:  []int64{96, 97, 98, 99},
			wantFresh: [][]bool{{true}},
		},
		{
			name:      "empty history",
			polls:     [][]int64{{1, 3}},
			wantAt:    3,
			wantGaps:  []int64{2},
			wantFresh: [][]bool{{true, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCursor(4, time.Minute)
			c.start(tt.start, now)
			for i, ids := range tt.polls {
				if got := c.accept(ids, now); !reflect.DeepEqual(got, tt.wantFresh[i]) {
					t.Fatalf("poll %d %v: got fresh %v, want %v", i, ids, got, tt.wantFresh[i])
				}
			}
			if c.at != tt.wantAt {
				t.Errorf("got cursor %d, want %d", c.at, tt.wantAt)
			}
			if got := c.pending(now); !reflect.DeepEqual(got, append([]int64{}, tt.wantGaps...)) {
				t.Errorf("got gaps %v, want %v", got, tt.wantGaps)
			}
		})
	}
}

func TestCursorGapsExpire(t *testing.T) {
	now := time.Now()
	c := newCursor(10, time.Second)
	c.start([]int64{1}, now)
	c.accept([]int64{3}, now)
	if got := c.pending(now); !reflect.DeepEqual(got, []int64{2}) {
		t.Fatalf("got gaps %v, want [2]", got)
	}
	if got := c.pending(now.Add(2 * time.Second)); len(got) != 0 {
		t.Fatalf("got gaps %v after their time, want none", got)
	}
	// A gap that arrives after it expired is not delivered: by then it is
	// indistinguishable from an entry already seen.
	if got := c.accept([]int64{2}, now.Add(3*time.Second)); got[0] {
		t.Fatal("an expired gap was taken as new")
	}
}
