package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// ---- admin: managing API clients ----

// ClientView is an API client as the admin API shows it, and as `onboard b2b
// client` prints it: never its secret or the secret's hash.
func ClientView(c b2b.ClientDetails) B2BClient {
	lps := c.Labelpartners
	if lps == nil {
		lps = []string{}
	}
	return B2BClient{ID: c.ID, ClientID: c.ClientID, Name: c.Name, Kind: c.Kind, Labelpartners: lps, CreatedAt: c.CreatedAt,
		LastUsedAt: c.LastUsedAt, RevokedAt: c.RevokedAt}
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	cs, err := s.b2b.Clients(r.Context(), org)
	if err != nil {
		return err
	}
	out := B2BClientList{Clients: make([]B2BClient, 0, len(cs))}
	for _, c := range cs {
		out.Clients = append(out.Clients, ClientView(c))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	c, err := s.b2b.Client(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, ClientView(c))
	return nil
}

func (s *Server) patchClient(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req B2BPatchClientRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.b2b.UpdateClient(r.Context(), adm, org, r.PathValue("id"), b2b.ClientPatch{Name: req.Name, Labelpartners: req.Labelpartners})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, ClientView(c))
	return nil
}

func (s *Server) revokeClient(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	if err := s.b2b.RevokeClient(r.Context(), adm, org, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateClientSecret(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	c, secret, err := s.b2b.RotateClientSecret(r.Context(), adm, org, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, B2BClientCredentials{ClientID: c.ClientID, ClientSecret: secret})
	return nil
}
