package flows

import (
	"context"
	"fmt"

	"github.com/onboard-dev/onboard/internal/domain"
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
