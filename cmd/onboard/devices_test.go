package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestAdminCodeCreate: the command creates a back-office installation code
// (stored hashed), prints it once as JSON, and refuses what the admin API
// refuses.
func TestAdminCodeCreate(t *testing.T) {
	db := dbtest.SQLite(t)
	getenv := func(k string) string {
		if k == "ONBOARD_DB" {
			return db
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, getenv, &out, &errOut)
		return out.String(), err
	}
	if _, err := runCmd("migrate"); err != nil {
		t.Fatal(err)
	}
	// A code before the organization has a template for the platform.
	if _, err := runCmd("admin", "code", "create", "--platform", "linux", "--limit", "3"); err == nil || !strings.Contains(err.Error(), "platform") {
		t.Fatalf("without a template: %v", err)
	}
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	org, err := st.OrganizationByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	cfg := org.Onboarding.WithDefaults()
	cfg.DeviceSetup = domain.DeviceSetup{Enabled: true, DeviceTemplates: map[string]domain.DeviceTemplate{"linux": {Instructions: map[string]string{"en": "x"}}}}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateOnboarding(ctx, org.ID, cfg) }); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"admin", "code", "create", "--platform", "linux", "--limit", "0"}, "usage_limit"},
		{[]string{"admin", "code", "create", "--platform", "linux", "--expires", "yesterday"}, "--expires"},
		{[]string{"admin", "code", "create", "--platform", "linux", "--expires", "-1h"}, "expires_at"},
		{[]string{"admin", "code", "create", "--org", "nosuch", "--platform", "linux"}, "code create"},
		{[]string{"admin", "code", "list"}, "usage"},
	} {
		if _, err := runCmd(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one naming %q", tc.args, err, tc.want)
		}
	}

	out, err := runCmd("admin", "code", "create", "--platform", "linux", "--limit", "3", "--delay", "1m", "--expires", "48h")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ID, Code, Platform string
		UsageLimit         int       `json:"usage_limit"`
		UsageDelay         string    `json:"usage_delay"`
		ProvisioningURL    string    `json:"provisioning_url"`
		ExpiresAt          time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if v.Code == "" || v.Platform != "linux" || v.UsageLimit != 3 || v.UsageDelay != "1m0s" || !strings.HasSuffix(v.ProvisioningURL, "/provision/"+v.Code) ||
		v.ExpiresAt.Before(time.Now().Add(47*time.Hour)) {
		t.Fatalf("code = %+v", v)
	}
	st, err = store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.InstallationCode(ctx, org.ID, v.ID)
	if err != nil || !bytes.Equal(c.CodeHash, auth.HashToken(v.Code)) || c.CreatedBy != "admin:environment" && !strings.HasPrefix(c.CreatedBy, "admin:") {
		t.Fatalf("stored %+v, %v", c, err)
	}
}
