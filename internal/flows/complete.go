package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// Completion is the filled-in registration form.
type Completion struct {
	Customer           map[string]any // account-level fields, whatever the account kind
	User               map[string]any
	Password           string
	AcceptedAgreements []string
	PartnerCode        string // channel partners joining by code
	ClientIP           string
}

// Registration is what a completed registration created.
type Registration struct {
	Organization domain.Organization
	Account      domain.Account
	User         domain.User
	UserType     domain.UserType
	Location     *domain.Location
	Status       string // active | pending_approval
}

// CompleteSignup validates the form and, in one transaction, creates the
// account (or joins the partner named by its code), its first user with the
// default user type of the account type, the default location, the agreement
// acceptances, consumes the link and queues the welcome (or "awaiting
// approval") mail. A rejected completion changes nothing and leaves the link
// usable.
func (s *Service) CompleteSignup(ctx context.Context, token string, in Completion) (Registration, error) {
	su, err := s.signup(ctx, token)
	if err != nil {
		return Registration{}, err
	}
	return s.register(ctx, registration{
		orgID: su.OrgID, accountType: su.AccountType, email: su.Email, language: su.Language, password: true,
		purpose: su.Purpose,
		consume: func(ctx context.Context, tx *store.Tx, userID string, now time.Time) (bool, error) {
			ok, err := tx.ConsumeSignup(ctx, su.ID, userID, now)
			if err != nil || !ok {
				return ok, err
			}
			return true, tx.FunnelRegistered(ctx, su.ID, userID, now)
		},
		usedErr: domain.Errorf(domain.EGone, "signup-used", "This registration link was already used."),
		action:  "self_registered",
	}, in)
}

// registration is what differs between the ways a registration completes:
// from a mailed link (with a password) or at the first sign-in through an
// OpenID provider (without one).
type registration struct {
	orgID, accountType, email, language string
	// purpose is the signup's purpose (device setup takes its account
	// template's user type).
	purpose string
	// password: the form sets a password; otherwise the user has none and
	// signs in through the identity linked by linked.
	password bool
	// consume runs first in the transaction and reports false when the
	// link or flow was used meanwhile (usedErr is answered then).
	consume func(ctx context.Context, tx *store.Tx, userID string, now time.Time) (bool, error)
	// linked, when set, runs in the transaction after the user is created.
	linked  func(ctx context.Context, tx *store.Tx, reg Registration, now time.Time) error
	usedErr error
	action  string // audit: <kind>.<action>
}

