package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// MaxBody is the largest request body the API reads.
const MaxBody = 64 << 10

// decode reads a JSON body into v: the content type must be JSON, the body
// at most MaxBody, exactly one JSON value, valid UTF-8, with member names
// that match the fields exactly (case included), none twice, and no unknown
// ones.
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
	if err := decodeStrict(body, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// strictJSON are the options of every request body decoding: exact-case
// member names, no unknown members, no duplicate names, valid UTF-8 only.
var strictJSON = jsonv2.JoinOptions(
	jsonv2.RejectUnknownMembers(true),
	jsonv2.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// decodeStrict decodes exactly one JSON value (whitespace around it allowed)
// into v with the strict options.
func decodeStrict(raw []byte, v any) error {
	return jsonv2.Unmarshal(raw, v, strictJSON)
}

// decodeError turns an error of decodeStrict into a problem: 400 for JSON
// the API does not take, 422 on the field for a value of the wrong type.
func decodeError(err error) error {
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(err, jsontext.ErrDuplicateName):
		name := fieldPath(syn.JSONPointer)
		return &domain.Error{Code: domain.EBadRequest, Slug: "malformed-json", Detail: "The request body names a member twice.",
			Fields: []domain.FieldError{{Field: name, Message: "is given more than once"}}}
	case errors.As(err, &syn) && syn.Err != nil && strings.Contains(syn.Err.Error(), "UTF-8"):
		return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body is not valid UTF-8.")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body is not valid JSON.")
	case errors.As(err, &sem) && errors.Is(sem.Err, jsonv2.ErrUnknownName):
		return &domain.Error{Code: domain.EBadRequest, Slug: "unknown-field", Detail: "The request has a field this endpoint does not take.",
			Fields: []domain.FieldError{{Field: fieldPath(sem.JSONPointer), Message: "is not a known field"}}}
	case errors.As(err, &sem) && sem.GoType != nil && sem.JSONKind != 0 && sem.JSONKind != 'n':
		field := fieldPath(sem.JSONPointer)
		if field == "" {
			return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body must be a JSON object.")
		}
		t := sem.GoType
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == reflect.TypeFor[time.Time]() {
			return domain.Invalid(domain.FieldError{Field: field, Message: "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"})
		}
		return domain.Invalid(domain.FieldError{Field: field, Message: "must be " + jsonKind(t.Kind().String())})
	default:
		return domain.Errorf(domain.EBadRequest, "malformed-json", "The request body is not valid JSON.")
	}
}

// fieldPath writes a JSON pointer the way field errors name fields:
// "/customer/name" → "customer.name", "/items/0" → "items[0]".
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if tok != "" && strings.Trim(tok, "0123456789") == "" && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	default:
		return "a number"
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
