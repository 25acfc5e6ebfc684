// Package flows holds onboard's business rules for people and their
// accounts: signup (the registration form, partner codes, the Partner
// Provider plugin), sign-in and sessions (API tokens and browser sessions),
// password resets, required actions, the account area (profile, password,
// email, sessions, export, users, invitations, locations, deletion) and the
// back office (admin keys, organizations and their onboarding settings,
// customers, partners, approvals, properties, user types, agreements, the
// audit log). It also runs the job worker and seeds organizations.
//
// It knows nothing of HTTP: it takes typed input, checks the rules and calls
// the store inside one transaction per change, and fails with *domain.Error
// codes that the HTTP edge maps. Other areas (package b2b) build on a
// Service: Deps, QueueMail, EnqueueJob, HandleJob and a few validators are
// exported for them.
package flows

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// Limiter counts attempts per key. Peek tells whether one more would be
// allowed without counting it.
type Limiter interface {
	Allow(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Decision, error)
	Peek(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Decision, error)
}

// Renderer renders a named mail template.
type Renderer interface {
	RenderIn(lang string, colours brand.Colours, name string, data any) (obmail.Rendered, error)
}

// Limits are the rate limits of the flows.
type Limits struct {
	SignupPerIP    ratelimit.Rule
	SignupPerEmail ratelimit.Rule
	LoginPerIP     ratelimit.Rule
	// LoginFailuresPerEmail counts failed sign-ins of one address; when it is
	// spent, sign-in for that address is refused until the window moves.
	LoginFailuresPerEmail ratelimit.Rule
	// PartnerCodeFailuresPerIP counts wrong partner codes of one client
	// address, so that codes cannot be guessed.
	PartnerCodeFailuresPerIP ratelimit.Rule
	// InvitesPerNewAccount counts the invitations of an account younger
	// than NewAccountAge, InvitesPerAccount those of older ones, so that a
	// freshly registered account cannot mail many strangers.
	InvitesPerNewAccount ratelimit.Rule
	InvitesPerAccount    ratelimit.Rule
	NewAccountAge        time.Duration
}

// DefaultLimits are 60 a minute per client address and 5 an hour per email.
func DefaultLimits() Limits {
	return Limits{
		SignupPerIP:              ratelimit.Rule{Limit: 60, Window: time.Minute},
		SignupPerEmail:           ratelimit.Rule{Limit: 5, Window: time.Hour},
		LoginPerIP:               ratelimit.Rule{Limit: 60, Window: time.Minute},
		LoginFailuresPerEmail:    ratelimit.Rule{Limit: 5, Window: time.Hour},
		PartnerCodeFailuresPerIP: ratelimit.Rule{Limit: 10, Window: time.Hour},
		InvitesPerNewAccount:     ratelimit.Rule{Limit: 20, Window: 24 * time.Hour},
		InvitesPerAccount:        ratelimit.Rule{Limit: 200, Window: 24 * time.Hour},
		NewAccountAge:            7 * 24 * time.Hour,
	}
}

// Config are the settings of the flows.
type Config struct {
	PublicURL  string        // base of links in mail, e.g. https://id.example.com
	MailFrom   string        // From address; its domain names Message-IDs
	SignupTTL  time.Duration // default lifetime of a registration link
	SessionTTL time.Duration // lifetime of a session
	// BrowserSessionTTL is the longest a browser session lasts (absolute).
	BrowserSessionTTL time.Duration
	// BrowserIdleTTL ends a browser session that has not been used for so long.
	BrowserIdleTTL time.Duration
	Limits         Limits
	// AdminKeyHash is the SHA-256 of the full-rights admin key from the
	// environment; empty when none is configured.
	AdminKeyHash []byte
	// Accounts are the settings of self-service account management.
	Accounts AccountConfig
}

// Service runs the flows.
type Service struct {
	store   *store.Store
	hasher  *auth.Hasher
	policy  auth.Policy
	mail    Renderer
	limiter Limiter
	notify  func()
	// handOver, when set, takes the mails of signup jobs (MailHandOver).
	handOver MailHandOver
	now      func() time.Time
	log      *slog.Logger
	cfg      Config
	msgHost  string
	http     *outbound.Client
	jobWake  chan struct{} // RunJobs waits on it
	// jobQueue writes the jobs of concurrent requests together.
	jobQueue jobQueue

	jobMu   sync.RWMutex
	jobRuns map[string]JobFunc // job kinds other packages run (HandleJob)
	// testAfterJobsRead, set by tests only, runs once a batch of jobs is
	// read and before what it writes is written: outside the transaction
	// on SQLite (runSignupBatchPlanned), inside it on PostgreSQL.
	testAfterJobsRead func()

	reMu    sync.Mutex
	reCache map[string]*regexp.Regexp

	orgs orgCache
}

// wholeRegexp compiles (once) an RE2 pattern that must match a whole value.
func (s *Service) wholeRegexp(pattern string) (*regexp.Regexp, error) {
	s.reMu.Lock()
	defer s.reMu.Unlock()
	if re, ok := s.reCache[pattern]; ok {
		return re, nil
	}
	re, err := compileWhole(pattern)
	if err != nil {
		return nil, err
	}
	if len(s.reCache) > 1000 {
		clear(s.reCache)
	}
	s.reCache[pattern] = re
	return re, nil
}

