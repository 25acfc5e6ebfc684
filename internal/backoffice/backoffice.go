// Package backoffice holds the rules of the back-office console's users:
// their creation with a mailed set-password link, sign-in with the same
// password hashing, rate limits and lockout as customers, console sessions
// (a cookie of their own), the TOTP second factor with recovery codes, and
// which organizations each may manage. It knows nothing of HTTP.
//
// Back-office users are not customers' users: they have their own table,
// links and sessions, so a customer's credentials never open the console
// and a back-office user's never open the account pages.
package backoffice

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// Renderer renders a named mail template.
type Renderer interface {
	RenderIn(lang string, colours brand.Colours, name string, data any) (obmail.Rendered, error)
}

// Config are the settings of the back office.
type Config struct {
	// PublicURL is the base of the links in mail.
	PublicURL string
	// MailFrom is the From address; its domain names Message-IDs.
	MailFrom string
	// InviteTTL is the lifetime of a set-password link (72 hours).
	InviteTTL time.Duration
	// SessionTTL is the longest a console session lasts (12 hours);
	// IdleTTL ends it after so long without use (30 minutes).
	SessionTTL, IdleTTL time.Duration
	// LoginPerIP limits sign-in attempts per client address;
	// FailuresPerEmail locks an address out after so many wrong passwords
	// or codes, as for customers.
	LoginPerIP, FailuresPerEmail ratelimit.Rule
	// Issuer names the service in authenticator apps ("onboard").
	Issuer string
}

// Deps are what the Service needs.
type Deps struct {
	Store   *store.Store
	Hasher  *auth.Hasher
	Policy  auth.Policy
	Mail    Renderer
	Limiter flows.Limiter
	// Notify wakes the mail worker after a commit; may be nil.
	Notify func()
	// Now is the clock; nil → time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs the back office's rules.
type Service struct {
	store   *store.Store
	hasher  *auth.Hasher
	policy  auth.Policy
	mail    Renderer
	limiter flows.Limiter
	notify  func()
	now     func() time.Time
	log     *slog.Logger
	cfg     Config
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	clock := d.Now
	if clock == nil {
		clock = time.Now
	}
	if d.Notify == nil {
		d.Notify = func() {}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = 72 * time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = 30 * time.Minute
	}
	if cfg.LoginPerIP.Limit == 0 {
		cfg.LoginPerIP = ratelimit.Rule{Limit: 60, Window: time.Minute}
	}
	if cfg.FailuresPerEmail.Limit == 0 {
		cfg.FailuresPerEmail = ratelimit.Rule{Limit: 5, Window: time.Hour}
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "onboard"
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{store: d.Store, hasher: d.Hasher, policy: d.Policy, mail: d.Mail, limiter: d.Limiter, notify: d.Notify,
		now: func() time.Time { return store.Timestamp(clock()) }, log: d.Logger, cfg: cfg}
}

// Principal is a signed-in back-office user and the session.
type Principal struct {
	Session domain.BackOfficeSession
	User    domain.BackOfficeUser
	// NeedsSecondFactor: the user has TOTP and the session has not passed
	// it yet; only the code page is reachable.
	NeedsSecondFactor bool
	// MustEnrol: TOTP is required system-wide and the user has none yet;
	// only the enrolment page is reachable.
	MustEnrol bool
}

// Supervisor reports whether the principal is a supervisor.
func (p Principal) Supervisor() bool { return p.User.Role == domain.RoleSupervisor }

// Ready reports whether the session may use the console: no second factor
// or enrolment is pending.
func (p Principal) Ready() bool { return !p.NeedsSecondFactor && !p.MustEnrol }

// Actor names the principal in audit entries.
func (p Principal) Actor() string { return "backoffice:" + p.User.ID }

// Admin is the principal as a caller of the admin flows (the same rules
// and validation as the admin API): a supervisor may act on every
// organization, an org_admin on its own.
func (p Principal) Admin() flows.Admin {
	a := flows.Admin{Name: p.User.Email, BackOfficeUserID: p.User.ID, OrgID: p.User.OrgID}
	if p.Supervisor() {
		a.OrgID = ""
	}
	return a
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Organization string // name of the organization
	Email        string
	Role         string // org_admin (default) or supervisor
	Language     string // of the mail ("" = English)
}

// Roles are the back-office roles.
var Roles = []string{domain.RoleOrgAdmin, domain.RoleSupervisor}

// CreateUser creates a back-office user without a password and mails the
// link to set one (a single-use token; only its hash is stored). actor
// names who asked ("cli" or a supervisor's Actor) for the audit log.
func (s *Service) CreateUser(ctx context.Context, actor string, in NewUser) (domain.BackOfficeUser, error) {
	var fields []domain.FieldError
	email, ferr := flows.ValidEmail("email", in.Email)
	if ferr != nil {
		fields = append(fields, *ferr)
	}
	if in.Role == "" {
		in.Role = domain.RoleOrgAdmin
	}
	if !slices.Contains(Roles, in.Role) {
		fields = append(fields, domain.FieldError{Field: "role", Message: "must be one of " + strings.Join(Roles, ", ")})
	}
	name := strings.TrimSpace(in.Organization)
	if name == "" {
		name = flows.DefaultOrganization
	}
	org, err := s.store.OrganizationByName(ctx, name)
	if store.IsNotFound(err) {
		fields = append(fields, domain.FieldError{Field: "organization", Message: "no such organization"})
	} else if err != nil {
		return domain.BackOfficeUser{}, fmt.Errorf("create back-office user: %w", err)
	}
	if len(fields) > 0 {
		return domain.BackOfficeUser{}, domain.Invalid(fields...)
	}
	now := s.now()
	u := domain.BackOfficeUser{ID: store.NewID(), OrgID: org.ID, Email: email, Role: in.Role, Language: knownLanguage(in.Language),
		CreatedAt: now, UpdatedAt: now}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateBackOfficeUser(ctx, u); err != nil {
			if store.IsDuplicate(err) {
				return domain.Invalid(domain.FieldError{Field: "email", Message: "is a back-office user already"})
			}
			return err
		}
		if err := s.queueInvite(ctx, tx, org, u, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actor, Action: "backoffice_user.created", SubjectID: u.ID,
			Data: map[string]any{"email": u.Email, "role": u.Role}, CreatedAt: now})
	})
	if err != nil {
		return domain.BackOfficeUser{}, fmt.Errorf("create back-office user: %w", err)
	}
	s.notify()
	return u, nil
}

