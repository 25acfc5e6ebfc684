package flows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/store"
)

// Login is the input of a sign-in.
type Login struct {
	Organization string
	Email        string
	Password     string
	ClientIP     string
	UserAgent    string
	// Browser opens a browser session (a cookie, with idle expiry) instead
	// of an API session (a bearer token).
	Browser bool
}

// Principal is an authenticated session and the user behind it.
type Principal struct {
	Session  domain.Session
	User     domain.User
	UserType domain.UserType
	Account  domain.Account
	// RequiredActions must be done before the session may do anything but
	// them (and read /me).
	RequiredActions []string
}

// Can reports whether the principal holds a permission.
func (p Principal) Can(perm string) bool { return p.UserType.Has(perm) }

func invalidCredentials() error {
	return domain.Errorf(domain.EUnauthorized, "invalid-credentials", "The email address or password is not correct.")
}

// Login checks an email and password and opens a session. An unknown address
// and a wrong password fail alike, after the same work.
func (s *Service) Login(ctx context.Context, in Login) (token string, p Principal, err error) {
	email, ferr := ValidEmail("email", in.Email)
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
		return "", p, RateLimited(d.RetryAfter)
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
	acct, err := s.store.AccountByID(ctx, org.ID, user.AccountID)
	if err != nil {
		return "", p, err
	}
	if err := canSignIn(acct, user); err != nil {
		return "", p, err
	}
	ut, err := s.store.UserTypeByID(ctx, org.ID, user.UserTypeID)
	if err != nil {
		return "", p, err
	}
	actions, err := s.requiredActions(ctx, org, acct, user)
	if err != nil {
		return "", p, err
	}
	kind := domain.SessionAPI
	if in.Browser {
		kind = domain.SessionBrowser
	}
	token, sess, err := s.openSession(ctx, user, kind, in.ClientIP, in.UserAgent)
	if err != nil {
		return "", p, fmt.Errorf("login: %w", err)
	}
	return token, Principal{Session: sess, User: user, UserType: ut, Account: acct, RequiredActions: actions}, nil
}

// canSignIn says why a user whose password is right still may not sign in.
func canSignIn(acct domain.Account, user domain.User) error {
	switch {
	case acct.Status == domain.StatusPendingApproval || user.Status == domain.StatusPendingApproval:
		return domain.Errorf(domain.EForbidden, "approval-pending", "This account is waiting for approval by the organization. You will get an email when it is decided.")
	case acct.Status == domain.StatusRejected || user.Status == domain.StatusRejected:
		return domain.Errorf(domain.EForbidden, "approval-rejected", "This account was not approved and cannot sign in.")
	case acct.Status != domain.StatusActive || user.Status != domain.StatusActive:
		return domain.Errorf(domain.EForbidden, "account-inactive", "This account cannot sign in.")
	}
	return nil
}

// requiredActions lists what the user must do before using the session:
// accept current versions of required agreements of its account type, and
// confirm the customer's details when the back office created the customer
// and the organization asks for verification.
func (s *Service) requiredActions(ctx context.Context, org domain.Organization, acct domain.Account, user domain.User) ([]string, error) {
	actions := []string{}
	pending, err := s.pendingAgreements(ctx, acct, user)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		actions = append(actions, domain.ActionAcceptAgreements)
	}
	if org.Onboarding.CustomerVerification && acct.Kind == domain.KindCustomer && acct.Origin == domain.OriginBackOffice && acct.VerifiedAt == nil {
		actions = append(actions, domain.ActionVerifyCustomer)
	}
	return actions, nil
}

// pendingAgreements are the current required agreements of the account type
// whose current version the user has not accepted.
func (s *Service) pendingAgreements(ctx context.Context, acct domain.Account, user domain.User) ([]domain.Agreement, error) {
	status, err := s.agreementStatus(ctx, acct, user)
	if err != nil {
		return nil, err
	}
	var out []domain.Agreement
	for _, a := range status {
		if a.Required && !a.Accepted {
			out = append(out, a.Agreement)
		}
	}
	return out, nil
}

// AgreementStatus is a current agreement and whether the user accepted it.
type AgreementStatus struct {
	domain.Agreement
	Accepted   bool
	AcceptedAt *time.Time
}

func (s *Service) agreementStatus(ctx context.Context, acct domain.Account, user domain.User) ([]AgreementStatus, error) {
	all, err := s.store.CurrentAgreements(ctx, user.OrgID)
	if err != nil {
		return nil, err
	}
	accepted, err := s.store.AcceptancesByUser(ctx, user.OrgID, user.ID)
	if err != nil {
		return nil, err
	}
	byID := map[string]time.Time{}
	for _, a := range accepted {
		byID[a.AgreementID] = a.AcceptedAt
	}
	var out []AgreementStatus
	for _, a := range targetedAgreements(all, acct.AccountType()) {
		st := AgreementStatus{Agreement: a}
		if at, ok := byID[a.ID]; ok {
			st.Accepted, st.AcceptedAt = true, &at
		}
		out = append(out, st)
	}
	return out, nil
}

// MyAgreements lists the current agreements of the principal's account type
// and whether the principal accepted each.
func (s *Service) MyAgreements(ctx context.Context, p Principal) ([]AgreementStatus, error) {
	return s.agreementStatus(ctx, p.Account, p.User)
}

