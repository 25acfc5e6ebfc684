// Package console serves the back-office console under /admin: sign-in of
// back-office users (password, then TOTP when they have it), and pages over
// the same flows and validation as the admin API, starting with Access and
// Security / User Onboarding. Its pages are server-rendered like the pages
// for people (internal/web), share their catalogues (locales/console.*.toml)
// and stylesheet, need no JavaScript and load nothing from elsewhere.
//
// The console has its own session cookie; a customer's session never opens
// it and a console session never opens the account pages. Every POST is
// checked by [http.CrossOriginProtection] and a form token bound to the
// session.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/b2b/importrun"
	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
	"github.com/onboard-dev/onboard/internal/web"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

//go:embed templates/*.html static/*
var files embed.FS

// maxBody is the largest form body the console accepts.
const maxBody = 64 << 10

// contentSecurityPolicy: the console's own stylesheets and images (the QR
// code is served by onboard), forms to itself, no script at all.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Paths are the URL paths the console answers, as http.ServeMux patterns.
func Paths() []string { return []string{"/admin", "/admin/"} }

// Config are the settings of the console.
type Config struct {
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// HSTS sends Strict-Transport-Security.
	HSTS bool
	// SecureCookies marks the cookie Secure with the __Host- prefix (https).
	SecureCookies bool
	// FormKey is the key of the form tokens; empty draws a random one.
	FormKey []byte
	// Webhooks, when set, serves the webhooks page of each organization.
	Webhooks *webhooks.Service
	// DeviceSetup is the system-wide device setup of the System page; nil
	// leaves it out.
	DeviceSetup DeviceSetupSettings
	// B2B and Imports serve the B2B pages; without them there are none.
	B2B     *b2b.Service
	Imports *importrun.Runner
}

// Console is the http.Handler of /admin.
type Console struct {
	bo      *backoffice.Service
	flows   *flows.Service
	tr      *web.Translator
	log     *slog.Logger
	cfg     Config
	key     []byte
	pages   map[string]*template.Template
	handler http.Handler
}

// New returns the console.
func New(bo *backoffice.Service, f *flows.Service, logger *slog.Logger, cfg Config) (*Console, error) {
	tr, err := web.NewTranslator()
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	c := &Console{bo: bo, flows: f, tr: tr, log: logger, cfg: cfg, key: cfg.FormKey}
	if len(c.key) == 0 {
		c.key = make([]byte, 32)
		rand.Read(c.key) // never fails (crypto/rand)
	}
	c.key = append([]byte("console\x00"), c.key...)
	if c.pages, err = parseTemplates(); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	mux := http.NewServeMux()
	c.routes(mux)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(c.withReq(c.forbidden))
	c.handler = cop.Handler(mux)
	return c, nil
}

func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" || n == "templates/partials.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(requestFuncs(&req{})).ParseFS(files, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return out, nil
}

// ServeHTTP implements http.Handler with strict headers, a body limit,
// recovery and one log line per request (the route, never the query).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := httpx.NewStatusRecorder(w)
	h := rec.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if c.cfg.HSTS {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	r.Body = http.MaxBytesReader(rec, r.Body, bodyLimit(r))
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			c.log.ErrorContext(r.Context(), "panic", "route", r.Pattern, "panic", v)
			if !rec.Wrote {
				c.message(rec, r, http.StatusInternalServerError, "page.error.title", "page.error.lead")
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		c.log.LogAttrs(r.Context(), slog.LevelInfo, "console",
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", rec.Status),
			slog.Duration("duration", time.Since(start)), slog.String("client", c.clientIP(r)))
	}()
	c.handler.ServeHTTP(rec, r)
}

func (c *Console) clientIP(r *http.Request) string {
	return httpx.ClientIP{Trusted: c.cfg.TrustedProxies}.Of(r)
}

