package flows

import (
	"context"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// openStore opens the database at dsn with opts, migrates it and closes it
// when the test ends.
func openStore(t *testing.T, dsn string, opts ...store.Option) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// openOrgStore is openStore with the default organization and the built-in
// mail templates, what a Service running signup jobs needs.
func openOrgStore(t *testing.T, dsn string) (*store.Store, domain.Organization, *obmail.Templates) {
	t.Helper()
	st := openStore(t, dsn)
	org, err := EnsureOrganization(context.Background(), st, DefaultOrganization, "Example")
	if err != nil {
		t.Fatal(err)
	}
	templates, err := obmail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	return st, org, templates
}

// registerUser creates an active user with email in org.
func registerUser(t *testing.T, st *store.Store, org domain.Organization, email string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	var userType string
	if err := st.DB().QueryRowContext(ctx, `SELECT id FROM user_types WHERE org_id = $1 ORDER BY name LIMIT 1`, org.ID).Scan(&userType); err != nil {
		t.Fatal(err)
	}
	acc := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: domain.KindCustomer, Type: "customer_personal", Name: "Ada",
		Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now}
	user := domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acc.ID, UserTypeID: userType, Email: email,
		FirstName: "Ada", LastName: "Lovelace", Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAccount(ctx, acc); err != nil {
			return err
		}
		return tx.CreateUser(ctx, user)
	}); err != nil {
		t.Fatal(err)
	}
}

// grouped runs query, which selects two text columns, and returns the
// second column's values grouped by the first, in the rows' order.
func grouped(t *testing.T, st *store.Store, query string) map[string][]string {
	t.Helper()
	rows, err := st.DB().QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = append(out[k], v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// signupJobService is a Service running signup jobs on st with templates,
// telling the time with now.
func signupJobService(st *store.Store, templates *obmail.Templates, now func() time.Time) *Service {
	return New(Deps{Store: st, Mail: templates, Now: now},
		Config{PublicURL: "http://127.0.0.1:8080", MailFrom: "Example <no-reply@example.com>", SignupTTL: time.Hour})
}
