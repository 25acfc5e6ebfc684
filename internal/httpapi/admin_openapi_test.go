package httpapi

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// TestAdminViewsMatchSchemas checks the admin API's views against the
// schemas of paths-admin.json, including their empty and null cases.
func TestAdminViewsMatchSchemas(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	now := time.Date(2026, 3, 2, 9, 15, 4, 123456000, time.UTC)
	withPP := domain.DefaultOnboarding()
	withPP.PartnerProvider = &domain.PartnerProvider{URL: "https://crm.example.com/p", Secret: "0123456789abcdef0123",
		NameField: "name", PropertyMapping: map[string]string{"vat": "company.vat"}, Timeout: domain.Duration(2 * time.Second)}
	prop := domain.PropertyDefinition{ID: "p1", OrgID: "o1", Scope: "customer", Name: "vat", Label: "VAT", Type: "string",
		AccountTypes: []string{domain.AccountCustomerBusiness}, MaxLength: 200, CreatedAt: now, UpdatedAt: now}
	pending := domain.Account{ID: "a1", Kind: domain.KindDataRecipient, Type: domain.TypeDataRecipient, Name: "Grid",
		Status: domain.StatusPendingApproval, Origin: domain.OriginSelf, CreatedAt: now}
	decided := pending
	decided.Status, decided.DecidedAt, decided.DecisionReason = domain.StatusRejected, &now, "no"
	user := domain.User{ID: "u1", AccountID: "a1", UserTypeID: "t1", Email: "ada@example.com", FirstName: "Ada", LastName: "L",
		Status: domain.StatusInvited, CreatedAt: now}
	loc := locationView(domain.Location{ID: "l1", Name: "Home", CreatedAt: now})
	for _, tc := range []struct {
		name, schema string
		view         any
	}{
		{"organization", "AdminOrganization", organizationView(domain.Organization{ID: "o1", Name: "acme", DisplayName: "Acme", CreatedAt: now})},
		{"default onboarding", "Onboarding", flows.Redacted(domain.DefaultOnboarding().WithDefaults())},
		{"onboarding of an old release", "Onboarding", flows.Redacted(domain.Onboarding{}.WithDefaults())},
		{"onboarding with partner provider", "Onboarding", flows.Redacted(withPP)},
		{"property", "PropertyDefinition", propertyView(prop)},
		{"enum property", "PropertyDefinition", propertyView(domain.PropertyDefinition{ID: "p2", Scope: "user", Name: "lang", Type: "enum",
			AccountTypes: []string{domain.AccountDataRecipient}, Options: []string{"en"}, MaxLength: 200, CreatedAt: now, UpdatedAt: now})},
		{"user type", "AdminUserType", userTypeAdminView(domain.UserType{Name: "viewer", Label: "Viewer"})},
		{"agreement", "AdminAgreement", agreementAdminView(domain.Agreement{ID: "g1", Name: "tos", Kind: "other", Version: 2,
			AccountTypes: domain.AccountTypes, CreatedAt: now})},
		{"partner", "Partner", partnerView(flows.Partner{Account: domain.Account{ID: "a2", Kind: domain.KindPartner, Type: domain.PartnerChannel,
			Name: "Volt", Status: domain.StatusActive, Origin: domain.OriginBackOffice, CreatedAt: now}, Code: "K7QW-3MXA-HP2D-9TF"})},
		{"partner without code", "Partner", partnerView(flows.Partner{Account: domain.Account{ID: "a3", Kind: domain.KindPartner,
			Status: domain.StatusActive, Origin: domain.OriginSelf, CreatedAt: now}})},
		{"pending account", "PendingAccount", pendingView(flows.PendingAccount{Account: pending, Users: []domain.User{user}}, map[string]string{"t1": "x"})},
		{"decided account", "PendingAccount", pendingView(flows.PendingAccount{Account: decided}, nil)},
		{"customer with location", "BackOfficeCustomer", map[string]any{"customer": adminAccountView(domain.Account{ID: "a4", Kind: domain.KindCustomer,
			Type: domain.CustomerPersonal, Status: domain.StatusActive, Origin: domain.OriginBackOffice, CreatedAt: now}),
			"user": adminUserView(user, "customer_admin"), "location": loc}},
		{"customer without location", "BackOfficeCustomer", map[string]any{"customer": adminAccountView(decided), "user": adminUserView(user, ""), "location": nil}},
		{"audit entry", "AuditEntry", auditView(domain.AuditEntry{ID: "e1", Actor: "admin:environment", Action: "property.created", CreatedAt: now})},
		{"audit entry with data", "AuditEntry", auditView(domain.AuditEntry{ID: "e2", Actor: "cli", Action: "x", SubjectID: "s",
			Data: map[string]any{"before": map[string]any{"a": 1}}, CreatedAt: now})},
	} {
		t.Run(tc.name, func(t *testing.T) { c.checkValue(t, tc.schema, tc.view) })
	}
}

// TestAdminSchemaCheckerRejects shows the admin schemas can fail.
func TestAdminSchemaCheckerRejects(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	for _, tc := range []struct{ schema, value, want string }{
		{"PropertyRequest", `{"scope":"customer","name":"a","label":"A","type":"string","account_types":["customer_business"],"nick":1}`, "not allowed"},
		{"PropertyRequest", `{"scope":"account","name":"a","label":"A","type":"string","account_types":["customer_business"]}`, "value must be"},
		{"Onboarding", `{"partner_provider":7}`, "got number, want null"},
		{"CreateUserTypeRequest", `{"name":"a","label":"A","permissions":["root"]}`, "value must be"},
		{"Partner", `{"id":"a","name":"n","status":"active","origin":"back_office","properties":{},"created_at":"2026-01-01T00:00:00Z"}`, "missing property 'code'"},
	} {
		errs := c.check(map[string]any{"$ref": "#/components/schemas/" + tc.schema}, decodeJSON(t, []byte(tc.value)), tc.schema)
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }) {
			t.Errorf("%s %s: errors %q, want one containing %q", tc.schema, tc.value, errs, tc.want)
		}
	}
}
