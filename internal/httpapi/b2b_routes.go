package httpapi

// b2bRoutes: B2B provisioning (labelpartners, clients, end users, import) and
// the app endpoints under /v2.
func (s *Server) b2bRoutes() []Route {
	return []Route{
		{"GET", "/api/v1/admin/organizations/{org}/labelpartners", s.admin(s.listLabelpartners)},
		{"POST", "/api/v1/admin/organizations/{org}/labelpartners", s.admin(s.createLabelpartner)},
		{"PATCH", "/api/v1/admin/organizations/{org}/labelpartners/{id}", s.admin(s.patchLabelpartner)},
		{"GET", "/api/v1/admin/organizations/{org}/clients", s.admin(s.listClients)},
		{"POST", "/api/v1/admin/organizations/{org}/clients", s.admin(s.createClient)},
		{"GET", "/api/v1/admin/organizations/{org}/clients/{id}", s.admin(s.getClient)},
		{"PATCH", "/api/v1/admin/organizations/{org}/clients/{id}", s.admin(s.patchClient)},
		{"DELETE", "/api/v1/admin/organizations/{org}/clients/{id}", s.admin(s.revokeClient)},
		{"POST", "/api/v1/admin/organizations/{org}/clients/{id}/secret", s.admin(s.rotateClientSecret)},

		{"POST", "/api/v1/b2b/token", s.handle(s.b2bToken)},
		{"POST", "/api/v1/b2b/end-users", s.b2bClient(s.createEndUser)},
		{"POST", "/api/v1/b2b/end-users/import", s.b2bClient(s.importEndUsers)},
		{"GET", "/api/v1/b2b/end-users/{id}", s.b2bClient(s.getEndUser)},
		{"POST", "/api/v1/b2b/end-users/{id}/activity", s.b2bClient(s.endUserActivity)},

		{"POST", "/v2/registration/provision", s.handle(s.provision)},
		{"POST", "/v2/registration/verify", s.handle(s.verifyEmail)},
		{"POST", "/v2/registration/no-gateway", s.handle(s.noGateway)},
		{"PUT", "/v2/registration/resetpassword", s.handle(s.resetEndUserPassword)},
		{"POST", "/v2/registration/resetpassword/confirm", s.handle(s.confirmEndUserReset)},
		{"POST", "/v2/token", s.handle(s.appToken)},
		{"POST", "/v2/registration/introspection/sso-user", s.handle(s.ssoUser)},
		{"POST", "/v2/sso/exchange-token", s.labelpartnerKey(s.exchangeToken)},

		{"GET", "/.well-known/apple-app-site-association", s.handle(s.appleAppSiteAssociationDoc)},
		{"GET", "/.well-known/assetlinks.json", s.handle(s.assetLinksDoc)},
	}
}
