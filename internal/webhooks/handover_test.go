package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// A long burst of registrations' events, dispatched and handed over to
// the running worker by the running dispatcher, reaches a real receiver
// well before a lease would run out: no delivery is left waiting for one.
func TestLongBurstOfHandOvers(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const lease = time.Minute
		h.worker = webhooks.NewWorker(h.st, outbound.New(outbound.Options{AllowPrivate: true}),
			webhooks.WorkerConfig{Timeout: 10 * time.Second, Lease: lease, Batch: 50}, nil)
		rcv := newReceiver(t)
		h.endpointTo(t, rcv)
		h.disp.Sender = h.worker
		h.disp.Linger = 5 * time.Millisecond
		var running sync.WaitGroup
		running.Go(func() { h.worker.Run(ctx) })
		running.Go(func() { h.disp.Run(ctx, 250*time.Millisecond) })
		defer func() { cancel(); running.Wait() }()
		var written atomic.Int64
		stopAt := time.Now().Add(8 * time.Second)
		var writers sync.WaitGroup
		for k := range 8 {
			writers.Go(func() {
				for i := 0; time.Now().Before(stopAt); i++ {
					acct, user := fmt.Sprintf("a%d-%d", k, i), fmt.Sprintf("u%d-%d", k, i)
					err := h.st.InTx(ctx, func(tx *store.Tx) error {
						for _, d := range []struct {
							subject string
							data    events.Data
						}{
							{acct, events.CustomerCreated{AccountID: acct, Type: "business", Name: "Company", Origin: "self_registration"}},
							{user, events.UserCreated{UserID: user, AccountID: acct, AccountKind: "customer", Email: user + "@example.com", UserType: "customer_admin"}},
							{user, events.AgreementAccepted{UserID: user, AccountID: acct, Agreement: "terms-of-service", Version: 1}},
							{user, events.AgreementAccepted{UserID: user, AccountID: acct, Agreement: "privacy-policy", Version: 1}},
						} {
							if _, err := events.Emit(ctx, tx, h.org, time.Now(), d.subject, d.data); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					written.Add(4)
					h.disp.Wake()
				}
			})
		}
		writers.Wait()
		want := int(written.Load())
		deadline := time.Now().Add(lease / 3)
		for len(rcv.events()) < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := len(rcv.events()); got < want {
			counts, _ := h.st.CountWebhookDeliveries(context.Background())
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.Fatalf("received %d of %d events %v after the burst (deliveries %v)", got, want, lease/3, counts)
		}
		t.Logf("%d events", want)
	})
}

// While hand-overs keep coming (the worker always has handed-over
// deliveries waiting when it finishes a batch), a retry that falls due is
// claimed at the worker's poll tick, not when the stream pauses.
func TestWorkerClaimsDuringHandOvers(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rcv := newReceiver(t)
		h.endpointTo(t, rcv)
		var retryCalls atomic.Int32
		rcv.status = func(e events.Event) int {
			switch e.Subject {
			case "stream":
				time.Sleep(2 * time.Millisecond)
			case "retry":
				if retryCalls.Add(1) == 1 {
					return http.StatusInternalServerError
				}
			}
			return 0
		}
		// The delivery handed over again and again: a real event's, taken
		// from a dispatch (its recordings update one row, or none).
		snd := &recordingSender{}
		h.disp.Sender = snd
		h.emit(t, "stream", 1)
		if _, err := h.disp.DispatchOnce(ctx); err != nil || len(snd.handed) != 1 {
			t.Fatalf("dispatch: %v, handed %d", err, len(snd.handed))
		}
		tmpl := snd.handed[0]
		h.worker = webhooks.NewWorker(h.st, outbound.New(outbound.Options{AllowPrivate: true}),
			webhooks.WorkerConfig{Timeout: 2 * time.Second, Poll: 50 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 20 * time.Millisecond}, nil)
		h.disp.Sender = h.worker
		var running sync.WaitGroup
		running.Go(func() { h.worker.Run(ctx) })
		defer func() { cancel(); running.Wait() }()
		time.Sleep(50 * time.Millisecond) // past the first claim of Run
		stop := make(chan struct{})
		var streaming sync.WaitGroup
		streaming.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := tmpl
				d.ID = store.NewID()
				h.worker.Send([]store.ClaimedDelivery{d}, false)
				time.Sleep(200 * time.Microsecond)
			}
		})
		defer func() { close(stop); streaming.Wait() }()
		time.Sleep(100 * time.Millisecond) // the stream is flowing
		h.emit(t, "retry", 1)
		if _, err := h.disp.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for !rcv.has("retry") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !rcv.has("retry") {
			t.Fatalf("the retry was not delivered during the stream (%d calls)", retryCalls.Load())
		}
	})
}