// register validates the form and creates the registration in one
// transaction (see CompleteSignup).
func (s *Service) register(ctx context.Context, su registration, in Completion) (Registration, error) {
	org, err := s.orgByID(ctx, su.orgID)
	if err != nil {
		return Registration{}, err
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	// Property definitions, agreements and user types are cached for up to
	// lookupCacheTTL (see lookupcache.go).
	lookups, err := s.regLookups(ctx, org.ID)
	if err != nil {
		return Registration{}, err
	}
	agreements := targetedAgreements(lookups.agreements, su.accountType)
	join := joinsPartner(org, su.accountType)

	values, fields := s.validateForm(formFields(org, su.accountType, lookups.props), in.Customer, in.User)
	code := NormalizePartnerCode(in.PartnerCode)
	switch {
	case join && code == "":
		fields = append(fields, domain.FieldError{Field: PartnerCodeField, Message: "is required"})
	case join && len(code) > 64:
		fields = append(fields, domain.FieldError{Field: PartnerCodeField, Message: "is not a valid partner code"})
	case !join && in.PartnerCode != "":
		fields = append(fields, domain.FieldError{Field: PartnerCodeField, Message: "is not a field of this form"})
	}
	if su.password {
		for _, v := range s.policy.Check(in.Password, su.email) {
			fields = append(fields, domain.FieldError{Field: "password", Message: v.Message})
		}
	} else if in.Password != "" {
		fields = append(fields, domain.FieldError{Field: "password", Message: "is not a field of this form"})
	}
	fields = append(fields, checkAgreements(agreements, in.AcceptedAgreements)...)
	if len(fields) > 0 {
		return Registration{}, domain.Invalid(fields...)
	}

	// A channel partner joins the partner its code names: a pre-registered
	// one, or one the Partner Provider knows (created below, in the same
	// transaction as the user).
	var partner *domain.Account
	var provided *providedPartner
	if join {
		partner, provided, err = s.resolvePartner(ctx, org, code, in.ClientIP)
		if err != nil {
			return Registration{}, err
		}
	}

	registeredErr := domain.Errorf(domain.EConflict, "email-registered", "An account with this email address was created in the meantime. Sign in instead.")
	if registered, err := s.store.EmailRegistered(ctx, org.ID, su.email); err != nil {
		return Registration{}, err
	} else if registered {
		return Registration{}, registeredErr
	}
	utName := deviceSetupUserType(org, su.purpose, su.accountType)
	ut, ok := lookups.userType(utName)
	if !ok { // perhaps created on another node since the lookups were read
		if ut, err = s.store.UserTypeByName(ctx, org.ID, utName); err != nil {
			return Registration{}, fmt.Errorf("default user type %q of %s: %w", utName, su.accountType, err)
		}
	}

	var hash string
	if su.password {
		if hash, err = s.hasher.Hash(ctx, in.Password); err != nil {
			return Registration{}, fmt.Errorf("complete signup: %w", err)
		}
	}

	now := s.now()
	kind, typ := domain.KindAndType(su.accountType)
	status := domain.StatusActive
	if kind == domain.KindDataRecipient {
		status = domain.StatusPendingApproval
	}
	reg := Registration{Organization: org, UserType: ut, Status: status}
	createAccount := true
	switch {
	case partner != nil:
		reg.Account, createAccount = *partner, false
	case provided != nil:
		reg.Account = domain.Account{Name: provided.Name, Properties: provided.Properties, Origin: domain.OriginPartnerProvider, ExternalRef: code}
	default:
		name := values["customer.name"]
		if typ == domain.CustomerPersonal {
			name = strings.TrimSpace(values["user.first_name"] + " " + values["user.last_name"])
		}
		reg.Account = domain.Account{Name: name, Properties: scoped(values, "customer."), Origin: domain.OriginSelf}
	}
	if createAccount {
		reg.Account.ID, reg.Account.OrgID, reg.Account.Kind, reg.Account.Type = store.NewID(), org.ID, kind, typ
		reg.Account.Status, reg.Account.CreatedAt, reg.Account.UpdatedAt = status, now, now
	}
	userProps := scoped(values, "user.")
	for _, k := range []string{"first_name", "last_name", "phone"} {
		delete(userProps, k)
	}
	reg.User = domain.User{
		ID: store.NewID(), OrgID: org.ID, AccountID: reg.Account.ID, UserTypeID: ut.ID, Email: su.email,
		FirstName: values["user.first_name"], LastName: values["user.last_name"], Phone: values["user.phone"],
		Properties: userProps, PasswordHash: hash, Status: status, CreatedAt: now, UpdatedAt: now,
		Language: su.language,
	}
	if kind == domain.KindCustomer && org.Onboarding.DefaultLocation {
		locName := "Home"
		if typ == domain.CustomerBusiness {
			locName = "Location"
		}
		reg.Location = &domain.Location{ID: store.NewID(), OrgID: org.ID, AccountID: reg.Account.ID, Name: locName, CreatedAt: now}
	}
	var notice domain.OutboxMail
	if status == domain.StatusPendingApproval {
		notice, err = s.QueueMail(org, su.language, obmail.TemplateApprovalPending, su.email, obmail.ApprovalPendingData{
			Organization: displayName(org), Name: reg.Account.Name,
		})
	} else {
		notice, err = s.QueueMail(org, su.language, obmail.TemplateWelcome, su.email, obmail.WelcomeData{
			Organization: displayName(org), FirstName: reg.User.FirstName, SignInURL: s.pageURL(org, "/login"), AccountType: typ,
		})
	}
	if err != nil {
		return Registration{}, err
	}
	// A new partner (its own, or one the Partner Provider described) gets a
	// code of its own so that colleagues can join it.
	var newPartnerCode string
	if createAccount && kind == domain.KindPartner {
		newPartnerCode = code
		if newPartnerCode == "" {
			if newPartnerCode, err = NewPartnerCode(); err != nil {
				return Registration{}, err
			}
		}
	}

	gone := errors.New("signup no longer pending")
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := su.consume(ctx, tx, reg.User.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return gone
		}
		if createAccount {
			if err := tx.CreateAccount(ctx, reg.Account); err != nil {
				return err
			}
			if newPartnerCode != "" {
				if err := tx.SetPartnerCode(ctx, org.ID, reg.Account.ID, newPartnerCode, now); err != nil {
					return err
				}
			}
		}
		if err := tx.CreateUser(ctx, reg.User); err != nil {
			return err
		}
		if createAccount {
			if err := emitAccountCreated(ctx, tx, org, reg.Account, now); err != nil {
				return err
			}
		}
		if err := emitUserCreated(ctx, tx, org, reg.Account, reg.User, ut.Name, now); err != nil {
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
			if err := emitAccepted(ctx, tx, org, reg.User, a, now); err != nil {
				return err
			}
		}
		if su.linked != nil {
			if err := su.linked(ctx, tx, reg, now); err != nil {
				return err
			}
		}
		if err := tx.EnqueueMail(ctx, notice, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "user:" + reg.User.ID, Action: kind + "." + su.action,
			SubjectID: reg.User.ID, Data: map[string]any{"account_id": reg.Account.ID, "account_type": su.accountType,
				"joined_existing": !createAccount, "status": status}, CreatedAt: now})
	})
	switch {
	case errors.Is(err, gone):
		return Registration{}, su.usedErr
	case store.IsDuplicate(err) && provided != nil && strings.Contains(err.Error(), "partner_codes"):
		// Another registration created this provider partner first: retry joins it.
		return Registration{}, domain.Errorf(domain.EConflict, "partner-created-meanwhile", "The partner was just registered by someone else; submit again to join it.")
	case store.IsDuplicate(err):
		return Registration{}, registeredErr
	case err != nil:
		return Registration{}, fmt.Errorf("complete signup: %w", err)
	}
	s.notify()
	return reg, nil
}

