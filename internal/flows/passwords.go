package flows

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// Passwords: the reset of a forgotten password by a mailed link, and the
// change of a known one by a signed-in user. Both end the user's (other)
// sessions and mail a "your password was changed" notice.

// PasswordResetRequest is the input of a password-reset request.
type PasswordResetRequest struct {
	Organization string
	Email        string
	ClientIP     string
	// Language is the language of the page the request came from, for the
	// mail when the user has not chosen one.
	Language string
}

// RequestPasswordReset asks for a reset link for the address. It writes a
// job and answers the same whatever the address; the job worker mails the
// link when the address belongs to an active user, and nothing otherwise
// (see runPasswordResetJob). A new link makes the user's earlier ones
// unusable. Rate limited per client address and per email address like
// signup starts.
func (s *Service) RequestPasswordReset(ctx context.Context, in PasswordResetRequest) error {
	email, ferr := ValidEmail("email", in.Email)
	if ferr != nil {
		return domain.Invalid(*ferr)
	}
	org, err := s.organization(ctx, in.Organization)
	if err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "reset:ip:"+in.ClientIP, s.cfg.Limits.SignupPerIP); err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "reset:email:"+org.ID+":"+domain.NormalizeEmail(email), s.cfg.Limits.SignupPerEmail); err != nil {
		return err
	}
	return s.EnqueueJob(ctx, org.ID, jobPasswordReset, email, passwordResetJob{Email: email, ClientIP: in.ClientIP, Language: in.Language})
}

// passwordResetJob is a password-reset request waiting for the job worker.
type passwordResetJob struct {
	Email    string `json:"email"`
	ClientIP string `json:"client_ip"`
	// Language is the language of the page the reset was asked on.
	Language string `json:"language,omitempty"`
}

// runPasswordResetJob creates a reset link for an active user of the address
// and queues its mail, in tx; for any other address it does nothing.
func (s *Service) runPasswordResetJob(ctx context.Context, tx *store.Tx, orgID string, p passwordResetJob, now time.Time) (bool, error) {
	org, err := s.orgByID(ctx, orgID)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	user, err := tx.UserByEmail(ctx, org.ID, p.Email)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if user.Status != domain.StatusActive {
		return false, nil
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return false, fmt.Errorf("password reset: %w", err)
	}
	ttl := s.accountConfig().PasswordResetTTL
	m, err := s.QueueMail(org, cmp.Or(user.Language, p.Language), obmail.TemplatePasswordReset, user.Email, obmail.PasswordResetData{
		Organization: displayName(org), Link: s.pageLink(org, "/reset-password", token), ExpiresIn: humanTTL(ttl),
	})
	if err != nil {
		return false, err
	}
	r := domain.PasswordReset{ID: store.NewID(), OrgID: org.ID, UserID: user.ID, TokenHash: hash, State: domain.LinkPending,
		CreatedAt: store.Timestamp(now), ExpiresAt: store.Timestamp(now.Add(ttl))}
	if err := tx.CreatePasswordReset(ctx, r); err != nil {
		return false, err
	}
	if err := tx.EnqueueMail(ctx, m, now); err != nil {
		return false, err
	}
	err = tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "anonymous", Action: "password_reset.requested",
		SubjectID: user.ID, Data: map[string]any{"reset_id": r.ID, "client_ip": p.ClientIP}, CreatedAt: now})
	return err == nil, err
}

// passwordReset loads the reset a link token names and its user: 404 when
// unknown, 410 when used, replaced or expired.
func (s *Service) passwordReset(ctx context.Context, token string) (domain.PasswordReset, domain.User, error) {
	notFound := domain.Errorf(domain.ENotFound, "password-reset-not-found", "This password-reset link is not valid.")
	if !auth.WellFormedToken(token) {
		return domain.PasswordReset{}, domain.User{}, notFound
	}
	r, err := s.store.PasswordResetByTokenHash(ctx, auth.HashToken(token))
	if store.IsNotFound(err) {
		return r, domain.User{}, notFound
	}
	if err != nil {
		return r, domain.User{}, err
	}
	switch {
	case r.State == domain.LinkUsed:
		return r, domain.User{}, resetUsed()
	case r.State != domain.LinkPending:
		return r, domain.User{}, domain.Errorf(domain.EGone, "password-reset-replaced", "A newer password-reset link was sent; use that one.")
	case !s.now().Before(r.ExpiresAt):
		return r, domain.User{}, domain.Errorf(domain.EGone, "password-reset-expired", "This password-reset link has expired. Ask for a new one.")
	}
	u, err := s.store.UserByID(ctx, r.OrgID, r.UserID)
	if store.IsNotFound(err) {
		return r, u, notFound
	}
	if err != nil {
		return r, u, err
	}
	if u.Status != domain.StatusActive {
		return r, u, domain.Errorf(domain.EGone, "password-reset-invalid", "This password-reset link can no longer be used.")
	}
	return r, u, nil
}

func resetUsed() error {
	return domain.Errorf(domain.EGone, "password-reset-used", "This password-reset link was used already.")
}

// PasswordResetInfo is what a password-reset link leads to.
type PasswordResetInfo struct {
	Reset       domain.PasswordReset
	MaskedEmail string // the user's address, partly hidden
	Policy      auth.PolicyDescription
}

