package flows

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Field is one input a registration form asks for.
type Field struct {
	Name      string   `json:"name"`
	Label     string   `json:"label"`
	Type      string   `json:"type"`
	Required  bool     `json:"required"`
	MaxLength int      `json:"max_length,omitempty"`
	Options   []string `json:"options,omitempty"`
	pattern   string
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

// PartnerCodeField is the form field of a channel partner's code.
const PartnerCodeField = "partner_code"

// joinsPartner reports whether registering as accountType joins an existing
// partner by code (rather than creating an account).
func joinsPartner(org domain.Organization, accountType string) bool {
	return accountType == domain.AccountChannelPartner && !org.Onboarding.PartnerSelfRegistrationWithoutCode
}

// formFields are the fields asked of an account type in an organization: the
// built-in ones and the organization's properties marked for that type.
func formFields(org domain.Organization, accountType string, props []domain.PropertyDefinition) []Field {
	var f []Field
	switch {
	case accountType == domain.AccountCustomerBusiness:
		f = append(f, Field{Name: "customer.name", Label: "Company name", Type: "string", Required: true, MaxLength: maxFieldLength})
	case accountType == domain.AccountDataRecipient:
		f = append(f, Field{Name: "customer.name", Label: "Organization name", Type: "string", Required: true, MaxLength: maxFieldLength})
	case joinsPartner(org, accountType):
		f = append(f, Field{Name: PartnerCodeField, Label: "Partner code", Type: "string", Required: true, MaxLength: 64})
	case accountType == domain.AccountChannelPartner:
		f = append(f, Field{Name: "customer.name", Label: "Partner name", Type: "string", Required: true, MaxLength: maxFieldLength})
	}
	propFields := func(scope string) {
		for _, p := range props {
			if p.Scope != scope || !slices.Contains(p.AccountTypes, accountType) {
				continue
			}
			ml := p.MaxLength
			if ml <= 0 {
				ml = maxFieldLength
			}
			f = append(f, Field{Name: scope + "." + p.Name, Label: p.Label, Type: p.Type, Required: p.Required,
				MaxLength: ml, Options: p.Options, pattern: p.Pattern})
		}
	}
	if !joinsPartner(org, accountType) {
		propFields("customer")
	}
	f = append(f,
		Field{Name: "user.first_name", Label: "First name", Type: "string", Required: true, MaxLength: maxFieldLength},
		Field{Name: "user.last_name", Label: "Last name", Type: "string", Required: true, MaxLength: maxFieldLength},
		Field{Name: "user.phone", Label: "Phone", Type: "phone", Required: false, MaxLength: 32},
	)
	propFields("user")
	return f
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
	// The first fetch of the form is the funnel's "link opened".
	if err := s.store.InTx(ctx, func(tx *store.Tx) error { return tx.FunnelLinkOpened(ctx, su.ID, s.now()) }); err != nil {
		return SignupForm{}, fmt.Errorf("signup form: %w", err)
	}
	org, err := s.orgByID(ctx, su.OrgID)
	if err != nil {
		return SignupForm{}, err
	}
	org.Onboarding = org.Onboarding.WithDefaults()
	props, err := s.store.PropertyDefinitions(ctx, org.ID)
	if err != nil {
		return SignupForm{}, err
	}
	all, err := s.store.CurrentAgreements(ctx, org.ID)
	if err != nil {
		return SignupForm{}, err
	}
	return SignupForm{
		Signup: su, Organization: org, Fields: formFields(org, su.AccountType, props),
		Agreements: targetedAgreements(all, su.AccountType), Policy: s.policy.Describe(),
	}, nil
}

var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 ()./-]{3,30}$`)

// validateForm checks the customer and user objects against the fields of the
// form and returns the trimmed values by field name.
func (s *Service) validateForm(form []Field, customer, user map[string]any) (map[string]string, []domain.FieldError) {
	values := map[string]string{}
	var errs []domain.FieldError
	known := map[string]Field{}
	for _, f := range form {
		known[f.Name] = f
	}
	for _, part := range []struct {
		prefix string
		m      map[string]any
	}{{"customer.", customer}, {"user.", user}} {
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := part.prefix + k
			f, ok := known[name]
			if !ok {
				errs = append(errs, domain.FieldError{Field: name, Message: "is not a field of this form"})
				continue
			}
			switch v := part.m[k].(type) {
			case string:
				values[name] = strings.TrimSpace(v)
			case bool:
				if f.Type != "boolean" {
					errs = append(errs, domain.FieldError{Field: name, Message: "must be a string"})
					continue
				}
				values[name] = fmt.Sprint(v)
			case nil:
			default:
				errs = append(errs, domain.FieldError{Field: name, Message: "must be a string"})
			}
		}
	}
	for _, f := range form {
		if f.Name == PartnerCodeField {
			continue // a top-level field, checked by the completion
		}
		if msg := s.checkValue(f, values[f.Name]); msg != "" {
			errs = append(errs, domain.FieldError{Field: f.Name, Message: msg})
		}
	}
	return values, errs
}

// checkValue returns what is wrong with a value of a field, or "".
func (s *Service) checkValue(f Field, v string) string {
	switch {
	case v == "":
		if f.Required {
			return "is required"
		}
		return ""
	case !domain.PlainText(v):
		return "contains characters that are not allowed (control or invisible characters)"
	case f.MaxLength > 0 && utf8.RuneCountInString(v) > f.MaxLength:
		return fmt.Sprintf("must be at most %d characters", f.MaxLength)
	}
	switch f.Type {
	case "phone":
		if !phonePattern.MatchString(v) {
			return "must be a phone number such as +31 20 123 4567"
		}
	case "email":
		if _, ferr := ValidEmail(f.Name, v); ferr != nil {
			return ferr.Message
		}
	case "country":
		r, err := language.ParseRegion(v)
		if err != nil || len(v) != 2 || !r.IsCountry() {
			return "must be a two-letter ISO 3166-1 country code such as NL"
		}
	case "enum":
		if !slices.Contains(f.Options, v) {
			return "must be one of " + strings.Join(f.Options, ", ")
		}
	case "boolean":
		if v != "true" && v != "false" {
			return "must be true or false"
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return "must be a date written YYYY-MM-DD"
		}
	}
	if f.pattern != "" {
		re, err := s.wholeRegexp(f.pattern)
		if err != nil || !re.MatchString(v) {
			return "is not in the expected format"
		}
	}
	return ""
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
func ValidEmail(field, raw string) (string, *domain.FieldError) {
	email := strings.TrimSpace(raw)
	bad := &domain.FieldError{Field: field, Message: "must be an email address such as name@example.com"}
	switch {
	case email == "":
		return "", &domain.FieldError{Field: field, Message: "is required"}
	case len(email) > 254:
		return "", &domain.FieldError{Field: field, Message: "must be at most 254 characters"}
	}
	if !domain.PlainText(email) || strings.ContainsFunc(email, unicode.IsSpace) {
		return "", &domain.FieldError{Field: field, Message: "must not contain spaces, control or invisible characters"}
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
