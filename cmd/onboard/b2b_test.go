package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpapi"
	"github.com/onboard-dev/onboard/internal/secretbox"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// testSecretKey is the key the commands under test are configured with.
const testSecretKey = "test1:dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="

func testGetenv(name string) string {
	if name == "ONBOARD_SECRET_KEY" {
		return testSecretKey
	}
	return ""
}

func testKeyring(t *testing.T) *secretbox.Keyring {
	t.Helper()
	k, err := secretbox.Parse(testSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestImportAndClientCommands(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		getenv := testGetenv
		cmd := func(args ...string) (string, string, error) {
			var out, errOut bytes.Buffer
			err := run(ctx, append(args, "--db", dsn), getenv, &out, &errOut)
			return out.String(), errOut.String(), err
		}
		if _, _, err := cmd("migrate"); err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(ctx, dsn, store.WithKeyring(testKeyring(t)))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		org, err := flows.EnsureOrganization(ctx, st, flows.DefaultOrganization, "Default")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateLabelpartner(ctx, domain.Labelpartner{ID: store.NewID(), OrgID: org.ID, Name: "cli-lp", PasswordPolicy: "pincode",
			APIKeyHash: []byte("k"), CreatedAt: store.Now()}); err != nil {
			t.Fatal(err)
		}

		out, _, err := cmd("admin", "client", "create", "--name", "crm", "--kind", "b2b", "--labelpartners", "cli-lp")
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]string
		if err := json.Unmarshal([]byte(out), &c); err != nil || !strings.HasPrefix(c["client_id"], "cl_") || c["client_secret"] == "" {
			t.Fatalf("client create printed %q (%v)", out, err)
		}
		if _, _, err := cmd("admin", "client", "create", "--name", "x", "--kind", "b2b", "--labelpartners", "nope"); err == nil {
			t.Fatal("unknown labelpartner accepted")
		}

		dir := t.TempDir()
		csvFile := filepath.Join(dir, "users.csv")
		var b strings.Builder
		b.WriteString("email,first_name,last_name,customer.number\n")
		for i := range 2500 {
			fmt.Fprintf(&b, "u%d@example.com,Ada,Lovelace,%d\n", i, i)
		}
		b.WriteString("broken,Ada,Lovelace,1\n")
		if err := os.WriteFile(csvFile, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := cmd("import", "end-users", "--labelpartner-default", "cli-lp", "--file", csvFile)
		if err != nil {
			t.Fatalf("import: %v\n%s", err, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `"line":2502`) || !strings.Contains(lines[0], "rejected") ||
			lines[1] != `{"summary":{"created":2500,"unchanged":0,"rejected":1}}` {
			t.Fatalf("import printed:\n%s", out)
		}
		if !strings.Contains(errOut, "2501 lines (2500 created, 0 unchanged, 1 rejected)") {
			t.Fatalf("progress: %q", errOut)
		}
		ndjson := filepath.Join(dir, "users.ndjson")
		if err := os.WriteFile(ndjson, []byte(`{"email":"u1@example.com","first_name":"A","last_name":"B","labelpartner":"cli-lp"}`+"\n"+
			`{"email":"new@example.com","first_name":"A","last_name":"B","labelpartner":"cli-lp"}`+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, _, err = cmd("import", "end-users", "--file", ndjson, "--quiet")
		if err != nil || strings.TrimSpace(out) != `{"summary":{"created":1,"unchanged":1,"rejected":0}}` {
			t.Fatalf("second import: %v %s", err, out)
		}
		if _, _, err := cmd("import", "end-users", "--file", filepath.Join(dir, "missing.ndjson")); err == nil {
			t.Fatal("missing file accepted")
		}
		if _, _, err := cmd("import", "end-users", "--org", "nope", "--file", ndjson); err == nil {
			t.Fatal("unknown organization accepted")
		}
	})
}

func TestClientListAndRevokeCommands(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		getenv := testGetenv
		cmd := func(args ...string) (string, error) {
			var out, errOut bytes.Buffer
			err := clientCommand(ctx, append(args, "--db", dsn), getenv, &out, &errOut)
			return out.String(), err
		}
		created := map[string]map[string]string{}
		for _, name := range []string{"crm", "app"} {
			kind := map[string]string{"crm": "b2b", "app": "app"}[name]
			out, err := cmd("create", "--name", name, "--kind", kind)
			if err != nil {
				t.Fatal(err)
			}
			var c map[string]string
			if err := json.Unmarshal([]byte(out), &c); err != nil {
				t.Fatalf("create printed %q: %v", out, err)
			}
			created[name] = c
		}
		st, err := store.Open(ctx, dsn, store.WithKeyring(testKeyring(t)))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		other := domain.Organization{ID: store.NewID(), Name: "other", DisplayName: "Other", Onboarding: domain.DefaultOnboarding(), CreatedAt: store.Now()}
		if err := st.CreateOrganization(ctx, other); err != nil {
			t.Fatal(err)
		}
		foreign, _, err := b2b.CreateClient(ctx, st, other, b2b.ClientInput{Name: "x", Kind: domain.ClientB2B}, "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}

		list := func() []httpapi.B2BClient {
			t.Helper()
			out, err := cmd("list")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, created["crm"]["client_secret"]) || strings.Contains(out, "secret") {
				t.Fatalf("list shows a secret:\n%s", out)
			}
			var cs []httpapi.B2BClient
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var c httpapi.B2BClient
				if err := json.Unmarshal([]byte(line), &c); err != nil {
					t.Fatalf("list line %q: %v", line, err)
				}
				cs = append(cs, c)
			}
			return cs
		}
		cs := list()
		if len(cs) != 2 || cs[0].Name != "crm" || cs[1].Name != "app" || cs[0].ClientID != created["crm"]["client_id"] || cs[0].RevokedAt != nil {
			t.Fatalf("list %+v", cs)
		}

		out, err := cmd("revoke", "--client", created["crm"]["client_id"])
		if err != nil || !strings.Contains(out, "revoked") || strings.Contains(out, "already") {
			t.Fatalf("revoke by client_id: %q %v", out, err)
		}
		out, err = cmd("revoke", "--client", cs[0].ID)
		if err != nil || !strings.Contains(out, "revoked already") {
			t.Fatalf("second revoke by id: %q %v", out, err)
		}
		if cs := list(); cs[0].RevokedAt == nil || cs[1].RevokedAt != nil {
			t.Fatalf("after revoke: %+v", cs)
		}
		if c, err := st.ClientByClientID(ctx, created["crm"]["client_id"]); err != nil || !c.Revoked() {
			t.Fatalf("stored client %+v (%v)", c, err)
		}
		for _, args := range [][]string{
			{"revoke", "--client", foreign.ClientID},
			{"revoke", "--client", foreign.ID},
			{"revoke", "--client", "cl_nope"},
			{"revoke"},
			{"list", "--org", "nope"},
			{"rename"},
		} {
			if _, err := cmd(args...); err == nil {
				t.Errorf("%v accepted", args)
			}
		}
		if c, err := st.ClientByID(ctx, foreign.ID); err != nil || c.Revoked() {
			t.Fatalf("another organization's client was revoked: %+v (%v)", c, err)
		}
	})
}

