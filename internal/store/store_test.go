package store_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// open opens dsn with opts and migrates it; the store closes when the test
// ends.
func open(t *testing.T, dsn string, opts ...store.Option) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

// fixture creates an organization, a user type and an account.
func fixture(t *testing.T, st *store.Store) (domain.Organization, domain.UserType, domain.Account) {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	org := domain.Organization{ID: store.NewID(), Name: "acme", DisplayName: "Acme", Onboarding: domain.DefaultOnboarding(), CreatedAt: now}
	ut := domain.UserType{ID: store.NewID(), OrgID: org.ID, Name: "admin", Label: "Admin", Permissions: []string{domain.PermAccountAdmin}}
	acct := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindCustomer, Type: domain.CustomerBusiness, Name: "Acme BV",
		Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now, UpdatedAt: now}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		if err := tx.CreateUserType(ctx, ut); err != nil {
			return err
		}
		return tx.CreateAccount(ctx, acct)
	})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return org, ut, acct
}

func TestMigrateIsIdempotent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		applied, err := st.Migrate(context.Background())
		if err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if len(applied) != 0 {
			t.Fatalf("second migrate applied %v, want nothing", applied)
		}
	})
}

func TestOrganizationRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		org, _, _ := fixture(t, st)
		got, err := st.OrganizationByName(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != org.ID || !got.CreatedAt.Equal(org.CreatedAt) || !got.Onboarding.Offers(domain.AccountCustomerPersonal) {
			t.Fatalf("got %+v, want %+v", got, org)
		}
		if _, err := st.OrganizationByName(context.Background(), "nope"); !store.IsNotFound(err) {
			t.Fatalf("missing org: err = %v, want not found", err)
		}
	})
}

func TestUserEmailUniqueCaseInsensitive(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		org, ut, acct := fixture(t, st)
		now := store.Now()
		u := domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut.ID, Email: "Ann@Example.com",
			FirstName: "Ann", LastName: "Lee", Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now,
			Properties: map[string]string{"lang": "nl"}}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		u2 := u
		u2.ID, u2.Email = store.NewID(), "ann@EXAMPLE.com"
		if err := st.CreateUser(ctx, u2); !store.IsDuplicate(err) {
			t.Fatalf("second user with same email: err = %v, want duplicate", err)
		}
		got, err := st.UserByEmail(ctx, org.ID, " ANN@example.COM ")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.Email != "Ann@Example.com" || got.Properties["lang"] != "nl" || !got.CreatedAt.Equal(now) {
			t.Fatalf("got %+v", got)
		}
		reg, err := st.EmailRegistered(ctx, org.ID, "ann@example.com")
		if err != nil || !reg {
			t.Fatalf("EmailRegistered = %v, %v", reg, err)
		}
	})
}

func TestInTxRollsBack(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		org, _, _ := fixture(t, st)
		loc := domain.Location{ID: store.NewID(), OrgID: org.ID, AccountID: "missing-account", Name: "Home", CreatedAt: store.Now()}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "t", Action: "x", CreatedAt: store.Now()}); err != nil {
				return err
			}
			return tx.CreateLocation(ctx, loc) // foreign key violation
		})
		if err == nil {
			t.Fatal("location of a missing account was accepted")
		}
		var n int
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("audit rows after rollback = %d, want 0", n)
		}
	})
}

func TestConsumeSignupOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		org, _, _ := fixture(t, st)
		now := store.Now()
		su := domain.Signup{ID: store.NewID(), OrgID: org.ID, Email: "a@example.com", AccountType: domain.AccountCustomerPersonal,
			TokenHash: []byte("0123456789abcdef0123456789abcdef"), State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateSignup(ctx, su); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Go(func() {
				err := st.InTx(ctx, func(tx *store.Tx) error {
					ok, err := tx.ConsumeSignup(ctx, su.ID, store.NewID(), store.Now())
					if ok {
						mu.Lock()
						wins++
						mu.Unlock()
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("consumed %d times, want exactly 1", wins)
		}
		got, err := st.SignupByTokenHash(ctx, su.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != domain.SignupCompleted || got.CompletedAt == nil || got.UserID == "" {
			t.Fatalf("after consume: %+v", got)
		}
	})
}

func TestConsumeExpiredSignupFails(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		org, _, _ := fixture(t, st)
		now := store.Now()
		su := domain.Signup{ID: store.NewID(), OrgID: org.ID, Email: "a@example.com", AccountType: domain.AccountCustomerPersonal,
			TokenHash: []byte("expired-hash-expired-hash-000000"), State: domain.SignupPending, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
		if err := st.CreateSignup(ctx, su); err != nil {
			t.Fatal(err)
		}
		ok, err := st.ConsumeSignup(ctx, su.ID, "u", now)
		if err != nil || ok {
			t.Fatalf("consume expired = %v, %v; want false", ok, err)
		}
	})
}

func TestOutboxClaimLeaseAndRetry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		now := store.Now()
		for i := range 3 {
			id := store.NewID()
			m := domain.OutboxMail{ID: id, OrgID: "o", MessageID: "<" + id + "@x>", Template: "t", To: "a@example.com",
				Subject: "s", Text: "t", HTML: "h"}
			if err := st.EnqueueMail(ctx, m, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.ClaimMail(ctx, now.Add(time.Second), 2, time.Minute)
		if err != nil || len(got) != 2 {
			t.Fatalf("claim = %d, %v; want 2", len(got), err)
		}
		rest, err := st.ClaimMail(ctx, now.Add(time.Second), 10, time.Minute)
		if err != nil || len(rest) != 1 {
			t.Fatalf("second claim = %d, %v; want the 1 unleased", len(rest), err)
		}
		if err := st.MarkMailSent(ctx, got[0].ID, now); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkMailFailed(ctx, got[1].ID, now.Add(10*time.Second), "boom", false); err != nil {
			t.Fatal(err)
		}
		// Not yet due; the third is leased.
		if c, _ := st.ClaimMail(ctx, now.Add(2*time.Second), 10, time.Minute); len(c) != 0 {
			t.Fatalf("claimed %d before due, want 0", len(c))
		}
		// Retry due, and the third's lease expired: both come back.
		c, err := st.ClaimMail(ctx, now.Add(2*time.Minute), 10, time.Minute)
		if err != nil || len(c) != 2 {
			t.Fatalf("claim after lease expiry = %d, %v; want 2", len(c), err)
		}
		for _, m := range c {
			if m.ID == got[1].ID && m.Attempts != 1 {
				t.Fatalf("attempts = %d, want 1", m.Attempts)
			}
		}
		counts, err := st.OutboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.OutboxSent] != 1 || counts[store.OutboxProcessing] != 2 {
			t.Fatalf("counts = %v", counts)
		}
		// Released messages are claimable at once, not after their lease;
		// releasing a sent one changes nothing.
		if err := st.ReleaseMail(ctx, []string{c[0].ID, got[0].ID}); err != nil {
			t.Fatal(err)
		}
		again, err := st.ClaimMail(ctx, now.Add(2*time.Minute), 10, time.Minute)
		if err != nil || len(again) != 1 || again[0].ID != c[0].ID {
			t.Fatalf("claim after release = %v, %v; want just %s", again, err, c[0].ID)
		}
	})
}

// TestSQLitePathWithURICharacters opens a database whose path holds the
// characters a SQLite URI filename treats specially: the data must go to
// that file, not to one named by the path cut at '#'. ('?' starts the
// DSN's options, so a path cannot hold it.)
func TestSQLitePathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "a#b%c", "onboard.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() == 0 {
		t.Fatalf("database file %s is empty", path)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Fatal("a database was written at the path cut at '#'")
	}
}
