package web

import "testing"

func TestSafeNext(t *testing.T) {
	const fallback = "/account"
	for _, tc := range []struct {
		next, want string
	}{
		{"/account/profile", "/account/profile"},
		{"/o/acme/account?tab=users", "/o/acme/account?tab=users"},
		{"/", "/"},
		{"", fallback},
		{"account", fallback},
		{"//evil.example", fallback},
		{"///evil.example", fallback},
		{"/\\evil.example", fallback},
		{"\\\\evil.example", fallback},
		{"https://evil.example/", fallback},
		{"javascript:alert(1)", fallback},
		{"http:/evil.example", fallback},
		{"/%2F%2Fevil.example", fallback},
		{"/%2fevil.example", fallback},
		{"/%5Cevil.example", fallback},
		{"/%5cevil.example", fallback},
		{"%2F%2Fevil.example", fallback},
		{"/\tevil", fallback},
		{"/\r\nSet-Cookie: x=1", fallback},
		{"/%0d%0aSet-Cookie:x", fallback},
		{"/%zz", fallback},
		{"/a\\b", fallback},
	} {
		if got := safeNext(tc.next, fallback); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}
