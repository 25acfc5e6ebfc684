package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/store"
)

// ReasonGone is the reason recorded when an endpoint is disabled because
// it answered 410 Gone.
const ReasonGone = "the endpoint answered 410 Gone"

// WorkerConfig are the delivery settings; zero values take the defaults.
type WorkerConfig struct {
	Concurrency  int           // requests in flight; default 32
	Batch        int           // first deliveries of subjects claimed at once (and as many more of their chains); default 200
	Timeout      time.Duration // a 2xx within it counts as delivered; default 10 s
	RetryBase    time.Duration // first retry delay; default 5 s
	RetryMax     time.Duration // longest retry delay; default 1 h
	MaxAge       time.Duration // a delivery is retried this long; default 3 days
	DisableAfter time.Duration // an endpoint failing this long is disabled; default 5 days
	Poll         time.Duration // default 1 s
	// Linger is how long the worker waits after a wake before it claims,
	// so that the deliveries of several transactions share a claim;
	// default events.DefaultLinger, negative: none.
	Linger time.Duration
	// Lease is how long a claimed delivery stays with the process that
	// claimed it; a process that died leaves its claims to the others once
	// it runs out. Default: twice Timeout plus 30 s.
	Lease time.Duration
}

func (c *WorkerConfig) defaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Batch <= 0 {
		c.Batch = 200
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 5 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Hour
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 72 * time.Hour
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = 5 * 24 * time.Hour
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 2*c.Timeout + 30*time.Second
	}
	if c.Linger == 0 {
		c.Linger = events.DefaultLinger
	}
}

// Worker delivers due webhook deliveries.
type Worker struct {
	st   *store.Store
	hc   *outbound.Client
	cfg  WorkerConfig
	log  *slog.Logger
	now  func() time.Time
	wake chan struct{}
	// claimWanted asks Run to claim due deliveries (a wake, or deliveries
	// written pending by the dispatcher) besides those handed over.
	claimWanted atomic.Bool
	mu          sync.Mutex
	running     bool                    // Run is on: deliveries may be handed over
	handed      []store.ClaimedDelivery // handed over by the dispatcher, not yet taken
	// OnDisabled, when set, runs in the transaction that disables an
	// endpoint (410 Gone, or failing for DisableAfter): to tell the
	// organization.
	OnDisabled func(ctx context.Context, tx *store.Tx, ep store.WebhookEndpoint, reason string) error
}

// NewWorker returns a worker sending through hc.
func NewWorker(st *store.Store, hc *outbound.Client, cfg WorkerConfig, logger *slog.Logger) *Worker {
	cfg.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{st: st, hc: hc, cfg: cfg, log: logger, now: time.Now, wake: make(chan struct{}, 1)}
}

// Wake asks the worker to look for due deliveries now.
func (w *Worker) Wake() {
	w.claimWanted.Store(true)
	w.signal()
}

func (w *Worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Lease implements events.Sender: while Run runs and has less than a batch
// waiting, the dispatcher hands deliveries over, leased for Lease.
func (w *Worker) Lease() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg.Lease, w.running && len(w.handed) < w.cfg.Batch
}

// Send implements events.Sender: Run sends ds next, without claiming them;
// with claim, it also claims the deliveries written pending.
func (w *Worker) Send(ds []store.ClaimedDelivery, claim bool) {
	w.mu.Lock()
	running := w.running
	if running {
		w.handed = append(w.handed, ds...)
	}
	w.mu.Unlock()
	if !running && len(ds) > 0 {
		// Run stopped meanwhile: give them back rather than wait for the lease.
		w.release(context.Background(), ds)
	}
	if claim {
		w.claimWanted.Store(true)
	}
	w.signal()
}

// take returns the deliveries handed over and not yet taken.
func (w *Worker) take() []store.ClaimedDelivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	ds := w.handed
	w.handed = nil
	return ds
}

