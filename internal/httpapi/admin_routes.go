package httpapi

// adminRoutes: the organization administration API (/api/v1/admin).
func (s *Server) adminRoutes() []Route {
	return []Route{
		{"GET", "/api/v1/admin/organizations/{org}/onboarding", s.admin(s.getOnboarding)},
		{"PUT", "/api/v1/admin/organizations/{org}/onboarding", s.admin(s.putOnboarding)},
	}
}
