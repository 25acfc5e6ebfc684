package flows

import (
	"context"
	"errors"

	"github.com/onboard-dev/onboard/internal/domain"
)

// TryEmailRequirement tells whether self-registration would accept email
// under the email requirement pattern (an RE2 expression matching the whole
// address; "" accepts every address). A pattern that does not compile is a
// field error of email_requirement, a malformed address one of email.
func TryEmailRequirement(pattern, email string) (bool, error) {
	addr, ferr := ValidEmail("email", email)
	if ferr != nil {
		return false, domain.Invalid(*ferr)
	}
	if pattern == "" {
		return true, nil
	}
	re, err := compileWhole(pattern)
	if err != nil {
		return false, domain.Invalid(domain.FieldError{Field: "email_requirement", Message: "is not a valid RE2 regular expression: " + err.Error()})
	}
	return re.MatchString(addr), nil
}

// ProviderTest is the outcome of a Partner Provider test: the provider
// answered (Known: the code is a partner it knows, with its name), or it
// failed (Problem says how).
type ProviderTest struct {
	Known   bool
	Name    string
	Problem string
}

// TestPartnerProvider asks the organization's stored Partner Provider about
// code, as a registration would, and reports what came back. Nothing is
// stored; the call is recorded in the audit log.
func (s *Service) TestPartnerProvider(ctx context.Context, adm Admin, org domain.Organization, code string) (ProviderTest, error) {
	cur, err := s.store.OrganizationByID(ctx, org.ID)
	if err != nil {
		return ProviderTest{}, err
	}
	if cur.Onboarding.PartnerProvider == nil {
		return ProviderTest{}, domain.Invalid(domain.FieldError{Field: "partner_provider.url", Message: "is not configured: save a Partner Provider first"})
	}
	code = NormalizePartnerCode(code)
	if code == "" {
		return ProviderTest{}, domain.Invalid(domain.FieldError{Field: "code", Message: "is required"})
	}
	p, ferr := s.fetchPartner(ctx, cur, code)
	out := ProviderTest{}
	switch {
	case ferr == nil:
		out.Known, out.Name = true, p.Name
	case errors.Is(ferr, errUnknownPartner):
	default:
		out.Problem = ferr.Error()
	}
	if err := s.store.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: adm.Actor(), Action: "partner_provider.tested", SubjectID: org.ID,
		Data: map[string]any{"known": out.Known, "failed": out.Problem != ""}, CreatedAt: s.now()}); err != nil {
		return out, err
	}
	return out, nil
}
