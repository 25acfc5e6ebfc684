package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// routes registers every page. Each is served for the default organization
// at its plain path and for every other one under "/o/{org}" (see handle).
func (p *Pages) routes(mux *http.ServeMux) {
	p.handle(mux, "GET /", p.getRoot)
	p.handle(mux, "POST /language", p.postLanguage)
	p.handle(mux, "GET /register", p.getRegister)
	p.handle(mux, "POST /register", p.postRegister)
	p.handle(mux, "GET /invitation", p.getInvitation)
	p.handle(mux, "POST /invitation", p.postInvitation)
	p.handle(mux, "GET /reset-password", p.getReset)
	p.handle(mux, "POST /reset-password", p.postReset)
	p.handle(mux, "GET /confirm-email", p.getConfirm)
	p.handle(mux, "POST /confirm-email", p.postConfirm)
	p.handle(mux, "GET /login", p.getLogin)
	p.handle(mux, "POST /login", p.postLogin)
	p.handle(mux, "POST /logout", p.requireSignedInPending(p.postLogout))
	p.handle(mux, "GET /signup", p.getSignup)
	p.handle(mux, "POST /signup", p.postSignup)
	p.handle(mux, "GET /required-actions", p.requireSignedInPending(p.getActions))
	p.handle(mux, "POST /required-actions", p.requireSignedInPending(p.postActions))
	p.handle(mux, "GET /branding/style.css", p.getBrandCSS)
	p.handle(mux, "GET /branding/logo", p.getLogo)
	p.accountRoutes(mux)
	p.ssoRoutes(mux)
	p.thingsRoutes(mux)
	p.setupRoutes(mux)
	// The end users' verification link is the API's path, for every
	// organization alike (see ServesVerify).
	mux.Handle("GET "+VerifyPath, p.withReq(p.getVerify))
	mux.Handle("POST "+VerifyPath, p.withReq(p.postVerify))
	mux.Handle("GET /o/{org}", p.withReq(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, reqOf(r).Path("/"), http.StatusMovedPermanently)
	}))
}

// getRoot sends signed-in people to their account and others to sign in.
func (p *Pages) getRoot(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if rq.SignedIn() {
		http.Redirect(w, r, rq.Path("/account"), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, rq.Path("/login"), http.StatusSeeOther)
}

// postLanguage is the language switch: it remembers the choice in a cookie
// (for a year), saves it as the signed-in person's language, and goes back
// to the page (next).
func (p *Pages) postLanguage(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !p.parseForm(w, r) || !p.checkFormToken(w, r, "") {
		return
	}
	lang := r.PostForm.Get("lang")
	if !p.cat.supported(lang) {
		p.message(w, r, http.StatusUnprocessableEntity, rq.T("page.bad_form.title"), rq.T("page.bad_form.lead"), nil)
		return
	}
	if rq.Principal != nil {
		if err := p.flows.SetLanguage(r.Context(), *rq.Principal, lang); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: p.langCookieName(), Value: lang, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		Secure: p.cfg.SecureCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, safeNext(r.PostForm.Get("next"), rq.Path("/")), http.StatusSeeOther)
}

// detail is the text of an error of the flows in the request's language:
// the catalogue's "error.<slug>" when it has one, else the flows' detail.
func (p *Pages) detail(rq *req, de *domain.Error) string {
	if de.Slug != "" && p.cat.Has(rq.Lang, "error."+de.Slug) {
		return rq.T("error." + de.Slug)
	}
	return de.Detail
}

// fieldMessage is a field error's message in the request's language: the
// catalogue's "field.<message>" when it has one, else the message itself.
func (p *Pages) fieldMessage(rq *req, msg string) string {
	if p.cat.Has(rq.Lang, "field."+msg) {
		return rq.T("field." + msg)
	}
	var n int
	if _, err := fmt.Sscanf(msg, "must be at least %d characters", &n); err == nil {
		return rq.T("field.min_chars", "N", n)
	}
	if _, err := fmt.Sscanf(msg, "must be at most %d characters", &n); err == nil {
		return rq.T("field.max_chars", "N", n)
	}
	return msg
}
