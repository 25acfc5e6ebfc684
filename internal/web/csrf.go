package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// csrfField is the name of the hidden field that carries the form token.
const csrfField = "csrf"

// formToken is the anti-forgery token of the form at path for the link
// token linkToken (empty on pages without a link): base64url of
// HMAC-SHA256(key, path NUL linkToken).
func (p *Pages) formToken(path, linkToken string) string {
	path, _, _ = strings.Cut(path, "?") // a form's action may carry a query; the POST's path does not
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(path))
	m.Write([]byte{0})
	m.Write([]byte(linkToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkFormToken reports whether the POSTed form carries the token of its
// page and link. When it does not, it answers 403 itself.
func (p *Pages) checkFormToken(w http.ResponseWriter, r *http.Request, linkToken string) bool {
	got := r.PostForm.Get(csrfField)
	want := p.formToken(r.URL.Path, linkToken)
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		p.forbidden(w, r)
		return false
	}
	return true
}

// forbidden answers a POST that failed a forgery check.
func (p *Pages) forbidden(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	p.message(w, r, http.StatusForbidden, rq.T("page.forbidden.title"), rq.T("page.forbidden.lead"), nil)
}
