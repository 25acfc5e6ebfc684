package sms

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Queued is a text message claimed from the outbox.
type Queued struct {
	Message
	Attempts  int // attempts made before this one
	CreatedAt time.Time
}

// Queue is the durable SMS outbox the Worker drains.
type Queue interface {
	// Claim leases up to limit due messages for lease.
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Queued, error)
	MarkSent(ctx context.Context, id string, at time.Time) error
	// MarkFailed records a failed attempt; retried at next unless abandon.
	MarkFailed(ctx context.Context, id string, next time.Time, lastErr string, abandon bool) error
	Release(ctx context.Context, ids []string) error
}

// WorkerConfig configures a Worker; zero fields take defaults.
type WorkerConfig struct {
	PollInterval time.Duration // default 1s
	Batch        int           // default 20
	Lease        time.Duration // default 2m
	BackoffBase  time.Duration // default 2s: retry n waits BackoffBase*2^(n-1), capped, ±20%
	BackoffMax   time.Duration // default 5m
	MaxAge       time.Duration // default 24h: a message still failing after this is abandoned
	SendTimeout  time.Duration // default 30s
	Now          func() time.Time
}

func (c WorkerConfig) withDefaults() WorkerConfig {
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 20
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 2 * time.Second
	}
	if c.BackoffMax < c.BackoffBase {
		c.BackoffMax = max(5*time.Minute, c.BackoffBase)
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.SendTimeout > c.Lease/2 {
		c.SendTimeout = c.Lease / 2
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Worker sends the SMS outbox through a Gateway: it claims due messages
// with a lease, sends each, and records the outcome, retrying failures with
// exponential backoff until they succeed, fail permanently or grow older
// than MaxAge. A message is written to the outbox in the transaction of
// the change it is about, so it is never lost; it is sent again only when
// a worker died between the gateway's answer and the bookkeeping, and then
// with the same Idempotency-Key.
type Worker struct {
	q    Queue
	g    Gateway
	cfg  WorkerConfig
	log  *slog.Logger
	wake chan struct{}
}

// NewWorker returns a Worker draining q through g.
func NewWorker(q Queue, g Gateway, cfg WorkerConfig, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.Default()
	}
	return &Worker{q: q, g: g, cfg: cfg.withDefaults(), log: logger, wake: make(chan struct{}, 1)}
}

// Notify wakes the worker for an immediate poll; it never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends text messages until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	if w.q == nil || w.g == nil {
		return errors.New("sms worker: queue and gateway are required")
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		if full := w.drain(ctx); full {
			continue
		}
		timer := time.NewTimer(w.cfg.PollInterval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// drain claims one batch and sends it; it reports whether the batch was full.
func (w *Worker) drain(ctx context.Context) bool {
	now := w.cfg.Now()
	detached := context.WithoutCancel(ctx)
	claimCtx, cancel := context.WithTimeout(detached, w.cfg.SendTimeout)
	items, err := w.q.Claim(claimCtx, now, w.cfg.Batch, w.cfg.Lease)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			w.log.ErrorContext(ctx, "sms outbox claim failed", "err", err)
		}
		return false
	}
	startBy := now.Add(w.cfg.Lease - w.cfg.SendTimeout)
	var unsent []string
	for i, it := range items {
		if ctx.Err() != nil || !w.cfg.Now().Before(startBy) {
			for _, rest := range items[i:] {
				unsent = append(unsent, rest.ID)
			}
			break
		}
		w.deliver(detached, it)
	}
	if len(unsent) > 0 {
		if err := w.q.Release(detached, unsent); err != nil {
			w.log.WarnContext(detached, "sms release failed; the messages wait for their lease to expire", "err", err)
		}
	}
	return len(items) >= w.cfg.Batch
}

func (w *Worker) deliver(ctx context.Context, it Queued) {
	sendCtx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	err := w.g.Send(sendCtx, it.Message)
	cancel()
	now := w.cfg.Now()
	storeCtx, cancelStore := context.WithTimeout(ctx, 10*time.Second)
	defer cancelStore()
	if err == nil {
		if err := w.q.MarkSent(storeCtx, it.ID, now); err != nil {
			w.log.ErrorContext(ctx, "sms sent but not recorded; it may be sent again with the same key", "id", it.ID, "err", err)
		}
		w.log.InfoContext(ctx, "sms sent", "id", it.ID, "attempt", it.Attempts+1)
		return
	}
	abandon := errors.Is(err, ErrPermanent) || now.Sub(it.CreatedAt) >= w.cfg.MaxAge
	next := now.Add(w.backoff(it.Attempts + 1))
	if ferr := w.q.MarkFailed(storeCtx, it.ID, next, err.Error(), abandon); ferr != nil {
		w.log.ErrorContext(ctx, "sms failure not recorded", "id", it.ID, "err", ferr)
	}
	level := slog.LevelWarn
	if abandon {
		level = slog.LevelError
	}
	w.log.Log(ctx, level, "sms attempt failed", "id", it.ID, "attempt", it.Attempts+1, "abandoned", abandon, "err", err)
}

// backoff is the wait before retry n (1-based).
func (w *Worker) backoff(n int) time.Duration {
	d := w.cfg.BackoffBase
	for i := 1; i < n && d < w.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.BackoffMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
