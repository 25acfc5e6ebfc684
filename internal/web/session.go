package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// req is what the pages know about a request: the organization whose page
// it is, the language to answer in, and who is signed in (to this
// organization). Every handler registered with handle gets one (reqOf).
type req struct {
	Org  domain.Organization
	Lang string
	// Principal is the signed-in person, or nil.
	Principal *flows.Principal
	cat       *catalog
	things    bool // the things pages are served
}

type reqKey struct{}

// reqOf returns the request's req; handle put it there.
func reqOf(r *http.Request) *req {
	if rq, ok := r.Context().Value(reqKey{}).(*req); ok {
		return rq
	}
	return &req{Org: domain.Organization{Name: flows.DefaultOrganization}, Lang: flows.Languages[0]}
}

// T translates a message id into the request's language (see catalog.T).
func (rq *req) T(id string, args ...any) string {
	if rq.cat == nil {
		return id
	}
	return rq.cat.T(rq.Lang, id, args...)
}

// Path is path on the request's organization: "/login" stays "/login" for
// the default organization and becomes "/o/acme/login" for acme.
func (rq *req) Path(path string) string { return flows.PagePath(rq.Org.Name, path) }

// OrgName is the organization's name people see.
func (rq *req) OrgName() string { return orgName(rq.Org) }

// LogoSrc is the address of the organization's logo, or "" when it has none.
func (rq *req) LogoSrc() string {
	b := rq.Org.Onboarding.Branding
	switch {
	case b.LogoUploaded:
		return rq.Path("/branding/logo")
	case b.LogoURL != "":
		return b.LogoURL
	}
	return ""
}

// SignedIn reports whether someone is signed in.
func (rq *req) SignedIn() bool { return rq.Principal != nil }

// handle registers a page at pattern ("GET /login") and at the same path
// under every organization's prefix ("GET /o/{org}/login"). The handler
// finds the organization, language and signed-in person with reqOf.
func (p *Pages) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("web: pattern without method: " + pattern)
	}
	wrapped := p.withReq(h)
	if path == "/" {
		mux.Handle(method+" /{$}", wrapped)
		mux.Handle(method+" /o/{org}/{$}", wrapped)
		return
	}
	mux.Handle(method+" "+path, wrapped)
	mux.Handle(method+" /o/{org}"+path, wrapped)
}

// withReq resolves the organization of the path (an unknown one is the
// "page not found" page), the signed-in person from the session cookie and
// the language, and passes them on in the request's context.
func (p *Pages) withReq(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := &req{Lang: p.language(r, ""), cat: p.cat, Org: domain.Organization{Name: flows.DefaultOrganization}, things: p.things != nil}
		ctx := context.WithValue(r.Context(), reqKey{}, rq)
		r = r.WithContext(ctx)
		org, err := p.flows.Organization(ctx, r.PathValue("org"))
		if err != nil {
			if de := domain.AsError(err); de != nil && de.Code == domain.ENotFound {
				p.notFound(w, r)
				return
			}
			p.fail(w, r, err)
			return
		}
		rq.Org = org
		if c, err := r.Cookie(p.sessionCookieName()); err == nil && c.Value != "" {
			pr, err := p.flows.AuthenticateBrowser(ctx, c.Value)
			switch de := domain.AsError(err); {
			case err == nil && pr.Session.OrgID == org.ID:
				rq.Principal = &pr
			case err == nil:
				// Signed in to another organization: not here.
			case de != nil && de.Code == domain.EUnauthorized:
				p.clearSessionCookie(w)
			default:
				p.fail(w, r, err)
				return
			}
		}
		if rq.Principal != nil {
			rq.Lang = p.language(r, rq.Principal.User.Language)
		}
		h(w, r)
	})
}

// signedInHandler is a page for signed-in people; rq.Principal is set.
type signedInHandler func(w http.ResponseWriter, r *http.Request, rq *req)

// requireSignedIn wraps a page of the signed-in area. Without a session
// (of this organization) the browser goes to the sign-in page, which comes
// back here afterwards (?next=). While required actions are pending (new
// agreement versions, customer details to confirm) it goes to them instead:
// nothing else is reachable until they are done, as in the API.
func (p *Pages) requireSignedIn(h signedInHandler) http.HandlerFunc {
	return p.signedIn(h, false)
}

// requireSignedInPending is requireSignedIn for the pages of the required
// actions themselves (and sign-out), which stay reachable while actions
// are pending.
func (p *Pages) requireSignedInPending(h signedInHandler) http.HandlerFunc {
	return p.signedIn(h, true)
}

