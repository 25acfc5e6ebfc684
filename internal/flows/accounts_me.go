package flows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// What signed-in users do with themselves: change their email address,
// see and end their sessions, and export the data held about them.

// ---- email change ----

// RequestEmailChange starts changing the principal's address, given the
// current password (checked as by ChangePassword): it mails a confirmation
// link to the new address and a notice to the current one. Whether the new
// address is free is checked only at confirmation, so the answer does not
// tell whether it belongs to someone. A new request makes earlier links
// unusable. Rate limited per user like signup starts per address.
func (s *Service) RequestEmailChange(ctx context.Context, p Principal, newEmail, currentPassword string) error {
	var fields []domain.FieldError
	email, ferr := ValidEmail("email", newEmail)
	if ferr != nil {
		fields = append(fields, *ferr)
	} else if domain.NormalizeEmail(email) == domain.NormalizeEmail(p.User.Email) {
		fields = append(fields, domain.FieldError{Field: "email", Message: "is already your email address"})
	}
	if currentPassword == "" {
		fields = append(fields, domain.FieldError{Field: "current_password", Message: "is required"})
	} else if len(currentPassword) > 1024 {
		fields = append(fields, domain.FieldError{Field: "current_password", Message: "is too long"})
	}
	if len(fields) > 0 {
		return domain.Invalid(fields...)
	}
	if err := s.rateLimit(ctx, "email-change:user:"+p.User.ID, s.cfg.Limits.SignupPerEmail); err != nil {
		return err
	}
	if err := s.verifyCurrentPassword(ctx, p, currentPassword); err != nil {
		return err
	}
	org, err := s.store.OrganizationByID(ctx, p.User.OrgID)
	if err != nil {
		return err
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return fmt.Errorf("email change: %w", err)
	}
	now := s.now()
	ttl := s.accountConfig().EmailChangeTTL
	link, err := s.QueueMail(org, p.User.Language, obmail.TemplateEmailChange, email, obmail.EmailChangeData{
		Organization: displayName(org), Link: s.pageLink(org, "/confirm-email", token), ExpiresIn: humanTTL(ttl),
	})
	if err != nil {
		return err
	}
	notice, err := s.QueueMail(org, p.User.Language, obmail.TemplateEmailChangeRequested, p.User.Email, obmail.EmailChangeNoticeData{
		Organization: displayName(org), FirstName: p.User.FirstName, NewEmail: email, ResetURL: s.pageURL(org, "/reset-password"),
	})
	if err != nil {
		return err
	}
	c := domain.EmailChange{ID: store.NewID(), OrgID: org.ID, UserID: p.User.ID, OldEmail: p.User.Email, NewEmail: email,
		TokenHash: hash, State: domain.LinkPending, CreatedAt: store.Timestamp(now), ExpiresAt: store.Timestamp(now.Add(ttl))}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateEmailChange(ctx, c); err != nil {
			return err
		}
		for _, m := range []domain.OutboxMail{link, notice} {
			if err := tx.EnqueueMail(ctx, m, now); err != nil {
				return err
			}
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "user:" + p.User.ID, Action: "email_change.requested",
			SubjectID: p.User.ID, Data: map[string]any{"email_change_id": c.ID, "new_email": email}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("email change: %w", err)
	}
	s.notify()
	return nil
}

func emailChangeUsed() error {
	return domain.Errorf(domain.EGone, "email-change-used", "This confirmation link was used already.")
}

