package store_test

import (
	"context"
	"maps"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestActorNames: back-office users (of any organization), the
// organization's admin keys and B2B clients are named; another
// organization's key or client, unknown ids and other actors are not; a
// key no longer stored keeps the name written in its actor.
func TestActorNames(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, _, _ := fixture(t, st)
		other := domain.Organization{ID: store.NewID(), Name: "other", DisplayName: "Other", Onboarding: domain.DefaultOnboarding(), CreatedAt: store.Now()}
		if err := st.CreateOrganization(ctx, other); err != nil {
			t.Fatal(err)
		}
		bo := domain.BackOfficeUser{ID: store.NewID(), OrgID: other.ID, Email: "Sup@Onboard.test", Role: domain.RoleSupervisor, CreatedAt: store.Now()}
		if err := st.CreateBackOfficeUser(ctx, bo); err != nil {
			t.Fatal(err)
		}
		key := domain.AdminKey{ID: store.NewID(), OrgID: org.ID, Name: "CI deploys", KeyHash: []byte("k1"), CreatedAt: store.Now()}
		otherKey := domain.AdminKey{ID: store.NewID(), OrgID: other.ID, Name: "theirs", KeyHash: []byte("k2"), CreatedAt: store.Now()}
		client := domain.Client{ID: store.NewID(), OrgID: org.ID, Name: "Shop app", Kind: "confidential", ClientID: "cl_1", SecretHash: []byte("s"), CreatedAt: store.Now()}
		otherClient := domain.Client{ID: store.NewID(), OrgID: other.ID, Name: "their app", Kind: "confidential", ClientID: "cl_2", SecretHash: []byte("t"), CreatedAt: store.Now()}
		for _, k := range []domain.AdminKey{key, otherKey} {
			if err := st.CreateAdminKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []domain.Client{client, otherClient} {
			if err := st.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		actors := []string{"backoffice:" + bo.ID, "backoffice:" + bo.ID, "admin:" + key.ID + ":old name", "admin:" + otherKey.ID + ":theirs",
			"admin:gone:Deleted key", "admin:environment", "client:cl_1", "client:cl_2", "backoffice:nobody", "user:u1", "system", "backoffice:"}
		got, err := st.ActorNames(ctx, org.ID, actors)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]store.ActorName{
			"backoffice:" + bo.ID:              {Kind: store.ActorBackOffice, Name: "Sup@Onboard.test"},
			"admin:" + key.ID + ":old name":    {Kind: store.ActorAdminKey, Name: "CI deploys"},
			"admin:" + otherKey.ID + ":theirs": {Kind: store.ActorAdminKey, Name: "theirs"},
			"admin:gone:Deleted key":           {Kind: store.ActorAdminKey, Name: "Deleted key"},
			"client:cl_1":                      {Kind: store.ActorClient, Name: "Shop app"},
		}
		if !maps.Equal(got, want) {
			t.Fatalf("names\n%v\nwant\n%v", got, want)
		}
		for _, only := range [][]string{nil, {"user:u1", "system"}, {"backoffice:" + bo.ID}, {"client:cl_1"}} {
			if _, err := st.ActorNames(ctx, org.ID, only); err != nil {
				t.Fatalf("%q: %v", only, err)
			}
		}
	})
}