// PasswordReset returns what a reset link leads to. Reading it does not use
// the link.
func (s *Service) PasswordReset(ctx context.Context, token string) (PasswordResetInfo, error) {
	r, u, err := s.passwordReset(ctx, token)
	if err != nil {
		return PasswordResetInfo{}, err
	}
	return PasswordResetInfo{Reset: r, MaskedEmail: MaskEmail(u.Email), Policy: s.policy.Describe()}, nil
}

// ResetPassword sets a new password with a reset link: the password must
// follow the policy (422 listing each broken rule). In one transaction it
// uses up the link, sets the password, ends every session of the user and
// queues the "password changed" notice.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	r, u, err := s.passwordReset(ctx, token)
	if err != nil {
		return err
	}
	if err := s.checkNewPassword("password", password, u.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	org, err := s.store.OrganizationByID(ctx, u.OrgID)
	if err != nil {
		return err
	}
	notice, err := s.passwordChangedMail(org, u)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.ConsumePasswordReset(ctx, r.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return errLinkUsed
		}
		if err := tx.SetPasswordHash(ctx, u.OrgID, u.ID, hash, now); err != nil {
			return err
		}
		ended, err := tx.DeleteUserSessions(ctx, u.OrgID, u.ID, "")
		if err != nil {
			return err
		}
		if err := tx.EnqueueMail(ctx, notice, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: "user:" + u.ID, Action: "password.reset",
			SubjectID: u.ID, Data: map[string]any{"reset_id": r.ID, "sessions_ended": ended}, CreatedAt: now})
	})
	switch {
	case errors.Is(err, errLinkUsed):
		return resetUsed()
	case err != nil:
		return fmt.Errorf("reset password: %w", err)
	}
	s.notify()
	return nil
}

// ChangePassword replaces the principal's password, given the current one.
// A wrong current password is a 422 on current_password, and counts as a
// failed sign-in of the address (so guessing is rate limited like sign-in).
// It ends the user's other sessions, makes pending reset links unusable and
// mails a notice.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	var fields []domain.FieldError
	if current == "" {
		fields = append(fields, domain.FieldError{Field: "current_password", Message: "is required"})
	} else if len(current) > 1024 {
		fields = append(fields, domain.FieldError{Field: "current_password", Message: "is too long"})
	}
	if err := s.checkNewPassword("new_password", next, p.User.Email); err != nil {
		fields = append(fields, domain.AsError(err).Fields...)
	} else if next == current {
		fields = append(fields, domain.FieldError{Field: "new_password", Message: "must differ from the current password"})
	}
	if len(fields) > 0 {
		return domain.Invalid(fields...)
	}
	if err := s.verifyCurrentPassword(ctx, p, current); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	org, err := s.store.OrganizationByID(ctx, p.User.OrgID)
	if err != nil {
		return err
	}
	notice, err := s.passwordChangedMail(org, p.User)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetPasswordHash(ctx, p.User.OrgID, p.User.ID, hash, now); err != nil {
			return err
		}
		ended, err := tx.DeleteUserSessions(ctx, p.User.OrgID, p.User.ID, p.Session.ID)
		if err != nil {
			return err
		}
		if err := tx.SupersedePasswordResets(ctx, p.User.OrgID, p.User.ID); err != nil {
			return err
		}
		if err := tx.EnqueueMail(ctx, notice, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: p.User.OrgID, Actor: "user:" + p.User.ID, Action: "password.changed",
			SubjectID: p.User.ID, Data: map[string]any{"sessions_ended": ended}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.notify()
	return nil
}

// checkNewPassword checks a new password against the policy: a 422 on field
// listing every broken rule.
func (s *Service) checkNewPassword(field, password, email string) error {
	var fields []domain.FieldError
	for _, v := range s.policy.Check(password, email) {
		fields = append(fields, domain.FieldError{Field: field, Message: v.Message})
	}
	if len(fields) > 0 {
		return domain.Invalid(fields...)
	}
	return nil
}

// verifyCurrentPassword checks the principal's current password. Failures
// count against the same limit as failed sign-ins of the address.
func (s *Service) verifyCurrentPassword(ctx context.Context, p Principal, password string) error {
	key := "login:fail:" + p.User.OrgID + ":" + domain.NormalizeEmail(p.User.Email)
	d, err := s.limiter.Peek(ctx, key, s.cfg.Limits.LoginFailuresPerEmail)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return RateLimited(d.RetryAfter)
	}
	ok := false
	if p.User.PasswordHash == "" {
		s.hasher.VerifyDummy(ctx, password)
	} else if ok, err = s.hasher.Verify(ctx, password, p.User.PasswordHash); err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		if _, err := s.limiter.Allow(ctx, key, s.cfg.Limits.LoginFailuresPerEmail); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		return domain.Invalid(domain.FieldError{Field: "current_password", Message: "is not correct"})
	}
	return nil
}

func (s *Service) passwordChangedMail(org domain.Organization, u domain.User) (domain.OutboxMail, error) {
	return s.QueueMail(org, u.Language, obmail.TemplatePasswordChanged, u.Email, obmail.PasswordChangedData{
		Organization: displayName(org), FirstName: u.FirstName, ResetURL: s.pageURL(org, "/reset-password"),
	})
}

// MaskEmail hides most of an address's local part: "ada@example.com" becomes
// "a***@example.com".
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return "***"
	}
	local := email[:at]
	first, _ := utf8.DecodeRuneInString(local)
	if local == "" || first == utf8.RuneError {
		return "***" + email[at:]
	}
	return string(first) + "***" + email[at:]
}
