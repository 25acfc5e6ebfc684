package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// b2bFixture creates, in the fixture's organization, a labelpartner and an
// end user of it.
func b2bFixture(t *testing.T, st *store.Store) (domain.Organization, domain.EndUser) {
	t.Helper()
	ctx := context.Background()
	org, _, _ := fixture(t, st)
	lp := domain.Labelpartner{ID: store.NewID(), OrgID: org.ID, Name: "lp", PasswordPolicy: domain.PolicyPincode, APIKeyHash: []byte("lp-key"), CreatedAt: store.Now()}
	if err := st.CreateLabelpartner(ctx, lp); err != nil {
		t.Fatal(err)
	}
	u := domain.EndUser{ID: store.NewID(), OrgID: org.ID, LabelpartnerID: lp.ID, Email: "ada@example.com", FirstName: "Ada", LastName: "L",
		State: domain.EndUserProvisioned, CreatedAt: store.Now()}
	if err := st.CreateEndUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return org, u
}

func newClient(t *testing.T, st *store.Store, orgID, name, kind string, created time.Time) domain.Client {
	t.Helper()
	c := domain.Client{ID: store.NewID(), OrgID: orgID, Name: name, Kind: kind, ClientID: "cl_" + store.NewID(), SecretHash: []byte("h-" + name),
		LabelpartnerIDs: []string{}, CreatedAt: store.Timestamp(created)}
	if err := st.CreateClient(context.Background(), c); err != nil {
		t.Fatalf("create client %s: %v", name, err)
	}
	return c
}

func TestDeleteExpiredB2B(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		org, u := b2bFixture(t, st)
		now := store.Now()
		const keep = 7 * 24 * time.Hour
		day := 24 * time.Hour

		type row struct {
			name    string
			expires time.Duration // from now
			used    time.Duration // from now; 0: not used
			revoked time.Duration // from now; 0: not revoked (tokens only)
			gone    bool
		}
		links := []row{
			{name: "expired long ago", expires: -8 * day, gone: true},
			{name: "expired within keep", expires: -6 * day},
			{name: "used long ago", expires: time.Hour, used: -8 * day, gone: true},
			{name: "used within keep", expires: time.Hour, used: -day},
			{name: "live", expires: time.Hour},
			{name: "expired exactly keep ago", expires: -keep, gone: true},
		}
		tokens := []row{
			{name: "expired long ago", expires: -8 * day, gone: true},
			{name: "expired within keep", expires: -6 * day},
			{name: "revoked long ago", expires: 20 * day, revoked: -8 * day, gone: true},
			{name: "revoked within keep", expires: 20 * day, revoked: -day},
			// A rotated refresh token stays until it expires: presenting it
			// again must still revoke its family.
			{name: "used long ago, not expired", expires: 20 * day, used: -8 * day},
			{name: "live", expires: time.Hour},
		}
		linkHash := func(i int) []byte { return []byte{'l', byte(i)} }
		tokenHash := func(i int) []byte { return []byte{'t', byte(i)} }
		for i, r := range links {
			l := domain.B2BLink{ID: store.NewID(), OrgID: org.ID, EndUserID: u.ID, Purpose: "reset", TokenHash: linkHash(i),
				CreatedAt: now.Add(-30 * day), ExpiresAt: now.Add(r.expires)}
			if err := st.CreateB2BLink(ctx, l); err != nil {
				t.Fatal(err)
			}
			if r.used != 0 {
				if ok, err := st.UseB2BLink(ctx, l.ID, now.Add(r.used)); err != nil || !ok {
					t.Fatalf("use link %s: %v %v", r.name, ok, err)
				}
			}
		}
		for i, r := range tokens {
			tk := domain.B2BToken{ID: store.NewID(), OrgID: org.ID, Kind: "refresh", SubjectID: u.ID, FamilyID: store.NewID(), TokenHash: tokenHash(i),
				CreatedAt: now.Add(-30 * day), ExpiresAt: now.Add(r.expires)}
			if err := st.CreateB2BToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
			if r.used != 0 {
				if ok, err := st.UseB2BToken(ctx, tk.ID, now.Add(r.used)); err != nil || !ok {
					t.Fatalf("use token %s: %v %v", r.name, ok, err)
				}
			}
			if r.revoked != 0 {
				if err := st.RevokeB2BTokenFamily(ctx, tk.FamilyID, now.Add(r.revoked)); err != nil {
					t.Fatal(err)
				}
			}
		}

		n, err := st.DeleteExpiredB2B(ctx, now, keep)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, r := range slices.Concat(links, tokens) {
			if r.gone {
				want++
			}
		}
		if n != int64(want) {
			t.Errorf("deleted %d rows, want %d", n, want)
		}
		for i, r := range links {
			_, err := st.B2BLinkByHash(ctx, "reset", linkHash(i))
			if gone := store.IsNotFound(err); gone != r.gone || (err != nil && !gone) {
				t.Errorf("link %q: lookup err %v, want gone=%v", r.name, err, r.gone)
			}
		}
		for i, r := range tokens {
			_, err := st.B2BTokenByHash(ctx, "refresh", tokenHash(i))
			if gone := store.IsNotFound(err); gone != r.gone || (err != nil && !gone) {
				t.Errorf("token %q: lookup err %v, want gone=%v", r.name, err, r.gone)
			}
		}
		if n, err := st.DeleteExpiredB2B(ctx, now, keep); err != nil || n != 0 {
			t.Errorf("second sweep deleted %d (%v), want 0", n, err)
		}
		// Keeping nothing deletes the rest that expired, was used or revoked.
		if n, err := st.DeleteExpiredB2B(ctx, now, 0); err != nil || n != 4 {
			t.Errorf("sweep without keep deleted %d (%v), want 4", n, err)
		}
	})
}

