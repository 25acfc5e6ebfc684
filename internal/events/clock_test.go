package events

import (
	"context"
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

// Linger waits, drops the wakes that came meanwhile, and gives up when the
// context ends.
func TestLinger(t *testing.T) {
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	start := time.Now()
	if !Linger(context.Background(), 20*time.Millisecond, wake) {
		t.Fatal("Linger reported a live context as done")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("lingered %v, want at least 20ms", d)
	}
	if len(wake) != 0 {
		t.Error("the wake that came meanwhile was not dropped")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	if Linger(ctx, time.Hour, wake) {
		t.Error("Linger reported a cancelled context as live")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a cancelled Linger took %v", d)
	}
}
