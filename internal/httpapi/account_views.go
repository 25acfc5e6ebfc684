package httpapi

import (
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// Views of account management; their schemas are in
// openapi/paths-account.json.

// orNull is s, or JSON null when s is empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func invitationView(i flows.InvitationInfo) map[string]any {
	return map[string]any{
		"id": i.Invitation.ID, "email": i.Invitation.Email, "user_type": i.UserType.Name, "status": i.Status,
		"created_at": i.Invitation.CreatedAt, "expires_at": i.Invitation.ExpiresAt, "invited_by": orNull(i.Invitation.InvitedBy),
		"accepted_at": i.Invitation.AcceptedAt, "accepted_user_id": orNull(i.Invitation.AcceptedBy), "revoked_at": i.Invitation.RevokedAt,
	}
}

func invitationFormView(f flows.InvitationForm) map[string]any {
	agreements := make([]agreementJSON, 0, len(f.Agreements))
	for _, a := range f.Agreements {
		agreements = append(agreements, agreementJSON{a.ID, a.Name, a.Kind, a.Title, a.Version, a.Required, a.Body})
	}
	fields := f.Fields
	if fields == nil {
		fields = []flows.Field{}
	}
	return map[string]any{
		"organization":    f.Organization.Name,
		"account":         map[string]any{"name": f.Account.Name, "kind": f.Account.Kind, "type": f.Account.Type},
		"invited_by":      orNull(f.InvitedBy),
		"email":           f.Invitation.Email,
		"user_type":       map[string]any{"name": f.UserType.Name, "label": f.UserType.Label},
		"existing_user":   f.Existing,
		"expires_at":      f.Invitation.ExpiresAt,
		"fields":          fields,
		"agreements":      agreements,
		"password_policy": f.Policy,
	}
}

func sessionView(s domain.Session, current string) map[string]any {
	return map[string]any{
		"id": s.ID, "created_at": s.CreatedAt, "expires_at": s.ExpiresAt, "client_ip": s.ClientIP,
		"user_agent": s.UserAgent, "current": s.ID == current,
	}
}

// invitationRecord is an invitation in the export: without token hash.
func invitationRecord(i domain.Invitation) map[string]any {
	return map[string]any{
		"id": i.ID, "account_id": i.AccountID, "email": i.Email, "state": i.State, "created_at": i.CreatedAt,
		"expires_at": i.ExpiresAt, "accepted_at": i.AcceptedAt, "revoked_at": i.RevokedAt,
	}
}

// ExportDocument is the data export of a user as the API serves it (GET
// /api/v1/me/export), for other front ends (the pages) to offer the same
// file. currentSession marks the session that asked for it.
func ExportDocument(x flows.Export, currentSession string) map[string]any {
	return exportView(x, currentSession)
}

// exportView is everything held about a user, without secrets (password
// and token hashes).
func exportView(x flows.Export, currentSession string) map[string]any {
	perms := x.UserType.Permissions
	if perms == nil {
		perms = []string{}
	}
	props := x.User.Properties
	if props == nil {
		props = map[string]string{}
	}
	acceptances := make([]any, 0, len(x.Acceptances))
	for _, a := range x.Acceptances {
		acceptances = append(acceptances, map[string]any{
			"agreement_id": a.AgreementID, "name": a.Name, "version": a.Version, "accepted_at": a.AcceptedAt,
		})
	}
	sessions := make([]any, 0, len(x.Sessions))
	for _, s := range x.Sessions {
		sessions = append(sessions, sessionView(s, currentSession))
	}
	records := func(list []domain.Invitation) []any {
		out := make([]any, 0, len(list))
		for _, i := range list {
			out = append(out, invitationRecord(i))
		}
		return out
	}
	resets := make([]any, 0, len(x.PasswordResets))
	for _, r := range x.PasswordResets {
		resets = append(resets, map[string]any{
			"id": r.ID, "state": r.State, "created_at": r.CreatedAt, "expires_at": r.ExpiresAt, "used_at": r.UsedAt,
		})
	}
	changes := make([]any, 0, len(x.EmailChanges))
	for _, c := range x.EmailChanges {
		changes = append(changes, map[string]any{
			"id": c.ID, "old_email": c.OldEmail, "new_email": c.NewEmail, "state": c.State, "created_at": c.CreatedAt,
			"expires_at": c.ExpiresAt, "used_at": c.UsedAt,
		})
	}
	audit := make([]any, 0, len(x.Audit))
	for _, e := range x.Audit {
		data := e.Data
		if data == nil {
			data = map[string]any{}
		}
		audit = append(audit, map[string]any{
			"id": e.ID, "actor": e.Actor, "action": e.Action, "subject_id": e.SubjectID, "data": data, "created_at": e.CreatedAt,
		})
	}
	return map[string]any{
		"exported_at":  x.ExportedAt,
		"organization": map[string]any{"name": x.Organization.Name, "display_name": x.Organization.DisplayName},
		"user": map[string]any{
			"id": x.User.ID, "email": x.User.Email, "first_name": x.User.FirstName, "last_name": x.User.LastName,
			"phone": x.User.Phone, "properties": props, "status": x.User.Status, "has_password": x.User.PasswordHash != "",
			"user_type":  map[string]any{"name": x.UserType.Name, "label": x.UserType.Label, "permissions": perms},
			"created_at": x.User.CreatedAt, "updated_at": x.User.UpdatedAt,
		},
		"account":              accountView(x.Account),
		"acceptances":          acceptances,
		"sessions":             sessions,
		"invitations_sent":     records(x.InvitationsSent),
		"invitations_received": records(x.InvitationsReceived),
		"password_resets":      resets,
		"email_changes":        changes,
		"audit":                audit,
	}
}
