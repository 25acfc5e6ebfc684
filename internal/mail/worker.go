package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	netmail "net/mail"
	"sync"
	"sync/atomic"
	"time"
)

// Queued is one outbox message claimed for delivery.
type Queued struct {
	ID        string
	MessageID string
	To        string
	Subject   string
	Text      string
	HTML      string
	Attempts  int // attempts made BEFORE this one
	CreatedAt time.Time
}

// Queue is the durable outbox the Worker drains.
type Queue interface {
	// Claim leases up to limit due messages (state queued, next_attempt_at <= now) for lease; a crashed
	// worker's lease expires and the message becomes claimable again.
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Queued, error)
	// MarkSent records the successful delivery of the messages ids at time
	// at (the worker marks those of a claimed batch together).
	MarkSent(ctx context.Context, ids []string, at time.Time) error
	// MarkFailed records a failed attempt; the message is retried at next unless abandon is true.
	MarkFailed(ctx context.Context, id string, at time.Time, next time.Time, lastErr string, abandon bool) error
	// Release gives claimed messages that were not sent back to the queue
	// at once (a worker stopping, or a lease too short to start a send).
	Release(ctx context.Context, ids []string) error
}

// Worker defaults, used for zero WorkerConfig fields.
const (
	DefaultPollInterval = time.Second
	DefaultBatch        = 20
	DefaultLease        = 2 * time.Minute
	DefaultBackoffBase  = 2 * time.Second
	DefaultBackoffMax   = 5 * time.Minute
	DefaultMaxAge       = 72 * time.Hour
	DefaultConcurrency  = 2
	DefaultSendTimeout  = 30 * time.Second
)

const (
	// storeTimeout bounds MarkSent/MarkFailed, which run detached from the
	// Run context so a shutdown does not lose the outcome of a finished send.
	storeTimeout = 10 * time.Second
	// maxLastErr caps the error text stored with a failed attempt.
	maxLastErr = 1000
	// jitterFraction is the ± spread applied to every backoff delay.
	jitterFraction = 0.2
)

// WorkerConfig configures a Worker. Zero fields take the documented
// defaults.
type WorkerConfig struct {
	From         string        // envelope From (e.g. "onboard <no-reply@example.com>"); required
	PollInterval time.Duration // default 1s: how often the outbox is polled without Notify
	Batch        int           // default 20: messages claimed per poll
	Lease        time.Duration // default 2m: how long a claim lasts
	BackoffBase  time.Duration // default 2s: retry n waits BackoffBase*2^(n-1), capped, ±20% jitter
	BackoffMax   time.Duration // default 5m: cap applied before jitter
	MaxAge       time.Duration // default 72h: a message still failing after this since CreatedAt is abandoned
	Concurrency  int           // default 2 parallel sends
	SendTimeout  time.Duration // default 30s: upper bound for one Send call, also while shutting down
	// Now is the clock used for claims, lease checks and attempt
	// timestamps; default time.Now.
	Now func() time.Time
	// Span, when set, starts a trace span around each delivery attempt and
	// returns a function ending it with the outcome.
	Span func(ctx context.Context, name string) (context.Context, func(error))
	// Observe, when set, is told the outcome of every delivery attempt
	// (for metrics). It must not block.
	Observe func(Attempt)
}

// Outcomes of a delivery attempt.
const (
	OutcomeSent      = "sent"      // delivered
	OutcomeRetry     = "retry"     // failed; retried later
	OutcomeAbandoned = "abandoned" // failed for good, or too old
)

// Attempt is the outcome of one delivery attempt.
type Attempt struct {
	Number   int           // 1 for the first attempt of a message
	Duration time.Duration // time spent in Sender.Send
	Outcome  string        // OutcomeSent, OutcomeRetry or OutcomeAbandoned
}

