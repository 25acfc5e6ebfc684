package flows

import "testing"

func TestDefaultDisplayName(t *testing.T) {
	for _, tc := range []struct {
		name, configured, mailFrom, publicURL, want string
	}{
		{"configured", "Example Corp", "Other <no-reply@example.com>", "https://id.example.com", "Example Corp"},
		{"configured, trimmed", "  Example Corp ", "", "", "Example Corp"},
		{"name of the From address", "", "Example <no-reply@example.com>", "https://id.example.com", "Example"},
		{"default From address", "", "onboard <no-reply@localhost>", "http://127.0.0.1:8080", "onboard"},
		{"From address without a name", "", "no-reply@example.com", "https://id.example.com:8443/base", "id.example.com"},
		{"blank name of the From address", "", `" " <no-reply@example.com>`, "https://id.example.com", "id.example.com"},
		{"nothing usable", " ", "not an address", "::", DefaultOrganization},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultDisplayName(tc.configured, tc.mailFrom, tc.publicURL); got != tc.want {
				t.Errorf("DefaultDisplayName(%q, %q, %q) = %q, want %q", tc.configured, tc.mailFrom, tc.publicURL, got, tc.want)
			}
		})
	}
}
