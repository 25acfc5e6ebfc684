package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Signups and funnel subjects must name an existing organization, and go
// with it when it is deleted: on SQLite through foreign keys, on PostgreSQL
// through the statement-level triggers that replace them
// (postgres/0026_start_writes.sql).
func TestSignupsAndFunnelSubjectsFollowTheirOrganization(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		now := store.Now()
		org, _, _ := fixture(t, st)
		other := domain.Organization{ID: store.NewID(), Name: "other", DisplayName: "Other", Onboarding: domain.DefaultOnboarding(), CreatedAt: now}
		if err := st.CreateOrganization(ctx, other); err != nil {
			t.Fatal(err)
		}
		signup := func(orgID string) domain.Signup {
			id := store.NewID()
			return domain.Signup{ID: id, OrgID: orgID, Email: id + "@example.com", AccountType: domain.AccountCustomerPersonal,
				TokenHash: []byte(id), State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Language: "en"}
		}
		start := func(s domain.Signup) store.FunnelStart {
			return store.FunnelStart{SignupID: s.ID, OrgID: s.OrgID, AccountType: s.AccountType, At: now}
		}
		write := func(ss ...domain.Signup) error {
			return st.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.CreateSignups(ctx, ss); err != nil {
					return err
				}
				starts := make([]store.FunnelStart, len(ss))
				for i, s := range ss {
					starts[i] = start(s)
				}
				return tx.FunnelSignupsStarted(ctx, starts)
			})
		}
		count := func(table, orgID string) int {
			t.Helper()
			var n int
			if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE org_id = $1`, orgID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		if err := write(signup(org.ID), signup(org.ID), signup(other.ID)); err != nil {
			t.Fatal(err)
		}
		// The checks on their own: funnel_daily, which FunnelSignupsStarted
		// also writes, has a foreign key of its own.
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.CreateSignups(ctx, []domain.Signup{signup(org.ID), signup("ghost")})
		}); err == nil {
			t.Error("a batch with a signup of a missing organization was written")
		}
		if _, err := st.DB().ExecContext(ctx, `INSERT INTO funnel_subjects (signup_id, org_id, account_type, started_at)
			VALUES ($1, $2, 'x', $3), ($4, 'ghost', 'x', $3)`, store.NewID(), org.ID, now, store.NewID()); err == nil {
			t.Error("a funnel subject of a missing organization was written")
		}
		for _, table := range []string{"signups", "funnel_subjects"} {
			if n := count(table, org.ID); n != 2 {
				t.Fatalf("%s of the organization: %d, want 2 (the refused statements wrote nothing)", table, n)
			}
			if _, err := st.DB().ExecContext(ctx, `UPDATE `+table+` SET org_id = 'ghost' WHERE org_id = $1`, other.ID); err == nil {
				t.Errorf("%s were moved to a missing organization", table)
			}
			if _, err := st.DB().ExecContext(ctx, `UPDATE `+table+` SET org_id = $1 WHERE org_id = 'nobody'`, other.ID); err != nil {
				t.Errorf("an update of no %s: %v", table, err)
			}
		}

		if _, err := st.DB().ExecContext(ctx, `DELETE FROM organizations WHERE id = $1`, org.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"signups", "funnel_subjects"} {
			if n := count(table, org.ID); n != 0 {
				t.Errorf("%d %s left after their organization was deleted, want 0", n, table)
			}
			if n := count(table, other.ID); n != 1 {
				t.Errorf("%d %s of another organization, want 1", n, table)
			}
		}
	})
}