func (c WorkerConfig) withDefaults() WorkerConfig {
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.BackoffMax < c.BackoffBase {
		c.BackoffMax = c.BackoffBase
	}
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Worker delivers the outbox: it claims due messages, sends them with a
// Sender and records the outcome, retrying failures with exponential
// backoff until they succeed, fail permanently (ErrPermanent) or grow older
// than MaxAge.
//
// Delivery is at-least-once: a message whose send succeeded but whose
// MarkSent failed, or whose worker died before marking it, is sent again
// after its lease expires. The messages of a claimed batch that were sent
// are marked together, in one MarkSent once the batch's sends are done. The
// Message-ID stays the same so receivers can de-duplicate.
type Worker struct {
	q      Queue
	s      Sender
	cfg    WorkerConfig
	log    *slog.Logger
	wake   chan struct{}
	jitter func() float64 // uniform in [0, 1)

	// Messages handed over (HandOver) wait in handed until Run takes them;
	// handedWake tells Run they are there.
	running    atomic.Bool
	handedMu   sync.Mutex
	handed     []leased
	handedWake chan struct{}
}

// leased is a message this worker holds a lease on, to be sent before
// startBy (its lease less a margin for the send).
type leased struct {
	Queued
	startBy time.Time
}

// maxHanded is the most handed-over messages waiting for Run: past it,
// HandOverLease declines, and the messages are written queued instead.
const maxHanded = 1024

// NewWorker returns a Worker draining q through s. A nil logger means
// slog.Default().
func NewWorker(q Queue, s Sender, cfg WorkerConfig, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.Default()
	}
	return &Worker{
		q:      q,
		s:      s,
		cfg:    cfg.withDefaults(),
		log:    logger,
		wake:   make(chan struct{}, 1),
		jitter: rand.Float64,

		handedWake: make(chan struct{}, 1),
	}
}

// HandOverLease is for a writer of the outbox in this process that hands
// its messages over (HandOver) instead of queueing them: it tells how long
// to lease them for, and false when they should be queued instead (Run is
// not running, or enough handed-over messages wait already).
func (w *Worker) HandOverLease() (time.Duration, bool) {
	if !w.running.Load() {
		return 0, false
	}
	w.handedMu.Lock()
	defer w.handedMu.Unlock()
	return w.cfg.Lease, len(w.handed) < maxHanded
}

// HandOver gives Run messages written to the outbox already claimed for this
// worker (state processing, leased until until; see HandOverLease), once
// that write committed: they are sent as claimed ones, without a claim of
// their own. A message not started while its lease has room for a send is
// released, as a claimed one; should the process die, the lease runs out
// and any worker claims it. It never blocks.
func (w *Worker) HandOver(items []Queued, until time.Time) {
	if len(items) == 0 {
		return
	}
	startBy := until.Add(-min(w.cfg.SendTimeout, w.cfg.Lease/2))
	w.handedMu.Lock()
	for _, it := range items {
		w.handed = append(w.handed, leased{Queued: it, startBy: startBy})
	}
	w.handedMu.Unlock()
	select {
	case w.handedWake <- struct{}{}:
	default:
	}
}

// takeHanded returns the handed-over messages waiting, and forgets them.
func (w *Worker) takeHanded() []leased {
	w.handedMu.Lock()
	defer w.handedMu.Unlock()
	items := w.handed
	w.handed = nil
	return items
}

// Notify wakes the worker for an immediate poll, e.g. right after a message
// was enqueued. It never blocks; wake-ups coalesce.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers mail until ctx is done, then waits for in-flight sends (each
// bounded by SendTimeout) and their bookkeeping to finish and returns nil.
// Messages claimed but not yet started when ctx ends are left to be claimed
// again once their lease expires. Messages handed over (HandOver) are sent
// before the next claim, without one; those still waiting when ctx ends are
// released. It claims when woken (Notify), every PollInterval, and again at
// once after a full batch. It returns an error only for an invalid
// configuration.
func (w *Worker) Run(ctx context.Context) error {
	if w.q == nil || w.s == nil {
		return errors.New("mail worker: queue and sender are required")
	}
	if _, err := netmail.ParseAddress(w.cfg.From); err != nil {
		return fmt.Errorf("mail worker: invalid From %q: %w", w.cfg.From, err)
	}
	w.running.Store(true)
	defer w.stop(ctx)
	poll := time.NewTicker(w.cfg.PollInterval)
	defer poll.Stop()
	claim := true
	for ctx.Err() == nil {
		if claim {
			// A full batch: more may be due right now.
			claim = w.drain(ctx)
		}
		if items := w.takeHanded(); len(items) > 0 {
			w.deliverAll(ctx, items)
			// A steady stream of hand-overs must not hold back the
			// claims of other mail (resets, invitations, retries): a
			// wake or a tick seen meanwhile claims on the next turn.
			select {
			case <-w.wake:
				claim = true
			case <-poll.C:
				claim = true
			default:
			}
			continue
		}
		if claim {
			continue
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
			claim = true
		case <-w.handedWake:
		case <-poll.C:
			claim = true
		}
	}
	return nil
}

