package b2b

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/importline"
	"github.com/onboard-dev/onboard/internal/store"
)

// MaxImportLine is the longest line of an import file, in bytes.
const MaxImportLine = importline.MaxLine

// Import formats.
const (
	ImportNDJSON = importline.NDJSON
	ImportCSV    = importline.CSV
)

// ImportResult is the outcome of one line of an import.
type ImportResult struct {
	Line   int    `json:"line"`
	Status string `json:"status"` // created, unchanged or rejected
	ID     string `json:"id,omitempty"`
	Error  string `json:"error,omitempty"`
}

// ImportSummary counts the outcomes of an import.
type ImportSummary struct {
	Created   int `json:"created"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"`
}

// ImportScope says where an import provisions end users.
type ImportScope struct {
	OrgID string
	// Allowed tells whether lines may name the labelpartner (by id).
	Allowed func(labelpartnerID string) bool
	// DefaultLabelpartner is used for lines that name none.
	DefaultLabelpartner string
	Actor               string
	// Now is the clock of the records' timestamps; nil → store.Now.
	Now func() time.Time
}

// ClientScope is the import scope of a B2B client.
func ClientScope(c B2BClient, defaultLabelpartner string) ImportScope {
	return ImportScope{OrgID: c.OrgID, Allowed: c.May, DefaultLabelpartner: defaultLabelpartner, Actor: "client:" + c.ClientID}
}

// ImportEndUsers provisions the end users of an NDJSON or CSV stream, in
// batches, with bounded memory. It calls emit once per non-blank line, in
// order, and is idempotent by email: an address the organization already
// has is reported "unchanged". A bad line is "rejected" and does not stop
// the others. The error is about the stream or the database, not a line.
func ImportEndUsers(ctx context.Context, st *store.Store, scope ImportScope, r io.Reader, format string, emit func(ImportResult) error) (ImportSummary, error) {
	if scope.Allowed == nil {
		scope.Allowed = func(string) bool { return true }
	}
	if scope.Now == nil {
		scope.Now = store.Now
	}
	var sum ImportSummary
	// Every end user the import creates is told as end_user.provisioned,
	// written with the batch that creates it.
	org, err := st.OrganizationByID(ctx, scope.OrgID)
	if err != nil {
		return sum, fmt.Errorf("import: %w", err)
	}
	batchSize := 1000
	if st.Engine() == store.Postgres {
		batchSize = 5000
	}
	res := &lpResolver{st: st, orgID: scope.OrgID, allowed: scope.Allowed, cache: map[string]domain.Labelpartner{}, def: scope.DefaultLabelpartner}
	now := store.Timestamp(scope.Now())
	err = importline.Pipeline[importItem, ImportResult]{
		Format:    format,
		BatchSize: batchSize,
		Header:    csvHeader,
		Parse: func(ctx context.Context, num int, line []byte, header []string) (importItem, error) {
			return parseLine(ctx, res, now, num, line, header)
		},
		Reject: func(num int, msg string) importItem { return importItem{line: num, err: msg} },
		Valid:  func(it importItem) bool { return it.user != nil },
		Store: func(ctx context.Context, items []importItem) ([]ImportResult, error) {
			return importBatch(ctx, st, scope, org, items, &sum)
		},
	}.Run(ctx, r, emit)
	if err == nil && ctx.Err() == nil && sum.Created+sum.Unchanged+sum.Rejected > 0 {
		if aerr := st.InTx(ctx, func(tx *store.Tx) error {
			// In a transaction: on SQLite it then waits its turn for the
			// writer like the import's batches, instead of failing as locked.
			return tx.AddAudit(ctx, domain.AuditEntry{OrgID: scope.OrgID, Actor: scope.Actor, Action: "end_users.imported",
				SubjectID: scope.OrgID, Data: map[string]any{"created": sum.Created, "unchanged": sum.Unchanged, "rejected": sum.Rejected},
				CreatedAt: store.Timestamp(scope.Now())})
		}); aerr != nil {
			return sum, aerr
		}
	}
	return sum, err
}

type importItem struct {
	line int
	user *domain.EndUser
	err  string
}

