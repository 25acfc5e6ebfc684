package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// Handlers of the admin API's own keys: list and revoke (full-rights key
// only). A key and its hash are never shown.

// AdminKeyView is the view of an admin key.
func AdminKeyView(k domain.AdminKey) AdminKey {
	return AdminKey{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

func (s *Server) listAdminKeys(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	keys, err := s.flows.AdminKeys(r.Context(), adm, org)
	if err != nil {
		return err
	}
	out := AdminKeyList{AdminKeys: make([]AdminKey, 0, len(keys))}
	for _, k := range keys {
		out.AdminKeys = append(out.AdminKeys, AdminKeyView(k))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeAdminKey(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	if _, err := s.flows.RevokeAdminKey(r.Context(), adm, org, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
