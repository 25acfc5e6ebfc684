package things

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// MaxImportLine is the longest line of a product import, in bytes.
const MaxImportLine = 64 << 10

// Import formats.
const (
	ImportNDJSON = "ndjson"
	ImportCSV    = "csv"
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []importItem, 1)
	var parseErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(batches)
		parseErr = s.parseImport(ctx, org.ID, r, format, batchSize, batches)
	})
	// The answers of a batch are written while the next one is stored.
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
	var err error
	for b := range batches {
		var rs []ImportResult
		if rs, err = s.importBatch(ctx, org.ID, b, &sum); err == nil {
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
		if aerr := s.store.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actor, Action: "products.imported",
			SubjectID: org.ID, Data: map[string]any{"created": sum.Created, "unchanged": sum.Unchanged, "rejected": sum.Rejected},
			CreatedAt: s.now()}); aerr != nil {
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

func (s *Service) parseImport(ctx context.Context, orgID string, r io.Reader, format string, batchSize int, out chan<- []importItem) error {
	lr := &lineReader{br: bufio.NewReaderSize(r, MaxImportLine)}
	var header []string
	items := make([]importItem, 0, batchSize)
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		select {
		case out <- items:
		case <-ctx.Done():
			return ctx.Err()
		}
		items = make([]importItem, 0, batchSize)
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
		switch {
		case tooLong:
			items = append(items, importItem{line: num, err: fmt.Sprintf("line: longer than %d bytes", MaxImportLine)})
		case len(bytes.TrimSpace(line)) == 0:
			continue
		case format == ImportCSV && header == nil:
			if header, err = csvHeader(line); err != nil {
				return err
			}
			continue
		default:
			var in ImportLine
			var perr error
			if format == ImportCSV {
				in, perr = csvProduct(header, line)
			} else {
				in, perr = jsonProduct(line)
			}
			it := importItem{line: num, serial: strings.TrimSpace(in.SerialNumber)}
			if perr == nil {
				var p domain.Product
				if p, perr = s.product(orgID, ProductInput(in)); perr == nil {
					it.product = &p
				}
			}
			if perr != nil {
				it.err = lineError(perr)
				if len(it.serial) > maxSerial {
					it.serial = ""
				}
			}
			items = append(items, it)
		}
		if len(items) >= batchSize {
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
	parts := make([]string, 0, len(de.Fields))
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

func jsonProduct(line []byte) (ImportLine, error) {
	var in ImportLine
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

func pointerField(p jsontext.Pointer) string {
	return strings.Join(slices.Collect(p.Tokens()), ".")
}

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
	seen := map[string]bool{}
	for i, h := range rec {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		rec[i] = h
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
	rec, err := csvRecord(line)
	if err != nil {
		return in, err
	}
	if len(rec) != len(header) {
		return in, fmt.Errorf("line: has %d fields, the header %d", len(rec), len(header))
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
