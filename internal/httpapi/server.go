// Package httpapi is onboard's JSON API over the flows and b2b services: it
// decodes requests, authenticates (one generic bearer wrapper), calls a flow
// and encodes the answer, and serves the OpenAPI document. Errors become
// problem+json here, once, with the status of httpx.Status; the token
// endpoints answer OAuth's JSON errors instead.
package httpapi

import (
	"context"
	"github.com/onboard-dev/onboard/internal/sso"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/devices"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
	"github.com/onboard-dev/onboard/internal/things"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// Pinger tells whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config are the settings of the HTTP layer.
type Config struct {
	// TrustedProxies are the addresses whose X-Forwarded-For is believed when
	// finding the client address for rate limits.
	TrustedProxies []netip.Prefix
	// HSTS sends Strict-Transport-Security (when served over HTTPS).
	HSTS bool
	// Webhooks and Events serve the webhook endpoints and the events feed
	// of the admin API; without them those calls answer 503.
	Webhooks *webhooks.Service
	Events   EventFeedFunc
	// SSO is the sign-in with OpenID Connect; nil: its calls answer 404.
	SSO *sso.Service
	// ObserveImport, when set, is told the outcome of every bulk import
	// (for metrics).
	ObserveImport func(created, unchanged, rejected int)
	// Devices is the self-service device setup; nil answers its calls
	// with 403 (not available).
	Devices *devices.Service
}

// observeImport reports an import's outcome to Config.ObserveImport.
func (s *Server) observeImport(sum b2b.ImportSummary) {
	if s.cfg.ObserveImport != nil {
		s.cfg.ObserveImport(sum.Created, sum.Unchanged, sum.Rejected)
	}
}

// Server is the HTTP handler of the API.
type Server struct {
	flows  *flows.Service
	b2b    *b2b.Service
	things *things.Service // nil: the things endpoints answer 404
	db     Pinger
	log    *slog.Logger
	cfg    Config
	mux    *http.ServeMux
	doc    []byte // the OpenAPI document
}

// New returns the API handler.
func New(f *flows.Service, b *b2b.Service, db Pinger, logger *slog.Logger, cfg Config, opts ...Option) *Server {
	s := &Server{flows: f, b2b: b, db: db, log: logger, cfg: cfg, mux: http.NewServeMux(), doc: OpenAPI()}
	for _, o := range opts {
		o(s)
	}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	return s
}

// ServeHTTP implements http.Handler with logging, recovery and strict headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := httpx.NewStatusRecorder(w)
	h := rec.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if s.cfg.HSTS {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic", "route", r.Pattern, "panic", v)
			if !rec.Wrote {
				writeProblem(rec, Problem{Type: ProblemBase + "internal-error", Title: http.StatusText(500), Status: 500,
					Detail: "Something went wrong on our side. Try again later."})
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", rec.Status),
			slog.Duration("duration", time.Since(start)), slog.String("client", s.clientIP(r)))
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// No route: let the mux decide between 404 and 405 (with Allow), but
		// answer in problem+json like every other error.
		s.mux.ServeHTTP(&problemWriter{ResponseWriter: rec}, r)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// problemWriter turns the mux's plain-text 404 and 405 into problem+json.
type problemWriter struct {
	http.ResponseWriter
	replaced bool
}

func (p *problemWriter) WriteHeader(code int) {
	if code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
		p.replaced = true
		detail := "There is no such endpoint."
		if code == http.StatusMethodNotAllowed {
			detail = "This endpoint does not take that method."
		}
		slug := "not-found"
		if code == http.StatusMethodNotAllowed {
			slug = "method-not-allowed"
		}
		writeProblem(p.ResponseWriter, Problem{Type: ProblemBase + slug, Title: http.StatusText(code), Status: code, Detail: detail})
		return
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if p.replaced {
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

// clientIP is the address rate limits count against (see httpx.ClientIP).
func (s *Server) clientIP(r *http.Request) string {
	return httpx.ClientIP{Trusted: s.cfg.TrustedProxies}.Of(r)
}