func (p *Pages) signedIn(h signedInHandler, allowPending bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq := reqOf(r)
		if rq.Principal == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				p.message(w, r, http.StatusUnauthorized, rq.T("session.expired.title"), rq.T("session.expired.lead"),
					[]link{{Href: rq.Path("/login"), Text: rq.T("login.title")}})
				return
			}
			http.Redirect(w, r, rq.Path("/login")+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !allowPending && len(rq.Principal.RequiredActions) > 0 {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				p.message(w, r, http.StatusForbidden, rq.T("actions.pending.title"), rq.T("actions.pending.lead"),
					[]link{{Href: rq.Path("/required-actions"), Text: rq.T("actions.pending.continue")}})
				return
			}
			http.Redirect(w, r, rq.Path("/required-actions")+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, rq)
	}
}

// sessionCookieName is the session cookie: "__Host-onboard_session" when
// the public URL is https (the prefix makes browsers insist on Secure,
// Path=/ and no Domain), "onboard_session" on plain http (development),
// where a __Host- cookie would be refused.
func (p *Pages) sessionCookieName() string { return p.cookieName("session") }

func (p *Pages) cookieName(base string) string {
	if p.cfg.SecureCookies {
		return "__Host-onboard_" + base
	}
	return "onboard_" + base
}

// setSessionCookie hands the browser the token of a new session. The cookie
// lives as long as the browser does; the server ends the session earlier
// (idle and absolute expiry).
func (p *Pages) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: p.sessionCookieName(), Value: token, Path: "/", Secure: p.cfg.SecureCookies,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (p *Pages) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: p.sessionCookieName(), Value: "", Path: "/", MaxAge: -1, Secure: p.cfg.SecureCookies,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// startSession signs the browser in with the token of a new session (from
// flows.Login with Browser set, or flows.SignInAfterLink). A session the
// browser had before is ended, so every sign-in gets a new id.
func (p *Pages) startSession(w http.ResponseWriter, r *http.Request, token string) {
	if c, err := r.Cookie(p.sessionCookieName()); err == nil && c.Value != "" && c.Value != token {
		if old, err := p.flows.AuthenticateBrowser(r.Context(), c.Value); err == nil {
			if err := p.flows.Logout(r.Context(), old); err != nil {
				p.log.WarnContext(r.Context(), "end previous page session", "err", err)
			}
		}
	}
	p.setSessionCookie(w, token)
}

// afterSignIn is where a fresh session goes: the required actions when some
// are pending, else next (when safe), else the account.
func (p *Pages) afterSignIn(rq *req, pr flows.Principal, next string) string {
	dest := safeNext(next, rq.Path("/account"))
	if len(pr.RequiredActions) > 0 {
		return rq.Path("/required-actions") + "?next=" + url.QueryEscape(dest)
	}
	return dest
}

// postLogout ends the session (POST /logout) and goes to the sign-in page.
func (p *Pages) postLogout(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	if err := p.flows.Logout(r.Context(), *rq.Principal); err != nil {
		p.fail(w, r, err)
		return
	}
	p.clearSessionCookie(w)
	http.Redirect(w, r, rq.Path("/login")+"?signed_out=1", http.StatusSeeOther)
}

// sessionForm starts a form of the signed-in area: its anti-forgery token
// is bound to the action path and the session.
func (p *Pages) sessionForm(rq *req, action, submit string) *formView {
	return &formView{Action: action, CSRF: p.formToken(action, "session:"+rq.Principal.Session.ID), Submit: submit}
}

// postedSessionForm parses a POST of the signed-in area and checks its
// anti-forgery token (see sessionForm). It answers the request itself and
// returns false when the POST must go no further.
func (p *Pages) postedSessionForm(w http.ResponseWriter, r *http.Request, rq *req) bool {
	if !p.parseForm(w, r) {
		return false
	}
	return p.checkFormToken(w, r, "session:"+rq.Principal.Session.ID)
}

// fail answers an unexpected error with the 500 page and logs its cause;
// errors of the flows get their status and detail.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	rq := reqOf(r)
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal {
		if !errors.Is(err, context.Canceled) {
			p.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "route", r.Pattern, "err", err)
		}
		p.message(w, r, http.StatusInternalServerError, rq.T("page.error.title"), rq.T("page.error.lead"), nil)
		return
	}
	if de.Code == domain.ENotFound {
		p.notFound(w, r)
		return
	}
	status := httpx.Status(de.Code)
	p.retryAfter(w, de)
	p.message(w, r, status, rq.T("page.failed.title"), p.detail(rq, de), nil)
}

// notFound is the one "page not found" answer: unknown pages, unknown
// organizations and ids that are not the signed-in person's look the same.
func (p *Pages) notFound(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	p.message(w, r, http.StatusNotFound, rq.T("page.not_found.title"), rq.T("page.not_found.lead"), nil)
}