// req is what the console knows about a request.
type req struct {
	Lang string
	// P is the signed-in back-office user, or nil.
	P *backoffice.Principal
	// Org is the organization of an /admin/o/{org}/ page.
	Org domain.Organization
	// Orgs are the organizations of the switcher (supervisors).
	Orgs []domain.Organization
	// Current is the path of the page, for the menu.
	Current string
	// Pending is the number of data recipients awaiting approval.
	Pending int
	// Webhooks tells the menu that the webhooks page is served.
	Webhooks bool
	tr       *web.Translator
	csrf     string
}

type reqKey struct{}

func reqOf(r *http.Request) *req {
	if rq, ok := r.Context().Value(reqKey{}).(*req); ok {
		return rq
	}
	return &req{Lang: flows.Languages[0]}
}

// T translates a message id into the request's language.
func (rq *req) T(id string, args ...any) string {
	if rq.tr == nil {
		return id
	}
	return rq.tr.T(rq.Lang, id, args...)
}

// OrgPath is path on the request's organization: "/admin/o/acme" + path.
func (rq *req) OrgPath(path string) string { return "/admin/o/" + url.PathEscape(rq.Org.Name) + path }

// Ready reports whether a back-office user is signed in and may use the
// console (no second factor or enrolment pending).
func (rq *req) Ready() bool { return rq.P != nil && rq.P.Ready() }

// Supervisor reports whether the signed-in user is a supervisor.
func (rq *req) Supervisor() bool { return rq.P != nil && rq.P.Supervisor() }

func requestFuncs(rq *req) template.FuncMap {
	return template.FuncMap{
		"t":       rq.T,
		"lang":    func() string { return rq.Lang },
		"csrf":    func() string { return rq.csrf },
		"orgpath": rq.OrgPath,
		"langname": func(l string) string {
			return web.LanguageName(l)
		},
		"languages": func() []string { return flows.Languages },
	}
}

func (c *Console) cookieName(base string) string {
	if c.cfg.SecureCookies {
		return "__Host-onboard_" + base
	}
	return "onboard_" + base
}

// sessionCookie is the console's own cookie, apart from the account pages'.
func (c *Console) sessionCookie() string { return c.cookieName("console") }

func (c *Console) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: c.sessionCookie(), Value: token, Path: "/", Secure: c.cfg.SecureCookies,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.sessionCookie(), Value: "", Path: "/", MaxAge: -1, Secure: c.cfg.SecureCookies,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// formToken is the anti-forgery token of the console's forms: an HMAC of
// the session id ("" before sign-in).
func (c *Console) formToken(sessionID string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// posted parses a POSTed form and checks its token; it answers the request
// itself and returns false when the POST must go no further.
func (c *Console) posted(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			c.message(w, r, http.StatusRequestEntityTooLarge, "page.too_large.title", "page.too_large.lead")
			return false
		}
		c.message(w, r, http.StatusBadRequest, "page.bad_form.title", "page.bad_form.lead")
		return false
	}
	got := r.PostForm.Get("csrf")
	if got == "" || !hmac.Equal([]byte(got), []byte(reqOf(r).csrf)) {
		c.forbidden(w, r)
		return false
	}
	return true
}

// withReq finds the language and the signed-in back-office user.
func (c *Console) withReq(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq := &req{tr: c.tr, Current: r.URL.Path, Webhooks: c.cfg.Webhooks != nil}
		r = r.WithContext(context.WithValue(r.Context(), reqKey{}, rq))
		if ck, err := r.Cookie(c.sessionCookie()); err == nil && ck.Value != "" {
			p, err := c.bo.Authenticate(r.Context(), ck.Value)
			switch de := domain.AsError(err); {
			case err == nil:
				rq.P = &p
			case de != nil && de.Code == domain.EUnauthorized:
				c.clearSession(w)
			default:
				c.fail(w, r, err)
				return
			}
		}
		rq.Lang = c.language(r, rq)
		if rq.P != nil {
			rq.csrf = c.formToken(rq.P.Session.ID)
		} else {
			rq.csrf = c.formToken("")
		}
		h(w, r)
	}
}

func (c *Console) language(r *http.Request, rq *req) string {
	if rq.P != nil && c.tr.Supported(rq.P.User.Language) {
		return rq.P.User.Language
	}
	if ck, err := r.Cookie(c.cookieName("lang")); err == nil && c.tr.Supported(ck.Value) {
		return ck.Value
	}
	return c.tr.Match(r.Header.Get("Accept-Language"))
}

