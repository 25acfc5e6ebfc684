// Command onboard is the self-service onboarding service of a connected-product
// platform: self-registration, sign-in, account administration and the B2B
// integration (labelpartners, clients, end users).
//
//	onboard serve     run the service (default command)
//	onboard migrate   apply database migrations and exit
//	onboard admin     manage admin API keys and B2B clients
//	onboard import    import end users from NDJSON or CSV
//	onboard openapi   print the API's OpenAPI document
//	onboard version   print the version
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/onboard-dev/onboard/internal/app"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpapi"
	"github.com/onboard-dev/onboard/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "onboard:", err)
		}
		os.Exit(1)
	}
}

const usage = `onboard: self-service onboarding

Usage:
  onboard [serve] [flags]   run the service
  onboard migrate [flags]   apply database migrations and exit
  onboard admin key create --org NAME --name KEYNAME [--db …]
                            issue an admin API key (printed once)
  onboard admin key list --org NAME
                            list the organization's admin API keys (never the keys)
  onboard admin key revoke --org NAME --id ID
                            revoke an admin API key at once
  onboard admin client create --org NAME --name NAME --kind b2b|app [--labelpartners a,b]
                            create an API client (secret printed once)
  onboard admin client list --org NAME
                            list the organization's API clients
  onboard admin client revoke --org NAME --client CLIENT_ID|ID
                            revoke an API client and its tokens
  onboard admin user create --org NAME --email ADDR [--role org_admin|supervisor]
                            create a back-office user of the console (/admin);
                            the link to set a password is mailed
  onboard admin code create --org NAME --platform P --expires 720h --limit N [--delay 1m] [--account ID]
                            create a device installation code (printed once)
  onboard import end-users --org NAME --file users.ndjson|users.csv
                            provision end users in bulk
  onboard import products --org NAME --file products.ndjson|products.csv
                            register products in bulk
  onboard openapi           print the API's OpenAPI 3.1 document (as served
                            at /api/openapi.json)
  onboard version           print the version

Run "onboard serve -h" for the flags; every flag has an ONBOARD_* variable.
`

// run is main without globals: testable with its own args, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "admin":
		return adminCommand(ctx, args, getenv, stdout, stderr)
	case "import":
		return importCommand(ctx, args, getenv, stdout, stderr)
	case "openapi":
		if len(args) > 0 {
			return fmt.Errorf("openapi: unexpected arguments: %s", strings.Join(args, " "))
		}
		_, err := stdout.Write(httpapi.OpenAPI())
		return err
	case "version":
		fmt.Fprintln(stdout, "onboard", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (config.Config, error) {
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet(name, stderr)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := applyEnv(getenv); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := loadConfig("onboard serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	cfg.Version = version
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return a.Run(ctx, ln)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("onboard migrate", args, getenv, stderr)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
		return nil
	}
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied", name)
	}
	return nil
}

func adminCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) >= 1 && args[0] == "client" {
		return clientCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) >= 1 && args[0] == "user" {
		return userCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) >= 1 && args[0] == "code" {
		return codeCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) >= 2 && args[0] == "key" && args[1] == "list" {
		return keyListCommand(ctx, args[2:], getenv, stdout, stderr)
	}
	if len(args) >= 2 && args[0] == "key" && args[1] == "revoke" {
		return keyRevokeCommand(ctx, args[2:], getenv, stdout, stderr)
	}
	if len(args) < 2 || args[0] != "key" || args[1] != "create" {
		fmt.Fprint(stderr, usage)
		return errors.New("usage: onboard admin key create|list|revoke --org NAME …")
	}
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard admin key create", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization the key administers")
	name := fs.String("name", "", "a name for the key (who or what uses it)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	key, k, err := flows.CreateAdminKey(ctx, st, *org, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "admin key %s (%s) for organization %q; it is shown only now:\n", k.ID, k.Name, *org)
	fmt.Fprintln(stdout, key)
	return nil
}

// keyListCommand: onboard admin key list --org NAME
//
// It prints the organization's admin keys, revoked ones included, one JSON
// object a line, newest first; never a key or its hash.
func keyListCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard admin key list", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization of the keys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := flows.ListAdminKeys(ctx, st, *org)
	if err != nil {
		return fmt.Errorf("key list: %w", err)
	}
	enc := json.NewEncoder(stdout)
	for _, k := range keys {
		if err := enc.Encode(httpapi.AdminKeyView(k)); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// keyRevokeCommand: onboard admin key revoke --org NAME --id ID
//
// It revokes the key like DELETE /api/v1/admin/organizations/{org}/admin-keys/{id}.
func keyRevokeCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard admin key revoke", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization of the key")
	id := fs.String("id", "", "the key's id (see onboard admin key list)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	if *id == "" {
		return errors.New("key revoke: --id is required")
	}
	st, o, err := openOrg(ctx, cfg, *org, "key revoke")
	if err != nil {
		return err
	}
	defer st.Close()
	_, changed, err := flows.RevokeAdminKey(ctx, st, o, *id, "cli", time.Now())
	if store.IsNotFound(err) {
		return fmt.Errorf("key revoke: organization %q has no admin key %s", *org, *id)
	}
	if err != nil {
		return fmt.Errorf("key revoke: %w", err)
	}
	if changed {
		fmt.Fprintf(stdout, "admin key %s revoked\n", *id)
	} else {
		fmt.Fprintf(stdout, "admin key %s was revoked already\n", *id)
	}
	return nil
}