// emailChange loads the email change a link token names and its user: 404
// when unknown, 410 when used, replaced or expired, or when the user's
// address changed otherwise since.
func (s *Service) emailChange(ctx context.Context, token string) (domain.EmailChange, domain.User, error) {
	notFound := domain.Errorf(domain.ENotFound, "email-change-not-found", "This confirmation link is not valid.")
	if !auth.WellFormedToken(token) {
		return domain.EmailChange{}, domain.User{}, notFound
	}
	c, err := s.store.EmailChangeByTokenHash(ctx, auth.HashToken(token))
	if store.IsNotFound(err) {
		return c, domain.User{}, notFound
	}
	if err != nil {
		return c, domain.User{}, err
	}
	switch {
	case c.State == domain.LinkUsed:
		return c, domain.User{}, emailChangeUsed()
	case c.State != domain.LinkPending:
		return c, domain.User{}, domain.Errorf(domain.EGone, "email-change-replaced", "A newer confirmation link was sent; use that one.")
	case !s.now().Before(c.ExpiresAt):
		return c, domain.User{}, domain.Errorf(domain.EGone, "email-change-expired", "This confirmation link has expired. Ask for the change again.")
	}
	u, err := s.store.UserByID(ctx, c.OrgID, c.UserID)
	if store.IsNotFound(err) {
		return c, u, notFound
	}
	if err != nil {
		return c, u, err
	}
	if u.Status != domain.StatusActive || domain.NormalizeEmail(u.Email) != domain.NormalizeEmail(c.OldEmail) {
		return c, u, domain.Errorf(domain.EGone, "email-change-invalid", "This confirmation link can no longer be used.")
	}
	return c, u, nil
}

// EmailChangeInfo is what an email-change link leads to.
type EmailChangeInfo struct {
	Change      domain.EmailChange
	MaskedEmail string // the current address, partly hidden
}

// EmailChange returns what a confirmation link leads to. Reading it does not
// use the link.
func (s *Service) EmailChange(ctx context.Context, token string) (EmailChangeInfo, error) {
	c, u, err := s.emailChange(ctx, token)
	if err != nil {
		return EmailChangeInfo{}, err
	}
	return EmailChangeInfo{Change: c, MaskedEmail: MaskEmail(u.Email)}, nil
}

// ConfirmEmailChange confirms an email change with the link mailed to the
// new address: in one transaction it uses up the link, changes the address,
// makes pending password-reset links (mailed to the old address) unusable
// and queues a notice to the old address. An address another user took
// meanwhile answers 409 and leaves the link usable.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (domain.User, error) {
	c, u, err := s.emailChange(ctx, token)
	if err != nil {
		return domain.User{}, err
	}
	taken := domain.Errorf(domain.EConflict, "email-registered", "Another user has this email address now; the change cannot be made.")
	if registered, err := s.store.EmailRegistered(ctx, c.OrgID, c.NewEmail); err != nil {
		return domain.User{}, err
	} else if registered {
		return domain.User{}, taken
	}
	org, err := s.store.OrganizationByID(ctx, c.OrgID)
	if err != nil {
		return domain.User{}, err
	}
	notice, err := s.QueueMail(org, u.Language, obmail.TemplateEmailChanged, u.Email, obmail.EmailChangeNoticeData{
		Organization: displayName(org), FirstName: u.FirstName, NewEmail: c.NewEmail, ResetURL: s.pageURL(org, "/reset-password"),
	})
	if err != nil {
		return domain.User{}, err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.ConsumeEmailChange(ctx, c.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return errLinkUsed
		}
		if err := tx.SetUserEmail(ctx, u.OrgID, u.ID, c.NewEmail, now); err != nil {
			return err
		}
		if err := tx.SupersedePasswordResets(ctx, u.OrgID, u.ID); err != nil {
			return err
		}
		if err := tx.EnqueueMail(ctx, notice, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: "user:" + u.ID, Action: "email.changed",
			SubjectID: u.ID, Data: map[string]any{"email_change_id": c.ID, "from": u.Email, "to": c.NewEmail}, CreatedAt: now})
	})
	switch {
	case errors.Is(err, errLinkUsed):
		return domain.User{}, emailChangeUsed()
	case store.IsDuplicate(err):
		return domain.User{}, taken
	case err != nil:
		return domain.User{}, fmt.Errorf("confirm email change: %w", err)
	}
	s.notify()
	u.Email, u.UpdatedAt = c.NewEmail, store.Timestamp(now)
	return u, nil
}