// queueInvite draws a set-password token for u and queues its mail in tx.
func (s *Service) queueInvite(ctx context.Context, tx *store.Tx, org domain.Organization, u domain.BackOfficeUser, now time.Time) error {
	token, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	if err := tx.CreateBackOfficeToken(ctx, store.NewID(), u.ID, hash, now, now.Add(s.cfg.InviteTTL)); err != nil {
		return err
	}
	role := "organization administrator"
	if u.Role == domain.RoleSupervisor {
		role = "supervisor"
	}
	if u.Language == "it" {
		role = map[string]string{domain.RoleOrgAdmin: "amministratore dell'organizzazione", domain.RoleSupervisor: "supervisore"}[u.Role]
	}
	r, err := s.mail.RenderIn(u.Language, brand.Of(org.Onboarding.Branding.AccentColor), obmail.TemplateBackOfficeInvite, obmail.BackOfficeInviteData{
		Link: s.cfg.PublicURL + "/admin/set-password?token=" + url.QueryEscape(token), Organization: displayName(org), Role: role,
		ExpiresIn: humanDuration(s.cfg.InviteTTL),
	})
	if err != nil {
		return fmt.Errorf("render invite: %w", err)
	}
	id := store.NewID()
	return tx.EnqueueMail(ctx, domain.OutboxMail{ID: id, OrgID: org.ID, MessageID: "<" + id + "@" + s.msgHost() + ">",
		Template: obmail.TemplateBackOfficeInvite, To: u.Email, Subject: r.Subject, Text: r.Text, HTML: r.HTML}, now)
}

func (s *Service) msgHost() string {
	if a, err := mail.ParseAddress(s.cfg.MailFrom); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			return a.Address[i+1:]
		}
	}
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "onboard.invalid"
}

func displayName(org domain.Organization) string {
	if org.Onboarding.Branding.DisplayName != "" {
		return org.Onboarding.Branding.DisplayName
	}
	return org.DisplayName
}

func knownLanguage(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if slices.Contains(flows.Languages, lang) {
		return lang
	}
	return ""
}

func humanDuration(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return fmt.Sprintf("%d minutes", d/time.Minute)
}

func linkGone() error {
	return domain.Errorf(domain.EGone, "link-invalid", "This link is not valid: it was used already, it expired, or it was mistyped.")
}

// CheckPasswordLink tells whether a set-password link can still be used,
// without using it, and returns the email it is for.
func (s *Service) CheckPasswordLink(ctx context.Context, token string) (string, error) {
	if !auth.WellFormedToken(token) {
		return "", linkGone()
	}
	id, err := s.store.BackOfficeTokenUser(ctx, auth.HashToken(token), s.now())
	if store.IsNotFound(err) {
		return "", linkGone()
	}
	if err != nil {
		return "", fmt.Errorf("password link: %w", err)
	}
	u, err := s.store.BackOfficeUserByID(ctx, id)
	if err != nil {
		return "", fmt.Errorf("password link: %w", err)
	}
	return u.Email, nil
}

// SetPassword uses a set-password link: it checks the password against the
// policy, stores its hash and ends the user's console sessions. The link
// works once.
func (s *Service) SetPassword(ctx context.Context, token, password string) error {
	email, err := s.CheckPasswordLink(ctx, token)
	if err != nil {
		return err
	}
	if vs := s.policy.Check(password, email); len(vs) > 0 {
		fields := make([]domain.FieldError, 0, len(vs))
		for _, v := range vs {
			fields = append(fields, domain.FieldError{Field: "password", Message: v.Message})
		}
		return domain.Invalid(fields...)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		id, err := tx.ConsumeBackOfficeToken(ctx, auth.HashToken(token), now)
		if store.IsNotFound(err) {
			return linkGone()
		}
		if err != nil {
			return err
		}
		u, err := tx.LockBackOfficeUser(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.SetBackOfficePassword(ctx, id, hash, now); err != nil {
			return err
		}
		if err := tx.DeleteBackOfficeSessionsOf(ctx, id, ""); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: "backoffice:" + id, Action: "backoffice_user.password_set",
			SubjectID: id, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}