func TestClientManagementQueries(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		org, u := b2bFixture(t, st)
		other := domain.Organization{ID: store.NewID(), Name: "other", DisplayName: "Other", Onboarding: domain.DefaultOnboarding(), CreatedAt: store.Now()}
		if err := st.CreateOrganization(ctx, other); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		crm := newClient(t, st, org.ID, "crm", domain.ClientB2B, now.Add(-2*time.Hour))
		app := newClient(t, st, org.ID, "app", domain.ClientApp, now.Add(-time.Hour))
		foreign := newClient(t, st, other.ID, "crm", domain.ClientB2B, now)

		// Listing: the organization's clients only, oldest first.
		cs, err := st.Clients(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 2 || cs[0].ID != crm.ID || cs[1].ID != app.ID || cs[0].RevokedAt != nil || cs[0].LastUsedAt != nil {
			t.Fatalf("clients %+v", cs)
		}
		// Another organization's client is not found.
		if _, err := st.LockClient(ctx, org.ID, foreign.ID); !store.IsNotFound(err) {
			t.Fatalf("lock of another organization's client: %v", err)
		}
		// Names are unique among unrevoked clients.
		dup := domain.Client{ID: store.NewID(), OrgID: org.ID, Name: "crm", Kind: domain.ClientB2B, ClientID: "cl_dup", SecretHash: []byte("x"),
			LabelpartnerIDs: []string{}, CreatedAt: now}
		if err := st.CreateClient(ctx, dup); !store.IsDuplicate(err) {
			t.Fatalf("second unrevoked client named crm: %v, want duplicate", err)
		}
		renamed := app
		renamed.Name = "crm"
		if err := st.UpdateClient(ctx, renamed); !store.IsDuplicate(err) {
			t.Fatalf("renaming onto a taken name: %v, want duplicate", err)
		}

		// Tokens: the client's own, its end users', another client's, and one
		// expired already.
		mk := func(kind, subject, clientID string, expires time.Duration) domain.B2BToken {
			tk := domain.B2BToken{ID: store.NewID(), OrgID: org.ID, Kind: kind, SubjectID: subject, ClientID: clientID, FamilyID: store.NewID(),
				TokenHash: []byte(store.NewID()), CreatedAt: now, ExpiresAt: now.Add(expires)}
			if err := st.CreateB2BToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
			return tk
		}
		appAccess := mk("access", u.ID, app.ClientID, time.Hour)
		appRefresh := mk("refresh", u.ID, app.ClientID, 30*24*time.Hour)
		appExpired := mk("refresh", u.ID, app.ClientID, -time.Hour)
		sso := mk("refresh", u.ID, "", 30*24*time.Hour)
		crmAccess := mk("client_access", crm.ID, crm.ClientID, time.Hour)

		var revoked int64
		err = st.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.LockClient(ctx, org.ID, app.ID); err != nil {
				return err
			}
			ok, err := tx.RevokeClient(ctx, org.ID, app.ID, now)
			if err != nil || !ok {
				t.Errorf("revoke: %v %v", ok, err)
			}
			revoked, err = tx.RevokeB2BClientTokens(ctx, app.ClientID, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if revoked != 2 {
			t.Errorf("revoked %d tokens, want the 2 unexpired ones of the app client", revoked)
		}
		for _, tc := range []struct {
			tk      domain.B2BToken
			revoked bool
		}{{appAccess, true}, {appRefresh, true}, {appExpired, false}, {sso, false}, {crmAccess, false}} {
			got, err := st.B2BTokenByHash(ctx, tc.tk.Kind, tc.tk.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			if (got.RevokedAt != nil) != tc.revoked {
				t.Errorf("token %s of client %q: revoked_at %v, want revoked %v", tc.tk.Kind, tc.tk.ClientID, got.RevokedAt, tc.revoked)
			}
		}
		if _, err := st.RevokeB2BClientTokens(ctx, "", now); err == nil {
			t.Error("revoking the tokens of no client (single sign-on) was accepted")
		}
		if ok, err := st.RevokeClient(ctx, org.ID, app.ID, now); err != nil || ok {
			t.Errorf("second revoke: %v %v, want false", ok, err)
		}
		if ok, err := st.RevokeClient(ctx, org.ID, foreign.ID, now); err != nil || ok {
			t.Errorf("revoke of another organization's client: %v %v, want false", ok, err)
		}
		got, err := st.ClientByClientID(ctx, app.ClientID)
		if err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(now) || !got.Revoked() {
			t.Fatalf("revoked client reads %+v (%v)", got, err)
		}
		if err := st.SetClientSecret(ctx, org.ID, app.ID, []byte("new")); !store.IsNotFound(err) {
			t.Errorf("new secret for a revoked client: %v, want not found", err)
		}
		// The revoked client's name is free again.
		again := newClient(t, st, org.ID, "app", domain.ClientApp, now)

		// Secrets and names change; the renamed client keeps its id.
		if err := st.SetClientSecret(ctx, org.ID, crm.ID, []byte("rotated")); err != nil {
			t.Fatal(err)
		}
		if err := st.SetClientSecret(ctx, other.ID, crm.ID, []byte("x")); !store.IsNotFound(err) {
			t.Errorf("new secret through another organization: %v, want not found", err)
		}
		crm.Name, crm.LabelpartnerIDs = "crm-2", []string{u.LabelpartnerID}
		if err := st.UpdateClient(ctx, crm); err != nil {
			t.Fatal(err)
		}
		got, err = st.ClientByID(ctx, crm.ID)
		if err != nil || got.Name != "crm-2" || string(got.SecretHash) != "rotated" || !slices.Equal(got.LabelpartnerIDs, crm.LabelpartnerIDs) {
			t.Fatalf("changed client reads %+v (%v)", got, err)
		}

		// Last use is recorded at most once a minute.
		if err := st.TouchClient(ctx, again.ID, now); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchClient(ctx, again.ID, now.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.ClientByID(ctx, again.ID); err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) {
			t.Fatalf("last use after two touches within a minute: %v (%v), want %v", got.LastUsedAt, err, now)
		}
		if err := st.TouchClient(ctx, again.ID, now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.ClientByID(ctx, again.ID); err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(now.Add(2*time.Minute)) {
			t.Fatalf("last use two minutes later: %v (%v)", got.LastUsedAt, err)
		}
	})
}
