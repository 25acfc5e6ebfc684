package ratelimit

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// shardLen returns the number of entries of one shard.
func (m *Memory) shardLen(i int) int {
	sh := &m.shards[i]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return len(sh.entries)
}

// keysInShard returns n distinct keys with prefix that all hash to shard.
func keysInShard(prefix string, shard, n int) []string {
	keys := make([]string, 0, n)
	for i := 0; len(keys) < n; i++ {
		k := prefix + strconv.Itoa(i)
		if shardOf(k) == shard {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestMemorySweep(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration // after filling, before the fresh calls
		want    int           // entries left after the fresh calls
	}{
		// Both windows of the old keys are over: they are all dropped.
		{name: "stale entries are freed", advance: 2 * time.Minute, want: 2000},
		// The old keys' current window became the previous one: they are
		// still needed and must be kept.
		{name: "live entries are kept", advance: 2*time.Minute - time.Nanosecond, want: 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			m := NewMemory(clk.Now)
			r := Rule{Limit: 5, Window: time.Minute}
			for i := range 1000 {
				mustAllow(t, m, fmt.Sprintf("old-%d", i), r)
			}
			if got := m.len(); got != 1000 {
				t.Fatalf("len after filling = %d, want 1000", got)
			}
			clk.Advance(tt.advance)
			for i := range 2000 {
				mustAllow(t, m, fmt.Sprintf("new-%d", i), r)
			}
			if got := m.len(); got != tt.want {
				t.Fatalf("len after fresh calls = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestMemoryFullSweep checks that stale entries stuck behind a live one in
// the least recently used order are still freed, by the full sweep.
func TestMemoryFullSweep(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(clk.Now)
	const shard = 7
	keys := keysInShard("k", shard, 1+1500+600)
	long, short, fresh := keys[0], keys[1:1501], keys[1501:]

	mustAllow(t, m, long, Rule{Limit: 1, Window: time.Hour})
	r := Rule{Limit: 1, Window: time.Second}
	for _, k := range short {
		mustAllow(t, m, k, r)
	}
	clk.Advance(2 * time.Second) // short entries stale, long one not
	for _, k := range fresh {
		mustAllow(t, m, k, r)
	}
	// The full sweep runs once the shard reaches 2048 entries (twice its
	// size at the previous sweep), dropping the 1500 stale ones.
	if got, want := m.shardLen(shard), 1+len(fresh); got != want {
		t.Fatalf("shard holds %d entries, want %d", got, want)
	}
	if d := mustAllow(t, m, long, Rule{Limit: 1, Window: time.Hour}); d.Allowed {
		t.Fatalf("live entry was swept: %+v", d)
	}
}

func TestMemoryCap(t *testing.T) {
	tests := []struct {
		name      string
		keepAlive bool // touch the first key after every flood key
		wantFirst bool // whether the first key's count survives the flood
	}{
		{name: "flood evicts the least recently used", keepAlive: false, wantFirst: false},
		{name: "recently used key survives the flood", keepAlive: true, wantFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const maxPerShard = 10
			clk := newFakeClock()
			m := NewMemory(clk.Now)
			m.maxPerShard = maxPerShard
			r := Rule{Limit: 1, Window: time.Hour}

			mustAllow(t, m, "first", r)
			var last string
			for i := range 10000 {
				last = fmt.Sprintf("flood-%d", i)
				mustAllow(t, m, last, r)
				if tt.keepAlive {
					if d := mustAllow(t, m, "first", r); d.Allowed {
						t.Fatalf("first key forgotten after %d flood keys: %+v", i+1, d)
					}
				}
				if i%997 == 0 {
					clk.Advance(time.Millisecond) // time passes, nothing goes stale
				}
			}
			for i := range memoryShards {
				if got := m.shardLen(i); got > maxPerShard {
					t.Fatalf("shard %d holds %d entries, cap is %d", i, got, maxPerShard)
				}
			}
			if got := m.len(); got != memoryShards*maxPerShard {
				t.Fatalf("len = %d, want every shard full (%d)", got, memoryShards*maxPerShard)
			}
			if d := mustAllow(t, m, last, r); d.Allowed {
				t.Fatalf("most recent key was evicted: %+v", d)
			}
			// The first key's only event is remembered iff it survived.
			if d := mustAllow(t, m, "first", r); d.Allowed == tt.wantFirst {
				t.Fatalf("first key: Allowed = %v, want %v (survived = %v)", d.Allowed, !tt.wantFirst, tt.wantFirst)
			}
		})
	}
}

func TestMemoryUnlimitedStoresNothing(t *testing.T) {
	m := NewMemory(nil)
	for _, r := range []Rule{{Limit: 0, Window: time.Minute}, {Limit: -5}} {
		for i := range 100 {
			mustAllow(t, m, strconv.Itoa(i), r)
		}
	}
	if got := m.len(); got != 0 {
		t.Fatalf("unlimited calls stored %d entries", got)
	}
}

func TestMemoryWindowsCountedSeparately(t *testing.T) {
	m := NewMemory(newFakeClock().Now)
	minute := Rule{Limit: 1, Window: time.Minute}
	hour := Rule{Limit: 1, Window: time.Hour}
	steps := []struct {
		r    Rule
		want bool
	}{{minute, true}, {hour, true}, {minute, false}, {hour, false}}
	for i, s := range steps {
		if d := mustAllow(t, m, "k", s.r); d.Allowed != s.want {
			t.Fatalf("step %d (%v): Allowed = %v, want %v", i, s.r.Window, d.Allowed, s.want)
		}
	}
}

func BenchmarkMemoryAllowParallel(b *testing.B) {
	const nkeys = 1 << 16
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = "bench:ip:" + strconv.Itoa(i)
	}
	m := NewMemory(nil)
	r := Rule{Limit: 1000, Window: time.Minute}
	var seed atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := seed.Add(7919) // different start per goroutine
		for pb.Next() {
			i++
			if _, err := m.Allow(b.Context(), keys[i%nkeys], r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