func (w *Worker) release(ctx context.Context, ds []store.ClaimedDelivery) {
	if len(ds) == 0 {
		return
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	if err := w.st.ReleaseWebhookDeliveries(ctx, ids); err != nil {
		w.log.WarnContext(ctx, "webhook deliveries", "err", err)
	}
}

// Run delivers until ctx is done; deliveries in flight finish. It sends the
// deliveries the dispatcher hands over (Send) as they come, and claims due
// ones when woken, every Poll, and in the transaction that records the
// outcomes of a batch while claims find some.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	w.running = true
	w.mu.Unlock()
	work := context.WithoutCancel(ctx)
	defer func() {
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
		w.release(work, w.take())
	}()
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	claim := true
	for {
		if w.claimWanted.Swap(false) {
			claim = true
		}
		batch := w.take()
		var err error
		for err == nil && ctx.Err() == nil {
			if len(batch) == 0 {
				if !claim {
					break
				}
				batch, err = w.st.ClaimWebhookDeliveries(ctx, w.now(), w.cfg.Batch, w.cfg.Lease)
				if claim = len(batch) > 0; !claim {
					break
				}
			}
			var next []store.ClaimedDelivery
			_, next, err = w.deliver(ctx, batch, claim)
			batch = nil
			// The recording claimed the next batch: claim again while
			// claims find some, or when asked meanwhile.
			claim = claim && len(next) > 0
			if w.claimWanted.Swap(false) {
				claim = true
			}
			// While hand-overs keep coming this loop does not reach the
			// select below: a poll tick seen meanwhile claims on the next
			// turn, so that a retry falling due is not held back by the
			// stream.
			select {
			case <-t.C:
				claim = true
			default:
			}
			batch = append(next, w.take()...)
		}
		// Left over when stopping or after an error (claimed by the last
		// recording, or handed over): give them back.
		w.release(work, batch)
		if err != nil {
			claim = false // the next poll tries again
			if ctx.Err() == nil {
				w.log.WarnContext(ctx, "webhook deliveries", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
			// A wake to claim waits a little so that the deliveries of
			// several transactions share one claim; a hand-over is sent
			// at once (the dispatcher waited already).
			if w.claimWanted.Load() && !events.Linger(ctx, w.cfg.Linger, w.wake) {
				return nil
			}
		case <-t.C:
			claim = true
		}
	}
}

// RunOnce claims one batch of due deliveries, attempts them and records the
// outcomes; it returns how many it attempted.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	claimed, err := w.st.ClaimWebhookDeliveries(ctx, w.now(), w.cfg.Batch, w.cfg.Lease)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	n, _, err := w.deliver(ctx, claimed, false)
	return n, err
}

// deliver attempts claimed deliveries and records the outcomes; with next,
// it claims the next batch in the recording transaction and returns it.
// The deliveries of one endpoint and subject (a chain, in the order
// claimed) are sent one after the other; the first that fails ends its
// chain, and the rest of the chain is released without counting an
// attempt. Chains are sent concurrently, up to Concurrency at once.
func (w *Worker) deliver(ctx context.Context, claimed []store.ClaimedDelivery, next bool) (int, []store.ClaimedDelivery, error) {
	type key struct{ endpoint, subject string }
	var chains [][]store.ClaimedDelivery
	index := map[key]int{}
	for _, d := range claimed {
		k := key{d.EndpointID, d.Subject}
		i, ok := index[k]
		if !ok {
			i = len(chains)
			index[k] = i
			chains = append(chains, nil)
		}
		chains[i] = append(chains[i], d)
	}
	results := make([][]store.DeliveryOutcome, len(chains))
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	work := context.WithoutCancel(ctx)
	for i, chain := range chains {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, d := range chain {
				o := w.attempt(work, d)
				results[i] = append(results[i], o)
				if !o.Delivered {
					break
				}
			}
		})
	}
	wg.Wait()
	attempted := make([]store.ClaimedDelivery, 0, len(claimed))
	outcomes := make([]store.DeliveryOutcome, 0, len(claimed))
	var released []string
	for i, chain := range chains {
		attempted = append(attempted, chain[:len(results[i])]...)
		outcomes = append(outcomes, results[i]...)
		for _, d := range chain[len(results[i]):] {
			released = append(released, d.ID)
		}
	}
	nextBatch, err := w.record(work, attempted, outcomes, released, next && ctx.Err() == nil)
	if err != nil {
		return 0, nil, err
	}
	return len(attempted), nextBatch, nil
}

// firstBytes is how much of an answer is kept.
const firstBytes = 512

func (w *Worker) attempt(ctx context.Context, d store.ClaimedDelivery) store.DeliveryOutcome {
	start := w.now()
	a := store.WebhookAttempt{ID: store.NewID(), DeliveryID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, AttemptedAt: start}
	status, resp, err := w.send(ctx, d, start)
	a.Latency = time.Since(start)
	a.Status, a.Response = status, resp
	o := store.DeliveryOutcome{Attempt: a}
	switch {
	case err == nil && status >= 200 && status < 300:
		o.Delivered = true
		return o
	case err != nil:
		o.Attempt.Error = err.Error()
	default:
		o.Attempt.Error = "HTTP " + strconv.Itoa(status)
	}
	if status == http.StatusGone || start.Sub(d.CreatedAt) >= w.cfg.MaxAge {
		o.GiveUp = true
		return o
	}
	o.Next = start.Add(w.backoff(d.Attempts + 1))
	return o
}

