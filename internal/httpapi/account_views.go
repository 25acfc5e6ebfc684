package httpapi

import (
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// Views of account management; their types are in payload_account.go.

// orNull is &s, or nil (JSON null) when s is empty.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func invitationView(i flows.InvitationInfo) Invitation {
	return Invitation{
		ID: i.Invitation.ID, Email: i.Invitation.Email, UserType: i.UserType.Name, Status: i.Status,
		CreatedAt: i.Invitation.CreatedAt, ExpiresAt: i.Invitation.ExpiresAt, InvitedBy: orNull(i.Invitation.InvitedBy),
		AcceptedAt: i.Invitation.AcceptedAt, AcceptedUserID: orNull(i.Invitation.AcceptedBy), RevokedAt: i.Invitation.RevokedAt,
	}
}

func invitationFormView(f flows.InvitationForm) InvitationForm {
	return InvitationForm{
		Organization:   f.Organization.Name,
		Account:        InvitationFormAccount{Name: f.Account.Name, Kind: f.Account.Kind, Type: f.Account.Type},
		InvitedBy:      orNull(f.InvitedBy),
		Email:          f.Invitation.Email,
		UserType:       InvitationFormUserType{Name: f.UserType.Name, Label: f.UserType.Label},
		ExistingUser:   f.Existing,
		ExpiresAt:      f.Invitation.ExpiresAt,
		Fields:         fieldViews(f.Fields),
		Agreements:     agreementViews(f.Agreements),
		PasswordPolicy: policyView(f.Policy),
	}
}

func sessionView(s domain.Session, current string) MySession {
	return MySession{
		ID: s.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, ClientIP: s.ClientIP, UserAgent: s.UserAgent, Current: s.ID == current,
	}
}

// invitationRecord is an invitation in the export: without token hash.
func invitationRecord(i domain.Invitation) ExportInvitation {
	return ExportInvitation{
		ID: i.ID, AccountID: i.AccountID, Email: i.Email, State: i.State, CreatedAt: i.CreatedAt,
		ExpiresAt: i.ExpiresAt, AcceptedAt: i.AcceptedAt, RevokedAt: i.RevokedAt,
	}
}

// ExportDocument is the data export of a user as the API serves it (GET
// /api/v1/me/export), for other front ends (the pages) to offer the same
// file. currentSession marks the session that asked for it.
func ExportDocument(x flows.Export, currentSession string) MyExport {
	return exportView(x, currentSession)
}

// exportView is everything held about a user, without secrets (password
// and token hashes).
func exportView(x flows.Export, currentSession string) MyExport {
	out := MyExport{
		ExportedAt:   x.ExportedAt,
		Organization: ExportOrganization{Name: x.Organization.Name, DisplayName: x.Organization.DisplayName},
		User: ExportUser{
			ID: x.User.ID, Email: x.User.Email, FirstName: x.User.FirstName, LastName: x.User.LastName,
			Phone: x.User.Phone, Properties: props(x.User.Properties), Status: x.User.Status, HasPassword: x.User.PasswordHash != "",
			UserType:  ExportUserType{Name: x.UserType.Name, Label: x.UserType.Label, Permissions: strs(x.UserType.Permissions)},
			CreatedAt: x.User.CreatedAt, UpdatedAt: x.User.UpdatedAt,
		},
		Account:             accountView(x.Account),
		Acceptances:         make([]ExportAcceptance, 0, len(x.Acceptances)),
		Sessions:            make([]MySession, 0, len(x.Sessions)),
		InvitationsSent:     make([]ExportInvitation, 0, len(x.InvitationsSent)),
		InvitationsReceived: make([]ExportInvitation, 0, len(x.InvitationsReceived)),
		PasswordResets:      make([]ExportPasswordReset, 0, len(x.PasswordResets)),
		EmailChanges:        make([]ExportEmailChange, 0, len(x.EmailChanges)),
		Audit:               make([]ExportAuditEntry, 0, len(x.Audit)),
	}
	for _, a := range x.Acceptances {
		out.Acceptances = append(out.Acceptances, ExportAcceptance{AgreementID: a.AgreementID, Name: a.Name, Version: a.Version, AcceptedAt: a.AcceptedAt})
	}
	for _, s := range x.Sessions {
		out.Sessions = append(out.Sessions, sessionView(s, currentSession))
	}
	for _, i := range x.InvitationsSent {
		out.InvitationsSent = append(out.InvitationsSent, invitationRecord(i))
	}
	for _, i := range x.InvitationsReceived {
		out.InvitationsReceived = append(out.InvitationsReceived, invitationRecord(i))
	}
	for _, r := range x.PasswordResets {
		out.PasswordResets = append(out.PasswordResets, ExportPasswordReset{ID: r.ID, State: r.State, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, UsedAt: r.UsedAt})
	}
	for _, c := range x.EmailChanges {
		out.EmailChanges = append(out.EmailChanges, ExportEmailChange{
			ID: c.ID, OldEmail: c.OldEmail, NewEmail: c.NewEmail, State: c.State, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, UsedAt: c.UsedAt,
		})
	}
	for _, e := range x.Audit {
		out.Audit = append(out.Audit, ExportAuditEntry{ID: e.ID, Actor: e.Actor, Action: e.Action, SubjectID: e.SubjectID, Data: auditData(e.Data), CreatedAt: e.CreatedAt})
	}
	return out
}

func auditData(d map[string]any) map[string]any {
	if d == nil {
		return map[string]any{}
	}
	return d
}
