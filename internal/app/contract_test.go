package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"

	"github.com/onboard-dev/onboard/internal/httpapi"
)

// apiContract is the validator of the OpenAPI document the app serves, built
// once for the test binary.
var apiContract = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi validator: %v", errs)
	}
	return v, nil
})

// contractTransport checks every answer of a documented operation against
// the OpenAPI document (status, media type, headers and body schema), and
// fails the test on a mismatch. Paths the document does not describe (the
// pages) pass unchecked.
type contractTransport struct {
	t    testing.TB
	next http.RoundTripper
}

func (c contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	// Forms posted by the pages share some paths with the API (the B2B
	// verification page), and the import's NDJSON stream is one JSON value a
	// line, which the validator cannot read: neither is checked.
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		return res, nil
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt == "application/x-ndjson" || mt == "text/html" {
		return res, nil
	}
	v, err := apiContract()
	if err != nil {
		c.t.Errorf("contract: %v", err)
		return res, nil
	}
	// The validator reads the body and puts it back.
	if ok, errs := v.ValidateHttpResponse(req, res); !ok {
		var msgs []string
		for _, e := range errs {
			if e.IsPathMissingError() || e.IsOperationMissingError() {
				continue
			}
			msg := e.Message
			if e.Reason != "" {
				msg += ": " + e.Reason
			}
			for _, s := range e.SchemaValidationErrors {
				msg += fmt.Sprintf("\n\t\t%s: %s", s.FieldPath, s.Reason)
			}
			msgs = append(msgs, msg)
		}
		if len(msgs) > 0 {
			c.t.Errorf("%s %s answered %d, which the OpenAPI document does not allow:\n\t%s",
				req.Method, req.URL.Path, res.StatusCode, strings.Join(msgs, "\n\t"))
		}
	}
	return res, nil
}

// contractClient is an HTTP client whose answers are checked against the
// OpenAPI document.
func contractClient(t testing.TB) *http.Client {
	return &http.Client{Transport: contractTransport{t: t, next: http.DefaultTransport}}
}

// recordingTB records the failures of contractTransport.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestContractTransport shows that the check fails on an answer the document
// does not allow, and lets pages and documented answers through.
func TestContractTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("answer") {
		case "bad":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"fine","extra":1}`))
		case "page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><title>page</title>`))
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path string
		fails      bool
	}{
		{"documented answer", "/healthz", false},
		{"undocumented body", "/healthz?answer=bad", true},
		{"page", "/register?answer=page", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			res, err := contractClient(rec).Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := len(rec.errs) > 0; got != tc.fails {
				t.Errorf("failed = %v (%q), want %v", got, rec.errs, tc.fails)
			}
		})
	}
}

// payloadOf decodes an answer of the API into its payload type, refusing
// members the type does not have.
func payloadOf[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("answer is not a %T: %v: %s", v, err, r.body)
	}
	return v
}
