package web

import (
	"net/url"
	"strings"
)

// safeNext returns next when it is a path on this site that a redirect may
// go to after sign-in, and fallback otherwise. It accepts only a relative
// path starting with a single "/" (no scheme, no host, no "//" or "/\"
// that browsers read as another host), without control characters, and
// checks the decoded form too, so that "%2F%2Fevil" or "/%5Cevil" do not
// slip through.
func safeNext(next, fallback string) string {
	if !isLocalPath(next) {
		return fallback
	}
	dec, err := url.PathUnescape(next)
	if err != nil || !isLocalPath(dec) {
		return fallback
	}
	return next
}

func isLocalPath(s string) bool {
	if s == "" || len(s) > 2048 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	return !strings.HasPrefix(u.Path, "//")
}
