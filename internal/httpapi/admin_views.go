package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// adminRootFunc is a handler of the admin API that is not about one
// organization.
type adminRootFunc func(w http.ResponseWriter, r *http.Request, adm flows.Admin) error

// adminRoot requires a valid admin API key; the handler decides what the key
// may do.
func (s *Server) adminRoot(fn adminRootFunc) http.Handler {
	return withBearer(s, "admin API key", s.flows.AuthenticateAdmin, fn)
}

// ---- views of the admin API ----

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func props(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func organizationView(o domain.Organization) AdminOrganization {
	return AdminOrganization{ID: o.ID, Name: o.Name, DisplayName: o.DisplayName, CreatedAt: o.CreatedAt, Disabled: o.DisabledAt != nil}
}

func propertyView(p domain.PropertyDefinition) PropertyDefinition {
	return PropertyDefinition{
		ID: p.ID, Scope: p.Scope, Name: p.Name, Label: p.Label, Type: p.Type, Required: p.Required,
		AccountTypes: strs(p.AccountTypes), Options: strs(p.Options), Pattern: p.Pattern,
		MaxLength: p.MaxLength, Position: p.Position, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

func userTypeAdminView(u domain.UserType) AdminUserType {
	return AdminUserType{Name: u.Name, Label: u.Label, Permissions: strs(u.Permissions)}
}

func agreementAdminView(a domain.Agreement) AdminAgreement {
	return AdminAgreement{
		ID: a.ID, Name: a.Name, Kind: a.Kind, Version: a.Version, Title: a.Title, Text: a.Body,
		AccountTypes: strs(a.AccountTypes), Required: a.Required, CreatedAt: a.CreatedAt,
	}
}

func partnerView(p flows.Partner) Partner {
	a := p.Account
	return Partner{
		ID: a.ID, Name: a.Name, Status: a.Status, Origin: a.Origin, Properties: props(a.Properties),
		Code: p.Code, CreatedAt: a.CreatedAt,
	}
}

func adminAccountView(a domain.Account) AdminAccount {
	return AdminAccount{
		ID: a.ID, Kind: a.Kind, Type: a.Type, AccountType: a.AccountType(), Name: a.Name,
		Status: a.Status, Origin: a.Origin, Properties: props(a.Properties),
		DecidedAt: a.DecidedAt, DecisionReason: a.DecisionReason, CreatedAt: a.CreatedAt,
	}
}

// adminUserView shows a user to the back office; userType is the name of the
// user's type.
func adminUserView(u domain.User, userType string) AdminUser {
	return AdminUser{
		ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Phone: u.Phone,
		Status: u.Status, UserType: userType, CreatedAt: u.CreatedAt,
	}
}

func auditView(e domain.AuditEntry) AuditEntry {
	return AuditEntry{ID: e.ID, Actor: e.Actor, Action: e.Action, SubjectID: e.SubjectID, Data: auditData(e.Data), CreatedAt: e.CreatedAt}
}
