package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/flows"
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
	file := fs.String("file", "", "NDJSON or CSV file (with a header row: serial_number, model, connection_token, metadata.<key>); - reads standard input")
	format := fs.String("format", "", "ndjson or csv (default: from the file name, .csv is CSV)")
	quiet := fs.Bool("quiet", false, "no progress on standard error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("import products: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := applyEnv(getenv); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("import products: --file is required")
	}
	if *format == "" {
		*format = things.ImportNDJSON
		if strings.EqualFold(filepath.Ext(*file), ".csv") {
			*format = things.ImportCSV
		}
	}
	if *format != things.ImportNDJSON && *format != things.ImportCSV {
		return fmt.Errorf("import products: --format %q: must be ndjson or csv", *format)
	}
	var in io.Reader = os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("import products: %w", err)
		}
		defer f.Close()
		in = f
	}
	st, o, err := openOrg(ctx, cfg, *org, "import products")
	if err != nil {
		return err
	}
	defer st.Close()
	svc := things.New(things.Deps{Store: st}, things.Config{PublicURL: cfg.PublicURL, MailFrom: cfg.MailFrom})
	enc := json.NewEncoder(stdout)
	start := time.Now()
	last := start
	var sum things.ImportSummary
	progress := func(final bool) {
		if *quiet {
			return
		}
		el := time.Since(start).Seconds()
		n := sum.Created + sum.Unchanged + sum.Rejected
		end := "\r"
		if final {
			end = "\n"
		}
		fmt.Fprintf(stderr, "import products: %d lines (%d created, %d unchanged, %d rejected) in %.1fs, %.0f lines/s%s",
			n, sum.Created, sum.Unchanged, sum.Rejected, el, float64(n)/max(el, 1e-9), end)
	}
	total, err := svc.ImportProducts(ctx, "cli", o, in, *format, func(r things.ImportResult) error {
		switch r.Status {
		case "created":
			sum.Created++
		case "unchanged":
			sum.Unchanged++
		default:
			sum.Rejected++
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		if now := time.Now(); now.Sub(last) >= time.Second {
			last = now
			progress(false)
		}
		return nil
	})
	progress(true)
	if err != nil {
		return fmt.Errorf("import products: %w", err)
	}
	if err := enc.Encode(struct {
		Summary things.ImportSummary `json:"summary"`
	}{total}); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