// ---- sessions ----

// Sessions lists the principal's unexpired sessions, newest first.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]domain.Session, error) {
	return s.store.SessionsByUser(ctx, p.User.OrgID, p.User.ID, s.now())
}

// EndSession ends one of the principal's sessions (possibly the current
// one); another user's session, or none, answers 404.
func (s *Service) EndSession(ctx context.Context, p Principal, id string) error {
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.DeleteUserSession(ctx, p.User.OrgID, p.User.ID, id)
		if err != nil {
			return err
		}
		if !ok {
			return domain.Errorf(domain.ENotFound, "session-not-found", "You have no such session.")
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: p.User.OrgID, Actor: "user:" + p.User.ID, Action: "session.ended",
			SubjectID: p.User.ID, Data: map[string]any{"session_id": id, "current": id == p.Session.ID}, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndOtherSessions ends every session of the principal but the current one
// and returns how many it ended.
func (s *Service) EndOtherSessions(ctx context.Context, p Principal) (int64, error) {
	now := s.now()
	var n int64
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.DeleteUserSessions(ctx, p.User.OrgID, p.User.ID, p.Session.ID); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: p.User.OrgID, Actor: "user:" + p.User.ID, Action: "session.ended_others",
			SubjectID: p.User.ID, Data: map[string]any{"sessions_ended": n}, CreatedAt: now})
	})
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return n, nil
}

// ---- export ----

// Export is all the data held about a user.
type Export struct {
	ExportedAt          time.Time
	Organization        domain.Organization
	User                domain.User
	UserType            domain.UserType
	Account             domain.Account
	Acceptances         []domain.Acceptance
	Sessions            []domain.Session
	InvitationsSent     []domain.Invitation
	InvitationsReceived []domain.Invitation
	PasswordResets      []domain.PasswordReset
	EmailChanges        []domain.EmailChange
	Audit               []domain.AuditEntry
}

// Export gathers the data held about the principal: profile, account,
// acceptances, sessions, invitations sent and received, password resets,
// email changes, and the audit entries about or by the user. Secrets
// (password and token hashes) are for the caller to leave out.
func (s *Service) Export(ctx context.Context, p Principal) (Export, error) {
	orgID, userID := p.User.OrgID, p.User.ID
	x := Export{ExportedAt: store.Timestamp(s.now()), User: p.User, UserType: p.UserType}
	var err error
	steps := []func() error{
		func() error { x.Organization, err = s.store.OrganizationByID(ctx, orgID); return err },
		func() error { x.Account, err = s.store.AccountByID(ctx, orgID, p.User.AccountID); return err },
		func() error { x.Acceptances, err = s.store.AcceptancesByUser(ctx, orgID, userID); return err },
		func() error { x.Sessions, err = s.store.SessionsByUser(ctx, orgID, userID, s.now()); return err },
		func() error { x.InvitationsSent, err = s.store.InvitationsSentBy(ctx, orgID, userID); return err },
		func() error {
			x.InvitationsReceived, err = s.store.InvitationsReceivedBy(ctx, orgID, userID)
			return err
		},
		func() error { x.PasswordResets, err = s.store.PasswordResetsByUser(ctx, orgID, userID); return err },
		func() error { x.EmailChanges, err = s.store.EmailChangesByUser(ctx, orgID, userID); return err },
		func() error { x.Audit, err = s.store.AuditAboutUser(ctx, orgID, userID); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return Export{}, fmt.Errorf("export: %w", err)
		}
	}
	// Reading the export is itself recorded (after it was gathered, so it is
	// not part of it).
	if err := s.store.AddAudit(ctx, domain.AuditEntry{OrgID: orgID, Actor: "user:" + userID, Action: "user.exported",
		SubjectID: userID, CreatedAt: s.now()}); err != nil {
		return Export{}, fmt.Errorf("export: %w", err)
	}
	return x, nil
}
