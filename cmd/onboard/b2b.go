package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/app"
	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpapi"
	"github.com/onboard-dev/onboard/internal/store"
)

// openStore opens and migrates the configured database for a command.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := app.OpenStore(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return nil, err
	}
	if _, err := flows.EnsureDefaultOrganization(ctx, st, flows.DefaultDisplayName(cfg.OrgName, cfg.MailFrom, cfg.PublicURL)); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// openOrg opens the store as openStore does and reads the organization
// named org; what prefixes the error of a missing organization.
func openOrg(ctx context.Context, cfg config.Config, org, what string) (*store.Store, domain.Organization, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, domain.Organization{}, err
	}
	o, err := st.OrganizationByName(ctx, org)
	if err != nil {
		st.Close()
		return nil, domain.Organization{}, fmt.Errorf("%s: %w", what, err)
	}
	return st, o, nil
}

// importCommand: onboard import end-users --org NAME [--labelpartner-default NAME] --file users.ndjson|users.csv
//
// It provisions the end users of the file like POST /api/v1/b2b/end-users/import,
// writes rejected lines and then the summary to stdout (NDJSON) and shows
// progress on stderr.
func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "products" {
		return importProductsCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "end-users" {
		return errors.New("usage: onboard import end-users --org NAME [--labelpartner-default NAME] --file users.ndjson|users.csv|- [--format ndjson|csv] [--db …]")
	}
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard import end-users", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization the end users belong to")
	def := fs.String("labelpartner-default", "", "labelpartner of lines that name none")
	fi := importFlags(fs, "import", "NDJSON or CSV file (with a header row naming the fields); - reads standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	return fi.open(ctx, cfg, *org, func(st *store.Store, o domain.Organization, in io.Reader, format string) error {
		return runImport(fi, stdout, stderr, func(r b2b.ImportResult) string { return r.Status },
			func(emit func(b2b.ImportResult) error) (b2b.ImportSummary, error) {
				return b2b.ImportEndUsers(ctx, st, b2b.ImportScope{OrgID: o.ID, DefaultLabelpartner: *def, Actor: "cli"}, in, format, emit)
			})
	})
}

// clientCreateCommand: onboard admin client create --org … --name … --kind b2b|app --labelpartners a,b
func clientCreateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard admin client create", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization of the client")
	name := fs.String("name", "", "a name for the client")
	kind := fs.String("kind", "b2b", "b2b (provisions end users) or app (an end-user app, /v2/token)")
	lps := fs.String("labelpartners", "", "comma-separated labelpartner names the client serves")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	st, o, err := openOrg(ctx, cfg, *org, "client create")
	if err != nil {
		return err
	}
	defer st.Close()
	var names []string
	for _, n := range strings.Split(*lps, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	c, secret, err := b2b.CreateClient(ctx, st, o, b2b.ClientInput{Name: *name, Kind: *kind, Labelpartners: names}, "cli", time.Now())
	if err != nil {
		return fmt.Errorf("client create: %w", err)
	}
	fmt.Fprintf(stderr, "client %q (%s) of organization %q; the secret is shown only now:\n", c.Name, c.Kind, *org)
	return json.NewEncoder(stdout).Encode(map[string]string{"client_id": c.ClientID, "client_secret": secret})
}

// clientCommand: onboard admin client create|list|revoke …
func clientCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	usage := errors.New("usage: onboard admin client create|list|revoke --org NAME …")
	if len(args) == 0 {
		return usage
	}
	switch args[0] {
	case "create":
		return clientCreateCommand(ctx, args[1:], getenv, stdout, stderr)
	case "list":
		return clientListCommand(ctx, args[1:], getenv, stdout, stderr)
	case "revoke":
		return clientRevokeCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	return usage
}

// clientListCommand: onboard admin client list --org NAME
//
// It prints the organization's clients, revoked ones included, one JSON
// object a line, oldest first.
func clientListCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard admin client list", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization of the clients")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	st, o, err := openOrg(ctx, cfg, *org, "client list")
	if err != nil {
		return err
	}
	defer st.Close()
	cs, err := b2b.Clients(ctx, st, o)
	if err != nil {
		return fmt.Errorf("client list: %w", err)
	}
	enc := json.NewEncoder(stdout)
	for _, c := range cs {
		if err := enc.Encode(httpapi.ClientView(c)); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// clientRevokeCommand: onboard admin client revoke --org NAME --client CLIENT_ID|ID
//
// It revokes the client like DELETE /api/v1/admin/organizations/{org}/clients/{id}.
func clientRevokeCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard admin client revoke", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization of the client")
	client := fs.String("client", "", "the client's client_id (cl_…) or id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	if *client == "" {
		return errors.New("client revoke: --client is required")
	}
	st, o, err := openOrg(ctx, cfg, *org, "client revoke")
	if err != nil {
		return err
	}
	defer st.Close()
	id := *client
	if strings.HasPrefix(id, b2b.ClientIDPrefix) {
		c, err := st.ClientByClientID(ctx, id)
		if store.IsNotFound(err) || (err == nil && c.OrgID != o.ID) {
			return fmt.Errorf("client revoke: organization %q has no client %s", *org, id)
		}
		if err != nil {
			return fmt.Errorf("client revoke: %w", err)
		}
		id = c.ID
	}
	changed, err := b2b.RevokeClient(ctx, st, o, id, "cli", time.Now())
	if err != nil {
		return fmt.Errorf("client revoke: %s: %w", *client, err)
	}
	if changed {
		fmt.Fprintf(stdout, "client %s revoked\n", *client)
	} else {
		fmt.Fprintf(stdout, "client %s was revoked already\n", *client)
	}
	return nil
}
