package flows

import (
	"strings"
	"testing"
)

func TestNewPartnerCode(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c, err := NewPartnerCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != partnerCodeLen+3 || seen[c] {
			t.Fatalf("code %q: bad length or repeated", c)
		}
		seen[c] = true
		for _, r := range strings.ReplaceAll(c, "-", "") {
			if !strings.ContainsRune(partnerCodeAlphabet, r) {
				t.Fatalf("code %q has %q outside the alphabet", c, r)
			}
		}
		if NormalizePartnerCode(strings.ToLower(strings.ReplaceAll(c, "-", " "))) != c {
			t.Fatalf("normalizing a typed %q does not give it back", c)
		}
	}
	for _, ambiguous := range "01ILOSB8" {
		if strings.ContainsRune(partnerCodeAlphabet, ambiguous) {
			t.Fatalf("alphabet holds ambiguous %q", ambiguous)
		}
	}
}

func TestNormalizePartnerCode(t *testing.T) {
	cases := map[string]string{
		"abcd-efgh":   "ABCD-EFGH",
		" ab cd ef ":  "ABCD-EF",
		"":            "",
		"ÄÖÜX-YZ":     "ÄÖÜX-YZ",
		"a-b-c-d-e-f": "ABCD-EF",
	}
	for in, want := range cases {
		if got := NormalizePartnerCode(in); got != want {
			t.Errorf("NormalizePartnerCode(%q) = %q, want %q", in, got, want)
		}
	}
}
