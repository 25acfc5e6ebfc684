package sso

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/onboard-dev/onboard/internal/domain"
)

func TestVerifyReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&oidc.TokenExpiredError{Expiry: time.Now()}, "expired"},
		{fmt.Errorf("oidc: token is expired: %w", &oidc.TokenExpiredError{}), "expired"},
		{errors.New(`oidc: expected audience "a" got ["b"]`), "wrong audience"},
		{errors.New(`oidc: id token issued by a different provider, expected "x" got "y"`), "wrong issuer"},
		{errors.New(`oidc: malformed jwt: go-jose/go-jose: unexpected signature algorithm "none"; expected ["RS256"]`), "unsupported algorithm"},
		{errors.New("failed to verify signature: failed to verify id token signature"), "bad signature"},
		{errors.New("oidc: malformed jwt: square/go-jose: compact JWS format must have three parts"), "malformed token"},
		{errors.New("failed to verify signature: fetching keys oidc: get keys failed: Get \"x\": dial tcp: connection refused"), ""},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), ""},
		{errors.New("something else"), "invalid token"},
	} {
		if got := verifyReason(tc.err); got != tc.want {
			t.Errorf("verifyReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestLanguageOfLocale(t *testing.T) {
	for in, want := range map[string]string{"it-IT": "it", "it_CH": "it", "EN": "en", "de-DE": "", "": ""} {
		if got := language(in); got != want {
			t.Errorf("language(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDerivedValuesDiffer(t *testing.T) {
	a, b := derive("binding", "state", "pkce"), derive("binding", "state", "nonce")
	if a == b || a != derive("binding", "state", "pkce") || a == derive("other", "state", "pkce") || a == derive("binding", "other", "pkce") {
		t.Fatal("derived values are not bound to binding, state and purpose")
	}
	if len(a) < 43 {
		t.Fatalf("PKCE verifier %q shorter than 43 characters", a)
	}
}

func TestPrefillAndButtons(t *testing.T) {
	got := prefill(domain.ExternalClaims{FirstName: "Ada", Phone: "+39 02 1234567"})
	if len(got) != 2 || got["user.first_name"] != "Ada" || got["user.phone"] != "+39 02 1234567" {
		t.Fatalf("prefill = %v", got)
	}
	org := domain.Organization{Onboarding: domain.Onboarding{SSO: &domain.SSO{Providers: []domain.SSOProvider{{Name: "corp"}, {Name: "b", ButtonLabel: "Bee"}}}}}
	bs := Buttons(org)
	if len(bs) != 2 || bs[0].Label != "corp" || bs[1].Label != "Bee" {
		t.Fatalf("buttons = %v", bs)
	}
	if Buttons(domain.Organization{}) != nil {
		t.Fatal("buttons without sso")
	}
}

// TestServiceClock: the service keeps time with the clock it is given, as
// the store holds times (UTC, microseconds), so tests can move time.
func TestServiceClock(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	s := New(nil, nil, nil, nil, Config{Now: func() time.Time { return at }})
	if got, want := s.now(), time.Date(2031, 5, 6, 6, 8, 9, 123456000, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("now = %v, want %v", got, want)
	}
	if d := time.Since(New(nil, nil, nil, nil, Config{}).now()); d < 0 || d > time.Minute {
		t.Fatalf("default clock is %v off", d)
	}
}
