package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/devices"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpapi"
)

// codeCommand: onboard admin code create --org NAME --platform P --expires 720h|RFC3339 --limit N [--delay D] [--account ID]
//
// It creates a back-office installation code like POST
// /api/v1/admin/organizations/{org}/installation-codes and prints it, with
// its provisioning link, as one JSON object (the code is shown only now).
func codeCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: onboard admin code create --org NAME --platform PLATFORM --expires 720h|2026-12-31T00:00:00Z --limit N [--delay 1m] [--account ID]")
	}
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard admin code create", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization of the code")
	platform := fs.String("platform", "", "platform with a device template (android, ios, windows, macos, linux or a custom name)")
	expires := fs.String("expires", "720h", "when the code stops working: a duration from now (720h) or an RFC 3339 time")
	limit := fs.Int("limit", 1, "how many devices the code may provision")
	delay := fs.Duration("delay", 0, "least time between two uses")
	account := fs.String("account", "", "customer the devices belong to; empty: each use creates an account from the template")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	now := time.Now()
	var expiresAt time.Time
	if d, err := time.ParseDuration(*expires); err == nil {
		expiresAt = now.Add(d)
	} else if t, err := time.Parse(time.RFC3339, *expires); err == nil {
		expiresAt = t
	} else {
		return fmt.Errorf("code create: --expires %q is neither a duration nor an RFC 3339 time", *expires)
	}
	st, o, err := openOrg(ctx, cfg, *org, "code create")
	if err != nil {
		return err
	}
	defer st.Close()
	svc := devices.New(devices.Deps{Store: st}, devices.Config{PublicURL: cfg.PublicURL})
	c, code, err := svc.CreateCode(ctx, flows.Admin{Name: "cli"}, o, devices.CodeInput{Platform: *platform, AccountID: *account,
		ExpiresAt: expiresAt, UsageLimit: *limit, UsageDelay: *delay})
	if de := domain.AsError(err); de != nil && len(de.Fields) > 0 {
		var parts []string
		for _, f := range de.Fields {
			parts = append(parts, f.Field+" "+f.Message)
		}
		return fmt.Errorf("code create: %s", strings.Join(parts, "; "))
	}
	if err != nil {
		return fmt.Errorf("code create: %w", err)
	}
	v := httpapi.InstallationCodeViewOf(c)
	v.Code, v.ProvisioningURL = code, svc.ProvisioningURL(code)
	v.QRURL = v.ProvisioningURL + "/qr.svg"
	fmt.Fprintf(stderr, "installation code %s for %s devices of organization %q; the code is shown only now:\n", c.ID, c.Platform, *org)
	if err := json.NewEncoder(stdout).Encode(v); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
