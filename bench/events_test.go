package bench

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
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

// Its worker is built with cfg; opts open the store.
func newEventsWorld(b *testing.B, dsn string, cfg webhooks.WorkerConfig, opts ...store.Option) *eventsWorld {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, opts...)
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
	// Warnings (a failed dispatch, claim or recording) go to stderr: a
	// run that stops making progress says why.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w := &eventsWorld{st: st, org: org, disp: events.NewDispatcher(st, false, logger)}
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
	w.worker = webhooks.NewWorker(st, hc, cfg, logger)
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
	if err := w.writeRegistrations(from, n, batch); err != nil {
		b.Fatal(err)
	}
}

// writeRegistrations is emitRegistrations returning its error, for
// goroutines other than the benchmark's (where b.Fatal must not be
// called).
func (w *eventsWorld) writeRegistrations(from, n, batch int) error {
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
			return fmt.Errorf("write registrations: %w", err)
		}
	}
	return nil
}

// BenchmarkWebhookDeliveries is the sustained rate of webhook deliveries
// (signed POSTs to a local receiver answering 204, each recorded with its
// attempt) by two workers, as two nodes would run them. One operation is
// one delivery. The events are written and dispatched before the timer
// starts. Target ≥ 2,000 deliveries/s on PostgreSQL.
func BenchmarkWebhookDeliveries(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) {
		withPG := strings.HasPrefix(dsn, "postgres")
		w := newEventsWorld(b, dsn, webhooks.WorkerConfig{Concurrency: 64, Batch: 500})
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

// BenchmarkEventsCPU is the CPU of the events of one self-registration
// alone: its four events written in a transaction of their own (in the
// flow they share the registration's transaction, so this overstates the
// commit), numbered by the dispatcher and delivered to one webhook
// endpoint. One operation is one registration's events. events_cpu_ms/reg
// is the CPU of all that (PostgreSQL's included on postgres), for
// profiling; the added cost of events per registration, the issue's
// figure, is BenchmarkRegistrationEvents.
func BenchmarkEventsCPU(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) {
		withPG := strings.HasPrefix(dsn, "postgres")
		w := newEventsWorld(b, dsn, webhooks.WorkerConfig{Concurrency: 64, Batch: 500})
		before := sampleCPU()
		b.ResetTimer()
		w.emitRegistrations(b, 0, b.N, 1)
		w.deliverAll(b, int64(4*b.N), 1)
		b.StopTimer()
		use := cpuBetween(before, sampleCPU(), withPG)
		if use.ok {
			b.ReportMetric(use.msPer(b.N), "events_cpu_ms/reg")
		}
		reportNoise(b, use)
	})
}

// eventsRound is the number of registrations of one round of
// BenchmarkRegistrationEvents.
const eventsRound = 2 * registrationClients

