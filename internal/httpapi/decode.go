package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// MaxBody is the largest request body the API reads.
const MaxBody = 64 << 10

// decode reads a JSON body into v: the content type must be JSON, the body
// at most MaxBody, with no unknown fields and nothing after the value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &domain.Error{Code: codeUnsupportedMedia, Slug: "unsupported-media-type",
			Detail: "The request body must be JSON (Content-Type: application/json)."}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &domain.Error{Code: codeTooLarge, Slug: "body-too-large",
				Detail: fmt.Sprintf("The request body must be at most %d bytes.", MaxBody)}
		}
		return domain.Errorf(domain.EBadRequest, "malformed-body", "The request body could not be read.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body must hold exactly one JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body must hold exactly one JSON value.")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body is not valid JSON.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body must be a JSON object.")
		}
		return domain.Invalid(domain.FieldError{Field: field, Message: "must be a " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &domain.Error{Code: domain.EBadRequest, Slug: "unknown-field", Detail: "The request has a field this endpoint does not take.",
			Fields: []domain.FieldError{{Field: name, Message: "is not a known field"}}}
	default:
		return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body is not valid JSON.")
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "map", "struct":
		return "object"
	case "bool":
		return "boolean"
	default:
		return "number"
	}
}

// Codes used only by the HTTP layer (their statuses are in httpx's map).
const (
	codeUnsupportedMedia = httpx.CodeUnsupportedMedia
	codeTooLarge         = httpx.CodeTooLarge
)

// encode writes v as JSON with the status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
