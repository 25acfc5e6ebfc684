package store_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestActorNames: back-office users (of any organization), the
// organization's admin keys, B2B clients, users, end users and
// installation codes are named; another organization's ones, unknown ids
// and other actors are not; a key no longer stored keeps the name written
// in its actor.
func TestActorNames(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn)
		org, endUser := b2bFixture(t, st)
		ut, err := st.UserTypes(ctx, org.ID)
		if err != nil || len(ut) == 0 {
			t.Fatalf("user types: %v %v", ut, err)
		}
		acct := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindCustomer, Type: domain.CustomerPersonal, Name: "Ann's home",
			Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: store.Now(), UpdatedAt: store.Now()}
		if err := st.CreateAccount(ctx, acct); err != nil {
			t.Fatal(err)
		}
		user := domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut[0].ID, Email: "ann@example.com",
			FirstName: "Ann", LastName: "Lee", Status: domain.StatusActive, CreatedAt: store.Now(), UpdatedAt: store.Now()}
		nameless := user
		nameless.ID, nameless.Email, nameless.FirstName, nameless.LastName = store.NewID(), "anon@example.com", "", ""
		for _, u := range []domain.User{user, nameless} {
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		refOnly := domain.EndUser{ID: store.NewID(), OrgID: org.ID, LabelpartnerID: endUser.LabelpartnerID, ExternalID: "crm-42",
			State: domain.EndUserProvisioned, CreatedAt: store.Now()}
		if err := st.CreateEndUser(ctx, refOnly); err != nil {
			t.Fatal(err)
		}
		code := domain.InstallationCode{ID: store.NewID(), OrgID: org.ID, Platform: "ios", CodeHash: []byte("c1"), AccountID: acct.ID,
			CreatedBy: "cli", ExpiresAt: store.Now().Add(time.Hour), UsageLimit: 1, CreatedAt: store.Now()}
		openCode := domain.InstallationCode{ID: store.NewID(), OrgID: org.ID, Platform: "android", CodeHash: []byte("c2"),
			CreatedBy: "cli", ExpiresAt: store.Now().Add(time.Hour), UsageLimit: 1, CreatedAt: store.Now()}
		for _, c := range []domain.InstallationCode{code, openCode} {
			if err := st.CreateInstallationCode(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
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
			"admin:gone:Deleted key", "admin:environment", "client:cl_1", "client:cl_2", "backoffice:nobody", "user:u1", "system", "backoffice:",
			"user:" + user.ID, "user:" + nameless.ID, "end_user:" + endUser.ID, "end_user:" + refOnly.ID, "end_user:gone",
			"installation_code:" + code.ID, "installation_code:" + openCode.ID, "installation_code:gone", "nats:b2b.activity"}
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
			"user:" + user.ID:                  {Kind: store.ActorUser, Name: "Ann Lee", Detail: "ann@example.com"},
			"user:" + nameless.ID:              {Kind: store.ActorUser, Detail: "anon@example.com"},
			"end_user:" + endUser.ID:           {Kind: store.ActorEndUser, Name: "ada@example.com"},
			"end_user:" + refOnly.ID:           {Kind: store.ActorEndUser, Name: "crm-42"},
			"installation_code:" + code.ID:     {Kind: store.ActorInstallationCode, Name: "ios", Detail: "Ann's home"},
			"installation_code:" + openCode.ID: {Kind: store.ActorInstallationCode, Name: "android"},
		}
		if !maps.Equal(got, want) {
			t.Fatalf("names\n%v\nwant\n%v", got, want)
		}
		// Another organization's actors are not named from this one.
		if got, err := st.ActorNames(ctx, other.ID, []string{"user:" + user.ID, "end_user:" + endUser.ID, "installation_code:" + code.ID}); err != nil || len(got) != 0 {
			t.Fatalf("other organization: %v %v", got, err)
		}
		for _, only := range [][]string{nil, {"system", "nats:x"}, {"backoffice:" + bo.ID}, {"client:cl_1"}, {"user:u1"},
			{"end_user:" + endUser.ID}, {"installation_code:" + code.ID}} {
			if _, err := st.ActorNames(ctx, org.ID, only); err != nil {
				t.Fatalf("%q: %v", only, err)
			}
		}
	})
}
