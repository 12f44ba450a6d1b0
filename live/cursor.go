package live

import (
	"sort"
	"time"
)

// cursor is where the poller stands in the history: every entry with an
// id up to at has been seen, except the gaps. A gap is an id below at that
// was missing when a later one arrived: a transaction that took its id
// first may still commit after one that took a later id, so a gap is asked
// for again on every poll until it arrives or expires (a rolled-back
// transaction or a skipped identity value never fills it).
type cursor struct {
	known   bool
	at      int64
	gaps    map[int64]time.Time // id -> when it stops being asked for
	maxGaps int
	gapTTL  time.Duration
}

func newCursor(maxGaps int, gapTTL time.Duration) *cursor {
	return &cursor{gaps: make(map[int64]time.Time), maxGaps: maxGaps, gapTTL: gapTTL}
}

// reset forgets the position: nobody is listening, and reading on from an
// old position after a quiet hour would replay the whole hour.
func (c *cursor) reset() {
	c.known, c.at = false, 0
	clear(c.gaps)
}

// start places the cursor from the newest entries of the history (newest
// first, as LatestEvents returns them): ids missing between them are gaps.
func (c *cursor) start(newest []int64, now time.Time) {
	c.reset()
	c.known = true
	if len(newest) == 0 {
		return
	}
	ids := append([]int64(nil), newest...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	c.at = ids[0]
	c.advance(ids[1:], now)
}

// pending returns the gaps still worth asking for, lowest first, dropping
// the expired ones.
func (c *cursor) pending(now time.Time) []int64 {
	out := make([]int64, 0, len(c.gaps))
	for id, until := range c.gaps {
		if now.After(until) {
			delete(c.gaps, id)
			continue
		}
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// accept takes the ids of one poll's answer, in increasing order, and
// returns which of them are new (not seen before): entries above the
// cursor, and gaps that have now arrived.
func (c *cursor) accept(ids []int64, now time.Time) []bool {
	fresh := make([]bool, len(ids))
	var above []int64
	for i, id := range ids {
		switch {
		case id > c.at:
			fresh[i] = true
			above = append(above, id)
		default:
			if _, ok := c.gaps[id]; ok {
				delete(c.gaps, id)
				fresh[i] = true
			}
		}
	}
	c.advance(above, now)
	return fresh
}

// advance moves the cursor over ids (increasing, all above it), recording
// the ids skipped as gaps; of a long run only the newest are kept, and the
// total stays under maxGaps by forgetting the oldest.
func (c *cursor) advance(ids []int64, now time.Time) {
	until := now.Add(c.gapTTL)
	for _, id := range ids {
		from := c.at + 1
		if id-from > int64(c.maxGaps) {
			from = id - int64(c.maxGaps)
		}
		for g := from; g < id; g++ {
			c.gaps[g] = until
		}
		c.at = id
	}
	if len(c.gaps) > c.maxGaps {
		all := make([]int64, 0, len(c.gaps))
		for id := range c.gaps {
			all = append(all, id)
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		for _, id := range all[:len(all)-c.maxGaps] {
			delete(c.gaps, id)
		}
	}
}
