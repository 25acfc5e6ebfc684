package console

import (
	"net/url"
	"slices"
	"testing"
)

func TestParseProperty(t *testing.T) {
	for _, tc := range []struct {
		name      string
		form      url.Values
		errFields []string
		maxLength int // -1: nil
		options   []string
	}{
		{"empty numbers take the defaults", url.Values{"name": {" vat "}, "options": {""}}, nil, -1, nil},
		{"numbers and choices", url.Values{"max_length": {" 40 "}, "position": {"2"}, "options": {"a\r\n\r\n b \nc"}}, nil, 40, []string{"a", "b", "c"}},
		{"words are not numbers", url.Values{"max_length": {"many"}, "position": {"1.5"}}, []string{"max_length", "position"}, -1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, errs := parseProperty(tc.form)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, tc.errFields) {
				t.Fatalf("errors on %v, want %v", got, tc.errFields)
			}
			if (tc.maxLength < 0) != (in.MaxLength == nil) || (in.MaxLength != nil && *in.MaxLength != tc.maxLength) {
				t.Fatalf("max length %v, want %d", in.MaxLength, tc.maxLength)
			}
			if !slices.Equal(in.Options, tc.options) {
				t.Fatalf("options %q, want %q", in.Options, tc.options)
			}
		})
	}
	if in, _ := parseProperty(url.Values{"name": {" vat "}}); in.Name != "vat" {
		t.Fatalf("name %q not trimmed", in.Name)
	}
}
