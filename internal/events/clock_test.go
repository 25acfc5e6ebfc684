package events

import (
	"testing"
	"time"
)

// TestWithClock: the dispatcher and the publisher keep time with the
// clock they are given, time.Now without one.
func TestWithClock(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := WithClock(func() time.Time { return at })
	if got := NewDispatcher(nil, false, nil, clock).now(); !got.Equal(at) {
		t.Errorf("dispatcher now = %v, want %v", got, at)
	}
	if got := NewPublisher(nil, NATSConfig{}, nil, clock).now(); !got.Equal(at) {
		t.Errorf("publisher now = %v, want %v", got, at)
	}
	for _, now := range []func() time.Time{NewDispatcher(nil, false, nil).now, NewPublisher(nil, NATSConfig{}, nil, WithClock(nil)).now} {
		if d := time.Since(now()); d < 0 || d > time.Minute {
			t.Errorf("default clock is %v off", d)
		}
	}
}
