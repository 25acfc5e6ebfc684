// Package web serves onboard's server-rendered pages: the ones the mails link
// to (registration, invitation, password reset, email confirmation, the end
// users' verification), sign-in, sign-up, required actions and the signed-in
// account area, in English and Italian with the organization's branding. The
// pages call the same flows (and b2b) as the JSON API; they need no
// JavaScript and load nothing from other origins.
//
// Every POST is checked twice against cross-site request forgery: by
// [http.CrossOriginProtection] (Sec-Fetch-Site / Origin) and by a per-form
// token, an HMAC over the page path and the link token, in a hidden field.
package web

import (
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/devices"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
	"github.com/onboard-dev/onboard/internal/sso"
	"github.com/onboard-dev/onboard/internal/things"
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

// maxBody is the largest form body a page accepts.
const maxBody = 64 << 10

// contentSecurityPolicy allows the page's own stylesheets and images (the
// organization's logo may come from any https address), and forms that post
// to the page's own origin, and nothing else: no script at all.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pagePaths are the paths of the pages, each also served under every
// organization's prefix ("/o/{org}/login").
var pagePaths = []string{"/", "/login", "/logout", "/signup", "/register", "/invitation", "/reset-password", "/confirm-email",
	"/language", "/required-actions", "/account", "/branding/style.css", "/branding/logo", "/activate"}

// Paths returns the URL paths the pages answer, as http.ServeMux patterns:
// exact paths ("/{$}" is the root), "/account/" (the signed-in area),
// "/auth/" (the sign-in with OpenID Connect) and
// "/o/" (other organizations) and "/static/" as prefixes. A server routes
// these to [Pages] and everything else elsewhere.
func Paths() []string {
	out := []string{"/o/", "/static/", "/account/", "/auth/"}
	out = append(out, setupPaths...)
	for _, p := range pagePaths {
		if p == "/" {
			p = "/{$}"
		}
		out = append(out, p)
	}
	return out
}

// Config are the settings of the pages.
type Config struct {
	// TrustedProxies are the addresses whose X-Forwarded-For is believed when
	// finding the client address for rate limits.
	TrustedProxies []netip.Prefix
	// HSTS sends Strict-Transport-Security (when served over HTTPS).
	HSTS bool
	// SecureCookies marks cookies Secure and gives them the __Host- prefix;
	// set it when the public URL is https.
	SecureCookies bool
	// FormKey is the key of the per-form anti-forgery tokens. When empty (the
	// default), New draws a random key, so forms are valid only on the
	// process that rendered them.
	FormKey []byte
	// SSO is the sign-in with OpenID Connect; nil: none.
	SSO *sso.Service
	// Devices is the self-service device setup (/setup); nil: its pages
	// say it is not available.
	Devices *devices.Service
}

// Pages is the http.Handler of the pages.
type Pages struct {
	flows   *flows.Service
	b2b     *b2b.Service    // the end users' verification page
	things  *things.Service // nil: no things pages
	log     *slog.Logger
	cfg     Config
	key     []byte
	pages   map[string]*template.Template
	cat     *catalog
	handler http.Handler // mux wrapped in cross-origin protection
}

// New returns the pages handler. It panics if the embedded templates do not
// parse, which a test catches.
func New(f *flows.Service, b *b2b.Service, logger *slog.Logger, cfg Config, opts ...Option) *Pages {
	p := &Pages{flows: f, b2b: b, log: logger, cfg: cfg, key: cfg.FormKey}
	for _, o := range opts {
		o(p)
	}
	if len(p.key) == 0 {
		p.key = make([]byte, 32)
		rand.Read(p.key) // never fails (crypto/rand)
	}
	pages, err := parseTemplates()
	if err != nil {
		panic(fmt.Sprintf("web: %v", err))
	}
	p.pages = pages
	p.cat, err = loadCatalog()
	if err != nil {
		panic(fmt.Sprintf("web: %v", err))
	}

	mux := http.NewServeMux()
	p.routes(mux)
	mux.Handle("GET /static/", p.withReq(p.static))
	mux.Handle("/", p.withReq(p.notFound))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(p.withReq(p.forbidden))
	p.handler = cop.Handler(mux)
	return p
}

// parseTemplates parses each page template together with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"join": strings.Join}
	maps.Copy(funcs, requestFuncs(&req{}))
	out := map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return out, nil
}

// ServeHTTP implements http.Handler with strict headers, a body limit,
// recovery and one log line per request. The log names the route pattern,
// never the path or query, which hold link tokens.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	if p.cfg.HSTS {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	r.Body = http.MaxBytesReader(rec, r.Body, maxBody)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			p.log.ErrorContext(r.Context(), "panic", "route", r.Pattern, "panic", v)
			if !rec.Wrote {
				rq := reqOf(r)
				p.message(rec, r, http.StatusInternalServerError, rq.T("page.error.title"), rq.T("page.error.lead"), nil)
			}
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		p.log.LogAttrs(r.Context(), slog.LevelInfo, "page",
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", rec.Status),
			slog.Duration("duration", time.Since(start)), slog.String("client", p.clientIP(r)))
	}()
	p.handler.ServeHTTP(rec, r)
}

// static serves the embedded stylesheet; there is no directory listing.
func (p *Pages) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	body, err := staticFS.ReadFile("static/" + name)
	if name == "" || strings.Contains(name, "/") || err != nil {
		p.notFound(w, r)
		return
	}
	ctype := "application/octet-stream"
	switch {
	case strings.HasSuffix(name, ".css"):
		ctype = "text/css; charset=utf-8"
	case strings.HasSuffix(name, ".js"):
		ctype = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(body) //nolint:errcheck // the client went away
}

// parseForm reads a POSTed form within the body limit. It answers the
// request itself (413 or 400) and returns false when the form is unusable.
func (p *Pages) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		rq := reqOf(r)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			p.message(w, r, http.StatusRequestEntityTooLarge, rq.T("page.too_large.title"), rq.T("page.too_large.lead"), nil)
			return false
		}
		p.message(w, r, http.StatusBadRequest, rq.T("page.bad_form.title"), rq.T("page.bad_form.lead"), nil)
		return false
	}
	return true
}

// clientIP is the address rate limits count against (see httpx.ClientIP).
func (p *Pages) clientIP(r *http.Request) string {
	return httpx.ClientIP{Trusted: p.cfg.TrustedProxies}.Of(r)
}