// importBatch stores the valid end users of a batch and answers every item
// of it, in order.
func importBatch(ctx context.Context, st *store.Store, scope ImportScope, org domain.Organization, items []importItem, sum *ImportSummary) ([]ImportResult, error) {
	rows := make([]domain.EndUser, 0, len(items))
	for _, it := range items {
		if it.user != nil {
			rows = append(rows, *it.user)
		}
	}
	outcomes, err := st.ImportEndUsersWithEvents(ctx, scope.OrgID, rows, func(u domain.EndUser) (store.StoredEvent, error) {
		return events.Row(org, u.CreatedAt, u.ID, events.EndUserEvent(domain.EndUserProvisioned, u.ID, u.Labelpartner, u.Email))
	})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	out := make([]ImportResult, len(items))
	k := 0
	for i, it := range items {
		res := ImportResult{Line: it.line}
		switch {
		case it.user == nil:
			res.Status, res.Error = "rejected", it.err
		default:
			o := outcomes[k]
			k++
			switch {
			case o.Created:
				res.Status, res.ID = "created", o.ID
			case o.ID != "" && scope.Allowed(o.LabelpartnerID):
				res.Status, res.ID = "unchanged", o.ID
			case o.ID != "":
				// Held under a labelpartner the importer does not serve:
				// the same words as any refusal, naming no end user.
				res.Status, res.Error = "rejected", "the end user cannot be provisioned with these details"
			default:
				res.Status, res.Error = "rejected", "external_authentication_provider_id: is used by another end user"
			}
		}
		switch res.Status {
		case "created":
			sum.Created++
		case "unchanged":
			sum.Unchanged++
		default:
			sum.Rejected++
		}
		out[i] = res
	}
	return out, nil
}

// parseLine makes the item of an NDJSON line, or of a CSV line when
// header is not nil. Its error is not the line's: it ends the import.
func parseLine(ctx context.Context, res *lpResolver, now time.Time, num int, line []byte, header []string) (importItem, error) {
	var in EndUserInput
	var perr error
	if header != nil {
		in, perr = csvEndUser(header, line)
	} else {
		perr = importline.DecodeJSON(line, &in)
	}
	it := importItem{line: num}
	if perr == nil {
		var u domain.EndUser
		u, perr = res.endUser(ctx, in, now)
		if perr == nil {
			it.user = &u
		} else if domain.AsError(perr) == nil {
			return it, perr
		}
	}
	if perr != nil {
		it.err = importline.FieldErrors(perr)
	}
	return it, nil
}

var csvFields = map[string]bool{"email": true, "first_name": true, "last_name": true, "labelpartner": true,
	"create_verified_user": true, "external_authentication_provider_id": true, "voucher_code": true, "order.voucher_code": true}

func csvHeader(line []byte) ([]string, error) {
	rec, err := importline.CSVHeader(line)
	if err != nil {
		return nil, err
	}
	for _, h := range rec {
		if !csvFields[h] && !strings.HasPrefix(h, "customer.") && !strings.HasPrefix(h, "installation.") {
			return nil, fmt.Errorf("csv header: unknown column %q (known: email, first_name, last_name, labelpartner, create_verified_user, external_authentication_provider_id, voucher_code, customer.*, installation.*)", h)
		}
	}
	return rec, nil
}

func csvEndUser(header []string, line []byte) (EndUserInput, error) {
	var in EndUserInput
	rec, err := importline.CSVLine(header, line)
	if err != nil {
		return in, err
	}
	var customer, installation map[string]string
	for i, h := range header {
		v := rec[i]
		switch {
		case h == "email":
			in.Email = v
		case h == "first_name":
			in.FirstName = v
		case h == "last_name":
			in.LastName = v
		case h == "labelpartner":
			in.Labelpartner = v
		case h == "external_authentication_provider_id":
			in.ExternalID = v
		case h == "voucher_code" || h == "order.voucher_code":
			if v != "" {
				in.Order = &EndUserOrder{VoucherCode: v}
			}
		case h == "create_verified_user":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true", "1", "yes":
				in.CreateVerifiedUser = true
			case "false", "0", "no", "":
			default:
				return in, errors.New("create_verified_user: must be true or false")
			}
		case strings.HasPrefix(h, "customer."):
			if customer == nil {
				customer = map[string]string{}
			}
			customer[strings.TrimPrefix(h, "customer.")] = v
		case strings.HasPrefix(h, "installation."):
			if installation == nil {
				installation = map[string]string{}
			}
			installation[strings.TrimPrefix(h, "installation.")] = v
		}
	}
	if customer != nil {
		if in.Customer, err = json.Marshal(customer); err != nil {
			return in, fmt.Errorf("customer: %w", err)
		}
	}
	if installation != nil {
		if in.Installation, err = json.Marshal(installation); err != nil {
			return in, fmt.Errorf("installation: %w", err)
		}
	}
	return in, nil
}

// ImportEndUsers runs ImportEndUsers on the service's store.
func (s *Service) ImportEndUsers(ctx context.Context, scope ImportScope, r io.Reader, format string, emit func(ImportResult) error) (ImportSummary, error) {
	if scope.Now == nil {
		scope.Now = s.now
	}
	return ImportEndUsers(ctx, s.store, scope, r, format, emit)
}
