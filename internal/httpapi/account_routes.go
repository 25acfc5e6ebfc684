package httpapi

import "github.com/onboard-dev/onboard/internal/domain"

// accountRoutes: what signed-in users do with their own account: invitations,
// users, password reset, email change, locations, sessions, export, deletion.
//
// Invitations and users exist for customers and partners alike, on the same
// handlers. What users do about themselves and their data (sessions,
// password, export, deleting the customer) stays possible while required
// actions (e.g. accepting new terms) are pending.
func (s *Server) accountRoutes() []Route {
	var routes []Route
	for _, k := range []struct{ kind, base string }{
		{domain.KindCustomer, "/api/v1/customers/{id}"},
		{domain.KindPartner, "/api/v1/partners/{id}"},
	} {
		routes = append(routes,
			Route{"POST", k.base + "/invitations", s.authed(forAccount(k.kind, s.invite))},
			Route{"GET", k.base + "/invitations", s.authed(forAccount(k.kind, s.listInvitations))},
			Route{"DELETE", k.base + "/invitations/{invitationId}", s.authed(forAccount(k.kind, s.revokeInvitation))},
			Route{"GET", k.base + "/users", s.authed(forAccount(k.kind, s.listAccountUsers))},
			Route{"PATCH", k.base + "/users/{userId}", s.authed(forAccount(k.kind, s.changeAccountUser))},
			Route{"DELETE", k.base + "/users/{userId}", s.authed(forAccount(k.kind, s.deleteAccountUser))},
		)
	}
	return append(routes,
		Route{"GET", "/api/v1/invitations/{token}", s.handle(s.getInvitation)},
		Route{"POST", "/api/v1/invitations/{token}", s.handle(s.acceptInvitation)},

		Route{"GET", "/api/v1/customers/{id}/locations", s.authed(s.listLocations)},
		Route{"POST", "/api/v1/customers/{id}/locations", s.authed(s.createLocation)},
		Route{"PATCH", "/api/v1/customers/{id}/locations/{locationId}", s.authed(s.renameLocation)},
		Route{"DELETE", "/api/v1/customers/{id}/locations/{locationId}", s.authed(s.deleteLocation)},
		Route{"DELETE", "/api/v1/customers/{id}", s.authedPending(s.deleteCustomer)},

		Route{"POST", "/api/v1/password-resets", s.handle(s.requestPasswordReset)},
		Route{"GET", "/api/v1/password-resets/{token}", s.handle(s.getPasswordReset)},
		Route{"POST", "/api/v1/password-resets/{token}", s.handle(s.resetPassword)},
		Route{"PUT", "/api/v1/me/password", s.authedPending(s.changePassword)},

		Route{"POST", "/api/v1/me/email", s.authed(s.requestEmailChange)},
		Route{"GET", "/api/v1/email-changes/{token}", s.handle(s.getEmailChange)},
		Route{"POST", "/api/v1/email-changes/{token}", s.handle(s.confirmEmailChange)},

		Route{"GET", "/api/v1/me/sessions", s.authedPending(s.listMySessions)},
		Route{"DELETE", "/api/v1/me/sessions", s.authedPending(s.endMyOtherSessions)},
		Route{"DELETE", "/api/v1/me/sessions/{id}", s.authedPending(s.endMySession)},
		Route{"GET", "/api/v1/me/export", s.authedPending(s.exportMe)},
	)
}
