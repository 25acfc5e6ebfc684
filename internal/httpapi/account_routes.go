package httpapi

// accountRoutes: what signed-in users do with their own account: invitations,
// users, password reset, email change, locations, sessions, export, deletion.
func (s *Server) accountRoutes() []Route {
	return []Route{}
}
