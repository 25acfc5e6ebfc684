package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// What the sign-in with OpenID Connect (package sso) needs of the flows:
// the first-login registration form and its completion without a password,
// a session for a user an identity provider vouched for, and the password
// check before an identity is linked to an existing user.

// ExternalForm is the first-login registration form of an account type.
type ExternalForm struct {
	Organization domain.Organization
	AccountType  string
	Fields       []Field
	Agreements   []domain.Agreement
}

// RegistrationForm returns the fields and agreements a registration of
// accountType asks for in the organization (no password).
func (s *Service) RegistrationForm(ctx context.Context, orgID, accountType string) (ExternalForm, error) {
	org, err := s.orgByID(ctx, orgID)
	if err != nil {
		return ExternalForm{}, err
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	lookups, err := s.regLookups(ctx, org.ID)
	if err != nil {
		return ExternalForm{}, err
	}
	return ExternalForm{Organization: org, AccountType: accountType, Fields: formFields(org, accountType, lookups.props),
		Agreements: targetedAgreements(lookups.agreements, accountType)}, nil
}

// ExternalRegistration is a first-login registration by an identity an
// OpenID provider vouched for.
type ExternalRegistration struct {
	OrgID       string
	AccountType string // customer_personal or customer_business
	Email       string // verified by the provider
	Language    string
	Completion  Completion // without Password
	// Consume marks the pending registration used, first in the
	// transaction; false: it was used meanwhile (UsedErr is answered).
	Consume func(ctx context.Context, tx *store.Tx, now time.Time) (bool, error)
	// Link links the identity to the new user, in the same transaction.
	Link    func(ctx context.Context, tx *store.Tx, user domain.User, now time.Time) error
	UsedErr error
}

// RegisterExternal creates, in one transaction, the customer, its first
// user (the account administrator, without a password), the default
// location, the agreement acceptances and the identity link, with the same
// rules as CompleteSignup. Only customer account types are accepted.
func (s *Service) RegisterExternal(ctx context.Context, in ExternalRegistration) (Registration, error) {
	if kind, _ := domain.KindAndType(in.AccountType); kind != domain.KindCustomer {
		return Registration{}, fmt.Errorf("register external: %q is not a customer account type", in.AccountType)
	}
	email, ferr := ValidEmail("email", in.Email)
	if ferr != nil {
		return Registration{}, domain.Invalid(*ferr)
	}
	in.Completion.Password = ""
	return s.register(ctx, registration{
		orgID: in.OrgID, accountType: in.AccountType, email: email, language: knownLanguage(in.Language),
		consume: func(ctx context.Context, tx *store.Tx, _ string, now time.Time) (bool, error) {
			return in.Consume(ctx, tx, now)
		},
		linked: func(ctx context.Context, tx *store.Tx, reg Registration, now time.Time) error {
			return in.Link(ctx, tx, reg.User, now)
		},
		usedErr: in.UsedErr,
		action:  "sso_registered",
	}, in.Completion)
}

// SignInUser opens a session (a browser one when browser is set) for a user
// who proved who they are through an identity provider. Users who may not
// sign in (waiting for approval, rejected) get an error and no session.
func (s *Service) SignInUser(ctx context.Context, orgID, userID string, browser bool, clientIP, userAgent string) (string, Principal, error) {
	user, err := s.store.UserByID(ctx, orgID, userID)
	if err != nil {
		return "", Principal{}, fmt.Errorf("sign in: %w", err)
	}
	acct, err := s.store.AccountByID(ctx, orgID, user.AccountID)
	if err != nil {
		return "", Principal{}, fmt.Errorf("sign in: %w", err)
	}
	if err := canSignIn(acct, user); err != nil {
		return "", Principal{}, err
	}
	kind := domain.SessionAPI
	if browser {
		kind = domain.SessionBrowser
	}
	token, sess, err := s.openSession(ctx, user, kind, clientIP, userAgent)
	if err != nil {
		return "", Principal{}, fmt.Errorf("sign in: %w", err)
	}
	p, err := s.principal(ctx, sess)
	return token, p, err
}

// CheckPassword checks the password of a user before an identity is linked
// to it. Wrong passwords count against the address as failed sign-ins do,
// and fail alike.
func (s *Service) CheckPassword(ctx context.Context, orgID, userID, password string) error {
	if password == "" {
		return domain.Invalid(domain.FieldError{Field: "password", Message: "is required"})
	}
	if len(password) > 1024 {
		return domain.Invalid(domain.FieldError{Field: "password", Message: "is too long"})
	}
	user, err := s.store.UserByID(ctx, orgID, userID)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	failKey := "login:fail:" + orgID + ":" + domain.NormalizeEmail(user.Email)
	d, err := s.limiter.Peek(ctx, failKey, s.cfg.Limits.LoginFailuresPerEmail)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return RateLimited(d.RetryAfter)
	}
	if user.PasswordHash == "" {
		s.hasher.VerifyDummy(ctx, password)
		return s.loginFailed(ctx, failKey)
	}
	ok, err := s.hasher.Verify(ctx, password, user.PasswordHash)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if !ok {
		return s.loginFailed(ctx, failKey)
	}
	return nil
}

// OrganizationByID returns an organization by id.
func (s *Service) OrganizationByID(ctx context.Context, id string) (domain.Organization, error) {
	org, err := s.orgByID(ctx, id)
	if err != nil {
		return org, fmt.Errorf("organization: %w", err)
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	return org, nil
}

// LimitSignIn counts a sign-in attempt through an identity provider
// against the client address's sign-in limit (the one of password
// sign-ins).
func (s *Service) LimitSignIn(ctx context.Context, clientIP string) error {
	return s.rateLimit(ctx, "login:ip:"+clientIP, s.cfg.Limits.LoginPerIP)
}
