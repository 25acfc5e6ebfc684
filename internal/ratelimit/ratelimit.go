// Package ratelimit counts events per key and decides whether one more event
// is allowed under a Rule.
//
// # Algorithm
//
// Both implementations use the sliding window counter: time is cut into fixed
// windows of Rule.Window aligned to the Unix epoch, each key keeps one counter
// per fixed window, and the rate at instant t is estimated as
//
//	current + floor(previous × overlap)
//
// where current and previous are the counts of the fixed window containing t
// and of the one before it, and overlap is the fraction of the sliding window
// (t-Window, t] that still lies in the previous fixed window. An event is
// allowed when that estimate is below Rule.Limit; it is then counted in the
// current window. A refused event is not counted, so a client hammering a
// limit is let through again as soon as the window has moved far enough.
//
// Time is measured in nanosecond ticks, so at the very first tick of a window
// the previous window weighs (Window-1ns)/Window rather than 1: the instant a
// window starts is already a little past the previous one. This makes
// "retry exactly after Decision.RetryAfter" work even on a clock aligned to
// window boundaries.
//
// The approximation assumes the previous window's events were spread evenly;
// it never allows more than Limit events within one fixed window, and at most
// about 2×Limit in any span of one Window straddling a boundary in the worst
// case (a burst at the very end of one window followed by one at the start of
// the next is damped by the weighting, not forbidden).
//
// A key is meant to be used with a single Rule: callers enforcing several
// rules on one subject should use distinct keys (for example
// "signup:ip:203.0.113.7" and "signup:email:a@example.com").
package ratelimit

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"time"
)

// Rule is a limit: at most Limit events per Window for one key.
//
// A Limit of zero or less means unlimited. Window must be positive when Limit
// is positive.
type Rule struct {
	// Limit is the number of events allowed per Window; <= 0 means unlimited.
	Limit int
	// Window is the length of the sliding window.
	Window time.Duration
}

// Decision is the outcome of one Allow.
type Decision struct {
	// Allowed reports whether the event was allowed (and counted).
	Allowed bool
	// RetryAfter is zero when Allowed. When refused it is the time until the
	// next event would be allowed (assuming no other event for the key),
	// rounded up to whole seconds and at least one second.
	RetryAfter time.Duration
	// Remaining is how many more events would be allowed right now after
	// this one; 0 when refused, math.MaxInt when the rule is unlimited.
	Remaining int
}

// Limiter counts events per key.
type Limiter interface {
	// Allow records one event for key under r if r allows it, and reports
	// the decision. Refused events are not recorded.
	Allow(ctx context.Context, key string, r Rule) (Decision, error)
	// Peek reports what Allow would decide now, without recording an event.
	Peek(ctx context.Context, key string, r Rule) (Decision, error)
}

// ErrInvalidRule is returned (wrapped) by Allow when a limited Rule has a
// non-positive Window.
var ErrInvalidRule = errors.New("ratelimit: invalid rule: window must be positive")

// unlimited is the Decision for a Rule with Limit <= 0.
func unlimited() Decision {
	return Decision{Allowed: true, Remaining: math.MaxInt}
}

// window is the state one decision is taken on. All durations are in
// nanoseconds.
type window struct {
	limit   int64 // Rule.Limit, > 0
	cur     int64 // events counted in the current fixed window
	prev    int64 // events counted in the previous fixed window
	elapsed int64 // time since the current window started, in [0, size)
	size    int64 // window length, > 0
}

// effectiveLimit is how many events the current fixed window may hold given
// the weighted previous window: an event is allowed iff cur < effectiveLimit.
func (w window) effectiveLimit() int64 {
	left := w.size - 1 - w.elapsed // ticks of the sliding window in the previous fixed window
	return w.limit - mulDivFloor(w.prev, left, w.size)
}

// decide reports whether one more event is allowed and, if so, how many more
// would be allowed after it; if not, how long until one would be.
func (w window) decide() (allowed bool, remaining int64, wait time.Duration) {
	eff := w.effectiveLimit()
	if w.cur < eff {
		return true, eff - w.cur - 1, 0
	}
	return false, 0, w.wait()
}

// wait returns the time until an event would be allowed if no other event
// happens for the key meanwhile. It is 0 when one is allowed now.
func (w window) wait() time.Duration {
	if need := w.limit - w.cur; need > 0 {
		// Still room in this window once the previous one has faded enough:
		// we need floor(prev*left/size) <= need-1, i.e. prev*left < need*size.
		if w.prev <= need {
			return 0
		}
		maxLeft := mulDivCeil(need, w.size, w.prev) - 1 // need < prev, so < size
		at := w.size - 1 - maxLeft
		if at <= w.elapsed {
			return 0
		}
		return time.Duration(at - w.elapsed)
	}
	// The current window is full: wait for the next one, where the current
	// count becomes the previous one and must fade below limit.
	toNext := w.size - w.elapsed
	if w.cur <= w.limit {
		return time.Duration(toNext)
	}
	maxLeft := mulDivCeil(w.limit, w.size, w.cur) - 1 // limit < cur, so < size
	return time.Duration(toNext + w.size - 1 - maxLeft)
}

// retryAfter rounds a wait up to whole seconds, at least one second.
func retryAfter(wait time.Duration) time.Duration {
	if wait <= time.Second {
		return time.Second
	}
	secs := wait / time.Second
	if wait%time.Second != 0 {
		secs++
	}
	return secs * time.Second
}

// mulDivFloor returns floor(a*b/c) for a, b >= 0, c > 0 and b < c, without
// overflow (the result is then below a).
func mulDivFloor(a, b, c int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// mulDivCeil returns ceil(a*b/c) for a, b >= 0, c > 0 and a < c, without
// overflow (the result is then at most b).
func mulDivCeil(a, b, c int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, r := bits.Div64(hi, lo, uint64(c))
	if r != 0 {
		q++
	}
	return int64(q)
}

// floorDiv returns floor(a/b) for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// clampInt converts an int64 count to int, saturating.
func clampInt(v int64) int {
	if v > math.MaxInt {
		return math.MaxInt
	}
	return int(v)
}
