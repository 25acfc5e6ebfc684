package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

func (s *Server) getOnboarding(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	encode(w, http.StatusOK, flows.Redacted(org.Onboarding))
	return nil
}

func (s *Server) putOnboarding(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var cfg domain.Onboarding
	if err := decode(w, r, &cfg); err != nil {
		return err
	}
	saved, err := s.flows.PutOnboarding(r.Context(), adm, org, cfg)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, flows.Redacted(saved))
	return nil
}
