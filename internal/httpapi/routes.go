package httpapi

import "net/http"

// Route is one endpoint of the API.
type Route struct {
	Method  string
	Pattern string
	Handler http.Handler
}

// routes lists every endpoint; the OpenAPI test checks the document against it.
// Each part of the API keeps its routes in its own list.
func (s *Server) routes() []Route {
	var all []Route
	for _, part := range [][]Route{s.coreRoutes(), s.adminRoutes(), s.accountRoutes(), s.b2bRoutes(), s.ssoRoutes(), s.eventRoutes(), s.thingsRoutes(), s.deviceRoutes()} {
		all = append(all, part...)
	}
	return all
}

// coreRoutes: health, the document, self-registration and sessions.
func (s *Server) coreRoutes() []Route {
	return []Route{
		{"GET", "/healthz", http.HandlerFunc(s.healthz)},
		{"GET", "/readyz", http.HandlerFunc(s.readyz)},
		{"GET", "/api/openapi.json", http.HandlerFunc(s.openapi)},

		{"POST", "/api/v1/signups", s.handle(s.startSignup)},
		{"GET", "/api/v1/signups/{token}", s.handle(s.getSignup)},
		{"POST", "/api/v1/signups/{token}", s.handle(s.completeSignup)},

		{"POST", "/api/v1/sessions", s.handle(s.createSession)},
		{"DELETE", "/api/v1/sessions/current", s.authedPending(s.deleteSession)},
		{"GET", "/api/v1/me", s.authedPending(s.me)},
		{"GET", "/api/v1/me/agreements", s.authedPending(s.myAgreements)},
		{"POST", "/api/v1/me/agreements", s.authedPending(s.acceptAgreements)},
		{"PUT", "/api/v1/me/customer", s.authedPending(s.verifyCustomer)},
	}
}

// Routes returns the method and pattern of every endpoint.
func (s *Server) Routes() [][2]string {
	var out [][2]string
	for _, r := range s.routes() {
		out = append(out, [2]string{r.Method, r.Pattern})
	}
	return out
}
