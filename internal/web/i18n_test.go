package web

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/flows"
)

// TestCataloguesComplete fails when a message is in one language and not in
// another, over every catalogue file (locales/<area>.<lang>.toml).
func TestCataloguesComplete(t *testing.T) {
	keys, err := catalogueKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range flows.Languages {
		if len(keys[lang]) == 0 {
			t.Fatalf("no messages for %q", lang)
		}
	}
	for lang := range keys {
		if !slices.Contains(flows.Languages, lang) {
			t.Errorf("catalogue language %q is not one of %v", lang, flows.Languages)
		}
	}
	for _, a := range flows.Languages {
		for _, b := range flows.Languages {
			var missing []string
			for k := range keys[a] {
				if _, ok := keys[b][k]; !ok {
					missing = append(missing, k+" (in "+keys[a][k]+")")
				}
			}
			sort.Strings(missing)
			for _, m := range missing {
				t.Errorf("%s lacks %s", b, m)
			}
		}
	}
	if _, err := loadCatalog(); err != nil {
		t.Fatalf("catalogues do not load: %v", err)
	}
}

func TestTranslate(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, id, want string }{
		{"en", "login.title", "Sign in"},
		{"it", "login.title", "Accedi"},
		{"xx", "login.title", "Sign in"},
		{"en", "no.such.key", "no.such.key"},
	} {
		if got := c.T(tc.lang, tc.id); got != tc.want {
			t.Errorf("T(%s, %s) = %q, want %q", tc.lang, tc.id, got, tc.want)
		}
	}
	if got := c.T("it", "signup.sent.lead", "Email", "a@b.example"); !contains(got, "a@b.example") {
		t.Errorf("placeholder not filled: %q", got)
	}
	for _, tc := range []struct{ accept, want string }{
		{"it-IT,it;q=0.9,en;q=0.8", "it"},
		{"en-GB", "en"},
		{"de-DE,it;q=0.5", "it"},
		{"fr", "en"},
		{"", "en"},
		{"garbage;;;", "en"},
	} {
		if got := c.match(tc.accept); got != tc.want {
			t.Errorf("match(%q) = %q, want %q", tc.accept, got, tc.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