// stop ends Run: messages handed over meanwhile are released for a later
// claim.
func (w *Worker) stop(ctx context.Context) {
	w.running.Store(false)
	items := w.takeHanded()
	if len(items) == 0 {
		return
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := w.q.Release(storeCtx, ids); err != nil {
		w.log.LogAttrs(ctx, slog.LevelWarn, "mail release failed; the messages wait for their lease to expire",
			slog.String("error", err.Error()))
	}
}

// drain claims one batch and delivers it. It reports whether the batch was
// full.
func (w *Worker) drain(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	now := w.cfg.Now()
	// The claim runs detached from ctx: a shutdown arriving mid-claim must not
	// lose the answer of a claim the database committed (those messages would
	// sit leased until the lease ran out). Unsent claimed messages are
	// released below.
	claimCtx, cancelClaim := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.SendTimeout)
	items, err := w.q.Claim(claimCtx, now, w.cfg.Batch, w.cfg.Lease)
	cancelClaim()
	if err != nil {
		if ctx.Err() == nil {
			w.log.LogAttrs(ctx, slog.LevelError, "mail outbox claim failed", slog.String("error", err.Error()))
		}
		return false
	}
	if len(items) == 0 {
		return false
	}

	// Do not start a send that could outlive the lease: another worker may
	// claim the message then and send it a second time.
	margin := min(w.cfg.SendTimeout, w.cfg.Lease/2)
	startBy := now.Add(w.cfg.Lease - margin)
	batch := make([]leased, len(items))
	for i, it := range items {
		batch[i] = leased{Queued: it, startBy: startBy}
	}
	w.deliverAll(ctx, batch)
	return len(items) >= w.cfg.Batch
}

// deliverAll sends leased messages, Concurrency at once, and records the
// outcomes; the messages not started (ctx done, lease nearly over) are
// released.
func (w *Worker) deliverAll(ctx context.Context, items []leased) {
	// Sends and their bookkeeping run detached from ctx so that a shutdown
	// lets them finish instead of losing their outcome.
	detached := context.WithoutCancel(ctx)
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	var unsent []string
	var sentMu sync.Mutex
	var sent []Queued
	for i, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			for _, rest := range items[i:] {
				unsent = append(unsent, rest.ID)
			}
			w.log.LogAttrs(ctx, slog.LevelInfo, "mail worker stopping; releasing unsent claimed messages",
				slog.Int("unsent", len(items)-i))
			break
		}
		if !w.cfg.Now().Before(it.startBy) {
			<-sem
			w.log.LogAttrs(ctx, slog.LevelWarn, "mail lease nearly expired; releasing message for a later claim",
				slog.String("id", it.ID))
			unsent = append(unsent, it.ID)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if w.deliver(detached, it.Queued) {
				sentMu.Lock()
				sent = append(sent, it.Queued)
				sentMu.Unlock()
			}
		}()
	}
	if len(unsent) > 0 {
		if err := w.q.Release(detached, unsent); err != nil {
			w.log.LogAttrs(detached, slog.LevelWarn, "mail release failed; the messages wait for their lease to expire",
				slog.String("error", err.Error()))
		}
	}
	wg.Wait()
	w.markSent(detached, sent)
}

