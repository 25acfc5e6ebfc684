package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestSSOFlowsAndIdentities: a flow is used once and not after it expires;
// an identity (issuer + subject) is linked to one user per organization;
// both go with the user.
func TestSSOFlowsAndIdentities(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, ut, acct := fixture(t, st)
		user := accountUser(t, st, org, ut, acct, "ada@example.com")
		now := store.Now()
		claims := domain.ExternalClaims{Issuer: "https://idp.example", Subject: "s-1", Email: "ada@example.com", EmailVerified: true, FirstName: "Ada"}
		f := domain.SSOFlow{ID: store.NewID(), OrgID: org.ID, Kind: domain.SSOFlowLink, TokenHash: hashOf(t), BindingHash: hashOf(t),
			Provider: "corp", Identity: claims, UserID: user.ID, NextPath: "/account", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := st.CreateSSOFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		app := f
		app.ID, app.TokenHash, app.BindingHash, app.UserID, app.Kind = store.NewID(), hashOf(t), nil, "", domain.SSOFlowRegistration
		app.ExpiresAt = now.Add(-time.Second)
		if err := st.CreateSSOFlow(ctx, app); err != nil {
			t.Fatal(err)
		}
		got, err := st.SSOFlowByTokenHash(ctx, f.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		if got.Identity != claims || got.UserID != user.ID || !bytes.Equal(got.BindingHash, f.BindingHash) || got.UsedAt != nil ||
			got.NextPath != "/account" || !got.ExpiresAt.Equal(f.ExpiresAt) {
			t.Fatalf("got %+v, want %+v", got, f)
		}
		if got, err := st.SSOFlowByTokenHash(ctx, app.TokenHash); err != nil || got.BindingHash != nil || got.UserID != "" {
			t.Fatalf("app flow %+v %v", got, err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := st.UseSSOFlow(ctx, org.ID, f.ID, now); err != nil || ok != want {
				t.Fatalf("use #%d: %v %v", i, ok, err)
			}
		}
		if ok, err := st.UseSSOFlow(ctx, org.ID, app.ID, now); err != nil || ok {
			t.Fatalf("expired flow used: %v %v", ok, err)
		}
		if _, err := st.SSOFlowByTokenHash(ctx, hashOf(t)); !store.IsNotFound(err) {
			t.Fatalf("unknown token: %v", err)
		}

		id := domain.ExternalIdentity{ID: store.NewID(), OrgID: org.ID, UserID: user.ID, Provider: "corp", Issuer: claims.Issuer,
			Subject: claims.Subject, Email: claims.Email, CreatedAt: now}
		if err := st.CreateExternalIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
		again := id
		again.ID = store.NewID()
		if err := st.CreateExternalIdentity(ctx, again); !store.IsDuplicate(err) {
			t.Fatalf("second link of the subject: %v", err)
		}
		if err := st.TouchExternalIdentity(ctx, org.ID, id.ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got2, err := st.ExternalIdentity(ctx, org.ID, claims.Issuer, claims.Subject)
		if err != nil || got2.UserID != user.ID || got2.LastLoginAt == nil || !got2.LastLoginAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("identity %+v %v", got2, err)
		}
		if _, err := st.ExternalIdentity(ctx, org.ID, claims.Issuer, "other"); !store.IsNotFound(err) {
			t.Fatalf("other subject: %v", err)
		}
		list, err := st.ExternalIdentitiesByUser(ctx, org.ID, user.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("by user: %v %v", list, err)
		}
		if n, err := st.DeleteExpiredSSOFlows(ctx, now.Add(time.Hour), 0); err != nil || n != 2 {
			t.Fatalf("deleted %d %v", n, err)
		}
		if _, err := st.DB().ExecContext(ctx, `DELETE FROM users WHERE id = $1`, user.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ExternalIdentity(ctx, org.ID, claims.Issuer, claims.Subject); !store.IsNotFound(err) {
			t.Fatalf("identity outlived its user: %v", err)
		}
	})
}
