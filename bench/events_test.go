package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// eventsWorld is a store with one organization and one webhook endpoint
// whose receiver (a local HTTP server) counts what it accepts.
type eventsWorld struct {
	st       *store.Store
	org      domain.Organization
	disp     *events.Dispatcher
	worker   *webhooks.Worker
	received atomic.Int64
}

func newEventsWorld(b *testing.B, dsn string) *eventsWorld {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	org, err := flows.EnsureDefaultOrganization(ctx, st, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	w := &eventsWorld{st: st, org: org, disp: events.NewDispatcher(st, false, nil)}
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-signature") == "" {
			http.Error(rw, "unsigned", http.StatusBadRequest)
			return
		}
		w.received.Add(1)
		rw.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rcv.Close)
	if _, err := webhooks.New(st, true, nil).Create(ctx, org, webhooks.EndpointInput{URL: rcv.URL + "/hook"}); err != nil {
		b.Fatal(err)
	}
	hc := outbound.New(outbound.Options{AllowPrivate: true})
	w.worker = webhooks.NewWorker(st, hc, webhooks.WorkerConfig{Concurrency: 64, Batch: 500}, nil)
	return w
}

// deliverAll dispatches and delivers until the receiver has want events.
func (w *eventsWorld) deliverAll(b *testing.B, want int64, workers int) {
	b.Helper()
	ctx := context.Background()
	for {
		n, err := w.disp.DispatchOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(10 * time.Minute)
	for range workers {
		wg.Go(func() {
			for w.received.Load() < want && time.Now().Before(deadline) {
				if n, err := w.worker.RunOnce(ctx); err != nil {
					b.Error(err)
					return
				} else if n == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	if got := w.received.Load(); got < want {
		b.Fatalf("delivered %d of %d", got, want)
	}
}

// emitRegistrations writes, per registration, the four events a
// self-registration emits (customer.created, user.created and two
// agreement.accepted), batch registrations per transaction (1: one
// transaction each, as in the flow).
func (w *eventsWorld) emitRegistrations(b *testing.B, from, n, batch int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < n; i += batch {
		err := w.st.InTx(ctx, func(tx *store.Tx) error {
			for j := i; j < min(n, i+batch); j++ {
				id := strconv.Itoa(from + j)
				acct, user := "a"+id, "u"+id
				for _, d := range []struct {
					subject string
					data    events.Data
				}{
					{acct, events.CustomerCreated{AccountID: acct, Type: "business", Name: "Company " + id, Origin: "self_registration"}},
					{user, events.UserCreated{UserID: user, AccountID: acct, AccountKind: "customer", Email: "user" + id + "@example.com",
						FirstName: "Ada", LastName: "Lovelace", UserType: "customer_admin"}},
					{user, events.AgreementAccepted{UserID: user, AccountID: acct, Agreement: "terms-of-service", Version: 1}},
					{user, events.AgreementAccepted{UserID: user, AccountID: acct, Agreement: "privacy-policy", Version: 1}},
				} {
					if _, err := events.Emit(ctx, tx, w.org, now, d.subject, d.data); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebhookDeliveries is the sustained rate of webhook deliveries
// (signed POSTs to a local receiver answering 204, each recorded with its
// attempt) by two workers, as two nodes would run them. One operation is
// one delivery. The events are written and dispatched before the timer
// starts. Target ≥ 2,000 deliveries/s on PostgreSQL.
func BenchmarkWebhookDeliveries(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) {
		withPG := strings.HasPrefix(dsn, "postgres")
		w := newEventsWorld(b, dsn)
		regs := (b.N + 3) / 4
		w.emitRegistrations(b, 0, regs, 250)
		for {
			if n, err := w.disp.DispatchOnce(context.Background()); err != nil {
				b.Fatal(err)
			} else if n == 0 {
				break
			}
		}
		want := int64(regs * 4)
		before := sampleCPU()
		b.ResetTimer()
		w.deliverAll(b, want, 2)
		b.StopTimer()
		use := cpuBetween(before, sampleCPU(), withPG)
		b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
		if use.ok {
			b.ReportMetric(use.msPer(int(want)), "cpu_ms/delivery")
			b.ReportMetric(use.noisePct(), "noise_pct")
		}
		counts, err := w.st.CountWebhookDeliveries(context.Background())
		if err != nil || int64(counts[store.DeliveryDelivered]) != want {
			b.Fatalf("deliveries %v %v, want %d delivered", counts, err, want)
		}
	})
}

// BenchmarkRegistrationEvents is the cost that events add to one
// self-registration: its four events written in a transaction of their
// own (in the flow they share the registration's transaction, so this
// overstates the commit), numbered by the dispatcher and delivered to one
// webhook endpoint. One operation is one registration. events_cpu_ms/reg
// is the CPU of all that (PostgreSQL's included on postgres); pct_of_hash
// compares it with one bare argon2id hash, the least a registration costs
// (so the real share of a registration is smaller). Target < 5 %.
func BenchmarkRegistrationEvents(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) {
		withPG := strings.HasPrefix(dsn, "postgres")
		w := newEventsWorld(b, dsn)
		bare := measureBare(bareWindow)
		before := sampleCPU()
		b.ResetTimer()
		w.emitRegistrations(b, 0, b.N, 1)
		w.deliverAll(b, int64(4*b.N), 1)
		b.StopTimer()
		use := cpuBetween(before, sampleCPU(), withPG)
		if use.ok && bare.cpu.ok {
			per := use.msPer(b.N)
			hash := bare.cpu.msPer(bare.hashes)
			b.ReportMetric(per, "events_cpu_ms/reg")
			b.ReportMetric(hash, "hash_cpu_ms")
			b.ReportMetric(100*per/hash, "pct_of_hash")
		}
	})
}
