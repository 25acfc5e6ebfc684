package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func accountUser(t *testing.T, st *store.Store, org domain.Organization, ut domain.UserType, acct domain.Account, email string) domain.User {
	t.Helper()
	now := store.Now()
	u := domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut.ID, Email: email, FirstName: "A", LastName: "B",
		Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func hashOf(t *testing.T) []byte {
	t.Helper()
	_, h, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestInvitationLifecycle(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, ut, acct := fixture(t, st)
		inviter := accountUser(t, st, org, ut, acct, "inviter@example.com")
		now := store.Now()
		inv := domain.Invitation{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, Email: "New@Example.com", UserTypeID: ut.ID,
			InvitedBy: inviter.ID, TokenHash: hashOf(t), State: domain.InvitationPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
		got, err := st.InvitationByTokenHash(ctx, inv.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != inv.ID || got.InvitedBy != inviter.ID || got.UserID != "" || got.AcceptedAt != nil || !got.ExpiresAt.Equal(inv.ExpiresAt) ||
			!bytes.Equal(got.TokenHash, inv.TokenHash) {
			t.Fatalf("got %+v, want %+v", got, inv)
		}
		// A second invitation to the address (any case) supersedes the first.
		second := inv
		second.ID, second.Email, second.TokenHash = store.NewID(), "new@example.com", hashOf(t)
		err = st.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.SupersedePendingInvitations(ctx, org.ID, acct.ID, second.Email); err != nil {
				return err
			}
			return tx.CreateInvitation(ctx, second)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := st.InvitationByID(ctx, org.ID, acct.ID, inv.ID); got.State != domain.InvitationSuperseded {
			t.Fatalf("first invitation state = %s", got.State)
		}
		// Consumed once; the user it names must exist.
		u := accountUser(t, st, org, ut, acct, "new@example.com")
		for i, want := range []bool{true, false} {
			ok, err := st.ConsumeInvitation(ctx, second.ID, u.ID, store.Now())
			if err != nil || ok != want {
				t.Fatalf("consume %d = %v, %v; want %v", i, ok, err, want)
			}
		}
		if ok, err := st.RevokeInvitation(ctx, org.ID, acct.ID, second.ID, store.Now()); err != nil || ok {
			t.Fatalf("revoking an accepted invitation = %v, %v", ok, err)
		}
		list, err := st.InvitationsByAccount(ctx, org.ID, acct.ID)
		if err != nil || len(list) != 2 || list[0].ID != second.ID {
			t.Fatalf("list = %+v, %v; want newest first", list, err)
		}
		if sent, err := st.InvitationsSentBy(ctx, org.ID, inviter.ID); err != nil || len(sent) != 2 {
			t.Fatalf("sent = %d, %v", len(sent), err)
		}
		if recv, err := st.InvitationsReceivedBy(ctx, org.ID, u.ID); err != nil || len(recv) != 1 || recv[0].AcceptedBy != u.ID {
			t.Fatalf("received = %+v, %v", recv, err)
		}
		// Deleting the inviter keeps the invitations, without inviter.
		if err := st.PurgeUser(ctx, inviter); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.InvitationByID(ctx, org.ID, acct.ID, inv.ID); got.InvitedBy != "" {
			t.Fatalf("invited_by = %q after the inviter was deleted", got.InvitedBy)
		}
		// Expired ones can no longer be consumed.
		late := inv
		late.ID, late.TokenHash, late.ExpiresAt, late.InvitedBy = store.NewID(), hashOf(t), now.Add(-time.Second), ""
		if err := st.CreateInvitation(ctx, late); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.ConsumeInvitation(ctx, late.ID, u.ID, store.Now()); err != nil || ok {
			t.Fatalf("consume expired = %v, %v", ok, err)
		}
	})
}

func TestPasswordResetAndEmailChangeLinks(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, ut, acct := fixture(t, st)
		u := accountUser(t, st, org, ut, acct, "ada@example.com")
		now := store.Now()
		r1 := domain.PasswordReset{ID: store.NewID(), OrgID: org.ID, UserID: u.ID, TokenHash: hashOf(t), State: domain.LinkPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		r2 := r1
		r2.ID, r2.TokenHash = store.NewID(), hashOf(t)
		for _, r := range []domain.PasswordReset{r1, r2} {
			if err := st.CreatePasswordReset(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := st.PasswordResetByTokenHash(ctx, r1.TokenHash); got.State != domain.LinkSuperseded {
			t.Fatalf("older reset state = %s, want superseded", got.State)
		}
		for i, want := range []bool{true, false} {
			if ok, err := st.ConsumePasswordReset(ctx, r2.ID, store.Now()); err != nil || ok != want {
				t.Fatalf("consume %d = %v, %v", i, ok, err)
			}
		}
		if ok, _ := st.ConsumePasswordReset(ctx, r1.ID, store.Now()); ok {
			t.Fatal("a superseded reset was consumed")
		}
		c := domain.EmailChange{ID: store.NewID(), OrgID: org.ID, UserID: u.ID, OldEmail: u.Email, NewEmail: "Ada@Example.org",
			TokenHash: hashOf(t), State: domain.LinkPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateEmailChange(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := st.EmailChangeByTokenHash(ctx, c.TokenHash)
		if err != nil || got.NewEmail != c.NewEmail || got.OldEmail != u.Email {
			t.Fatalf("email change = %+v, %v", got, err)
		}
		other := accountUser(t, st, org, ut, acct, "taken@example.org")
		if err := st.SetUserEmail(ctx, org.ID, u.ID, "TAKEN@example.org", store.Now()); !store.IsDuplicate(err) {
			t.Fatalf("taking %s's address: err = %v, want duplicate", other.Email, err)
		}
		if err := st.SetUserEmail(ctx, org.ID, u.ID, c.NewEmail, store.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UserByEmail(ctx, org.ID, "ada@example.org"); err != nil {
			t.Fatalf("lookup by the new address: %v", err)
		}

		// Cleanup keeps links for a while after they expire, then removes them.
		long := now.Add(-30 * 24 * time.Hour)
		old := domain.PasswordReset{ID: store.NewID(), OrgID: org.ID, UserID: u.ID, TokenHash: hashOf(t), State: domain.LinkPending, CreatedAt: long, ExpiresAt: long.Add(time.Hour)}
		if err := st.CreatePasswordReset(ctx, old); err != nil {
			t.Fatal(err)
		}
		recent := domain.PasswordReset{ID: store.NewID(), OrgID: org.ID, UserID: u.ID, TokenHash: hashOf(t), State: domain.LinkPending, CreatedAt: now, ExpiresAt: now.Add(-time.Hour)}
		if err := st.CreatePasswordReset(ctx, recent); err != nil {
			t.Fatal(err)
		}
		n, err := st.DeleteExpiredAccountLinks(ctx, time.Now(), 7*24*time.Hour)
		if err != nil || n != 1 {
			t.Fatalf("deleted %d, %v; want 1", n, err)
		}
		if _, err := st.PasswordResetByTokenHash(ctx, recent.TokenHash); err != nil {
			t.Fatalf("the recently expired reset was deleted: %v", err)
		}
		if _, err := st.PasswordResetByTokenHash(ctx, old.TokenHash); !store.IsNotFound(err) {
			t.Fatalf("the long expired reset remains: %v", err)
		}
	})
}

func TestLockAccount(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, _, acct := fixture(t, st)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			got, err := tx.LockAccount(ctx, org.ID, acct.ID)
			if err == nil && got.ID != acct.ID {
				t.Errorf("locked %s, want %s", got.ID, acct.ID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = st.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.LockAccount(ctx, org.ID, store.NewID())
			return err
		})
		if !store.IsNotFound(err) {
			t.Fatalf("locking a missing account: %v, want not found", err)
		}
	})
}
