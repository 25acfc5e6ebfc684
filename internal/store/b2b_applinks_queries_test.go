package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestLabelpartnerAppLinks stores app links with a labelpartner, replaces
// and removes them, and lists those of every organization.
func TestLabelpartnerAppLinks(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		org, _ := b2bFixture(t, st) // "lp", without app links
		links := &domain.AppLinks{VerifyURL: "https://app.example/verify?t={token}",
			IOS:     &domain.IOSApps{AppIDs: []string{"ABCDE12345.example.app"}},
			Android: &domain.AndroidApp{PackageName: "com.example.app", SHA256CertFingerprints: []string{"AA:BB"}}}
		lp := domain.Labelpartner{ID: store.NewID(), OrgID: org.ID, Name: "lp-apps", PasswordPolicy: domain.PolicyPincode,
			APIKeyHash: []byte("lp-apps-key"), CreatedAt: store.Now(), AppLinks: links}
		if err := st.CreateLabelpartner(ctx, lp); err != nil {
			t.Fatal(err)
		}
		got, err := st.LabelpartnerByID(ctx, lp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(links, got.AppLinks) {
			t.Fatalf("stored app links %+v, want %+v", got.AppLinks, links)
		}
		plain, err := st.LabelpartnerByName(ctx, "lp")
		if err != nil || plain.AppLinks != nil {
			t.Fatalf("labelpartner without app links: %+v, %v", plain.AppLinks, err)
		}
		all, err := st.AllAppLinks(ctx)
		if err != nil || len(all) != 1 || !reflect.DeepEqual(all[0], *links) {
			t.Fatalf("all app links %+v, %v", all, err)
		}

		// Another organization's labelpartner is not found.
		if err := st.SetLabelpartnerAppLinks(ctx, "other-org", lp.ID, nil); !store.IsNotFound(err) {
			t.Fatalf("set in another organization: %v, want not found", err)
		}
		if _, err := st.LockLabelpartner(ctx, "other-org", lp.ID); !store.IsNotFound(err) {
			t.Fatalf("lock in another organization: %v, want not found", err)
		}
		reset := &domain.AppLinks{ResetURL: "https://app.example/reset#{token}"}
		if err := st.SetLabelpartnerAppLinks(ctx, org.ID, lp.ID, reset); err != nil {
			t.Fatal(err)
		}
		if got, err := st.LockLabelpartner(ctx, org.ID, lp.ID); err != nil || !reflect.DeepEqual(got.AppLinks, reset) {
			t.Fatalf("replaced app links %+v, %v", got.AppLinks, err)
		}
		if err := st.SetLabelpartnerAppLinks(ctx, org.ID, lp.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := st.LabelpartnerByID(ctx, lp.ID); err != nil || got.AppLinks != nil {
			t.Fatalf("removed app links %+v, %v", got.AppLinks, err)
		}
		if all, err := st.AllAppLinks(ctx); err != nil || len(all) != 0 {
			t.Fatalf("all app links after removal %+v, %v", all, err)
		}
	})
}
