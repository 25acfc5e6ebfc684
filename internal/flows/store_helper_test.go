package flows

import (
	"context"
	"testing"

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
