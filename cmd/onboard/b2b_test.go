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

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestImportAndClientCommands(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		getenv := func(string) string { return "" }
		cmd := func(args ...string) (string, string, error) {
			var out, errOut bytes.Buffer
			err := run(ctx, append(args, "--db", dsn), getenv, &out, &errOut)
			return out.String(), errOut.String(), err
		}
		if _, _, err := cmd("migrate"); err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(ctx, dsn)
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
