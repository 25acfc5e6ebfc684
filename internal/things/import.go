package things

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/importline"
	"github.com/onboard-dev/onboard/internal/store"
)

// MaxImportLine is the longest line of a product import, in bytes.
const MaxImportLine = importline.MaxLine

// Import formats.
const (
	ImportNDJSON = importline.NDJSON
	ImportCSV    = importline.CSV
)

// ImportResult is the outcome of one line of a product import.
type ImportResult struct {
	Line         int    `json:"line"`
	Status       string `json:"status"` // created, unchanged or rejected
	SerialNumber string `json:"serial_number,omitempty"`
	Error        string `json:"error,omitempty"`
}

// ImportSummary counts the outcomes of an import.
type ImportSummary struct {
	Created   int `json:"created"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"`
}

// ImportLine is one product of an NDJSON import.
type ImportLine struct {
	SerialNumber    string            `json:"serial_number"`
	Model           string            `json:"model"`
	ConnectionToken string            `json:"connection_token,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

type importItem struct {
	line    int
	serial  string
	product *domain.Product
	err     string
}

// ImportProducts registers the products of an NDJSON or CSV stream (CSV:
// a header row naming serial_number, model and optionally connection_token
// and metadata.<key> columns), in batches, with bounded memory. It calls
// emit once per non-blank line, in order. A serial number the
// organization already has (or an earlier line had) is "unchanged": an
// import can be run again. A bad line is "rejected" and does not stop the
// others. The error is about the stream or the database, not a line.
//
// actor names who imports in the audit entry ("admin:…", "cli").
func (s *Service) ImportProducts(ctx context.Context, actor string, org domain.Organization, r io.Reader, format string,
	emit func(ImportResult) error) (ImportSummary, error) {
	var sum ImportSummary
	batchSize := 1000
	if s.store.Engine() == store.Postgres {
		batchSize = 5000
	}
	err := importline.Pipeline[importItem, ImportResult]{
		Format:    format,
		BatchSize: batchSize,
		Header:    csvHeader,
		Parse: func(_ context.Context, num int, line []byte, header []string) (importItem, error) {
			return s.parseLine(org.ID, num, line, header), nil
		},
		Reject: func(num int, msg string) importItem { return importItem{line: num, err: msg} },
		Store: func(ctx context.Context, items []importItem) ([]ImportResult, error) {
			return s.importBatch(ctx, org.ID, items, &sum)
		},
	}.Run(ctx, r, emit)
	if err == nil && ctx.Err() == nil && sum.Created+sum.Unchanged+sum.Rejected > 0 {
		if aerr := s.store.InTx(ctx, func(tx *store.Tx) error {
			// In a transaction: on SQLite it then waits its turn for the
			// writer like the import's batches, instead of failing as locked.
			return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actor, Action: "products.imported",
				SubjectID: org.ID, Data: map[string]any{"created": sum.Created, "unchanged": sum.Unchanged, "rejected": sum.Rejected},
				CreatedAt: s.now()})
		}); aerr != nil {
			return sum, aerr
		}
	}
	return sum, err
}

func (s *Service) importBatch(ctx context.Context, orgID string, items []importItem, sum *ImportSummary) ([]ImportResult, error) {
	rows := make([]domain.Product, 0, len(items))
	for _, it := range items {
		if it.product != nil {
			rows = append(rows, *it.product)
		}
	}
	outcomes, err := s.store.ImportProducts(ctx, orgID, rows)
	if err != nil {
		return nil, fmt.Errorf("import products: %w", err)
	}
	out := make([]ImportResult, len(items))
	k := 0
	for i, it := range items {
		res := ImportResult{Line: it.line, SerialNumber: it.serial}
		switch {
		case it.product == nil:
			res.Status, res.Error = "rejected", it.err
			sum.Rejected++
		case outcomes[k].Created:
			res.Status = "created"
			sum.Created++
			k++
		default:
			res.Status = "unchanged"
			sum.Unchanged++
			k++
		}
		out[i] = res
	}
	return out, nil
}

// parseLine makes the item of an NDJSON line, or of a CSV line when
// header is not nil.
func (s *Service) parseLine(orgID string, num int, line []byte, header []string) importItem {
	var in ImportLine
	var perr error
	if header != nil {
		in, perr = csvProduct(header, line)
	} else {
		perr = importline.DecodeJSON(line, &in)
	}
	it := importItem{line: num, serial: strings.TrimSpace(in.SerialNumber)}
	if perr == nil {
		var p domain.Product
		if p, perr = s.product(orgID, ProductInput(in)); perr == nil {
			it.product = &p
		}
	}
	if perr != nil {
		it.err = importline.FieldErrors(perr)
		if len(it.serial) > maxSerial {
			it.serial = ""
		}
	}
	return it
}

func csvHeader(line []byte) ([]string, error) {
	rec, err := importline.CSVHeader(line)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, h := range rec {
		switch {
		case h == "serial_number", h == "model", h == "connection_token", strings.HasPrefix(h, "metadata.") && len(h) > len("metadata."):
		default:
			return nil, domain.Errorf(domain.EBadRequest, "bad-import-header",
				"CSV header: unknown column %q (known: serial_number, model, connection_token, metadata.<key>).", h)
		}
		if seen[h] {
			return nil, domain.Errorf(domain.EBadRequest, "bad-import-header", "CSV header: column %q is given twice.", h)
		}
		seen[h] = true
	}
	if !seen["serial_number"] || !seen["model"] {
		return nil, domain.Errorf(domain.EBadRequest, "bad-import-header", "CSV header: the columns serial_number and model are required.")
	}
	return rec, nil
}

func csvProduct(header []string, line []byte) (ImportLine, error) {
	var in ImportLine
	rec, err := importline.CSVLine(header, line)
	if err != nil {
		return in, err
	}
	for i, h := range header {
		v := rec[i]
		switch {
		case h == "serial_number":
			in.SerialNumber = v
		case h == "model":
			in.Model = v
		case h == "connection_token":
			in.ConnectionToken = v
		case v != "":
			if in.Metadata == nil {
				in.Metadata = map[string]string{}
			}
			in.Metadata[strings.TrimPrefix(h, "metadata.")] = v
		}
	}
	return in, nil
}
