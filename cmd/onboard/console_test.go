package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestAdminUserCreateCommand(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		cmd := func(args ...string) (string, error) {
			var out, errOut bytes.Buffer
			err := adminCommand(ctx, append(args, "--db", dsn, "--public-url", "https://id.example.com"), testGetenv, &out, &errOut)
			return out.String(), err
		}
		out, err := cmd("user", "create", "--email", "boss@example.com", "--role", "supervisor")
		if err != nil || !strings.Contains(out, "supervisor") {
			t.Fatalf("create: %q %v", out, err)
		}
		for _, bad := range [][]string{
			{"user", "create", "--email", "boss@example.com"},                      // taken
			{"user", "create", "--email", "x@example.com", "--role", "root"},       // no such role
			{"user", "create", "--email", "x@example.com", "--org", "nowhere"},     // no such organization
			{"user", "create", "--email", "x@example.com", "--password", "secret"}, // no password on the command line
			{"user", "delete"},
		} {
			if _, err := cmd(bad...); err == nil {
				t.Errorf("%v accepted", bad)
			}
		}
		st, err := store.Open(ctx, dsn, store.WithKeyring(testKeyring(t)))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ms, err := st.ClaimMail(ctx, time.Now().Add(time.Minute), 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].To != "boss@example.com" || ms[0].Template != mail.TemplateBackOfficeInvite ||
			!strings.Contains(ms[0].Text, "https://id.example.com/admin/set-password?token=") {
			t.Fatalf("mail: %+v", ms)
		}
	})
}
