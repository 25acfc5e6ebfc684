package flows

import (
	"context"
	"fmt"
	"slices"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Kinds of agreement.
const (
	AgreementTermsOfService = "terms_of_service"
	AgreementPrivacyPolicy  = "privacy_policy"
	AgreementOther          = "other"
)

// AgreementKinds lists the kinds an agreement may have.
var AgreementKinds = []string{AgreementTermsOfService, AgreementPrivacyPolicy, AgreementOther}

// AgreementInput is a new agreement. Required must be given.
type AgreementInput struct {
	Name         string
	Kind         string
	Title        string
	Text         string
	AccountTypes []string
	Required     *bool
}

// AgreementVersionInput is the next version of an agreement: a new title and
// text; kind, account types and whether it is required stay.
type AgreementVersionInput struct {
	Title string
	Text  string
}

func agreementNotFound() error {
	return domain.Errorf(domain.ENotFound, "agreement-not-found", "There is no such agreement.")
}

// CurrentAgreements lists the newest version of each of an organization's agreements.
func (s *Service) CurrentAgreements(ctx context.Context, org domain.Organization) ([]domain.Agreement, error) {
	return s.store.CurrentAgreements(ctx, org.ID)
}

// AgreementVersions lists every version of a named agreement, newest first.
func (s *Service) AgreementVersions(ctx context.Context, org domain.Organization, name string) ([]domain.Agreement, error) {
	if !slugPattern.MatchString(name) {
		return nil, agreementNotFound()
	}
	vs, err := s.store.AgreementVersions(ctx, org.ID, name)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, agreementNotFound()
	}
	return vs, nil
}

// CreateAgreement adds an agreement at version 1; its name must be new.
func (s *Service) CreateAgreement(ctx context.Context, adm Admin, org domain.Organization, in AgreementInput) (domain.Agreement, error) {
	var f fieldErrors
	f.pattern("name", in.Name, slugPattern, "a lowercase name of letters, digits, '-' and '_', at most 63 characters")
	switch {
	case in.Kind == "":
		f.add("kind", "is required")
	case !slices.Contains(AgreementKinds, in.Kind):
		f.add("kind", "must be terms_of_service, privacy_policy or other")
	}
	a := domain.Agreement{Name: in.Name, Kind: in.Kind, Version: 1, AccountTypes: slices.Clone(in.AccountTypes)}
	a.Title = f.text("title", in.Title, true, maxLabelLength, false)
	a.Body = f.text("text", in.Text, true, maxAgreementLen, true)
	f.accountTypes("account_types", in.AccountTypes)
	if in.Required == nil {
		f.add("required", "is required: say whether registration requires accepting it")
	} else {
		a.Required = *in.Required
	}
	if err := f.err(); err != nil {
		return a, err
	}
	exists := &domain.Error{Code: domain.EConflict, Slug: "agreement-exists",
		Detail: fmt.Sprintf("An agreement named %q exists already; publish a new version of it instead.", in.Name),
		Fields: []domain.FieldError{{Field: "name", Message: "is taken"}}}
	now := s.stamp()
	a.ID, a.OrgID, a.CreatedAt = store.NewID(), org.ID, now
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		vs, err := tx.AgreementVersions(ctx, org.ID, a.Name)
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			return exists
		}
		if err := tx.CreateAgreement(ctx, a); err != nil {
			return err
		}
		return Audit(ctx, tx, org.ID, adm, "agreement.created", a.ID, map[string]any{"after": agreementAudit(a)}, now)
	})
	s.orgs.lookups.forget(org.ID) // registrations read them through the cache
	switch {
	case store.IsDuplicate(err):
		return a, exists
	case err != nil:
		return a, fmt.Errorf("create agreement: %w", err)
	}
	return a, nil
}

// PublishAgreementVersion adds the next version of a named agreement. Users
// who accepted an older version are asked to accept this one at sign-in.
func (s *Service) PublishAgreementVersion(ctx context.Context, adm Admin, org domain.Organization, name string, in AgreementVersionInput) (domain.Agreement, error) {
	if !slugPattern.MatchString(name) {
		return domain.Agreement{}, agreementNotFound()
	}
	title, text, err := in.validate()
	if err != nil {
		return domain.Agreement{}, err
	}
	now := s.stamp()
	var a domain.Agreement
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		vs, err := tx.AgreementVersions(ctx, org.ID, name)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return agreementNotFound()
		}
		prev := vs[0]
		a = domain.Agreement{ID: store.NewID(), OrgID: org.ID, Name: name, Kind: prev.Kind, Version: prev.Version + 1,
			Title: title, Body: text, AccountTypes: prev.AccountTypes, Required: prev.Required, CreatedAt: now}
		if err := tx.CreateAgreement(ctx, a); err != nil {
			return err
		}
		return Audit(ctx, tx, org.ID, adm, "agreement.version_published", a.ID,
			map[string]any{"before": agreementAudit(prev), "after": agreementAudit(a)}, now)
	})
	s.orgs.lookups.forget(org.ID) // registrations read them through the cache
	switch {
	case store.IsDuplicate(err):
		// Another version was published at the same moment.
		return a, domain.Errorf(domain.EConflict, "agreement-changed", "Another version of this agreement was published at the same time; look at the versions and try again.")
	case err != nil:
		return a, fmt.Errorf("publish agreement version: %w", err)
	}
	return a, nil
}

// validate checks a new version's title and text as publishing does and
// returns them cleaned.
func (in AgreementVersionInput) validate() (title, text string, err error) {
	var f fieldErrors
	title = f.text("title", in.Title, true, maxLabelLength, false)
	text = f.text("text", in.Text, true, maxAgreementLen, true)
	return title, text, f.err()
}

// CheckAgreementVersion checks a new version as PublishAgreementVersion
// would, without publishing it (the console's preview).
func CheckAgreementVersion(in AgreementVersionInput) error {
	_, _, err := in.validate()
	return err
}

// AcceptanceCounts returns how many users accepted each version of the
// organization's agreements, by version id (absent: nobody).
func (s *Service) AcceptanceCounts(ctx context.Context, org domain.Organization) (map[string]int, error) {
	return s.store.AcceptanceCounts(ctx, org.ID)
}

// agreementAudit is what the audit log keeps of an agreement version: not
// its text, which the version itself keeps.
func agreementAudit(a domain.Agreement) map[string]any {
	return map[string]any{"id": a.ID, "name": a.Name, "kind": a.Kind, "version": a.Version, "title": a.Title,
		"account_types": nonNil(a.AccountTypes), "required": a.Required}
}
