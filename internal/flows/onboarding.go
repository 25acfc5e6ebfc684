package flows

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// redactedSecret stands for a configured secret in what the admin API shows.
const redactedSecret = ""

// Redacted returns the configuration as the admin API shows it: the Partner
// Provider secret and the identity providers' client secrets are never
// shown (an empty secret on write keeps the stored one).
func Redacted(o domain.Onboarding) domain.Onboarding {
	if o.PartnerProvider != nil {
		pp := *o.PartnerProvider
		pp.Secret = redactedSecret
		o.PartnerProvider = &pp
	}
	if o.SSO != nil {
		sso := *o.SSO
		sso.Providers = make([]domain.SSOProvider, len(o.SSO.Providers))
		for i, p := range o.SSO.Providers {
			p.ClientSecret = redactedSecret
			sso.Providers[i] = p
		}
		o.SSO = &sso
	}
	return o
}

// PutOnboarding validates and stores an organization's onboarding
// configuration, recording the change (before and after, secrets redacted)
// in the audit log. The configuration is checked against the user types in
// the transaction that stores it, with the organization's row and its user
// types locked (PostgreSQL; SQLite transactions are serialized): a user type
// changed meanwhile cannot slip between the check and the write.
func (s *Service) PutOnboarding(ctx context.Context, adm Admin, org domain.Organization, next domain.Onboarding) (domain.Onboarding, error) {
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.LockOrganization(ctx, org.ID)
		if err != nil {
			return err
		}
		prev := cur.Onboarding.WithDefaults()
		if next.PartnerProvider != nil && next.PartnerProvider.Secret == "" && prev.PartnerProvider != nil {
			pp := *next.PartnerProvider
			pp.Secret = prev.PartnerProvider.Secret
			next.PartnerProvider = &pp
		}
		keepSSOSecrets(&next, prev)
		userTypes, err := tx.LockUserTypes(ctx, org.ID)
		if err != nil {
			return err
		}
		// Whether a logo was uploaded is kept by PUT and DELETE …/logo.
		next.Branding.LogoUploaded = prev.Branding.LogoUploaded
		if fields := ValidateOnboarding(next, userTypes, s.http.CheckURL); len(fields) > 0 {
			return domain.Invalid(fields...)
		}
		next = next.WithDefaults()
		if err := tx.UpdateOnboarding(ctx, org.ID, next); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: adm.Actor(), Action: "onboarding.updated", SubjectID: org.ID,
			Data: map[string]any{"before": Redacted(prev), "after": Redacted(next)}, CreatedAt: now})
	})
	s.orgs.forget()
	if err != nil {
		return next, fmt.Errorf("put onboarding: %w", err)
	}
	return next, nil
}

// ValidateOnboarding checks a configuration against the organization's user
// types and returns every problem as a field error; checkURL judges the
// URLs onboard will call (outbound.Client.CheckURL).
func ValidateOnboarding(o domain.Onboarding, userTypes []domain.UserType, checkURL func(string) error) []domain.FieldError {
	var errs []domain.FieldError
	add := func(field, msg string) { errs = append(errs, domain.FieldError{Field: field, Message: msg}) }
	seen := map[string]bool{}
	for i, t := range o.SelfRegistration.AccountTypes {
		f := fmt.Sprintf("self_registration.account_types[%d]", i)
		switch {
		case !slices.Contains(domain.AccountTypes, t):
			add(f, "must be one of "+strings.Join(domain.AccountTypes, ", "))
		case seen[t]:
			add(f, "is listed twice")
		}
		seen[t] = true
	}
	b := o.Branding
	if b.AccentColor != "" && !brand.ValidColour(b.AccentColor) {
		add("branding.accent_color", "must be a colour written #rrggbb")
	}
	if utf8.RuneCountInString(b.DisplayName) > 100 {
		add("branding.display_name", "must be at most 100 characters")
	} else if strings.ContainsFunc(b.DisplayName, unicode.IsControl) {
		add("branding.display_name", "must not contain control characters such as tabs or line breaks")
	}
	if b.LogoURL != "" {
		u, err := url.Parse(b.LogoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(b.LogoURL) > 2048 {
			add("branding.logo_url", "must be an absolute https URL of at most 2048 characters")
		}
	}
	if o.EmailRequirement != "" {
		if len(o.EmailRequirement) > 1000 {
			add("email_requirement", "must be at most 1000 characters")
		} else if _, err := compileWhole(o.EmailRequirement); err != nil {
			add("email_requirement", "is not a valid RE2 regular expression: "+err.Error())
		}
	}
	if ttl := time.Duration(o.SignupLinkTTL); ttl != 0 && (ttl < 5*time.Minute || ttl > 30*24*time.Hour) {
		add("signup_link_ttl", "must be between 5m and 720h")
	}
	byName := map[string]domain.UserType{}
	for _, ut := range userTypes {
		byName[ut.Name] = ut
	}
	for k, v := range o.DefaultUserTypes {
		f := "default_user_types." + k
		ut, ok := byName[v]
		switch {
		case !slices.Contains(domain.AccountTypes, k):
			add(f, "is not an account type")
		case !ok:
			add(f, fmt.Sprintf("user type %q does not exist", v))
		case (k == domain.AccountCustomerBusiness || k == domain.AccountCustomerPersonal) && !ut.Has(domain.PermAccountAdmin):
			add(f, fmt.Sprintf("user type %q must have the %s permission: the first user of a customer is its account administrator", v, domain.PermAccountAdmin))
		}
	}
	if o.SSO != nil {
		errs = append(errs, o.SSO.Validate(checkURL)...)
	}
	errs = append(errs, domain.ValidateDeviceSetup(o.DeviceSetup, userTypes)...)
	if pp := o.PartnerProvider; pp != nil {
		if err := checkURL(pp.URL); err != nil {
			add("partner_provider.url", err.Error())
		}
		if len(pp.Secret) < 16 {
			add("partner_provider.secret", "must be at least 16 characters")
		}
		if strings.TrimSpace(pp.NameField) == "" {
			add("partner_provider.name_field", "is required: the field of the answer that holds the partner's name")
		}
		for prop, path := range pp.PropertyMapping {
			if prop == "" || strings.TrimSpace(path) == "" {
				add("partner_provider.property_mapping", "maps property names to non-empty field paths")
				break
			}
		}
		if t := time.Duration(pp.Timeout); t != 0 && (t < 100*time.Millisecond || t > 30*time.Second) {
			add("partner_provider.timeout", "must be between 100ms and 30s")
		}
	}
	return errs
}

// compileWhole compiles an RE2 pattern that must match a whole value.
func compileWhole(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// keepSSOSecrets gives each identity provider written without a client
// secret the stored secret of the provider of the same name and issuer.
func keepSSOSecrets(next *domain.Onboarding, prev domain.Onboarding) {
	if next.SSO == nil || prev.SSO == nil {
		return
	}
	sso := *next.SSO
	sso.Providers = slices.Clone(next.SSO.Providers)
	for i, p := range sso.Providers {
		if p.ClientSecret != "" {
			continue
		}
		for _, old := range prev.SSO.Providers {
			if old.Name == p.Name && old.Issuer == p.Issuer && old.ClientID == p.ClientID {
				sso.Providers[i].ClientSecret = old.ClientSecret
			}
		}
	}
	next.SSO = &sso
}