// markSent records the delivery of the messages sent, in one MarkSent.
func (w *Worker) markSent(ctx context.Context, sent []Queued) {
	if len(sent) == 0 {
		return
	}
	ids := make([]string, len(sent))
	for i, it := range sent {
		ids[i] = it.ID
	}
	storeCtx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := w.q.MarkSent(storeCtx, ids, w.cfg.Now()); err != nil {
		for _, it := range sent {
			w.log.LogAttrs(ctx, slog.LevelError, "mail sent but not marked sent; it will be sent again after its lease expires",
				slog.String("id", it.ID), slog.String("message_id", it.MessageID), slog.String("error", err.Error()))
		}
		return
	}
	for _, it := range sent {
		w.log.LogAttrs(ctx, slog.LevelInfo, "mail sent",
			slog.String("id", it.ID), slog.String("message_id", it.MessageID), slog.Int("attempt", it.Attempts+1))
	}
}

// deliver makes one attempt at it. It reports whether the message was sent,
// for the caller to mark it; a failure it records itself.
func (w *Worker) deliver(ctx context.Context, it Queued) bool {
	attempt := it.Attempts + 1
	sendCtx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	var endSpan func(error)
	if w.cfg.Span != nil {
		sendCtx, endSpan = w.cfg.Span(sendCtx, "smtp.send")
	}
	started := time.Now()
	err := w.s.Send(sendCtx, Envelope{
		MessageID: it.MessageID,
		From:      w.cfg.From,
		To:        it.To,
		Subject:   it.Subject,
		Text:      it.Text,
		HTML:      it.HTML,
	})
	if endSpan != nil {
		endSpan(err)
	}
	cancel()
	took := time.Since(started)
	now := w.cfg.Now()

	if err == nil {
		w.observe(Attempt{Number: attempt, Duration: took, Outcome: OutcomeSent})
		return true
	}
	storeCtx, cancelStore := context.WithTimeout(ctx, storeTimeout)
	defer cancelStore()

	permanent := errors.Is(err, ErrPermanent)
	expired := now.Sub(it.CreatedAt) >= w.cfg.MaxAge
	abandon := permanent || expired
	next := now
	if !abandon {
		next = now.Add(w.backoff(attempt))
	}
	lastErr := truncate(err.Error(), maxLastErr)

	outcome := OutcomeRetry
	if abandon {
		outcome = OutcomeAbandoned
	}
	w.observe(Attempt{Number: attempt, Duration: took, Outcome: outcome})
	if abandon {
		reason := "max age exceeded"
		if permanent {
			reason = "permanent error"
		}
		w.log.LogAttrs(ctx, slog.LevelError, "mail delivery failed; giving up",
			slog.String("id", it.ID), slog.Int("attempt", attempt), slog.String("reason", reason),
			slog.String("error", lastErr))
	} else {
		w.log.LogAttrs(ctx, slog.LevelWarn, "mail delivery failed; will retry",
			slog.String("id", it.ID), slog.Int("attempt", attempt), slog.Time("next", next),
			slog.String("error", lastErr))
	}
	if mErr := w.q.MarkFailed(storeCtx, it.ID, now, next, lastErr, abandon); mErr != nil {
		w.log.LogAttrs(ctx, slog.LevelError, "mail failure not recorded; it will be retried after its lease expires",
			slog.String("id", it.ID), slog.String("error", mErr.Error()))
	}
	return false
}

func (w *Worker) observe(a Attempt) {
	if w.cfg.Observe != nil {
		w.cfg.Observe(a)
	}
}

// backoff returns the delay before the retry that follows failed attempt n
// (1-based): BackoffBase*2^(n-1), capped at BackoffMax, then spread by ±20%.
func (w *Worker) backoff(n int) time.Duration {
	d := w.cfg.BackoffBase
	for i := 1; i < n && d < w.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.BackoffMax)
	factor := 1 - jitterFraction + 2*jitterFraction*w.jitter()
	return time.Duration(float64(d) * factor)
}

// truncate shortens s to at most n bytes without splitting a UTF-8
// sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}
