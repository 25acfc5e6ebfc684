// Package importline is the common part of the bulk imports (end users,
// products): a stream of NDJSON or CSV lines is read with bounded memory,
// every non-blank line becomes an item, the items are stored in batches and
// every line is answered, in order, while the next batch is parsed and
// stored.
//
// What a line means, how a batch is stored and what a line's answer is
// stay with the caller (a [Pipeline]'s functions). The package also holds
// the helpers both imports decode lines with: [DecodeJSON] (the strict
// JSON decoding of every API request body, with one-line error messages),
// [CSVHeader] and [CSVLine], and [FieldErrors], which joins the field
// errors of a [domain.Error] into one line.
package importline

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
)

// MaxLine is the longest line of an import file, in bytes. A longer line
// is skipped and answered with [Pipeline.Reject].
const MaxLine = 64 << 10

// The formats of an import stream.
const (
	NDJSON = "ndjson"
	CSV    = "csv"
)

// The statuses of a line's answer.
const (
	Created   = "created"
	Unchanged = "unchanged"
	Rejected  = "rejected"
)

// Pipeline describes one import of items T answered with results R. Parse,
// Reject and Store are required; Header is required for CSV.
type Pipeline[T, R any] struct {
	// Format is NDJSON or CSV. In CSV the first non-blank line is the
	// header row, given to Header.
	Format string
	// BatchSize is how many valid items (see Valid) a batch holds at the
	// most; a batch is also handed over once it holds 4×BatchSize items of
	// any kind.
	BatchSize int
	// Header reads the CSV header row; its error ends the import.
	Header func(line []byte) ([]string, error)
	// Parse makes the item of a non-blank line (num counts from 1 and
	// includes blank lines; header is nil in NDJSON). A line's own fault
	// belongs in the item; an error ends the import.
	Parse func(ctx context.Context, num int, line []byte, header []string) (T, error)
	// Reject makes the item of a line that cannot be read, with msg saying
	// why (a line longer than MaxLine).
	Reject func(num int, msg string) T
	// Valid tells whether an item counts towards BatchSize; nil counts
	// every item.
	Valid func(T) bool
	// Store stores a batch and answers each of its items, in order. Its
	// error ends the import.
	Store func(ctx context.Context, batch []T) ([]R, error)
}

// Run reads r, stores its items in batches and calls emit once per
// non-blank line, in order, from one goroutine at a time. Parsing, storing
// and emitting overlap: a batch is answered while the next one is stored
// and the one after it parsed. The error is the first of emit's, Store's,
// and then the stream's or Parse's (a cancelled parse is not an error of
// its own: a cancellation of ctx shows in Store's error or in ctx).
func (p Pipeline[T, R]) Run(ctx context.Context, r io.Reader, emit func(R) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []T, 1)
	var parseErr error
	var parser sync.WaitGroup
	parser.Go(func() {
		defer close(batches)
		parseErr = p.parse(ctx, r, batches)
	})
	answers := make(chan []R, 1)
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
		var rs []R
		if rs, err = p.Store(ctx, b); err == nil {
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
	parser.Wait()
	if emitErr != nil {
		err = emitErr
	}
	if err == nil && parseErr != nil && !errors.Is(parseErr, context.Canceled) {
		err = parseErr
	}
	return err
}

func (p Pipeline[T, R]) parse(ctx context.Context, r io.Reader, out chan<- []T) error {
	lr := &lineReader{br: bufio.NewReaderSize(r, MaxLine)}
	var header []string
	items := make([]T, 0, p.BatchSize)
	valid := 0
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		select {
		case out <- items:
		case <-ctx.Done():
			return ctx.Err()
		}
		items, valid = make([]T, 0, p.BatchSize), 0
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
			it := p.Reject(num, fmt.Sprintf("line: longer than %d bytes", MaxLine))
			items = append(items, it)
			if p.Valid == nil || p.Valid(it) {
				valid++
			}
		case len(bytes.TrimSpace(line)) == 0:
			continue
		case p.Format == CSV && header == nil:
			if header, err = p.Header(line); err != nil {
				return err
			}
			continue
		default:
			it, err := p.Parse(ctx, num, line, header)
			if err != nil {
				return err
			}
			items = append(items, it)
			if p.Valid == nil || p.Valid(it) {
				valid++
			}
		}
		if valid >= p.BatchSize || len(items) >= 4*p.BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// lineReader reads lines of at most MaxLine bytes; longer lines are
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

// FieldErrors is the one-line answer of a line's error: the field errors
// of a [domain.Error] joined as "field: message; field: message", its
// detail when it has none, or the error's text.
func FieldErrors(err error) string {
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

// DecodeJSON decodes one NDJSON line into v as strictly as an API request
// body is decoded. Its error is a line's answer: "a.b: is given more than
// once", "a.b: is not a known field", "a.b: has the wrong type", "line: is
// not valid UTF-8" or "line: must hold exactly one JSON object".
func DecodeJSON(line []byte, v any) error {
	err := jsonv2.Unmarshal(line, v, strictJSON)
	if err == nil {
		return nil
	}
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(err, jsontext.ErrDuplicateName):
		return fmt.Errorf("%s: is given more than once", pointerField(syn.JSONPointer))
	case errors.As(err, &syn) && syn.Err != nil && strings.Contains(syn.Err.Error(), "UTF-8"):
		return errors.New("line: is not valid UTF-8")
	case errors.As(err, &sem) && errors.Is(sem.Err, jsonv2.ErrUnknownName):
		return fmt.Errorf("%s: is not a known field", pointerField(sem.JSONPointer))
	case errors.As(err, &sem) && sem.JSONPointer != "":
		return fmt.Errorf("%s: has the wrong type", pointerField(sem.JSONPointer))
	}
	return errors.New("line: must hold exactly one JSON object")
}

// pointerField names the member a JSON pointer points at: "/order/x" → "order.x".
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

// CSVHeader reads a CSV header row: its column names, without spaces
// around them or a byte order mark. Which names are known is the caller's.
func CSVHeader(line []byte) ([]string, error) {
	rec, err := csvRecord(line)
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	for i, h := range rec {
		rec[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	}
	return rec, nil
}

// CSVLine reads a CSV line of a file with the given header: its fields,
// as many as the header has columns. Its error is a line's answer.
func CSVLine(header []string, line []byte) ([]string, error) {
	rec, err := csvRecord(line)
	if err != nil {
		return nil, err
	}
	if len(rec) != len(header) {
		return nil, fmt.Errorf("line: has %d fields, the header %d", len(rec), len(header))
	}
	return rec, nil
}
