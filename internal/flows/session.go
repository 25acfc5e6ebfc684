package flows

import (
	"context"
	"fmt"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Login is the input of a sign-in.
type Login struct {
	Organization string
	Email        string
	Password     string
	ClientIP     string
	UserAgent    string
}

// Principal is an authenticated session and the user behind it.
type Principal struct {
	Session  domain.Session
	User     domain.User
	UserType domain.UserType
}

// Can reports whether the principal holds a permission.
func (p Principal) Can(perm string) bool { return p.UserType.Has(perm) }

func invalidCredentials() error {
	return domain.Errorf(domain.EUnauthorized, "invalid-credentials", "The email address or password is not correct.")
}

// Login checks an email and password and opens a session. An unknown address
// and a wrong password fail alike, after the same work.
func (s *Service) Login(ctx context.Context, in Login) (token string, p Principal, err error) {
	email, ferr := validEmail("email", in.Email)
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
		return "", p, domain.Invalid(fields...)
	}
	org, err := s.organization(ctx, in.Organization)
	if err != nil {
		return "", p, err
	}
	if err := s.rateLimit(ctx, "login:ip:"+in.ClientIP, s.cfg.Limits.LoginPerIP); err != nil {
		return "", p, err
	}
	failKey := "login:fail:" + org.ID + ":" + domain.NormalizeEmail(email)
	d, err := s.limiter.Peek(ctx, failKey, s.cfg.Limits.LoginFailuresPerEmail)
	if err != nil {
		return "", p, fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return "", p, rateLimited(d.RetryAfter)
	}

	user, err := s.store.UserByEmail(ctx, org.ID, email)
	switch {
	case store.IsNotFound(err):
		s.hasher.VerifyDummy(ctx, in.Password)
		return "", p, s.loginFailed(ctx, failKey)
	case err != nil:
		return "", p, err
	}
	if user.PasswordHash == "" {
		s.hasher.VerifyDummy(ctx, in.Password)
		return "", p, s.loginFailed(ctx, failKey)
	}
	ok, err := s.hasher.Verify(ctx, in.Password, user.PasswordHash)
	if err != nil {
		return "", p, fmt.Errorf("login: %w", err)
	}
	if !ok {
		return "", p, s.loginFailed(ctx, failKey)
	}
	if user.Status != domain.StatusActive {
		return "", p, domain.Errorf(domain.EForbidden, "account-inactive", "This account cannot sign in.")
	}
	ut, err := s.store.UserTypeByID(ctx, org.ID, user.UserTypeID)
	if err != nil {
		return "", p, err
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return "", p, fmt.Errorf("login: %w", err)
	}
	now := s.now()
	sess := domain.Session{
		ID: store.NewID(), OrgID: org.ID, UserID: user.ID, TokenHash: hash, CreatedAt: store.Timestamp(now),
		ExpiresAt: store.Timestamp(now.Add(s.cfg.SessionTTL)), ClientIP: in.ClientIP, UserAgent: truncate(in.UserAgent, 256),
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "user:" + user.ID, Action: "session.created",
			SubjectID: user.ID, Data: map[string]any{"session_id": sess.ID, "client_ip": in.ClientIP}, CreatedAt: now})
	})
	if err != nil {
		return "", p, fmt.Errorf("login: %w", err)
	}
	return token, Principal{Session: sess, User: user, UserType: ut}, nil
}

// loginFailed counts a failed sign-in against the address and returns the
// error to answer.
func (s *Service) loginFailed(ctx context.Context, key string) error {
	if _, err := s.limiter.Allow(ctx, key, s.cfg.Limits.LoginFailuresPerEmail); err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	return invalidCredentials()
}

// Authenticate returns the principal of a session token.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	unauth := domain.Errorf(domain.EUnauthorized, "unauthenticated", "A valid session token is required.")
	if !auth.WellFormedToken(token) {
		return Principal{}, unauth
	}
	sess, err := s.store.SessionByTokenHash(ctx, auth.HashToken(token), s.now())
	if store.IsNotFound(err) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	user, err := s.store.UserByID(ctx, sess.OrgID, sess.UserID)
	if store.IsNotFound(err) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	if user.Status != domain.StatusActive {
		return Principal{}, unauth
	}
	ut, err := s.store.UserTypeByID(ctx, sess.OrgID, user.UserTypeID)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Session: sess, User: user, UserType: ut}, nil
}

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if err := s.store.DeleteSession(ctx, p.Session.OrgID, p.Session.ID); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// Profile is what a signed-in user sees of themselves.
type Profile struct {
	User      domain.User
	UserType  domain.UserType
	Account   domain.Account
	Locations []domain.Location
}

// Me returns the principal's profile.
func (s *Service) Me(ctx context.Context, p Principal) (Profile, error) {
	acct, err := s.store.AccountByID(ctx, p.User.OrgID, p.User.AccountID)
	if err != nil {
		return Profile{}, err
	}
	locs, err := s.store.LocationsByAccount(ctx, p.User.OrgID, acct.ID)
	if err != nil {
		return Profile{}, err
	}
	return Profile{User: p.User, UserType: p.UserType, Account: acct, Locations: locs}, nil
}
