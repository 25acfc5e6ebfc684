package ratelimit

import (
	"math"
	"testing"
	"time"
)

func TestWindowDecide(t *testing.T) {
	const sec = int64(time.Second)
	tests := []struct {
		name          string
		w             window
		wantAllowed   bool
		wantRemaining int64
		wantWait      time.Duration
	}{
		{
			name:          "empty window allows the whole limit",
			w:             window{limit: 5, size: 10 * sec},
			wantAllowed:   true,
			wantRemaining: 4,
		},
		{
			name:          "last slot of the window",
			w:             window{limit: 5, cur: 4, elapsed: 3 * sec, size: 10 * sec},
			wantAllowed:   true,
			wantRemaining: 0,
		},
		{
			name:     "full window waits for the next one",
			w:        window{limit: 5, cur: 5, elapsed: 3 * sec, size: 10 * sec},
			wantWait: 7 * time.Second,
		},
		{
			name:     "full window at its first tick waits a whole window",
			w:        window{limit: 5, cur: 5, size: 10 * sec},
			wantWait: 10 * time.Second,
		},
		{
			name:          "previous window almost fully weighted at the first tick",
			w:             window{limit: 10, prev: 10, size: 10 * sec},
			wantAllowed:   true,
			wantRemaining: 0, // floor(10*(10s-1ns)/10s) = 9 → effective limit 1
		},
		{
			name:          "previous window half weighted",
			w:             window{limit: 10, prev: 10, cur: 5, elapsed: 5 * sec, size: 10 * sec},
			wantAllowed:   true,
			wantRemaining: 0, // floor(10*(5s-1ns)/10s) = 4 → effective limit 6
		},
		{
			name: "refused until the previous window fades",
			w:    window{limit: 10, prev: 10, cur: 6, elapsed: 5 * sec, size: 10 * sec},
			// need floor(10*left/10s) <= 3: left < 4s, i.e. elapsed >= 6s.
			wantWait: time.Second,
		},
		{
			name: "count above a lowered limit waits into the next window",
			w:    window{limit: 2, cur: 4, elapsed: 9 * sec, size: 10 * sec},
			// next window: floor(4*left/10s) <= 1 needs left < 5s, i.e.
			// left <= 5s-1ns, i.e. elapsed >= 5s there.
			wantWait: 6 * time.Second,
		},
		{
			name:          "huge values do not overflow",
			w:             window{limit: math.MaxInt64, prev: math.MaxInt64, cur: 0, elapsed: math.MaxInt64 / 2, size: math.MaxInt64},
			wantAllowed:   true,
			wantRemaining: math.MaxInt64 - mulDivFloor(math.MaxInt64, math.MaxInt64-1-math.MaxInt64/2, math.MaxInt64) - 1,
		},
		{
			name:     "huge counts refused without overflow",
			w:        window{limit: math.MaxInt64 - 1, prev: math.MaxInt64, cur: math.MaxInt64 - 1, elapsed: 0, size: math.MaxInt64},
			wantWait: math.MaxInt64,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allowed, remaining, wait := tt.w.decide()
			if allowed != tt.wantAllowed || remaining != tt.wantRemaining || wait != tt.wantWait {
				t.Fatalf("decide() = (%v, %d, %v), want (%v, %d, %v)",
					allowed, remaining, wait, tt.wantAllowed, tt.wantRemaining, tt.wantWait)
			}
			if !allowed {
				// The event must really be allowed once the wait is over,
				// and not one tick before.
				checkAllowedAfter(t, tt.w, wait)
			}
		})
	}
}

// checkAllowedAfter verifies that w, with no further events, allows one at
// wait from now and refuses one a tick earlier.
func checkAllowedAfter(t *testing.T, w window, wait time.Duration) {
	t.Helper()
	at := func(d int64) window {
		e := w.elapsed + d
		if e < w.size {
			return window{limit: w.limit, cur: w.cur, prev: w.prev, elapsed: e, size: w.size}
		}
		if e-w.size < w.size {
			return window{limit: w.limit, prev: w.cur, elapsed: e - w.size, size: w.size}
		}
		return window{limit: w.limit, elapsed: (e - w.size) % w.size, size: w.size}
	}
	if w.size > math.MaxInt64/3 {
		return // the probe arithmetic above would overflow
	}
	if ok, _, _ := at(int64(wait)).decide(); !ok {
		t.Errorf("refused after waiting %v", wait)
	}
	if ok, _, _ := at(int64(wait) - 1).decide(); ok {
		t.Errorf("allowed one tick before the wait of %v was over", wait)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want time.Duration
	}{
		{0, time.Second},
		{1, time.Second},
		{time.Second, time.Second},
		{time.Second + 1, 2 * time.Second},
		{59*time.Second + 500*time.Millisecond, time.Minute},
		{time.Hour, time.Hour},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.wait); got != tt.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tt.wait, got, tt.want)
		}
	}
}

func TestFloorDiv(t *testing.T) {
	tests := []struct{ a, b, want int64 }{
		{10, 3, 3},
		{9, 3, 3},
		{0, 3, 0},
		{-1, 3, -1},
		{-3, 3, -1},
		{-4, 3, -2},
	}
	for _, tt := range tests {
		if got := floorDiv(tt.a, tt.b); got != tt.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