func (w *Worker) send(ctx context.Context, d store.ClaimedDelivery, now time.Time) (int, string, error) {
	ep := d.Endpoint
	if ep.ID == "" || d.Body == "" {
		return 0, "", errors.New("endpoint or event no longer exists")
	}
	body := []byte(d.Body)
	sig, err := Sign(ep.Secret, d.EventID, now, body)
	if err != nil {
		return 0, "", err
	}
	if ep.PreviousSecret != "" && ep.PreviousExpiresAt != nil && now.Before(*ep.PreviousExpiresAt) {
		if old, err := Sign(ep.PreviousSecret, d.EventID, now, body); err == nil {
			sig += " " + old
		}
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "onboard-webhooks")
	req.Header.Set("webhook-id", d.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	res, err := w.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	return res.StatusCode, clip(res.Body), nil
}

func clip(b []byte) string {
	if len(b) > firstBytes {
		b = b[:firstBytes]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes, not UTF-8)", len(b))
	}
	return string(b)
}

// backoff is RetryBase doubled per failed attempt, at most RetryMax, ±20 %.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.RetryBase
	for i := 1; i < attempt && d < w.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.RetryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// record writes the outcomes of one batch in one transaction, releases
// the deliveries that were not attempted, tracks each endpoint's health (an
// endpoint that answered is no longer failing; one that answered 410 or has
// failed for DisableAfter is disabled) and, with next, claims the next
// batch in the same transaction and returns it.
func (w *Worker) record(ctx context.Context, claimed []store.ClaimedDelivery, outcomes []store.DeliveryOutcome, released []string, next bool) ([]store.ClaimedDelivery, error) {
	type health struct {
		ep        store.WebhookEndpoint
		ok, gone  bool
		failedAt  time.Time
		anyFailed bool
	}
	eps := map[string]*health{}
	for i, d := range claimed {
		h := eps[d.EndpointID]
		if h == nil {
			h = &health{ep: d.Endpoint}
			eps[d.EndpointID] = h
		}
		o := outcomes[i]
		switch {
		case o.Delivered:
			h.ok = true
		case o.Attempt.Status == http.StatusGone:
			h.gone = true
		default:
			if !h.anyFailed {
				h.failedAt, h.anyFailed = o.Attempt.AttemptedAt, true
			}
		}
	}
	if !next && len(released) == 0 {
		// Only deliveries, to endpoints that were not failing: nothing but
		// the attempts and their deliveries to write (the common case).
		simple := true
		for _, h := range eps {
			simple = simple && h.ok && !h.gone && !h.anyFailed && h.ep.FailingSince == nil
		}
		if simple {
			if err := w.st.RecordDeliveredWebhookAttempts(ctx, outcomes); err != nil {
				return nil, fmt.Errorf("record webhook attempts: %w", err)
			}
			return nil, nil
		}
	}
	var disabled []string
	var nextBatch []store.ClaimedDelivery
	err := w.st.InTx(ctx, func(tx *store.Tx) error {
		disabled, nextBatch = disabled[:0], nil
		if err := tx.RecordWebhookAttempts(ctx, outcomes); err != nil {
			return err
		}
		if err := tx.ReleaseWebhookDeliveries(ctx, released); err != nil {
			return err
		}
		for id, h := range eps {
			if h.ep.ID == "" {
				continue
			}
			reason := ""
			switch {
			case h.gone:
				reason = ReasonGone
			case h.ok:
				if h.ep.FailingSince != nil {
					if err := tx.SetWebhookFailing(ctx, id, nil); err != nil {
						return err
					}
				}
			case h.anyFailed:
				if h.ep.FailingSince == nil {
					if err := tx.SetWebhookFailing(ctx, id, &h.failedAt); err != nil {
						return err
					}
				} else if h.failedAt.Sub(*h.ep.FailingSince) >= w.cfg.DisableAfter {
					reason = "the endpoint has failed since " + h.ep.FailingSince.Format(time.RFC3339)
				}
			}
			if reason == "" {
				continue
			}
			ok, err := tx.DisableWebhookEndpoint(ctx, id, reason, w.now())
			if err != nil {
				return err
			}
			if ok {
				disabled = append(disabled, id)
				if w.OnDisabled != nil {
					if err := w.OnDisabled(ctx, tx, h.ep, reason); err != nil {
						return err
					}
				}
			}
		}
		if next {
			var err error
			nextBatch, err = tx.ClaimWebhookDeliveries(ctx, w.now(), w.cfg.Batch, w.cfg.Lease)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record webhook attempts: %w", err)
	}
	for _, id := range disabled {
		w.log.WarnContext(ctx, "webhook endpoint disabled", "endpoint", id)
	}
	return nextBatch, nil
}
