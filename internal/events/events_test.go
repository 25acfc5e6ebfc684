package events_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/natstest"
)

// open opens the database at dsn with opts, migrated, with the default
// organization; both are closed when the test ends.
func open(t *testing.T, dsn string, opts ...store.Option) (*store.Store, domain.Organization) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org, err := flows.EnsureDefaultOrganization(ctx, st, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return st, org
}

func emit(t *testing.T, st *store.Store, org domain.Organization, subject string) string {
	t.Helper()
	var id string
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		e, err := events.Emit(context.Background(), tx, org, time.Now(), subject, events.UserRemoved{UserID: subject, AccountID: "a"})
		id = e.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func feedIDs(t *testing.T, st *store.Store, org domain.Organization, after string) ([]string, string) {
	t.Helper()
	page, err := events.Feed(context.Background(), st, org, after, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, raw := range page.Events {
		e, err := events.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	return ids, page.Next
}

// A transaction that wrote its event first but commits last: the feed,
// which follows commit order, still gives its event to a consumer whose
// cursor is past the events committed before it. A rolled-back change
// leaves no event.
func TestFeedFollowsCommitOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st, org := open(t, dsn)
		ctx := context.Background()
		d := events.NewDispatcher(st, false, nil)
		first := emit(t, st, org, "s1")
		if n, err := d.DispatchOnce(ctx); err != nil || n != 1 {
			t.Fatalf("dispatch: %d %v", n, err)
		}
		ids, next := feedIDs(t, st, org, "")
		if len(ids) != 1 || ids[0] != first {
			t.Fatalf("feed %v", ids)
		}
		// Rolled back: nothing.
		_ = st.InTx(ctx, func(tx *store.Tx) error {
			if _, err := events.Emit(ctx, tx, org, time.Now(), "s9", events.UserRemoved{UserID: "s9"}); err != nil {
				t.Fatal(err)
			}
			return domain.Errorf(domain.EConflict, "x", "rolled back")
		})
		if st.Engine() != store.Postgres {
			return // SQLite runs one write transaction at a time
		}
		// T1 draws its (smaller) id first and commits after T2.
		started, release, done := make(chan string), make(chan struct{}), make(chan error)
		go func() {
			done <- st.InTx(ctx, func(tx *store.Tx) error {
				e, err := events.Emit(ctx, tx, org, time.Now(), "late", events.UserRemoved{UserID: "late"})
				started <- e.ID
				<-release
				return err
			})
		}()
		late := <-started
		early := emit(t, st, org, "early")
		if late >= early {
			t.Fatalf("ids not in drawing order: %s %s", late, early)
		}
		if _, err := d.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		ids, next = feedIDs(t, st, org, next)
		if len(ids) != 1 || ids[0] != early {
			t.Fatalf("feed after the early commit: %v", ids)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := d.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		ids, _ = feedIDs(t, st, org, next)
		if len(ids) != 1 || ids[0] != late {
			t.Fatalf("feed after the late commit: %v (the late event was skipped)", ids)
		}
	})
}

// Events are published to onboard.events.<org>.<type> with Nats-Msg-Id set
// to the event id; publishing them again (a crash between the publish and
// its record, then a restart) adds no message to the stream.
func TestNATSPublishingDeduplicates(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		srv := natstest.Start(t)
		st, org := open(t, dsn)
		ctx := context.Background()
		js := natstest.JetStream(t, srv.Connect(t))
		stream := natstest.Name(t, "EVENTS")
		var ids []string
		for i := range 3 {
			ids = append(ids, emit(t, st, org, "u"+strconv.Itoa(i)))
		}
		if _, err := events.NewDispatcher(st, true, nil).DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		run := func() {
			t.Helper()
			pctx, cancel := context.WithCancel(ctx)
			done := make(chan error)
			p := events.NewPublisher(st, events.NATSConfig{URL: srv.URL(), Stream: stream}, nil)
			go func() { done <- p.Run(pctx, 20*time.Millisecond) }()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				var pending int
				if err := st.DB().QueryRow(`SELECT COUNT(*) FROM events WHERE nats_pending = 1`).Scan(&pending); err != nil {
					t.Fatal(err)
				}
				if pending == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		run()
		// As if the publisher died before recording: publish all again.
		if _, err := st.DB().Exec(`UPDATE events SET nats_pending = 1`); err != nil {
			t.Fatal(err)
		}
		run()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 3 {
			t.Fatalf("stream holds %d messages, want 3", info.State.Msgs)
		}
		for i, id := range ids {
			m, err := s.GetMsg(ctx, uint64(i+1))
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != "onboard.events.default.user.removed" || m.Header.Get(jetstream.MsgIDHeader) != id {
				t.Errorf("message %d: %s %s, want %s", i+1, m.Subject, m.Header.Get(jetstream.MsgIDHeader), id)
			}
			if e, err := events.Parse(m.Data); err != nil || e.ID != id {
				t.Errorf("message %d body: %v", i+1, err)
			}
		}
	})
}
