package httpapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
)

func TestDecodeOnboarding(t *testing.T) {
	const badDuration = "must be a duration like 24h"
	for _, tc := range []struct {
		name, body string
		code       domain.Code // "" for success
		slug       string      // checked when not empty
		fields     []string    // the field errors, in order
	}{
		{name: "valid durations", body: `{"signup_link_ttl":"48h","partner_provider":{"url":"https://x.example","timeout":"5s"}}`},
		{name: "null duration", body: `{"signup_link_ttl":null}`},
		{name: "bad link lifetime", body: `{"signup_link_ttl":"two days"}`, code: domain.EInvalid, fields: []string{"signup_link_ttl"}},
		{name: "number as duration", body: `{"signup_link_ttl":86400}`, code: domain.EInvalid, fields: []string{"signup_link_ttl"}},
		{name: "bad nested timeout", body: `{"partner_provider":{"url":"https://x.example","timeout":"soon"}}`, code: domain.EInvalid,
			fields: []string{"partner_provider.timeout"}},
		{name: "both bad", body: `{"signup_link_ttl":"1 day","partner_provider":{"timeout":true}}`, code: domain.EInvalid,
			fields: []string{"signup_link_ttl", "partner_provider.timeout"}},
		{name: "member names match exactly", body: `{"Signup_Link_TTL":"tomorrow"}`, code: domain.EBadRequest, slug: "unknown-field", fields: []string{"Signup_Link_TTL"}},
		{name: "duplicate member", body: `{"default_location":true,"default_location":false}`, code: domain.EBadRequest, slug: "malformed-json", fields: []string{"default_location"}},
		{name: "bad duration and a type error", body: `{"signup_link_ttl":"x","default_location":"yes"}`, code: domain.EInvalid,
			fields: []string{"signup_link_ttl", "default_location"}},
		{name: "bad duration and an unknown field", body: `{"signup_link_ttl":"x","bogus":1}`, code: domain.EBadRequest, slug: "unknown-field", fields: []string{"bogus"}},
		{name: "unknown field", body: `{"bogus":1}`, code: domain.EBadRequest, slug: "unknown-field", fields: []string{"bogus"}},
		{name: "type error", body: `{"default_location":"yes"}`, code: domain.EInvalid, fields: []string{"default_location"}},
		{name: "not an object", body: `["signup_link_ttl"]`, code: domain.EBadRequest, slug: "malformed-json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeOnboarding([]byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			de := domain.AsError(err)
			if de == nil || de.Code != tc.code || (tc.slug != "" && de.Slug != tc.slug) {
				t.Fatalf("error %#v, want code %s slug %q", err, tc.code, tc.slug)
			}
			var got []string
			for _, f := range de.Fields {
				got = append(got, f.Field)
				if strings.Contains(f.Field, "ttl") || strings.Contains(f.Field, "timeout") {
					if f.Message != badDuration {
						t.Errorf("%s: message %q, want %q", f.Field, f.Message, badDuration)
					}
				}
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields %q, want %q", got, tc.fields)
			}
		})
	}
}

// TestOnboardingDurationPaths checks that every duration of the
// configuration is found, so that none falls back to "malformed JSON".
func TestOnboardingDurationPaths(t *testing.T) {
	var got []string
	for _, p := range onboardingDurations {
		got = append(got, strings.Join(p, "."))
	}
	if want := []string{"signup_link_ttl", "partner_provider.timeout"}; !slices.Equal(got, want) {
		t.Fatalf("duration paths %q, want %q", got, want)
	}
}