// AcceptAgreements records the principal's acceptance of current agreements.
// Ids that are not current agreements of the account type are refused; ones
// already accepted are left as they are.
func (s *Service) AcceptAgreements(ctx context.Context, p Principal, ids []string) ([]AgreementStatus, error) {
	status, err := s.agreementStatus(ctx, p.Account, p.User)
	if err != nil {
		return nil, err
	}
	byID := map[string]AgreementStatus{}
	for _, a := range status {
		byID[a.ID] = a
	}
	var fields []domain.FieldError
	if len(ids) == 0 {
		fields = append(fields, domain.FieldError{Field: "accepted", Message: "must list at least one agreement id"})
	}
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			fields = append(fields, domain.FieldError{Field: "accepted", Message: fmt.Sprintf("%q is not a current agreement of this account", truncate(id, 64))})
		}
	}
	if len(fields) > 0 {
		return nil, domain.Invalid(fields...)
	}
	org, err := s.orgByID(ctx, p.User.OrgID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			a := byID[id]
			if a.Accepted {
				continue
			}
			if err := tx.CreateAcceptance(ctx, domain.Acceptance{ID: store.NewID(), OrgID: p.User.OrgID, UserID: p.User.ID,
				AgreementID: a.ID, Name: a.Name, Version: a.Version, AcceptedAt: now}); err != nil && !store.IsDuplicate(err) {
				return err
			} else if err == nil {
				if err := emit(ctx, tx, org, now, p.User.ID, events.AgreementAccepted{UserID: p.User.ID, AccountID: p.User.AccountID,
					Agreement: a.Name, Version: a.Version}); err != nil {
					return err
				}
			}
			if err := tx.AddAudit(ctx, domain.AuditEntry{OrgID: p.User.OrgID, Actor: "user:" + p.User.ID, Action: "agreement.accepted",
				SubjectID: p.User.ID, Data: map[string]any{"agreement": a.Name, "version": a.Version}, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accept agreements: %w", err)
	}
	return s.agreementStatus(ctx, p.Account, p.User)
}

// CustomerDetails confirm a back-office customer's contact details.
type CustomerDetails struct {
	Phone   string
	Address string
}

// VerifyCustomer confirms the principal's customer's details (customer
// verification), storing phone and address on the customer.
func (s *Service) VerifyCustomer(ctx context.Context, p Principal, in CustomerDetails) (domain.Account, error) {
	if p.Account.Kind != domain.KindCustomer {
		return domain.Account{}, domain.Errorf(domain.EForbidden, "not-a-customer", "Only customer accounts have customer details to confirm.")
	}
	var fields []domain.FieldError
	phone, address := strings.TrimSpace(in.Phone), strings.TrimSpace(in.Address)
	if msg := s.checkValue(Field{Name: "phone", Type: "phone", Required: true, MaxLength: 32}, phone); msg != "" {
		fields = append(fields, domain.FieldError{Field: "phone", Message: msg})
	}
	if msg := s.checkValue(Field{Name: "address", Type: "string", Required: true, MaxLength: 500}, address); msg != "" {
		fields = append(fields, domain.FieldError{Field: "address", Message: msg})
	}
	if len(fields) > 0 {
		return domain.Account{}, domain.Invalid(fields...)
	}
	props := map[string]string{}
	for k, v := range p.Account.Properties {
		props[k] = v
	}
	props["phone"], props["address"] = phone, address
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.VerifyAccount(ctx, p.User.OrgID, p.Account.ID, props, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: p.User.OrgID, Actor: "user:" + p.User.ID, Action: "customer.verified",
			SubjectID: p.Account.ID, CreatedAt: now})
	})
	if err != nil {
		return domain.Account{}, fmt.Errorf("verify customer: %w", err)
	}
	return s.store.AccountByID(ctx, p.User.OrgID, p.Account.ID)
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
	if sess.Kind != domain.SessionAPI {
		return Principal{}, unauth
	}
	return s.principal(ctx, sess)
}

// principal loads the user, account, user type and required actions of a
// session, refusing users who may no longer sign in.
func (s *Service) principal(ctx context.Context, sess domain.Session) (Principal, error) {
	unauth := domain.Errorf(domain.EUnauthorized, "unauthenticated", "A valid session token is required.")
	user, err := s.store.UserByID(ctx, sess.OrgID, sess.UserID)
	if store.IsNotFound(err) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	acct, err := s.store.AccountByID(ctx, sess.OrgID, user.AccountID)
	if store.IsNotFound(err) {
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	if canSignIn(acct, user) != nil {
		return Principal{}, unauth
	}
	ut, err := s.store.UserTypeByID(ctx, sess.OrgID, user.UserTypeID)
	if err != nil {
		return Principal{}, err
	}
	org, err := s.orgByID(ctx, sess.OrgID)
	if store.IsNotFound(err) {
		// The organization was disabled: its sessions open nothing.
		return Principal{}, unauth
	}
	if err != nil {
		return Principal{}, err
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	actions, err := s.requiredActions(ctx, org, acct, user)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Session: sess, User: user, UserType: ut, Account: acct, RequiredActions: actions}, nil
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
	acct := p.Account
	locs, err := s.store.LocationsByAccount(ctx, p.User.OrgID, acct.ID)
	if err != nil {
		return Profile{}, err
	}
	return Profile{User: p.User, UserType: p.UserType, Account: acct, Locations: locs}, nil
}
