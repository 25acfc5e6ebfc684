package flows

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// AccountTypes are the account types the core flow registers.
var accountTypes = []string{domain.AccountCustomerBusiness, domain.AccountCustomerPersonal}

// StartSignup is the input of the first registration step.
type StartSignup struct {
	Organization string
	Email        string
	AccountType  string
	ClientIP     string
}

// StartSignup sends a registration link to a new address, or a "you already
// have an account" notice to a registered one. The caller cannot tell which:
// both succeed the same way.
func (s *Service) StartSignup(ctx context.Context, in StartSignup) error {
	var fields []domain.FieldError
	email, ferr := validEmail("email", in.Email)
	if ferr != nil {
		fields = append(fields, *ferr)
	}
	if in.AccountType == "" {
		fields = append(fields, domain.FieldError{Field: "account_type", Message: "is required"})
	} else if !slices.Contains(accountTypes, in.AccountType) {
		fields = append(fields, domain.FieldError{Field: "account_type", Message: "must be one of " + strings.Join(accountTypes, ", ")})
	}
	if len(fields) > 0 {
		return domain.Invalid(fields...)
	}
	org, err := s.organization(ctx, in.Organization)
	if err != nil {
		return err
	}
	if !org.Onboarding.SelfRegistration.Enabled {
		return domain.Errorf(domain.EForbidden, "self-registration-disabled", "Self-registration is not available.")
	}
	if !org.Onboarding.Offers(in.AccountType) {
		return domain.Invalid(domain.FieldError{Field: "account_type", Message: "is not offered for self-registration"})
	}
	if err := s.rateLimit(ctx, "signup:ip:"+in.ClientIP, s.cfg.Limits.SignupPerIP); err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "signup:email:"+org.ID+":"+domain.NormalizeEmail(email), s.cfg.Limits.SignupPerEmail); err != nil {
		return err
	}

	registered, err := s.store.EmailRegistered(ctx, org.ID, email)
	if err != nil {
		return err
	}
	now := s.now()
	if registered {
		m, err := s.queueMail(org.ID, "already_registered", email, obmail.AlreadyRegisteredData{
			Organization: org.DisplayName, SignInURL: s.cfg.PublicURL + "/login", ResetURL: s.cfg.PublicURL + "/reset-password",
		})
		if err != nil {
			return err
		}
		if err := s.store.InTx(ctx, func(tx *store.Tx) error { return tx.EnqueueMail(ctx, m, now) }); err != nil {
			return fmt.Errorf("start signup: %w", err)
		}
		s.notify()
		return nil
	}

	token, hash, err := auth.NewToken()
	if err != nil {
		return fmt.Errorf("start signup: %w", err)
	}
	ttl := s.cfg.SignupTTL
	if t := org.Onboarding.SignupLinkTTL; t > 0 {
		ttl = time.Duration(t)
	}
	m, err := s.queueMail(org.ID, "signup", email, obmail.SignupData{
		Organization: org.DisplayName, Link: s.link("/register", token), ExpiresIn: humanDuration(ttl),
	})
	if err != nil {
		return err
	}
	su := domain.Signup{
		ID: store.NewID(), OrgID: org.ID, Email: email, AccountType: in.AccountType, TokenHash: hash,
		State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SupersedePendingSignups(ctx, org.ID, email); err != nil {
			return err
		}
		if err := tx.CreateSignup(ctx, su); err != nil {
			return err
		}
		return tx.EnqueueMail(ctx, m, now)
	})
	if err != nil {
		return fmt.Errorf("start signup: %w", err)
	}
	s.notify()
	return nil
}

// Field is one input a registration form asks for.
type Field struct {
	Name      string `json:"name"`
	Label     string `json:"label"`
	Type      string `json:"type"`
	Required  bool   `json:"required"`
	MaxLength int    `json:"max_length,omitempty"`
}

// SignupForm is what a registration link leads to: who registers, and what
// the form must ask.
type SignupForm struct {
	Signup       domain.Signup
	Organization domain.Organization
	Fields       []Field
	Agreements   []domain.Agreement
	Policy       auth.PolicyDescription
}

const maxFieldLength = 200

// formFields are the fields asked of an account type.
func formFields(accountType string) []Field {
	var f []Field
	if accountType == domain.AccountCustomerBusiness {
		f = append(f, Field{Name: "customer.name", Label: "Company name", Type: "string", Required: true, MaxLength: maxFieldLength})
	}
	return append(f,
		Field{Name: "user.first_name", Label: "First name", Type: "string", Required: true, MaxLength: maxFieldLength},
		Field{Name: "user.last_name", Label: "Last name", Type: "string", Required: true, MaxLength: maxFieldLength},
		Field{Name: "user.phone", Label: "Phone", Type: "phone", Required: false, MaxLength: 32},
	)
}

// targetedAgreements returns the current agreements that apply to accountType.
func targetedAgreements(all []domain.Agreement, accountType string) []domain.Agreement {
	var out []domain.Agreement
	for _, a := range all {
		if a.Targets(accountType) {
			out = append(out, a)
		}
	}
	return out
}

