package httpapi

// adminRoutes: the organization administration API (/api/v1/admin).
func (s *Server) adminRoutes() []Route {
	return []Route{}
}
