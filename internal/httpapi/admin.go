package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// adminFunc is a handler of the admin API for one organization.
type adminFunc func(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error

// admin requires an admin API key that may see the {org} of the path; any
// other organization answers 404, as if it did not exist.
func (s *Server) admin(fn adminFunc) http.Handler {
	return s.adminRoot(func(w http.ResponseWriter, r *http.Request, adm flows.Admin) error {
		org, err := s.flows.AdminOrganization(r.Context(), adm, r.PathValue("org"))
		if err != nil {
			return err
		}
		return fn(w, r, adm, org)
	})
}
