package events_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// statementCount counts the statements sent to PostgreSQL, BEGIN and
// COMMIT included.
type statementCount struct{ n atomic.Int64 }

func (c *statementCount) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *statementCount) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A dispatch on PostgreSQL is BEGIN, the sequence's lock, one read of the
// events and their endpoints, one statement that numbers them and writes
// their deliveries, and COMMIT; when the events were written by another
// process, one look first tells whether there is anything to number.
func TestStatementsPerDispatch(t *testing.T) {
	dsn := dbtest.Postgres(t)
	ctx := context.Background()
	count := new(statementCount)
	st, org := open(t, dsn, store.WithQueryTracer(count))
	// Another process: a store of its own on the same schema.
	other, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	d := events.NewDispatcher(st, false, nil)
	for _, c := range []struct {
		name   string
		writer *store.Store
		want   int64
	}{
		{"written here", st, 5},
		{"written by another process", other, 6},
	} {
		err := c.writer.InTx(ctx, func(tx *store.Tx) error {
			for _, subject := range []string{"a1", "u1", "u1", "u1"} {
				if _, err := events.Emit(ctx, tx, org, time.Now(), subject, events.UserRemoved{UserID: subject, AccountID: "a1"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		count.n.Store(0)
		if n, err := d.DispatchOnce(ctx); err != nil || n != 4 {
			t.Fatalf("%s: dispatched %d (%v), want 4", c.name, n, err)
		}
		if got := count.n.Load(); got != c.want {
			t.Errorf("%s: %d statements, want %d", c.name, got, c.want)
		}
	}
}
