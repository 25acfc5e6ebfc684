package httpapi

import (
	"net/http"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// ---- admin: managing API clients ----

// clientJSON is an API client as the admin API shows it: never its secret
// or the secret's hash.
type clientJSON struct {
	ID            string     `json:"id"`
	ClientID      string     `json:"client_id"`
	Name          string     `json:"name"`
	Kind          string     `json:"kind"`
	Labelpartners []string   `json:"labelpartners"`
	CreatedAt     time.Time  `json:"created_at"`
	LastUsedAt    *time.Time `json:"last_used_at,omitempty"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

func clientView(c b2b.ClientDetails) clientJSON {
	lps := c.Labelpartners
	if lps == nil {
		lps = []string{}
	}
	return clientJSON{ID: c.ID, ClientID: c.ClientID, Name: c.Name, Kind: c.Kind, Labelpartners: lps, CreatedAt: c.CreatedAt,
		LastUsedAt: c.LastUsedAt, RevokedAt: c.RevokedAt}
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	cs, err := s.b2b.Clients(r.Context(), org)
	if err != nil {
		return err
	}
	out := make([]clientJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientView(c))
	}
	encode(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	c, err := s.b2b.Client(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, clientView(c))
	return nil
}

type patchClientRequest struct {
	Name          *string   `json:"name"`
	Labelpartners *[]string `json:"labelpartners"`
}

func (s *Server) patchClient(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req patchClientRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.b2b.UpdateClient(r.Context(), adm, org, r.PathValue("id"), b2b.ClientPatch{Name: req.Name, Labelpartners: req.Labelpartners})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, clientView(c))
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
	encode(w, http.StatusOK, map[string]string{"client_id": c.ClientID, "client_secret": secret})
	return nil
}