// ready wraps a page for signed-in back-office users: others go to the
// sign-in page; a pending second factor or enrolment comes first.
func (c *Console) ready(h http.HandlerFunc) http.HandlerFunc {
	return c.withReq(func(w http.ResponseWriter, r *http.Request) {
		rq := reqOf(r)
		switch {
		case rq.P == nil:
			if r.Method != http.MethodGet {
				c.message(w, r, http.StatusUnauthorized, "console.session_expired.title", "console.session_expired.lead")
				return
			}
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case rq.P.NeedsSecondFactor:
			http.Redirect(w, r, "/admin/login/code", http.StatusSeeOther)
			return
		case rq.P.MustEnrol && !strings.HasPrefix(r.URL.Path, "/admin/security"):
			http.Redirect(w, r, "/admin/security", http.StatusSeeOther)
			return
		}
		if rq.Supervisor() {
			orgs, err := c.flows.Organizations(r.Context(), rq.P.Admin())
			if err != nil {
				c.fail(w, r, err)
				return
			}
			rq.Orgs = orgs
		}
		h(w, r)
	})
}

// inOrg wraps a page of one organization (/admin/o/{org}/…): another
// organization than an org_admin's own is "not found".
func (c *Console) inOrg(h http.HandlerFunc) http.HandlerFunc {
	return c.ready(func(w http.ResponseWriter, r *http.Request) {
		rq := reqOf(r)
		org, err := c.bo.Organization(r.Context(), *rq.P, r.PathValue("org"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		rq.Org = org
		if pending, err := c.flows.PendingApprovals(r.Context(), org); err == nil {
			rq.Pending = len(pending)
		} else {
			c.log.WarnContext(r.Context(), "pending approvals", "err", err)
		}
		h(w, r)
	})
}

// view is what a console template renders.
type view struct {
	Title   string
	Lead    string
	Success bool
	Errors  []string
	Data    any
	Req     *req
}

// doneLeads are the success leads of the pages a save redirects to with
// ?done=<what>: by page (its template's name, "usertype" for the edit form
// of a user type), what was done and the catalogue text that says so.
var doneLeads = map[string]map[string]string{
	"approvals":         {"approved": "console.approvals.approved", "rejected": "console.approvals.rejected"},
	"b2b-clients":       {"revoked": "b2b.client.revoked"},
	"b2b-labelpartners": {"saved": "console.saved"},
	"onboarding":        {"saved": "console.saved"},
	"partners":          {"created": "console.partner.created", "code": "console.partner.code_changed"},
	"properties":        {"created": "console.prop.created", "deleted": "console.prop.deleted"},
	"property":          {"saved": "console.saved"},
	"system": {"settings": "console.saved", "org": "console.system.org_created", "user": "console.system.user_created",
		"renamed": "console.sysorg.renamed", "disabled": "console.sysorg.disabled_done", "enabled": "console.sysorg.enabled_done"},
	"usertype":  {"saved": "console.saved"},
	"usertypes": {"created": "console.ut.created"},
	"webhook":   {"saved": "console.saved", "replayed": "console.webhooks.replayed"},
	"webhooks":  {"deleted": "console.webhooks.deleted"},
}

// doneLead makes v's lead the success text of page for the request's
// ?done= (args are the text's template arguments) and tells whether it
// did: not for a missing or unknown value.
func (v *view) doneLead(r *http.Request, page string, args ...any) bool {
	id, ok := doneLeads[page][r.URL.Query().Get("done")]
	if !ok {
		return false
	}
	v.Lead, v.Success = reqOf(r).T(id, args...), true
	return true
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	rq := reqOf(r)
	t, ok := c.pages[page]
	if !ok {
		c.log.ErrorContext(r.Context(), "no such console template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.Req = rq
	t, err := t.Clone()
	var buf strings.Builder
	if err == nil {
		err = t.Funcs(requestFuncs(rq)).Execute(&buf, v)
	}
	if err != nil {
		c.log.ErrorContext(r.Context(), "render console page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", rq.Lang)
	w.WriteHeader(status)
	w.Write([]byte(buf.String())) //nolint:errcheck // the client went away
}

// message renders a page with a title and a sentence (message ids).
func (c *Console) message(w http.ResponseWriter, r *http.Request, status int, title, lead string) {
	rq := reqOf(r)
	c.render(w, r, status, "message", view{Title: rq.T(title), Lead: rq.T(lead), Success: status < 300})
}

func (c *Console) forbidden(w http.ResponseWriter, r *http.Request) {
	c.message(w, r, http.StatusForbidden, "page.forbidden.title", "page.forbidden.lead")
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.message(w, r, http.StatusNotFound, "page.not_found.title", "page.not_found.lead")
}

// refuse answers a form whose save was refused by err. A refusal of the
// input (a domain error other than internal, not found or rate limited)
// builds the page again: page returns the form's fields and show, which
// renders the page with the messages that belong to no field and the
// problem's status; the field errors are put next to their fields first.
// Any other error, or one building the page, is the error page (its status
// kept: a 404 stays a 404, never a 500 for a client's input). page is
// called only for a refusal of the input, so a page that needs a query
// costs nothing on the other errors.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, err error, page func() ([]*field, func(status int, errs []string), error)) {
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal || de.Code == domain.ENotFound || de.Code == domain.ERateLimited {
		c.fail(w, r, err)
		return
	}
	fields, show, perr := page()
	if perr != nil {
		c.fail(w, r, perr)
		return
	}
	show(httpx.Status(de.Code), c.applyErrors(reqOf(r), fields, de))
}

// refill puts the posted values back into fields built empty, so that a
// refused form shows what was typed (never a password).
func refill(r *http.Request, fields []*field) []*field {
	for _, f := range fields {
		switch f.Kind {
		case "checkbox":
			f.Checked = r.PostForm.Get(f.Name) == "true"
		case "checkboxes":
			for i := range f.Options {
				f.Options[i].Selected = slices.Contains(r.PostForm[f.Name], f.Options[i].Value)
			}
		case "password":
		default:
			f.Value = r.PostForm.Get(f.Name)
		}
	}
	return fields
}

// fail answers an error: errors of the flows with their status and text,
// others with the 500 page (their cause logged).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	rq := reqOf(r)
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal {
		if !errors.Is(err, context.Canceled) {
			c.log.ErrorContext(r.Context(), "console page failed", "method", r.Method, "route", r.Pattern, "err", err)
		}
		c.message(w, r, http.StatusInternalServerError, "page.error.title", "page.error.lead")
		return
	}
	if de.Code == domain.ENotFound {
		c.notFound(w, r)
		return
	}
	c.retryAfter(w, de)
	c.render(w, r, httpx.Status(de.Code), "message", view{Title: rq.T("page.failed.title"), Lead: c.detail(rq, de)})
}

func (c *Console) retryAfter(w http.ResponseWriter, de *domain.Error) {
	if de.Code == domain.ERateLimited && de.RetryAfter > 0 {
		secs := int((de.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
}

// detail is an error's text in the request's language when the catalogue
// has one ("error.<slug>"), else the flows' English detail.
func (c *Console) detail(rq *req, de *domain.Error) string {
	if de.Slug != "" && c.tr.Has(rq.Lang, "error."+de.Slug) {
		return rq.T("error." + de.Slug)
	}
	return de.Detail
}

// fieldMessage is a field error's message in the request's language.
func (c *Console) fieldMessage(rq *req, msg string) string {
	if c.tr.Has(rq.Lang, "field."+msg) {
		return rq.T("field." + msg)
	}
	var n int
	if _, err := fmt.Sscanf(msg, "must be at least %d characters", &n); err == nil {
		return rq.T("field.min_chars", "N", n)
	}
	return msg
}

// safeNext is next when it is a path of the console, else def.
func safeNext(next, def string) string {
	if next == "" || !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return def
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return def
	}
	return next
}
