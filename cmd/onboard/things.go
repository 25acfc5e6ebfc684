package main

import (
	"context"
	"io"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/things"
)

// importProductsCommand: onboard import products --org NAME --file products.ndjson|products.csv
//
// It registers the products of the file like
// POST /api/v1/admin/organizations/{org}/products/import, writes rejected
// lines and then the summary to stdout (NDJSON) and shows progress on
// stderr.
func importProductsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs, applyEnv := cfg.FlagSet("onboard import products", stderr)
	org := fs.String("org", flows.DefaultOrganization, "organization that made the products")
	fi := importFlags(fs, "import products", "NDJSON or CSV file (with a header row: serial_number, model, connection_token, metadata.<key>); - reads standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := errUnexpectedArgs("import products", fs); err != nil {
		return err
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	return fi.open(ctx, cfg, *org, func(st *store.Store, o domain.Organization, in io.Reader, format string) error {
		svc := things.New(things.Deps{Store: st}, things.Config{PublicURL: cfg.PublicURL, MailFrom: cfg.MailFrom})
		return runImport(fi, stdout, stderr, func(r things.ImportResult) string { return r.Status },
			func(emit func(things.ImportResult) error) (things.ImportSummary, error) {
				return svc.ImportProducts(ctx, "cli", o, in, format, emit)
			})
	})
}