// scoped returns the values under prefix, without it.
func scoped(values map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range values {
		if name, ok := strings.CutPrefix(k, prefix); ok && v != "" && name != "name" {
			out[name] = v
		}
	}
	return out
}

// resolvePartner finds the partner a code names: locally, or through the
// Partner Provider. Wrong codes count against the client address.
func (s *Service) resolvePartner(ctx context.Context, org domain.Organization, code, clientIP string) (*domain.Account, *providedPartner, error) {
	key := "partner-code:fail:" + org.ID + ":" + clientIP
	rule := s.cfg.Limits.PartnerCodeFailuresPerIP
	if d, err := s.limiter.Peek(ctx, key, rule); err != nil {
		return nil, nil, fmt.Errorf("rate limit: %w", err)
	} else if !d.Allowed {
		return nil, nil, RateLimited(d.RetryAfter)
	}
	invalid := func() error {
		if _, err := s.limiter.Allow(ctx, key, rule); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		return domain.Invalid(domain.FieldError{Field: PartnerCodeField, Message: "is not a valid partner code"})
	}
	p, err := s.store.PartnerByCode(ctx, org.ID, code)
	switch {
	case err == nil && p.Status == domain.StatusActive:
		return &p, nil, nil
	case err == nil:
		return nil, nil, invalid()
	case !store.IsNotFound(err):
		return nil, nil, err
	}
	if org.Onboarding.PartnerProvider == nil || org.Onboarding.PartnerProvider.URL == "" {
		return nil, nil, invalid()
	}
	pp, err := s.fetchPartner(ctx, org, code)
	if errors.Is(err, errUnknownPartner) {
		return nil, nil, invalid()
	}
	if err != nil {
		s.log.WarnContext(ctx, "partner provider failed", "org", org.Name, "err", err)
		return nil, nil, domain.Errorf(domain.EUnavailable, "partner-provider-unavailable",
			"The partner code could not be checked right now. Try again in a few minutes.")
	}
	return nil, &pp, nil
}