// BenchmarkRegistrationEvents is the added cost of events per registration,
// the figure: whole registrations as in BenchmarkRegistration
// (start, mail, form, completion with its argon2id hash, over HTTP and
// SMTP), in rounds of eventsRound that alternate between events on, with
// one webhook endpoint whose local receiver gets every event (the round
// ends when the receiver has them all; the receiver runs in a child
// process, so that its CPU is not counted as the service's), and events off (the store drops
// them: store.DiscardEventsForMeasurement). Rounds alternate A B B A so
// that a drift of the machine's load weighs on both. One operation is one
// registration with events; as many run without.
//
// reg_cpu_ms is the CPU of a registration without events, reg_events_cpu_ms
// with them (this process, plus the PostgreSQL server on postgres);
// added_pct = 100 × (with − without) / without. Target < 5 %. On postgres,
// reg_pg_cpu_ms and reg_events_pg_cpu_ms are the PostgreSQL server's part
// of reg_cpu_ms and reg_events_cpu_ms.
// added_pct_se is the standard error of the mean of the same share taken
// per pair of adjacent rounds: added_pct ± 2 × added_pct_se tells 4 % from
// 6 % when it is below 0.5 (more rounds shrink it).
func BenchmarkRegistrationEvents(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) {
		withPG := strings.HasPrefix(dsn, "postgres")
		ctx := context.Background()
		// The receiver runs in a process of its own: what it spends
		// answering is the platform's CPU, not the service's.
		rcv := startReceiver(b)
		mb := &mailbox{links: map[string]chan string{}}
		smtp := smtptest.Start(b, smtptest.WithOnMessage(mb.deliver))
		s := startServer(b, dsn, registrationClients, func(c *config.Config) {
			c.SMTPURL = smtp.URL()
			c.OutboundAllowPrivate = true
		})
		mb.prefix = s.base + "/register?token="
		st := s.app.Store()
		org, err := flows.EnsureDefaultOrganization(ctx, st, "Bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := webhooks.New(st, true, nil).Create(ctx, org, webhooks.EndpointInput{URL: rcv.url + "/hook"}); err != nil {
			b.Fatal(err)
		}
		s.warm(b, registrationClients)
		next := 0
		// written is the number of events written so far, lastID the
		// largest event id counted: UUIDv7s grow, and the rounds run one
		// after the other, so each round counts only its own events (a
		// COUNT over the whole table grew with the run).
		var written int64
		lastID := ""
		// round runs n registrations and, with events on, waits until the
		// receiver has every event written so far (one request, which
		// the receiver answers once it has them).
		round := func(n int, on bool) cpuUse {
			st.DiscardEventsForMeasurement(!on)
			before := sampleCPU()
			from := next
			next += n
			if err := drive(n, registrationClients, func(i int) error {
				return s.register(mb, fmt.Sprintf("ev-%d@bench.example.com", from+i))
			}); err != nil {
				b.Fatalf("registration: %v", err)
			}
			var added int64
			var maxID sql.NullString
			if err := st.DB().QueryRow(`SELECT COUNT(*), MAX(id) FROM events WHERE id > $1`, lastID).Scan(&added, &maxID); err != nil {
				b.Fatal(err)
			}
			if maxID.Valid {
				written, lastID = written+added, maxID.String
			}
			if got := rcv.received(b, written); got < written {
				b.Fatalf("delivered %d of %d events", got, written)
			}
			return cpuBetween(before, sampleCPU(), withPG)
		}
		round(eventsRound, true) // warm-up: caches, prepared statements, connections
		var with, without cpuUse
		with.ok, without.ok = true, true
		// The added share of each pair of rounds (one with events, one
		// without, adjacent): its spread tells how far added_pct can be
		// trusted.
		var pairs []float64
		b.ResetTimer()
		for done, r := 0, 0; done < b.N; r++ {
			n := min(eventsRound, b.N-done)
			var on1, off1 cpuUse
			for k := range 2 {
				on := (r%2 == 0) == (k == 0) // A B, B A, A B, …
				if on {
					on1 = round(n, true)
					with = with.add(on1)
				} else {
					off1 = round(n, false)
					without = without.add(off1)
				}
			}
			if on1.ok && off1.ok && off1.service > 0 {
				pairs = append(pairs, 100*float64(on1.service-off1.service)/float64(off1.service))
			}
			done += n
		}
		b.StopTimer()
		st.DiscardEventsForMeasurement(false)
		if with.ok && without.ok {
			per, base := with.msPer(b.N), without.msPer(b.N)
			b.ReportMetric(base, "reg_cpu_ms")
			b.ReportMetric(per, "reg_events_cpu_ms")
			b.ReportMetric(100*(per-base)/base, "added_pct")
			if withPG {
				// PostgreSQL's part of each: where the added cost is spent.
				b.ReportMetric(without.pgMsPer(b.N), "reg_pg_cpu_ms")
				b.ReportMetric(with.pgMsPer(b.N), "reg_events_pg_cpu_ms")
			}
		}
		if len(pairs) > 1 {
			// The standard error of the mean of the pairs' added shares.
			var mean, ss float64
			for _, p := range pairs {
				mean += p / float64(len(pairs))
			}
			for _, p := range pairs {
				ss += (p - mean) * (p - mean)
			}
			b.ReportMetric(math.Sqrt(ss/float64(len(pairs)-1)/float64(len(pairs))), "added_pct_se")
		}
		reportNoise(b, with, without)
	})
}

// statementCount counts the statements (BEGIN and COMMIT included) sent to
// PostgreSQL.
type statementCount struct{ n atomic.Int64 }

func (c *statementCount) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *statementCount) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// rowsWritten is the number of rows inserted, updated and deleted in the
// tables of the store's schema, as PostgreSQL's statistics count them
// (index entries are not counted); hot is how many of the updates were HOT
// (wrote no index entry).
func rowsWritten(b *testing.B, st *store.Store) (rows, hot int64) {
	b.Helper()
	// A backend reports its counts at most every second, and one that went
	// idle with counts it could not report tries again 10 s later.
	time.Sleep(11 * time.Second)
	if err := st.DB().QueryRow(`SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0), COALESCE(SUM(n_tup_hot_upd), 0)
		FROM pg_stat_user_tables WHERE schemaname = current_schema()`).Scan(&rows, &hot); err != nil {
		b.Fatal(err)
	}
	return rows, hot
}

