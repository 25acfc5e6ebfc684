package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// StartSignup is the input of the first registration step.
type StartSignup struct {
	Organization string
	Email        string
	AccountType  string
	ClientIP     string
	// Language is the language of the page the request came from; the
	// mails of the registration use it.
	Language string
}

// StartSignup sends a registration link to a new address, or a "you already
// have an account" notice to a registered one. The caller cannot tell which:
// both write the same job and succeed the same way (see runSignupJob).
func (s *Service) StartSignup(ctx context.Context, in StartSignup) error {
	var fields []domain.FieldError
	email, ferr := ValidEmail("email", in.Email)
	if ferr != nil {
		fields = append(fields, *ferr)
	}
	if in.AccountType == "" {
		fields = append(fields, domain.FieldError{Field: "account_type", Message: "is required"})
	} else if !slices.Contains(domain.AccountTypes, in.AccountType) {
		fields = append(fields, domain.FieldError{Field: "account_type", Message: "must be one of " + strings.Join(domain.AccountTypes, ", ")})
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
	if req := org.Onboarding.EmailRequirement; req != "" {
		re, err := s.wholeRegexp(req)
		if err != nil {
			return fmt.Errorf("email requirement of %s: %w", org.Name, err)
		}
		if !re.MatchString(email) {
			return domain.Invalid(domain.FieldError{Field: "email", Message: "is not accepted for self-registration here"})
		}
	}
	if err := s.rateLimitAll(ctx,
		ratelimit.Check{Key: "signup:ip:" + in.ClientIP, Rule: s.cfg.Limits.SignupPerIP},
		ratelimit.Check{Key: "signup:email:" + org.ID + ":" + domain.NormalizeEmail(email), Rule: s.cfg.Limits.SignupPerEmail},
	); err != nil {
		return err
	}

	return s.EnqueueJob(ctx, org.ID, jobSignup, email, signupJob{Email: email, AccountType: in.AccountType, Language: in.Language})
}

// signupJob is a signup start waiting for the job worker.
type signupJob struct {
	Email       string `json:"email"`
	AccountType string `json:"account_type"`
	// Language is the language of the page the signup was started on.
	Language string `json:"language,omitempty"`
	// Purpose is domain.SignupDeviceSetup for a device owner's sign-up.
	Purpose string `json:"purpose,omitempty"`
}

// runSignupJob queues, in tx, a registration link for a new address (its
// earlier pending links are superseded) or the "you already have an account"
// notice for a registered one.
func (s *Service) runSignupJob(ctx context.Context, tx *store.Tx, orgID string, p signupJob, now time.Time) (bool, error) {
	org, err := s.orgByID(ctx, orgID)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	registered, err := tx.EmailRegistered(ctx, org.ID, p.Email)
	if err != nil {
		return false, err
	}
	if registered {
		m, err := s.QueueMail(org, p.Language, "already_registered", p.Email, obmail.AlreadyRegisteredData{
			Organization: displayName(org), SignInURL: s.pageURL(org, "/login"), ResetURL: s.pageURL(org, "/reset-password"),
		})
		if err != nil {
			return false, err
		}
		return true, tx.EnqueueMail(ctx, m, now)
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return false, fmt.Errorf("start signup: %w", err)
	}
	ttl := s.cfg.SignupTTL
	if t := org.Onboarding.SignupLinkTTL; t > 0 {
		ttl = time.Duration(t)
	}
	m, err := s.QueueMail(org, p.Language, "signup", p.Email, obmail.SignupData{
		Organization: displayName(org), Link: s.pageLink(org, "/register", token), ExpiresIn: HumanDuration(ttl),
	})
	if err != nil {
		return false, err
	}
	su := domain.Signup{
		ID: store.NewID(), OrgID: org.ID, Email: p.Email, AccountType: p.AccountType, TokenHash: hash,
		State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(ttl), Language: knownLanguage(p.Language),
		Purpose: p.Purpose,
	}
	if err := tx.SupersedePendingSignups(ctx, org.ID, p.Email); err != nil {
		return false, err
	}
	if err := tx.CreateSignup(ctx, su); err != nil {
		return false, err
	}
	if err := tx.FunnelSignupStarted(ctx, su.ID, org.ID, su.AccountType, now); err != nil {
		return false, err
	}
	return true, tx.EnqueueMail(ctx, m, now)
}
