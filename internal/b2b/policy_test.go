package b2b

import (
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
)

func TestEndUserPasswordPolicies(t *testing.T) {
	core := auth.DefaultPolicy()
	check := func(policy, pw string, wantOK bool, wantMsg string) {
		t.Helper()
		errs := CheckEndUserPassword(policy, core, pw, "ada@example.com")
		if ok := len(errs) == 0; ok != wantOK {
			t.Errorf("%s %q: ok = %v (%v), want %v", policy, pw, ok, errs, wantOK)
			return
		}
		if wantMsg != "" && !strings.Contains(errs[0].Message, wantMsg) {
			t.Errorf("%s %q: %q, want it to mention %q", policy, pw, errs[0].Message, wantMsg)
		}
		for _, e := range errs {
			if e.Field != "pincode" {
				t.Errorf("field %q", e.Field)
			}
		}
	}
	// pincode: exactly 6 ASCII digits, not one of the most common.
	for _, pw := range []string{"493817", "102938", "564738", "120000"} {
		check(domain.PolicyPincode, pw, true, "")
	}
	for _, pw := range []string{"000000", "111111", "999999", "123456", "654321", "890123", "121212", "123123", "112233", "123321", "159753", "696969"} {
		check(domain.PolicyPincode, pw, false, "too common")
	}
	for _, pw := range []string{"", "12345", "1234567", "12345a", "12 456", "１２３４５６", "١٢٣٤٥٦", "-12345", "12345\n"} {
		check(domain.PolicyPincode, pw, false, "6 digits")
	}
	// password: 6-16 characters.
	check(domain.PolicyPassword, "abcde", false, "6 to 16")
	check(domain.PolicyPassword, "abcdef", true, "")
	check(domain.PolicyPassword, strings.Repeat("a", 16), true, "")
	check(domain.PolicyPassword, strings.Repeat("a", 17), false, "6 to 16")
	check(domain.PolicyPassword, "AZqp09", true, "")
	// The most common passwords (the core policy's list) are refused.
	for _, pw := range []string{"password", "qwerty", "Password1", "abc123", "iloveyou"} {
		check(domain.PolicyPassword, pw, false, "too common")
	}
	// Each allowed special character on its own.
	for _, c := range EndUserPasswordSpecials {
		check(domain.PolicyPassword, "abc12"+string(c), true, "")
	}
	if len(EndUserPasswordSpecials) != 19 {
		t.Errorf("%d specials, the policy lists 19", len(EndUserPasswordSpecials))
	}
	// German and other non-Latin letters, and characters not in the list.
	for _, c := range []string{"ä", "ö", "ü", "Ä", "Ö", "Ü", "ß", "ẞ", "é", "ñ", "ж", "λ", "中", " ", "@", "$", "%", "&", "/", "\\", "'", "<", ">", "|", ":", "^", "`", "\t", "😀"} {
		check(domain.PolicyPassword, "abc12"+c, false, "not allowed")
	}
	check(domain.PolicyPassword, "Grüße12", false, "ü")
	check(domain.PolicyPassword, "abc\xff12", false, "UTF-8")
	// Six German letters are six characters, not twelve bytes: the length rule holds.
	if errs := CheckEndUserPassword(domain.PolicyPassword, core, "ääääää", ""); len(errs) != 1 || strings.Contains(errs[0].Message, "6 to 16") {
		t.Errorf("ääääää: %v", errs)
	}
	// default: the core policy.
	check(domain.PolicyDefault, "493817", false, "at least 8")
	check(domain.PolicyDefault, "password", false, "common")
	check(domain.PolicyDefault, "ada@example.com", false, "email")
	check(domain.PolicyDefault, "correct horse battery staple", true, "")
}

func TestFindExternalID(t *testing.T) {
	for _, tc := range []struct {
		doc  any
		want string
		ok   bool
	}{
		{map[string]any{"external_authentication_provider_id": "a"}, "a", true},
		{map[string]any{"x": []any{1, map[string]any{"y": map[string]any{"external_authentication_provider_id": "b"}}}}, "b", true},
		{map[string]any{"external_authentication_provider_id": float64(42)}, "42", true},
		{map[string]any{"sub": "c"}, "", false},
		{map[string]any{"external_authentication_provider_id": true}, "", false},
	} {
		got, ok := findExternalID(tc.doc, 0)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: %q %v, want %q %v", tc.doc, got, ok, tc.want, tc.ok)
		}
	}
}