func TestAdminKeyListAndRevokeCommands(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		getenv := testGetenv
		cmd := func(args ...string) (string, error) {
			var out, errOut bytes.Buffer
			err := adminCommand(ctx, append(args, "--db", dsn), getenv, &out, &errOut)
			return out.String(), err
		}
		key, err := cmd("key", "create", "--name", "ci")
		if err != nil || !strings.HasPrefix(key, "obk_") {
			t.Fatalf("create: %q %v", key, err)
		}
		key = strings.TrimSpace(key)
		list := func() []httpapi.AdminKey {
			t.Helper()
			out, err := cmd("key", "list")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, key) || strings.Contains(out, strings.TrimPrefix(key, "obk_")) || strings.Contains(out, "hash") {
				t.Fatalf("list shows the key:\n%s", out)
			}
			var ks []httpapi.AdminKey
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var k httpapi.AdminKey
				if err := json.Unmarshal([]byte(line), &k); err != nil {
					t.Fatalf("list line %q: %v", line, err)
				}
				ks = append(ks, k)
			}
			return ks
		}
		ks := list()
		if len(ks) != 1 || ks[0].Name != "ci" || ks[0].RevokedAt != nil {
			t.Fatalf("list %+v", ks)
		}
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		svc := flows.New(flows.Deps{Store: st}, flows.Config{})
		if _, err := svc.AuthenticateAdmin(ctx, key); err != nil {
			t.Fatalf("the new key does not work: %v", err)
		}
		if out, err := cmd("key", "revoke", "--id", ks[0].ID); err != nil || !strings.Contains(out, "revoked") || strings.Contains(out, "already") {
			t.Fatalf("revoke: %q %v", out, err)
		}
		if _, err := svc.AuthenticateAdmin(ctx, key); err == nil {
			t.Fatal("the revoked key still works")
		}
		if out, err := cmd("key", "revoke", "--id", ks[0].ID); err != nil || !strings.Contains(out, "already") {
			t.Fatalf("second revoke: %q %v", out, err)
		}
		if _, err := cmd("key", "revoke", "--id", "nope"); err == nil {
			t.Fatal("revoking an unknown key succeeded")
		}
		if ks := list(); len(ks) != 1 || ks[0].RevokedAt == nil {
			t.Fatalf("list after revoking %+v", ks)
		}
	})
}