// signup loads the signup a link token names: 404 when unknown, 410 when used,
// replaced or expired.
func (s *Service) signup(ctx context.Context, token string) (domain.Signup, error) {
	notFound := domain.Errorf(domain.ENotFound, "signup-not-found", "This registration link is not valid.")
	if !auth.WellFormedToken(token) {
		return domain.Signup{}, notFound
	}
	su, err := s.store.SignupByTokenHash(ctx, auth.HashToken(token))
	if store.IsNotFound(err) {
		return su, notFound
	}
	if err != nil {
		return su, err
	}
	switch {
	case su.State == domain.SignupCompleted:
		return su, domain.Errorf(domain.EGone, "signup-used", "This registration link was already used.")
	case su.State != domain.SignupPending:
		return su, domain.Errorf(domain.EGone, "signup-replaced", "A newer registration link was sent; use that one.")
	case !s.now().Before(su.ExpiresAt):
		return su, domain.Errorf(domain.EGone, "signup-expired", "This registration link has expired. Start again to get a new one.")
	}
	return su, nil
}

// Signup returns the registration form a link token leads to.
func (s *Service) Signup(ctx context.Context, token string) (SignupForm, error) {
	su, err := s.signup(ctx, token)
	if err != nil {
		return SignupForm{}, err
	}
	org, err := s.store.OrganizationByID(ctx, su.OrgID)
	if err != nil {
		return SignupForm{}, err
	}
	all, err := s.store.CurrentAgreements(ctx, org.ID)
	if err != nil {
		return SignupForm{}, err
	}
	return SignupForm{
		Signup: su, Organization: org, Fields: formFields(su.AccountType),
		Agreements: targetedAgreements(all, su.AccountType), Policy: s.policy.Describe(),
	}, nil
}

// Completion is the filled-in registration form.
type Completion struct {
	Customer           map[string]any
	User               map[string]any
	Password           string
	AcceptedAgreements []string
}

// Registration is what a completed registration created.
type Registration struct {
	Organization domain.Organization
	Account      domain.Account
	User         domain.User
	UserType     domain.UserType
	Location     *domain.Location
}