// walPosition is the server's current WAL position, in bytes. It counts
// the WAL of every database of the server: only meaningful when nothing
// else writes to it.
func walPosition(b *testing.B, st *store.Store) int64 {
	b.Helper()
	var pos int64
	if err := st.DB().QueryRow(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint`).Scan(&pos); err != nil {
		b.Fatal(err)
	}
	return pos
}

// BenchmarkWebhookHandover measures webhook deliveries on the path the
// service uses: registrations' events (four per registration, one
// transaction each) committed by 8 writers, numbered by the running
// dispatcher, which hands their deliveries to the running worker (written
// already leased: sent without a claim), which records them. One operation
// is one delivery.
//
// BenchmarkWebhookHandover: the writers write as fast as they can;
// deliveries/s is the sustained rate (target ≥ 2,000/s on PostgreSQL, as
// for BenchmarkWebhookDeliveries, which measures the claim path: that of
// retries and of other nodes). BenchmarkWebhookHandoverPaced: the writers
// write 40 registrations a second in all, about the rate of
// BenchmarkRegistration on 2 cores, so that dispatches and recordings are
// about as batched as in BenchmarkRegistrationEvents.
//
// On postgres both report what the events of one registration cost the
// database: stmts/reg, the statements of the dispatcher and the worker
// plus the events' INSERT (the writers' BEGIN and COMMIT are left out: a
// registration's transaction has them anyway), and rows/reg, the rows
// written (inserted, updated, deleted; hot_upd/reg of them updates that
// wrote no index entry), from PostgreSQL's statistics.
func BenchmarkWebhookHandover(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) { benchHandover(b, dsn, 0) })
}

// BenchmarkWebhookHandoverPaced is BenchmarkWebhookHandover paced.
func BenchmarkWebhookHandoverPaced(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) { benchHandover(b, dsn, 200*time.Millisecond) })
}

// benchHandover runs BenchmarkWebhookHandover; each writer waits pause
// between its registrations.
func benchHandover(b *testing.B, dsn string, pause time.Duration) {
	withPG := strings.HasPrefix(dsn, "postgres")
	ctx := context.Background()
	stmts := new(statementCount)
	var opts []store.Option
	if withPG {
		opts = append(opts, store.WithQueryTracer(stmts))
	}
	w := newEventsWorld(b, dsn, webhooks.WorkerConfig{}, opts...)
	st := w.st
	w.disp.Sender = w.worker
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Go(func() { _ = w.disp.Run(runCtx, 250*time.Millisecond) })
	running.Go(func() { _ = w.worker.Run(runCtx) })
	defer func() { stop(); running.Wait() }()
	// registrations writes n registrations' events from 8 writers and
	// waits until the receiver has them all.
	const writers = 8
	next := 0
	registrations := func(n int) {
		from := next
		next += n
		var todo atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for k := range writers {
			wg.Go(func() {
				time.Sleep(time.Duration(k) * pause / writers) // spread the paced writers
				for i := todo.Add(1) - 1; i < int64(n); i = todo.Add(1) - 1 {
					if err := w.writeRegistrations(from+int(i), 1, 1); err != nil {
						errs <- err
						todo.Store(int64(n)) // the others stop too
						return
					}
					w.disp.Wake()
					time.Sleep(pause)
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		want := int64(4 * next)
		// A receiver that stops getting events for a minute ends the run
		// with the deliveries' states (the lease is 50 s).
		last, progress := w.received.Load(), time.Now()
		for w.received.Load() < want {
			time.Sleep(time.Millisecond)
			if got := w.received.Load(); got != last {
				last, progress = got, time.Now()
			} else if time.Since(progress) > time.Minute {
				counts, err := st.CountWebhookDeliveries(ctx)
				b.Fatalf("delivered %d of %d, none for a minute; deliveries by state %v (%v)", got, want, counts, err)
			}
		}
	}
	registrations(40) // warm-up: prepared statements, connections
	var rows0, hot0 int64
	if withPG {
		rows0, hot0 = rowsWritten(b, st)
	}
	regs := (b.N + 3) / 4
	var wal0 int64
	if withPG {
		wal0 = walPosition(b, st)
	}
	stmts.n.Store(0)
	before := sampleCPU()
	b.ResetTimer()
	registrations(regs)
	b.StopTimer()
	use := cpuBetween(before, sampleCPU(), withPG)
	statements := stmts.n.Load()
	var wal int64
	if withPG {
		wal = walPosition(b, st) - wal0
	}
	if pause == 0 {
		b.ReportMetric(float64(4*regs)/b.Elapsed().Seconds(), "deliveries/s")
	}
	if use.ok {
		b.ReportMetric(use.msPer(regs), "cpu_ms/reg")
		if withPG {
			b.ReportMetric(use.pgMsPer(regs), "pg_cpu_ms/reg")
		}
	}
	reportNoise(b, use)
	if withPG {
		rows, hot := rowsWritten(b, st)
		// Less each writer transaction's BEGIN and COMMIT, which the
		// registration's transaction has anyway.
		b.ReportMetric(float64(statements-2*int64(regs))/float64(regs), "stmts/reg")
		b.ReportMetric(float64(rows-rows0)/float64(regs), "rows/reg")
		b.ReportMetric(float64(hot-hot0)/float64(regs), "hot_upd/reg")
		b.ReportMetric(float64(wal)/float64(regs), "wal_bytes/reg")
	}
	counts, err := st.CountWebhookDeliveries(ctx)
	if err != nil || int64(counts[store.DeliveryDelivered]) != int64(4*next) {
		b.Fatalf("deliveries %v %v, want %d delivered", counts, err, 4*next)
	}
}
