package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Commit order. UUIDv7 ids are drawn when a transaction writes its event,
// not when it commits: with concurrent transactions on PostgreSQL an event
// with a smaller id can become visible after one with a larger id, and a
// feed paging by id would skip it. So the dispatcher, after the commit,
// gives each committed event its position (seq) from one counter row that
// it locks for its transaction: positions are handed out in the order in
// which events become visible, and an event committed late gets a position
// after every position already handed out. The feed and the webhook order
// follow seq.

// DispatchBatch is the most events one dispatcher transaction numbers.
const DispatchBatch = 500

// DefaultLinger is how long the webhook worker waits after a wake before
// it claims, so that the deliveries of the transactions committing
// meanwhile share one claim and recording.
const DefaultLinger = 5 * time.Millisecond

// DefaultDispatchLinger is how long the dispatcher waits after a wake
// before it dispatches: the events of the transactions committing
// meanwhile share one dispatch transaction, one hand-over and one
// recording of their deliveries. A dispatch and the recording of its
// deliveries cost six statements on PostgreSQL (BEGIN and COMMIT
// included; seven for events written by another process) however few
// events they carry, and about 3 ms of CPU in all (service and
// PostgreSQL; BenchmarkWebhookHandoverPaced). At the rate of
// registrations that 2 cores serve (about 40 a second) a 50 ms wait
// gathered two registrations per dispatch, this one about ten: 1.2 ms of
// CPU less per registration. An event reaches its receivers up to this
// much later; the service's -events-linger sets it.
const DefaultDispatchLinger = 250 * time.Millisecond

// Linger waits d after a wake unless ctx is done first, and then drops the
// wakes that came meanwhile (they are served by the look that follows).
// It reports whether ctx is still live.
func Linger(ctx context.Context, d time.Duration, wake chan struct{}) bool {
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
	select {
	case <-wake:
	default:
	}
	return ctx.Err() == nil
}

// Dispatcher numbers committed events and fans them out.
type Dispatcher struct {
	st   *store.Store
	log  *slog.Logger
	nats bool
	now  func() time.Time
	wake chan struct{}
	// written is the store's EventsWritten at the last dispatch.
	written atomic.Int64
	// OnDispatched, when set, is called after events were dispatched (to
	// wake the webhook worker and the NATS publisher).
	OnDispatched func()
	// Sender, when set, is handed the webhook deliveries of each dispatch
	// to send at once (see Sender). Set it before Run.
	Sender Sender
	// Linger is how long Run waits after a wake before it dispatches;
	// NewDispatcher sets DefaultDispatchLinger. Set it before Run.
	Linger time.Duration
}

// Sender sends webhook deliveries handed over by the dispatcher (the
// webhook worker of this process). A delivery is handed over when its
// endpoint has nothing pending or in flight for the same subject: it is
// written already claimed, leased to this process, in the transaction that
// numbers its event, so that sending it needs no claim; if the process
// dies before it is recorded, the lease runs out and any worker claims it
// again (at least once). The others are written pending, for the claim.
type Sender interface {
	// Lease reports whether the sender takes deliveries now, and how long
	// they are then leased for.
	Lease() (time.Duration, bool)
	// Send takes the deliveries written claimed (each chain of an endpoint
	// and a subject contiguous, in order), after the commit; claim is set
	// when deliveries were written pending, for the claim.
	Send(ds []store.ClaimedDelivery, claim bool)
}

// NewDispatcher returns a dispatcher; nats marks events for the NATS
// publisher.
func NewDispatcher(st *store.Store, nats bool, logger *slog.Logger, opts ...Option) *Dispatcher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{st: st, log: logger, nats: nats, now: newOptions(opts).now, wake: make(chan struct{}, 1), Linger: DefaultDispatchLinger}
}

// Wake asks the dispatcher to look for events now.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx is done: when woken, and every poll interval.
func (d *Dispatcher) Run(ctx context.Context, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := d.DispatchOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "event dispatch", "err", err)
			}
			if err != nil || n < DispatchBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
			if !Linger(ctx, d.Linger, d.wake) {
				return nil
			}
		case <-t.C:
		}
	}
}