var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 ()./-]{3,30}$`)

// CompleteSignup validates the form and, in one transaction, creates the
// customer, its first user (the account administrator), the default location,
// the agreement acceptances, consumes the link and queues the welcome mail.
// A rejected completion changes nothing and leaves the link usable.
func (s *Service) CompleteSignup(ctx context.Context, token string, in Completion) (Registration, error) {
	su, err := s.signup(ctx, token)
	if err != nil {
		return Registration{}, err
	}
	org, err := s.store.OrganizationByID(ctx, su.OrgID)
	if err != nil {
		return Registration{}, err
	}
	all, err := s.store.CurrentAgreements(ctx, org.ID)
	if err != nil {
		return Registration{}, err
	}
	agreements := targetedAgreements(all, su.AccountType)

	values, fields := validateForm(formFields(su.AccountType), in)
	for _, v := range s.policy.Check(in.Password, su.Email) {
		fields = append(fields, domain.FieldError{Field: "password", Message: v.Message})
	}
	fields = append(fields, checkAgreements(agreements, in.AcceptedAgreements)...)
	if len(fields) > 0 {
		return Registration{}, domain.Invalid(fields...)
	}
	registeredErr := domain.Errorf(domain.EConflict, "email-registered", "An account with this email address was created in the meantime. Sign in instead.")
	if registered, err := s.store.EmailRegistered(ctx, org.ID, su.Email); err != nil {
		return Registration{}, err
	} else if registered {
		return Registration{}, registeredErr
	}
	utName := org.Onboarding.DefaultUserTypes[su.AccountType]
	if utName == "" {
		utName = "customer_admin"
	}
	ut, err := s.store.UserTypeByName(ctx, org.ID, utName)
	if err != nil {
		return Registration{}, fmt.Errorf("default user type %q: %w", utName, err)
	}

	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return Registration{}, fmt.Errorf("complete signup: %w", err)
	}

	now := s.now()
	custType := domain.CustomerPersonal
	name := strings.TrimSpace(values["user.first_name"] + " " + values["user.last_name"])
	if su.AccountType == domain.AccountCustomerBusiness {
		custType, name = domain.CustomerBusiness, values["customer.name"]
	}
	reg := Registration{Organization: org, UserType: ut}
	reg.Account = domain.Account{
		ID: store.NewID(), OrgID: org.ID, Kind: domain.KindCustomer, Type: custType, Name: name,
		Properties: map[string]string{}, Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now, UpdatedAt: now,
	}
	reg.User = domain.User{
		ID: store.NewID(), OrgID: org.ID, AccountID: reg.Account.ID, UserTypeID: ut.ID, Email: su.Email,
		FirstName: values["user.first_name"], LastName: values["user.last_name"], Phone: values["user.phone"],
		Properties: map[string]string{}, PasswordHash: hash, Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now,
	}
	if org.Onboarding.DefaultLocation {
		locName := "Home"
		if custType == domain.CustomerBusiness {
			locName = "Location"
		}
		reg.Location = &domain.Location{ID: store.NewID(), OrgID: org.ID, AccountID: reg.Account.ID, Name: locName, CreatedAt: now}
	}
	welcome, err := s.queueMail(org.ID, "welcome", su.Email, obmail.WelcomeData{
		Organization: org.DisplayName, FirstName: reg.User.FirstName, SignInURL: s.cfg.PublicURL + "/login", AccountType: custType,
	})
	if err != nil {
		return Registration{}, err
	}

	gone := errors.New("signup no longer pending")
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.ConsumeSignup(ctx, su.ID, reg.User.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return gone
		}
		if err := tx.CreateAccount(ctx, reg.Account); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, reg.User); err != nil {
			return err
		}
		if reg.Location != nil {
			if err := tx.CreateLocation(ctx, *reg.Location); err != nil {
				return err
			}
		}
		for _, a := range agreements {
			if !slices.Contains(in.AcceptedAgreements, a.ID) {
				continue
			}
			if err := tx.CreateAcceptance(ctx, domain.Acceptance{
				ID: store.NewID(), OrgID: org.ID, UserID: reg.User.ID, AgreementID: a.ID, Name: a.Name, Version: a.Version, AcceptedAt: now,
			}); err != nil {
				return err
			}
		}
		if err := tx.EnqueueMail(ctx, welcome, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "user:" + reg.User.ID, Action: "customer.self_registered",
			SubjectID: reg.User.ID, Data: map[string]any{"account_id": reg.Account.ID, "account_type": su.AccountType}, CreatedAt: now})
	})
	switch {
	case errors.Is(err, gone):
		return Registration{}, domain.Errorf(domain.EGone, "signup-used", "This registration link was already used.")
	case store.IsDuplicate(err):
		return Registration{}, registeredErr
	case err != nil:
		return Registration{}, fmt.Errorf("complete signup: %w", err)
	}
	s.notify()
	return reg, nil
}

// validateForm checks the customer and user objects against the fields of the
// form and returns the trimmed values by field name.
func validateForm(form []Field, in Completion) (map[string]string, []domain.FieldError) {
	values := map[string]string{}
	var errs []domain.FieldError
	known := map[string]Field{}
	for _, f := range form {
		known[f.Name] = f
	}
	for _, part := range []struct {
		prefix string
		m      map[string]any
	}{{"customer.", in.Customer}, {"user.", in.User}} {
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := part.prefix + k
			if _, ok := known[name]; !ok {
				errs = append(errs, domain.FieldError{Field: name, Message: "is not a field of this form"})
				continue
			}
			switch v := part.m[k].(type) {
			case string:
				values[name] = strings.TrimSpace(v)
			case nil:
			default:
				errs = append(errs, domain.FieldError{Field: name, Message: "must be a string"})
			}
		}
	}
	for _, f := range form {
		v := values[f.Name]
		switch {
		case v == "":
			if f.Required {
				errs = append(errs, domain.FieldError{Field: f.Name, Message: "is required"})
			}
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
			errs = append(errs, domain.FieldError{Field: f.Name, Message: "contains characters that are not allowed"})
		case f.MaxLength > 0 && utf8.RuneCountInString(v) > f.MaxLength:
			errs = append(errs, domain.FieldError{Field: f.Name, Message: fmt.Sprintf("must be at most %d characters", f.MaxLength)})
		case f.Type == "phone" && !phonePattern.MatchString(v):
			errs = append(errs, domain.FieldError{Field: f.Name, Message: "must be a phone number such as +31 20 123 4567"})
		}
	}
	return values, errs
}

// checkAgreements demands every required agreement and refuses ids that are
// not current agreements of the form.
func checkAgreements(agreements []domain.Agreement, accepted []string) []domain.FieldError {
	var errs []domain.FieldError
	offered := map[string]bool{}
	for _, a := range agreements {
		offered[a.ID] = true
		if a.Required && !slices.Contains(accepted, a.ID) {
			errs = append(errs, domain.FieldError{Field: "accepted_agreements", Message: a.Title + " (version " + fmt.Sprint(a.Version) + ") must be accepted"})
		}
	}
	for _, id := range accepted {
		if !offered[id] {
			errs = append(errs, domain.FieldError{Field: "accepted_agreements", Message: fmt.Sprintf("%q is not a current agreement of this registration", truncate(id, 64))})
		}
	}
	return errs
}

// validEmail checks an address: one plain addr-spec, at most 254 characters.
func validEmail(field, raw string) (string, *domain.FieldError) {
	email := strings.TrimSpace(raw)
	bad := &domain.FieldError{Field: field, Message: "must be an email address such as name@example.com"}
	switch {
	case email == "":
		return "", &domain.FieldError{Field: field, Message: "is required"}
	case len(email) > 254:
		return "", &domain.FieldError{Field: field, Message: "must be at most 254 characters"}
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", bad
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || !strings.Contains(email[at+1:], ".") || strings.ContainsAny(email, " \t\r\n") {
		return "", bad
	}
	return email, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