// Deps are what the Service needs.
type Deps struct {
	Store   *store.Store
	Hasher  *auth.Hasher
	Policy  auth.Policy
	Mail    Renderer
	Limiter Limiter
	Notify  func() // wakes the mail worker after a commit; may be nil
	// HandOver, when set, is this node's mail worker, handed the mails of
	// signup jobs (see MailHandOver); nil → they are queued and Notify
	// wakes the worker to claim them.
	HandOver MailHandOver
	Now      func() time.Time // nil → time.Now
	Logger   *slog.Logger
	// HTTP calls the URLs organizations configure (the Partner Provider,
	// token introspection); nil → an outbound client with the default
	// rules (no private addresses, https only).
	HTTP *outbound.Client
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	clock := d.Now
	d.Now = func() time.Time { return store.Timestamp(clock()) } // UTC, microseconds: as stored
	if d.Notify == nil {
		d.Notify = func() {}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SignupTTL <= 0 {
		cfg.SignupTTL = 24 * time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 24 * time.Hour
	}
	if cfg.BrowserSessionTTL <= 0 {
		cfg.BrowserSessionTTL = 12 * time.Hour
	}
	if cfg.BrowserIdleTTL <= 0 {
		cfg.BrowserIdleTTL = 30 * time.Minute
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if d.HTTP == nil {
		d.HTTP = outbound.New(outbound.Options{})
	}
	return &Service{
		store: d.Store, hasher: d.Hasher, policy: d.Policy, mail: d.Mail, limiter: d.Limiter,
		notify: d.Notify, handOver: d.HandOver, now: d.Now, log: d.Logger, cfg: cfg, msgHost: messageHost(cfg), http: d.HTTP,
		reCache: map[string]*regexp.Regexp{}, jobWake: make(chan struct{}, 1), jobRuns: map[string]JobFunc{},
	}
}

// Deps returns what the Service runs with, defaults filled in (the clock
// gives stored timestamps), so that the services of other areas (b2b) share
// its store, clock, limiter, mail and outbound client.
func (s *Service) Deps() Deps {
	return Deps{Store: s.store, Hasher: s.hasher, Policy: s.policy, Mail: s.mail, Limiter: s.limiter,
		Notify: s.notify, Now: s.now, Logger: s.log, HTTP: s.http}
}

// Config returns the settings of the Service, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Policy returns the password policy.
func (s *Service) Policy() auth.Policy { return s.policy }

func messageHost(cfg Config) string {
	if a, err := mail.ParseAddress(cfg.MailFrom); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			return a.Address[i+1:]
		}
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "onboard.invalid"
}

// QueueMail renders a template in lang (the recipient's) with the
// organization's colours and returns the outbox row for it, with a
// stable Message-ID derived from the row id.
func (s *Service) QueueMail(org domain.Organization, lang, template, to string, data any) (domain.OutboxMail, error) {
	orgID := org.ID
	r, err := s.mail.RenderIn(lang, brand.Of(org.Onboarding.Branding.AccentColor), template, data)
	if err != nil {
		return domain.OutboxMail{}, fmt.Errorf("render %s mail: %w", template, err)
	}
	id := store.NewID()
	return domain.OutboxMail{
		ID: id, OrgID: orgID, MessageID: "<" + id + "@" + s.msgHost + ">", Template: template,
		To: to, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
	}, nil
}

// organization resolves an organization name ("" → "default").
func (s *Service) organization(ctx context.Context, name string) (domain.Organization, error) {
	if name == "" {
		name = DefaultOrganization
	}
	org, err := s.orgByName(ctx, name)
	if store.IsNotFound(err) {
		return org, domain.Invalid(domain.FieldError{Field: "organization", Message: "no such organization"})
	}
	if err != nil {
		return org, fmt.Errorf("organization: %w", err)
	}
	return org, nil
}

func (s *Service) rateLimit(ctx context.Context, key string, r ratelimit.Rule) error {
	d, err := s.limiter.Allow(ctx, key, r)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return RateLimited(d.RetryAfter)
	}
	return nil
}

// rateLimitAll counts an attempt under each check, in order up to the first
// one refused, in one round trip when the limiter can (ratelimit.AllowAll).
func (s *Service) rateLimitAll(ctx context.Context, checks ...ratelimit.Check) error {
	d, _, err := ratelimit.AllowAll(ctx, s.limiter, checks...)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return RateLimited(d.RetryAfter)
	}
	return nil
}

// RateLimited is the error of a spent rate limit, to retry after the given
// time.
func RateLimited(after time.Duration) error {
	return &domain.Error{Code: domain.ERateLimited, Slug: "rate-limited",
		Detail: "Too many attempts. Try again later.", RetryAfter: after}
}

// HumanDuration writes d as "24 hours", "30 minutes".
func HumanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int(d/time.Minute), "minute")
	default:
		return plural(int(d/time.Second), "second")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