// DispatchOnce numbers up to DispatchBatch committed events and writes
// their webhook deliveries, in one transaction; it returns how many.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	// When this process has written events since the last look, there is
	// most likely something to number: the look that saves a transaction
	// when there is nothing would only cost a statement more.
	if written := d.st.EventsWritten(); written == d.written.Swap(written) {
		if waiting, err := d.st.HasUnsequencedEvents(ctx); err != nil || !waiting {
			return 0, err
		}
	}
	var n int
	now := store.Timestamp(d.now())
	var lease time.Duration
	handoff := false
	if d.Sender != nil {
		lease, handoff = d.Sender.Lease()
	}
	var handed []store.ClaimedDelivery
	pending := false
	err := d.st.InTx(ctx, func(tx *store.Tx) error {
		handed, pending = nil, false
		// Two statements on PostgreSQL: the lock (with generic plans for
		// the transaction), then the events and their endpoints.
		last, err := tx.BeginDispatch(ctx)
		if err != nil {
			return err
		}
		evs, eps, err := tx.DispatchReads(ctx, DispatchBatch, handoff)
		if err != nil || len(evs) == 0 {
			return err
		}
		// The batch, in id order.
		ids := make([]string, len(evs))
		for i, e := range evs {
			ids[i] = e.ID
		}
		first := last + 1
		var ds []store.WebhookDelivery
		var bodies []string
		var endpoints []int
		for _, e := range evs {
			last++
			for j, ep := range eps {
				if ep.OrgID != e.OrgID || !Matches(ep.EventTypes, e.Type) {
					continue
				}
				ds = append(ds, store.WebhookDelivery{ID: store.NewID(), EndpointID: ep.ID, OrgID: e.OrgID,
					EventID: e.ID, Seq: last, Subject: e.Subject, NextAttemptAt: now, CreatedAt: now})
				bodies, endpoints = append(bodies, e.Body), append(endpoints, j)
			}
		}
		var until time.Time
		if handoff {
			until = now.Add(lease)
		}
		// One statement on PostgreSQL numbers the batch, writes its
		// deliveries and records the last position.
		leased, err := tx.NumberEvents(ctx, ids, first, d.nats, ds, until)
		if err != nil {
			return err
		}
		for i, ok := range leased {
			if !ok {
				pending = true
				continue
			}
			dl := ds[i]
			dl.State = store.DeliveryProcessing
			handed = append(handed, store.ClaimedDelivery{WebhookDelivery: dl, Body: bodies[i], Endpoint: eps[endpoints[i]]})
		}
		n = len(evs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dispatch events: %w", err)
	}
	if d.Sender != nil && (len(handed) > 0 || pending) {
		d.Sender.Send(handed, pending)
	}
	if n > 0 && d.OnDispatched != nil {
		d.OnDispatched()
	}
	return n, nil
}

// Matches reports whether an endpoint subscribed to types (empty: all)
// receives events of type t.
func Matches(types []string, t string) bool {
	return len(types) == 0 || slices.Contains(types, t)
}

// Feed limits.
const (
	DefaultFeedLimit = 100
	MaxFeedLimit     = 1000
)

// FeedPage is one page of the feed.
type FeedPage struct {
	Events []json.RawMessage `json:"events"`
	Next   string            `json:"next"` // the cursor of the next page
}

// Feed returns an organization's events after the cursor after ("" from
// the oldest kept), in commit order, filtered by types when given.
func Feed(ctx context.Context, st *store.Store, org domain.Organization, after string, types []string, limit int) (FeedPage, error) {
	var pos int64
	var errs []domain.FieldError
	if after != "" {
		p, err := strconv.ParseInt(after, 10, 64)
		if err != nil || p < 0 {
			errs = append(errs, domain.FieldError{Field: "after", Message: "must be a cursor returned as next by an earlier page"})
		}
		pos = p
	}
	for _, t := range types {
		if !Known(t) {
			errs = append(errs, domain.FieldError{Field: "types", Message: fmt.Sprintf("%q is not an event type", t)})
		}
	}
	if limit == 0 {
		limit = DefaultFeedLimit
	}
	if limit < 1 || limit > MaxFeedLimit {
		errs = append(errs, domain.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxFeedLimit)})
	}
	if len(errs) > 0 {
		return FeedPage{}, domain.Invalid(errs...)
	}
	evs, err := st.EventFeed(ctx, org.ID, pos, types, limit)
	if err != nil {
		return FeedPage{}, err
	}
	page := FeedPage{Events: make([]json.RawMessage, len(evs)), Next: strconv.FormatInt(pos, 10)}
	for i, e := range evs {
		page.Events[i] = json.RawMessage(e.Body)
		page.Next = strconv.FormatInt(e.Seq, 10)
	}
	return page, nil
}
