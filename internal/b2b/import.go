package b2b

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/store"
)

// MaxImportLine is the longest line of an import file, in bytes.
const MaxImportLine = 64 << 10

// Import formats.
const (
	ImportNDJSON = "ndjson"
	ImportCSV    = "csv"
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []importItem, 1)
	var parseErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(batches)
		parseErr = parseImport(ctx, st, scope, r, format, batchSize, batches)
	})
	// The answers of a batch are written while the next batch is in the
	// database.
	answers := make(chan []ImportResult, 1)
	var emitErr error
	var emitter sync.WaitGroup
	emitter.Go(func() {
		for rs := range answers {
			for _, res := range rs {
				if emitErr != nil {
					break
				}
				if emitErr = emit(res); emitErr != nil {
					cancel()
				}
			}
		}
	})
	for b := range batches {
		var rs []ImportResult
		if rs, err = importBatch(ctx, st, scope, org, b, &sum); err == nil {
			select {
			case answers <- rs:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err != nil {
			cancel()
			for range batches { // let the parser stop
			}
			break
		}
	}
	close(answers)
	emitter.Wait()
	wg.Wait()
	if emitErr != nil {
		err = emitErr
	}
	if err == nil && parseErr != nil && !errors.Is(parseErr, context.Canceled) {
		err = parseErr
	}
	if err == nil && ctx.Err() == nil && sum.Created+sum.Unchanged+sum.Rejected > 0 {
		if aerr := st.AddAudit(ctx, domain.AuditEntry{OrgID: scope.OrgID, Actor: scope.Actor, Action: "end_users.imported",
			SubjectID: scope.OrgID, Data: map[string]any{"created": sum.Created, "unchanged": sum.Unchanged, "rejected": sum.Rejected},
			CreatedAt: store.Timestamp(scope.Now())}); aerr != nil {
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

// lineReader reads lines of at most MaxImportLine bytes; longer lines are
// skipped and reported.
type lineReader struct {
	br *bufio.Reader
	n  int
}

func (lr *lineReader) next() (line []byte, num int, tooLong bool, err error) {
	b, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.n++
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = lr.br.ReadSlice('\n')
		}
		if err == io.EOF {
			err = nil
		}
		return nil, lr.n, true, err
	}
	if err == io.EOF {
		if len(b) == 0 {
			return nil, 0, false, io.EOF
		}
		err = nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("read: %w", err)
	}
	lr.n++
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return b, lr.n, false, nil
}

func parseImport(ctx context.Context, st *store.Store, scope ImportScope, r io.Reader, format string, batchSize int, out chan<- []importItem) error {
	lr := &lineReader{br: bufio.NewReaderSize(r, MaxImportLine)}
	res := &lpResolver{st: st, orgID: scope.OrgID, allowed: scope.Allowed, cache: map[string]domain.Labelpartner{}, def: scope.DefaultLabelpartner}
	var header []string
	items := make([]importItem, 0, batchSize)
	valid := 0
	now := store.Timestamp(scope.Now())
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		select {
		case out <- items:
		case <-ctx.Done():
			return ctx.Err()
		}
		items, valid = make([]importItem, 0, batchSize), 0
		return nil
	}
	for {
		line, num, tooLong, err := lr.next()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return err
		}
		if tooLong {
			items = append(items, importItem{line: num, err: fmt.Sprintf("line: longer than %d bytes", MaxImportLine)})
		} else if len(bytes.TrimSpace(line)) == 0 {
			continue
		} else if format == ImportCSV && header == nil {
			if header, err = csvHeader(line); err != nil {
				return err
			}
			continue
		} else {
			var in EndUserInput
			var perr error
			if format == ImportCSV {
				in, perr = csvEndUser(header, line)
			} else {
				in, perr = jsonEndUser(line)
			}
			it := importItem{line: num}
			if perr == nil {
				var u domain.EndUser
				u, perr = res.endUser(ctx, in, now)
				if perr == nil {
					it.user = &u
					valid++
				} else if domain.AsError(perr) == nil {
					return perr
				}
			}
			if perr != nil {
				it.err = lineError(perr)
			}
			items = append(items, it)
		}
		if valid >= batchSize || len(items) >= 4*batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

func lineError(err error) string {
	de := domain.AsError(err)
	if de == nil {
		return err.Error()
	}
	if len(de.Fields) == 0 {
		return de.Detail
	}
	var parts []string
	for _, f := range de.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}

// strictJSON are the options of decoding an import line, as of every API
// request body: exact-case member names, no unknown or duplicate members,
// valid UTF-8 only.
var strictJSON = jsonv2.JoinOptions(
	jsonv2.RejectUnknownMembers(true),
	jsonv2.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

func jsonEndUser(line []byte) (EndUserInput, error) {
	var in EndUserInput
	err := jsonv2.Unmarshal(line, &in, strictJSON)
	if err == nil {
		return in, nil
	}
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(err, jsontext.ErrDuplicateName):
		return in, fmt.Errorf("%s: is given more than once", pointerField(syn.JSONPointer))
	case errors.As(err, &syn) && syn.Err != nil && strings.Contains(syn.Err.Error(), "UTF-8"):
		return in, errors.New("line: is not valid UTF-8")
	case errors.As(err, &sem) && errors.Is(sem.Err, jsonv2.ErrUnknownName):
		return in, fmt.Errorf("%s: is not a known field", pointerField(sem.JSONPointer))
	case errors.As(err, &sem) && sem.JSONPointer != "":
		return in, fmt.Errorf("%s: has the wrong type", pointerField(sem.JSONPointer))
	}
	return in, errors.New("line: must hold exactly one JSON object")
}

// pointerField names the member a JSON pointer points at: "/order/x" → "order.x".
func pointerField(p jsontext.Pointer) string {
	return strings.Join(slices.Collect(p.Tokens()), ".")
}

var csvFields = map[string]bool{"email": true, "first_name": true, "last_name": true, "labelpartner": true,
	"create_verified_user": true, "external_authentication_provider_id": true, "voucher_code": true, "order.voucher_code": true}

func csvRecord(line []byte) ([]string, error) {
	cr := csv.NewReader(bytes.NewReader(line))
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err != nil {
		return nil, errors.New("line: is not a CSV record")
	}
	return rec, nil
}

func csvHeader(line []byte) ([]string, error) {
	rec, err := csvRecord(line)
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	for i, h := range rec {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		rec[i] = h
		if !csvFields[h] && !strings.HasPrefix(h, "customer.") && !strings.HasPrefix(h, "installation.") {
			return nil, fmt.Errorf("csv header: unknown column %q (known: email, first_name, last_name, labelpartner, create_verified_user, external_authentication_provider_id, voucher_code, customer.*, installation.*)", h)
		}
	}
	return rec, nil
}

func csvEndUser(header []string, line []byte) (EndUserInput, error) {
	var in EndUserInput
	rec, err := csvRecord(line)
	if err != nil {
		return in, err
	}
	if len(rec) != len(header) {
		return in, fmt.Errorf("line: has %d fields, the header %d", len(rec), len(header))
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
