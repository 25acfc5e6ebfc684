package events

import "time"

// Option sets up a Dispatcher or a Publisher.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes a Dispatcher or a Publisher keep time with now (the
// application's clock) instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

func newOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}
