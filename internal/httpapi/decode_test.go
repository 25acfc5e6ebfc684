package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// decodeTarget looks like the API's request payloads: plain members, a
// nested object, a list, a free object and a time.
type decodeTarget struct {
	Email    string         `json:"email"`
	Count    int            `json:"count"`
	Order    *decodeOrder   `json:"order"`
	Tags     []string       `json:"tags"`
	Customer map[string]any `json:"customer"`
	At       *time.Time     `json:"at"`
}

type decodeOrder struct {
	Voucher string `json:"voucher_code"`
}

func decodeBody(body string) (decodeTarget, error) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	var v decodeTarget
	err := decode(httptest.NewRecorder(), r, &v)
	return v, err
}

func TestDecodeStrict(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       domain.Code // "" for success
		slug       string
		field      string // the field error expected, if any
	}{
		{name: "valid", body: `{"email":"a@example.com","count":2,"order":{"voucher_code":"V"},"tags":["x"],"customer":{"k":"v"},"at":"2026-01-02T15:04:05Z"}`},
		{name: "whitespace around the value", body: " \n{\"email\":\"a@example.com\"}\n "},
		{name: "null members", body: `{"email":null,"order":null,"customer":null}`},
		{name: "upper-case key", body: `{"EMAIL":"a@example.com"}`, code: domain.EBadRequest, slug: "unknown-field", field: "EMAIL"},
		{name: "mixed-case key", body: `{"Email":"a@example.com"}`, code: domain.EBadRequest, slug: "unknown-field", field: "Email"},
		{name: "mixed-case nested key", body: `{"order":{"Voucher_Code":"V"}}`, code: domain.EBadRequest, slug: "unknown-field", field: "order.Voucher_Code"},
		{name: "unknown key", body: `{"bogus":1}`, code: domain.EBadRequest, slug: "unknown-field", field: "bogus"},
		{name: "duplicate key", body: `{"email":"a@example.com","email":"b@example.com"}`, code: domain.EBadRequest, slug: "malformed-json", field: "email"},
		{name: "duplicate key in a free object", body: `{"customer":{"name":"A","name":"B"}}`, code: domain.EBadRequest, slug: "malformed-json", field: "customer.name"},
		{name: "duplicate key in a nested object", body: `{"order":{"voucher_code":"A","voucher_code":"B"}}`, code: domain.EBadRequest, slug: "malformed-json", field: "order.voucher_code"},
		{name: "invalid UTF-8 in a value", body: "{\"email\":\"\xff\xfe@b.co\"}", code: domain.EBadRequest, slug: "malformed-json"},
		{name: "invalid UTF-8 in a key", body: "{\"em\xffail\":\"a@b.co\"}", code: domain.EBadRequest, slug: "malformed-json"},
		{name: "lone surrogate escape", body: `{"email":"\ud800@b.co"}`, code: domain.EBadRequest, slug: "malformed-json"},
		{name: "two values", body: `{"email":"a@b.co"}{"email":"c@d.co"}`, code: domain.EBadRequest, slug: "malformed-json"},
		{name: "trailing garbage", body: `{"email":"a@b.co"} x`, code: domain.EBadRequest, slug: "malformed-json"},
		{name: "truncated", body: `{"email":"a@b.co"`, code: domain.EBadRequest, slug: "malformed-json"},
		{name: "empty", body: ``, code: domain.EBadRequest, slug: "malformed-json"},
		{name: "not an object", body: `["email"]`, code: domain.EBadRequest, slug: "malformed-json"},
		{name: "wrong type", body: `{"count":"two"}`, code: domain.EInvalid, slug: "validation-error", field: "count"},
		{name: "wrong type in a list", body: `{"tags":[1]}`, code: domain.EInvalid, slug: "validation-error", field: "tags[0]"},
		{name: "bad time", body: `{"at":"yesterday"}`, code: domain.EInvalid, slug: "validation-error", field: "at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeBody(tc.body)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			de := domain.AsError(err)
			if de == nil || de.Code != tc.code || de.Slug != tc.slug {
				t.Fatalf("error %#v, want code %s slug %s", err, tc.code, tc.slug)
			}
			var fields []string
			for _, f := range de.Fields {
				fields = append(fields, f.Field)
			}
			if tc.field != "" && !slices.Equal(fields, []string{tc.field}) {
				t.Fatalf("fields %q, want %q", fields, tc.field)
			}
		})
	}
}

// FuzzDecodeRequest checks that the request decoder never panics, answers
// only problems a client can act on (400, 415, 422, 413; never a 500), and
// that what it accepts is valid UTF-8 JSON that encoding/json reads the same
// way.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@example.com","count":2,"order":{"voucher_code":"V"},"tags":["x"],"customer":{"k":"v"}}`,
		`{"EMAIL":"a@example.com"}`, `{"email":"a","email":"b"}`, "{\"email\":\"\xff\"}", `{"email":"\u200b@b.co"}`,
		`[]`, `null`, `{"count":1e400}`, `{"at":"2026-01-02T15:04:05Z"}`, `{"customer":{"a":{"b":[1,2,{"c":null}]}}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := decodeBody(body)
		if err != nil {
			de := domain.AsError(err)
			if de == nil {
				t.Fatalf("not a problem: %v", err)
			}
			switch httpx.Status(de.Code) {
			case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("status %d for %q: %v", httpx.Status(de.Code), body, err)
			}
			return
		}
		if !utf8.ValidString(body) || !json.Valid([]byte(body)) {
			t.Fatalf("accepted %q, which is not valid UTF-8 JSON", body)
		}
		if !utf8.ValidString(v.Email) {
			t.Fatalf("decoded email %q is not valid UTF-8", v.Email)
		}
		var v1 decodeTarget
		if json.Unmarshal([]byte(body), &v1) == nil && v1.Email != v.Email {
			t.Fatalf("email %q, encoding/json reads %q", v.Email, v1.Email)
		}
	})
}
