package backoffice

import (
	"context"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// Login is the input of a console sign-in.
type Login struct {
	Email     string
	Password  string
	ClientIP  string
	UserAgent string
}

func invalidCredentials() error {
	return domain.Errorf(domain.EUnauthorized, "invalid-credentials", "The email address or password is not correct.")
}

func rateLimited(after time.Duration) error {
	return &domain.Error{Code: domain.ERateLimited, Slug: "rate-limited", Detail: "Too many attempts. Try again later.", RetryAfter: after}
}

// failKey counts the failed sign-ins and codes of one address. It differs
// from the customers' key: the two lockouts are separate.
func failKey(email string) string { return "console:fail:" + domain.NormalizeEmail(email) }

// Login checks an email and password and opens a console session. An
// unknown address, a user without password and a wrong password fail
// alike, after the same work; after FailuresPerEmail failures the address
// is locked out until the window moves. When the user has TOTP, the session
// must pass it (VerifyCode) before it is of any use.
func (s *Service) Login(ctx context.Context, in Login) (string, Principal, error) {
	email, ferr := validEmailField(in.Email)
	var fields []domain.FieldError
	if ferr != nil {
		fields = append(fields, *ferr)
	}
	if in.Password == "" {
		fields = append(fields, domain.FieldError{Field: "password", Message: "is required"})
	} else if len(in.Password) > 1024 {
		fields = append(fields, domain.FieldError{Field: "password", Message: "is too long"})
	}
	if len(fields) > 0 {
		return "", Principal{}, domain.Invalid(fields...)
	}
	if err := s.allow(ctx, "console:ip:"+in.ClientIP, s.cfg.LoginPerIP); err != nil {
		return "", Principal{}, err
	}
	key := failKey(email)
	d, err := s.limiter.Peek(ctx, key, s.cfg.FailuresPerEmail)
	if err != nil {
		return "", Principal{}, fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return "", Principal{}, rateLimited(d.RetryAfter)
	}
	u, err := s.store.BackOfficeUserByEmail(ctx, email)
	switch {
	case store.IsNotFound(err):
		s.hasher.VerifyDummy(ctx, in.Password)
		return "", Principal{}, s.failed(ctx, key)
	case err != nil:
		return "", Principal{}, fmt.Errorf("login: %w", err)
	}
	if u.PasswordHash == "" || u.DisabledAt != nil {
		s.hasher.VerifyDummy(ctx, in.Password)
		return "", Principal{}, s.failed(ctx, key)
	}
	ok, err := s.hasher.Verify(ctx, in.Password, u.PasswordHash)
	if err != nil {
		return "", Principal{}, fmt.Errorf("login: %w", err)
	}
	if !ok {
		return "", Principal{}, s.failed(ctx, key)
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return "", Principal{}, err
	}
	now := s.now()
	sess := domain.BackOfficeSession{ID: store.NewID(), UserID: u.ID, TokenHash: hash, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL), IdleExpiresAt: now.Add(s.cfg.IdleTTL), ClientIP: in.ClientIP, UserAgent: truncate(in.UserAgent, 256)}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateBackOfficeSession(ctx, sess); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: "backoffice:" + u.ID, Action: "backoffice_session.created",
			SubjectID: u.ID, Data: map[string]any{"session_id": sess.ID, "client_ip": in.ClientIP}, CreatedAt: now})
	})
	if err != nil {
		return "", Principal{}, fmt.Errorf("login: %w", err)
	}
	p, err := s.principal(ctx, sess, u)
	return token, p, err
}

func validEmailField(raw string) (string, *domain.FieldError) {
	if len(raw) > 254 {
		return "", &domain.FieldError{Field: "email", Message: "must be at most 254 characters"}
	}
	if raw == "" {
		return "", &domain.FieldError{Field: "email", Message: "is required"}
	}
	return raw, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (s *Service) allow(ctx context.Context, key string, r ratelimit.Rule) error {
	d, err := s.limiter.Allow(ctx, key, r)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return rateLimited(d.RetryAfter)
	}
	return nil
}

// failed counts a failure against the address's lockout.
func (s *Service) failed(ctx context.Context, key string) error {
	if _, err := s.limiter.Allow(ctx, key, s.cfg.FailuresPerEmail); err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	return invalidCredentials()
}

// principal builds the principal of a session: whether a second factor or
// an enrolment is pending.
func (s *Service) principal(ctx context.Context, sess domain.BackOfficeSession, u domain.BackOfficeUser) (Principal, error) {
	p := Principal{Session: sess, User: u}
	if u.TOTPEnabledAt != nil {
		p.NeedsSecondFactor = sess.SecondFactor == ""
		return p, nil
	}
	req, err := s.RequireTOTP(ctx)
	if err != nil {
		return p, err
	}
	p.MustEnrol = req
	return p, nil
}

// Authenticate returns the principal of a console session token (the
// value of the console's cookie). Each use pushes the idle expiry forward
// (at most once a minute).
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	unauth := domain.Errorf(domain.EUnauthorized, "unauthenticated", "Sign in to continue.")
	if !auth.WellFormedToken(token) {
		return Principal{}, unauth
	}
	now := s.now()
	sess, err := s.store.BackOfficeSessionByTokenHash(ctx, auth.HashToken(token), now)
	if store.IsNotFound(err) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	u, err := s.store.BackOfficeUserByID(ctx, sess.UserID)
	if store.IsNotFound(err) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if u.DisabledAt != nil {
		return Principal{}, unauth
	}
	next := now.Add(s.cfg.IdleTTL)
	if next.Sub(sess.IdleExpiresAt) >= time.Minute {
		if err := s.store.TouchBackOfficeSession(ctx, sess.ID, next); err != nil {
			return Principal{}, fmt.Errorf("authenticate: %w", err)
		}
		sess.IdleExpiresAt = next
	}
	return s.principal(ctx, sess, u)
}

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteBackOfficeSession(ctx, p.Session.ID); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: p.User.OrgID, Actor: p.Actor(), Action: "backoffice_session.ended",
			SubjectID: p.User.ID, Data: map[string]any{"session_id": p.Session.ID}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// SetLanguage stores the language the principal chose for the console.
func (s *Service) SetLanguage(ctx context.Context, p Principal, lang string) error {
	lang = knownLanguage(lang)
	if lang == "" {
		return domain.Invalid(domain.FieldError{Field: "language", Message: "is not a language of the console"})
	}
	return s.store.SetBackOfficeLanguage(ctx, p.User.ID, lang, s.now())
}

// Setting names of the system-wide settings.
const (
	// SettingRequireTOTP ("true"/"false") makes every back-office user
	// enrol a second factor before using the console.
	SettingRequireTOTP = "console.require_totp"
)

// RequireTOTP tells whether a second factor is required of every
// back-office user.
func (s *Service) RequireTOTP(ctx context.Context) (bool, error) {
	v, _, err := s.store.SystemSetting(ctx, SettingRequireTOTP)
	if err != nil {
		return false, err
	}
	return v == "true", nil
}

// SetRequireTOTP turns the requirement of a second factor on or off; only
// a supervisor may.
func (s *Service) SetRequireTOTP(ctx context.Context, p Principal, on bool) error {
	if !p.Supervisor() {
		return domain.Errorf(domain.EForbidden, "forbidden", "Only a supervisor may change system-wide settings.")
	}
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PutSystemSetting(ctx, SettingRequireTOTP, fmt.Sprint(on), now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: p.User.OrgID, Actor: p.Actor(), Action: "system_setting.updated",
			SubjectID: SettingRequireTOTP, Data: map[string]any{"value": on}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("require totp: %w", err)
	}
	return nil
}
