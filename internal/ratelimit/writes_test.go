package ratelimit

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// openStore opens a migrated SQLite store, closed when the test ends.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "onboard.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

// TestSQLWritesInStoreWriterSlot checks that, with WithWrites, every
// decision that may write and every Sweep wait while the SQLite store's
// writer slot is held, so that they take their turn with the store's
// transactions instead of contending for SQLite's write lock.
func TestSQLWritesInStoreWriterSlot(t *testing.T) {
	r := Rule{Limit: 10, Window: time.Minute}
	calls := []struct {
		name string
		run  func(ctx context.Context, s *SQL) error
	}{
		{"Allow", func(ctx context.Context, s *SQL) error {
			_, err := s.Allow(ctx, "a", r)
			return err
		}},
		{"AllowAll", func(ctx context.Context, s *SQL) error {
			_, _, err := s.AllowAll(ctx, []Check{{Key: "a", Rule: r}, {Key: "b", Rule: r}})
			return err
		}},
		{"AllowAll one check", func(ctx context.Context, s *SQL) error {
			_, _, err := s.AllowAll(ctx, []Check{{Key: "a", Rule: r}})
			return err
		}},
		{"Sweep", func(ctx context.Context, s *SQL) error {
			_, err := s.Sweep(ctx, time.Hour)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			s := NewSQL(st.DB(), nil, WithWrites(st.InWriterSlot))
			done := make(chan error, 1)
			err := st.InWriterSlot(t.Context(), func() error {
				go func() { done <- c.run(t.Context(), s) }()
				select {
				case err := <-done:
					return fmt.Errorf("%s returned while the writer slot was held (err %v)", c.name, err)
				case <-time.After(100 * time.Millisecond):
					return nil
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s after the slot was released: %v", c.name, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s did not return after the slot was released", c.name)
			}
		})
	}
}

// TestSQLWithStoreTransactions runs concurrent AllowAll calls and store
// transactions on one SQLite store, as signup starts do with the rate
// limits in the database: no call may fail or wait for SQLite's lock, and
// the windows hold exactly the events allowed.
func TestSQLWithStoreTransactions(t *testing.T) {
	st := openStore(t)
	s := NewSQL(st.DB(), nil, WithWrites(st.InWriterSlot))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	org := domain.Organization{ID: store.NewID(), Name: "acme", DisplayName: "Acme", Onboarding: domain.DefaultOnboarding(), CreatedAt: store.Now()}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateOrganization(ctx, org) }); err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 4 // batches of 1 to 64 signups (sqliteBatchRows)
	rule := Rule{Limit: 1_000_000, Window: time.Minute}
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range each {
				checks := []Check{{Key: "ip", Rule: rule}, {Key: fmt.Sprintf("mail-%d-%d", w, i), Rule: rule}}
				if d, idx, err := s.AllowAll(ctx, checks); err != nil || !d.Allowed {
					errs <- fmt.Errorf("AllowAll: %+v at %d, %v", d, idx, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range each {
				// A batch of a size not written before: a statement the
				// store has not prepared yet, as the job worker's are.
				n := 1 + w*each + i
				now := store.Now()
				ss := make([]domain.Signup, n)
				for k := range ss {
					ss[k] = domain.Signup{ID: store.NewID(), OrgID: org.ID, Email: fmt.Sprintf("s-%d-%d-%d@example.com", w, i, k),
						AccountType: "personal", TokenHash: []byte(store.NewID()), State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
				}
				if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateSignups(ctx, ss) }); err != nil {
					errs <- fmt.Errorf("transaction: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var total int64
	if err := st.DB().QueryRowContext(t.Context(), `SELECT COALESCE(SUM(count), 0) FROM rate_limits WHERE key = 'ip'`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != workers*each {
		t.Fatalf("ip windows hold %d events, want %d", total, workers*each)
	}
}
