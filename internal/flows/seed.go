package flows

import (
	"context"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// DefaultOrganization is the name of the organization created at first start.
const DefaultOrganization = "default"

// EnsureOrganization creates the named organization with its seeded user types
// and agreements when it does not exist yet. Several nodes may race here: the
// loser sees the winner's organization.
func EnsureOrganization(ctx context.Context, st *store.Store, name, displayName string) (domain.Organization, error) {
	org, err := st.OrganizationByName(ctx, name)
	if err == nil {
		return org, ensureSeedUserTypes(ctx, st, org.ID)
	}
	if !store.IsNotFound(err) {
		return org, err
	}
	org = newOrganization(name, displayName)
	err = st.InTx(ctx, func(tx *store.Tx) error { return seedOrganization(ctx, tx, org) })
	if store.IsDuplicate(err) {
		return st.OrganizationByName(ctx, name)
	}
	if err != nil {
		return org, fmt.Errorf("seed organization %q: %w", name, err)
	}
	return org, nil
}

// newOrganization is a new organization with the default onboarding configuration.
func newOrganization(name, displayName string) domain.Organization {
	return domain.Organization{ID: store.NewID(), Name: name, DisplayName: displayName, Onboarding: domain.DefaultOnboarding(), CreatedAt: store.Now()}
}

// seedOrganization inserts org with the seeded user types and agreements, in
// the caller's transaction.
func seedOrganization(ctx context.Context, tx *store.Tx, org domain.Organization) error {
	if err := tx.CreateOrganization(ctx, org); err != nil {
		return err
	}
	for _, ut := range seedUserTypes() {
		ut.ID, ut.OrgID = store.NewID(), org.ID
		if err := tx.CreateUserType(ctx, ut); err != nil {
			return err
		}
	}
	for _, a := range seedAgreements() {
		a.ID, a.OrgID, a.CreatedAt = store.NewID(), org.ID, org.CreatedAt
		if err := tx.CreateAgreement(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// DefaultDisplayName is the display name of the default organization, which
// people see in mail subjects and on the pages: the configured one
// (-org-name); else the display name of the From address (-mail-from, so
// "Example" for "Example <no-reply@example.com>", and "onboard" by default);
// else the host of the public URL.
func DefaultDisplayName(configured, mailFrom, publicURL string) string {
	if name := strings.TrimSpace(configured); name != "" {
		return name
	}
	if a, err := mail.ParseAddress(mailFrom); err == nil && strings.TrimSpace(a.Name) != "" {
		return strings.TrimSpace(a.Name)
	}
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return DefaultOrganization
}

// configActor is the audit actor of changes the configuration makes at start.
const configActor = "configuration"

// EnsureDefaultOrganization creates the default organization with displayName
// (see DefaultDisplayName) at first start and, at later starts, gives it that
// display name when it has another one (the setting changed, or an older
// release seeded the placeholder "Default"). A rename is recorded in the
// organization's audit log as organization.updated by "configuration".
func EnsureDefaultOrganization(ctx context.Context, st *store.Store, displayName string) (domain.Organization, error) {
	var f fieldErrors
	displayName = f.text("org-name", displayName, true, maxLabelLength, false)
	if len(f) > 0 {
		return domain.Organization{}, fmt.Errorf("display name of the default organization %q: %s", displayName, f[0].Message)
	}
	org, err := EnsureOrganization(ctx, st, DefaultOrganization, displayName)
	if err != nil || org.DisplayName == displayName {
		return org, err
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.LockOrganization(ctx, org.ID)
		if err != nil {
			return err
		}
		if org = cur; cur.DisplayName == displayName {
			return nil // another node renamed it meanwhile
		}
		if err := tx.SetOrganizationDisplayName(ctx, org.ID, displayName); err != nil {
			return err
		}
		org.DisplayName = displayName
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: configActor, Action: "organization.updated", SubjectID: org.ID,
			Data:      map[string]any{"before": map[string]any{"display_name": cur.DisplayName}, "after": map[string]any{"display_name": displayName}},
			CreatedAt: store.Now()})
	})
	if err != nil {
		return org, fmt.Errorf("rename default organization: %w", err)
	}
	return org, nil
}

func seedUserTypes() []domain.UserType {
	return []domain.UserType{
		{Name: "customer_admin", Label: "Customer account administrator", Permissions: []string{
			domain.PermAccountAdmin, domain.PermLocationRead, domain.PermLocationWrite, domain.PermThingsRead, domain.PermThingsWrite,
			domain.PermThingsActivate}},
		{Name: "customer_user", Label: "Customer user", Permissions: []string{
			domain.PermLocationRead, domain.PermThingsRead, domain.PermThingsWrite}},
		{Name: "customer_viewer", Label: "Customer viewer", Permissions: []string{
			domain.PermLocationRead, domain.PermThingsRead}},
		{Name: "partner_admin", Label: "Partner account administrator", Permissions: []string{
			domain.PermPartnerAccountAdmin, domain.PermThingsRead}},
		{Name: "partner_user", Label: "Partner user", Permissions: []string{domain.PermThingsRead}},
		{Name: "data_recipient_admin", Label: "Data recipient administrator", Permissions: []string{domain.PermDataAccess}},
	}
}

// ensureSeedUserTypes adds seed user types an organization created by an
// older release lacks; existing ones are left as the organization set them.
func ensureSeedUserTypes(ctx context.Context, st *store.Store, orgID string) error {
	have, err := st.UserTypes(ctx, orgID)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, ut := range have {
		names[ut.Name] = true
	}
	for _, ut := range seedUserTypes() {
		if names[ut.Name] {
			continue
		}
		ut.ID, ut.OrgID = store.NewID(), orgID
		if err := st.CreateUserType(ctx, ut); err != nil && !store.IsDuplicate(err) {
			return fmt.Errorf("seed user type %s: %w", ut.Name, err)
		}
	}
	return nil
}

func seedAgreements() []domain.Agreement {
	customers := domain.AccountTypes
	return []domain.Agreement{
		{Name: "terms-of-service", Kind: "terms_of_service", Version: 1, Title: "Terms of Service",
			Body: "These terms govern your use of the service. Replace this text with your organization's terms.", AccountTypes: customers, Required: true},
		{Name: "privacy-policy", Kind: "privacy_policy", Version: 1, Title: "Privacy Policy",
			Body: "This policy explains which personal data we keep and why. Replace this text with your organization's policy.", AccountTypes: customers, Required: true},
	}
}
