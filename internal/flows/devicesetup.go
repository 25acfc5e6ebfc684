package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// StartDeviceSetupSignup starts the registration of a device owner through
// the self-service device setup of org (the caller checked that the setup
// is enabled): like StartSignup it answers the same whether the address is
// registered or not, with the same rate limits, but the email requirement
// is the device setup's and the account is made, when the mailed form is
// completed, from the device setup's account template.
func (s *Service) StartDeviceSetupSignup(ctx context.Context, org domain.Organization, rawEmail, clientIP, lang string) error {
	email, ferr := ValidEmail("email", rawEmail)
	if ferr != nil {
		return domain.Invalid(*ferr)
	}
	ds := org.Onboarding.DeviceSetup
	if req := ds.EmailRequirement; req != "" {
		re, err := s.wholeRegexp(req)
		if err != nil {
			return fmt.Errorf("device setup email requirement of %s: %w", org.Name, err)
		}
		if !re.MatchString(email) {
			return domain.Invalid(domain.FieldError{Field: "email", Message: "is not accepted for self-registration here"})
		}
	}
	if err := s.rateLimit(ctx, "signup:ip:"+clientIP, s.cfg.Limits.SignupPerIP); err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "signup:email:"+org.ID+":"+domain.NormalizeEmail(email), s.cfg.Limits.SignupPerEmail); err != nil {
		return err
	}
	return s.EnqueueJob(ctx, org.ID, jobSignup, email, signupJob{Email: email, AccountType: ds.AccountTemplate.AccountTypeOrDefault(),
		Language: lang, Purpose: domain.SignupDeviceSetup})
}

// deviceSetupUserType is the user type a completed sign-up's first user
// gets: the device setup's account template's for a device-setup sign-up
// that names one, else the configuration's default of the account type.
func deviceSetupUserType(org domain.Organization, purpose, accountType string) string {
	if purpose == domain.SignupDeviceSetup && org.Onboarding.DeviceSetup.AccountTemplate.UserType != "" {
		return org.Onboarding.DeviceSetup.AccountTemplate.UserType
	}
	return org.Onboarding.DefaultUserTypes[accountType]
}

// DeviceOwnerAccountTx returns, inside tx, the customer that a device
// provisioned with a back-office installation code without an account
// belongs to, given its owner's email address:
//   - the customer of the organization's user with that address, when there
//     is one (an owner already known gets the device in their own list; a
//     user still in status invited is sent the invitation again);
//   - else a new customer made from the device setup's account template,
//     with that address as its first user, in status invited, and an
//     invitation mailed to choose a password (InviteExistingUserTx).
//
// The email must be valid already (ValidEmail). created tells whether the
// customer is new. The caller commits and then calls WakeMail.
func (s *Service) DeviceOwnerAccountTx(ctx context.Context, tx *store.Tx, org domain.Organization, email, lang string, now time.Time) (acct domain.Account, created bool, err error) {
	u, err := tx.UserByEmail(ctx, org.ID, email)
	switch {
	case err == nil:
		if acct, err = tx.AccountByID(ctx, org.ID, u.AccountID); err != nil {
			return acct, false, err
		}
		if acct.Kind != domain.KindCustomer {
			return acct, false, domain.Invalid(domain.FieldError{Field: "owner_email",
				Message: "belongs to a user who is not a customer's; give the address of the device's owner"})
		}
		if u.Status == domain.StatusInvited && u.PasswordHash == "" {
			if err := s.InviteExistingUserTx(ctx, tx, org, acct, u, now); err != nil {
				return acct, false, err
			}
		}
		return acct, false, nil
	case !store.IsNotFound(err):
		return acct, false, err
	}
	accountType := org.Onboarding.DeviceSetup.AccountTemplate.AccountTypeOrDefault()
	kind, typ := domain.KindAndType(accountType)
	utName := deviceSetupUserType(org, domain.SignupDeviceSetup, accountType)
	ut, err := tx.UserTypeByName(ctx, org.ID, utName)
	if err != nil {
		return acct, false, fmt.Errorf("device owner user type %q: %w", utName, err)
	}
	acct = domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: kind, Type: typ, Name: email,
		Properties: org.Onboarding.DeviceSetup.AccountTemplate.Settings, Status: domain.StatusActive, Origin: domain.OriginBackOffice,
		CreatedAt: now, UpdatedAt: now}
	u = domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut.ID, Email: email,
		Properties: map[string]string{}, Status: domain.StatusInvited, Language: knownLanguage(lang), CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateAccount(ctx, acct); err != nil {
		return acct, false, err
	}
	if err := tx.CreateUser(ctx, u); err != nil {
		return acct, false, err
	}
	if err := emitAccountCreated(ctx, tx, org, acct, now); err != nil {
		return acct, false, err
	}
	if err := emitUserCreated(ctx, tx, org, acct, u, ut.Name, now); err != nil {
		return acct, false, err
	}
	if err := s.InviteExistingUserTx(ctx, tx, org, acct, u, now); err != nil {
		return acct, false, err
	}
	return acct, true, nil
}

// WakeMail wakes the mail worker after a commit that queued mail.
func (s *Service) WakeMail() { s.notify() }
