package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// newFlows opens a migrated SQLite database with the default organization
// and the flows over it (fast hashing, memory rate limits, built-in mail
// templates); now is the flows' clock (nil: the real one).
func newFlows(t *testing.T, now func() time.Time) (*store.Store, *flows.Service) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := flows.EnsureOrganization(ctx, st, flows.DefaultOrganization, "Default"); err != nil {
		t.Fatal(err)
	}
	templates, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	params := auth.DefaultParams()
	params.Memory, params.Time = 64, 1
	f := flows.New(flows.Deps{Store: st, Hasher: auth.NewHasher(params, 2), Policy: auth.DefaultPolicy(), Mail: templates,
		Limiter: ratelimit.NewMemory(nil), Now: now}, flows.Config{
		PublicURL: "http://onboard.test", MailFrom: "no-reply@onboard.test", SignupTTL: time.Hour, SessionTTL: time.Hour,
		Limits: flows.DefaultLimits(),
	})
	return st, f
}
