package httpapi

// adminRoutes: the organization administration API (/api/v1/admin).
func (s *Server) adminRoutes() []Route {
	return []Route{
		{"GET", "/api/v1/admin/organizations/{org}/onboarding", s.admin(s.getOnboarding)},
		{"PUT", "/api/v1/admin/organizations/{org}/onboarding", s.admin(s.putOnboarding)},
		{"PUT", "/api/v1/admin/organizations/{org}/logo", s.admin(s.putLogo)},
		{"DELETE", "/api/v1/admin/organizations/{org}/logo", s.admin(s.deleteLogo)},

		{"GET", "/api/v1/admin/organizations", s.adminRoot(s.listOrganizations)},
		{"POST", "/api/v1/admin/organizations", s.adminRoot(s.createOrganization)},
		{"PATCH", "/api/v1/admin/organizations/{org}", s.adminRoot(s.patchOrganization)},

		{"GET", "/api/v1/admin/organizations/{org}/properties", s.admin(s.listProperties)},
		{"POST", "/api/v1/admin/organizations/{org}/properties", s.admin(s.createProperty)},
		{"PUT", "/api/v1/admin/organizations/{org}/properties/{id}", s.admin(s.updateProperty)},
		{"DELETE", "/api/v1/admin/organizations/{org}/properties/{id}", s.admin(s.deleteProperty)},

		{"GET", "/api/v1/admin/organizations/{org}/user-types", s.admin(s.listUserTypes)},
		{"POST", "/api/v1/admin/organizations/{org}/user-types", s.admin(s.createUserType)},
		{"PATCH", "/api/v1/admin/organizations/{org}/user-types/{name}", s.admin(s.patchUserType)},

		{"GET", "/api/v1/admin/organizations/{org}/agreements", s.admin(s.listAgreements)},
		{"POST", "/api/v1/admin/organizations/{org}/agreements", s.admin(s.createAgreement)},
		{"GET", "/api/v1/admin/organizations/{org}/agreements/{name}/versions", s.admin(s.listAgreementVersions)},
		{"POST", "/api/v1/admin/organizations/{org}/agreements/{name}/versions", s.admin(s.publishAgreementVersion)},

		{"GET", "/api/v1/admin/organizations/{org}/partners", s.admin(s.listPartners)},
		{"POST", "/api/v1/admin/organizations/{org}/partners", s.admin(s.createPartner)},
		{"POST", "/api/v1/admin/organizations/{org}/partners/{id}/code", s.admin(s.regeneratePartnerCode)},

		{"POST", "/api/v1/admin/organizations/{org}/customers", s.admin(s.createCustomer)},

		{"GET", "/api/v1/admin/organizations/{org}/approvals", s.admin(s.listApprovals)},
		{"POST", "/api/v1/admin/organizations/{org}/approvals/{id}/approve", s.admin(s.approveAccount)},
		{"POST", "/api/v1/admin/organizations/{org}/approvals/{id}/reject", s.admin(s.rejectAccount)},

		{"GET", "/api/v1/admin/organizations/{org}/audit", s.admin(s.listAudit)},
		{"GET", "/api/v1/admin/organizations/{org}/funnel", s.admin(s.getFunnel)},

		{"GET", "/api/v1/admin/organizations/{org}/admin-keys", s.admin(s.listAdminKeys)},
		{"DELETE", "/api/v1/admin/organizations/{org}/admin-keys/{id}", s.admin(s.revokeAdminKey)},
	}
}
