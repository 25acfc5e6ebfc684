package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/importline"
	"github.com/onboard-dev/onboard/internal/store"
)

// importCounts are the outcomes an import command has seen so far.
type importCounts struct{ Created, Unchanged, Rejected int }

// fileImport is what the import commands share: the flags --file, --format
// and --quiet, the progress on standard error, the rejected lines and then
// the summary on standard output (NDJSON). what prefixes errors and the
// progress ("import", "import products").
type fileImport struct {
	what   string
	file   *string
	format *string
	quiet  *bool
}

// importFlags adds --file, --format and --quiet to fs; fileHelp describes
// --file.
func importFlags(fs *flag.FlagSet, what, fileHelp string) *fileImport {
	return &fileImport{
		what:   what,
		file:   fs.String("file", "", fileHelp),
		format: fs.String("format", "", "ndjson or csv (default: from the file name, .csv is CSV)"),
		quiet:  fs.Bool("quiet", false, "no progress on standard error"),
	}
}

// open checks the flags and opens the file (- is standard input) with the
// organization's store: what run gets. The format is the flag's, or CSV for
// a .csv file and NDJSON otherwise.
func (fi *fileImport) open(ctx context.Context, cfg config.Config, org string,
	run func(st *store.Store, o domain.Organization, in io.Reader, format string) error) error {
	if *fi.file == "" {
		return fmt.Errorf("%s: --file is required", fi.what)
	}
	format := *fi.format
	if format == "" {
		format = importline.NDJSON
		if strings.EqualFold(filepath.Ext(*fi.file), ".csv") {
			format = importline.CSV
		}
	}
	if format != importline.NDJSON && format != importline.CSV {
		return fmt.Errorf("%s: --format %q: must be ndjson or csv", fi.what, format)
	}
	var in io.Reader = os.Stdin
	if *fi.file != "-" {
		f, err := os.Open(*fi.file)
		if err != nil {
			return fmt.Errorf("%s: %w", fi.what, err)
		}
		defer f.Close()
		in = f
	}
	st, o, err := openOrg(ctx, cfg, org, fi.what)
	if err != nil {
		return err
	}
	defer st.Close()
	return run(st, o, in, format)
}

// runImport runs an import (run, which calls emit once per line), writes
// the rejected lines (those whose status is neither created nor unchanged)
// and then {"summary": total} to stdout, and shows progress on stderr at
// most once a second unless --quiet.
func runImport[R any, S any](fi *fileImport, stdout, stderr io.Writer, status func(R) string,
	run func(emit func(R) error) (total S, err error)) error {
	enc := json.NewEncoder(stdout)
	start := time.Now()
	last := start
	var sum importCounts
	progress := func(final bool) {
		if *fi.quiet {
			return
		}
		el := time.Since(start).Seconds()
		n := sum.Created + sum.Unchanged + sum.Rejected
		end := "\r"
		if final {
			end = "\n"
		}
		fmt.Fprintf(stderr, "%s: %d lines (%d created, %d unchanged, %d rejected) in %.1fs, %.0f lines/s%s",
			fi.what, n, sum.Created, sum.Unchanged, sum.Rejected, el, float64(n)/max(el, 1e-9), end)
	}
	total, err := run(func(r R) error {
		switch status(r) {
		case importline.Created:
			sum.Created++
		case importline.Unchanged:
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
		return fmt.Errorf("%s: %w", fi.what, err)
	}
	if err := enc.Encode(struct {
		Summary S `json:"summary"`
	}{total}); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// errUnexpectedArgs is the error of arguments after the flags.
func errUnexpectedArgs(what string, fs *flag.FlagSet) error {
	if fs.NArg() == 0 {
		return nil
	}
	return errors.New(what + ": unexpected arguments: " + strings.Join(fs.Args(), " "))
}
