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

func organizationView(o domain.Organization) map[string]any {
	return map[string]any{"id": o.ID, "name": o.Name, "display_name": o.DisplayName, "created_at": o.CreatedAt}
}

func propertyView(p domain.PropertyDefinition) map[string]any {
	return map[string]any{
		"id": p.ID, "scope": p.Scope, "name": p.Name, "label": p.Label, "type": p.Type, "required": p.Required,
		"account_types": strs(p.AccountTypes), "options": strs(p.Options), "pattern": p.Pattern,
		"max_length": p.MaxLength, "position": p.Position, "created_at": p.CreatedAt, "updated_at": p.UpdatedAt,
	}
}

func userTypeAdminView(u domain.UserType) map[string]any {
	return map[string]any{"name": u.Name, "label": u.Label, "permissions": strs(u.Permissions)}
}

func agreementAdminView(a domain.Agreement) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "kind": a.Kind, "version": a.Version, "title": a.Title, "text": a.Body,
		"account_types": strs(a.AccountTypes), "required": a.Required, "created_at": a.CreatedAt,
	}
}

func partnerView(p flows.Partner) map[string]any {
	a := p.Account
	return map[string]any{
		"id": a.ID, "name": a.Name, "status": a.Status, "origin": a.Origin, "properties": props(a.Properties),
		"code": p.Code, "created_at": a.CreatedAt,
	}
}

func adminAccountView(a domain.Account) map[string]any {
	return map[string]any{
		"id": a.ID, "kind": a.Kind, "type": a.Type, "account_type": a.AccountType(), "name": a.Name,
		"status": a.Status, "origin": a.Origin, "properties": props(a.Properties),
		"decided_at": a.DecidedAt, "decision_reason": a.DecisionReason, "created_at": a.CreatedAt,
	}
}

// adminUserView shows a user to the back office; userType is the name of the
// user's type.
func adminUserView(u domain.User, userType string) map[string]any {
	return map[string]any{
		"id": u.ID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName, "phone": u.Phone,
		"status": u.Status, "user_type": userType, "created_at": u.CreatedAt,
	}
}

func auditView(e domain.AuditEntry) map[string]any {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return map[string]any{
		"id": e.ID, "actor": e.Actor, "action": e.Action, "subject_id": e.SubjectID, "data": data, "created_at": e.CreatedAt,
	}
}
