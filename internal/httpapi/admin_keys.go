package httpapi

import (
	"net/http"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// Handlers of the admin API's own keys: list and revoke (full-rights key
// only). A key and its hash are never shown.

// AdminKeyJSON is an admin key as the API shows it, and as
// `onboard admin key list` prints it: never the key or its hash.
type AdminKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// AdminKeyView is the view of an admin key.
func AdminKeyView(k domain.AdminKey) AdminKeyJSON {
	return AdminKeyJSON{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

func (s *Server) listAdminKeys(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	keys, err := s.flows.AdminKeys(r.Context(), adm, org)
	if err != nil {
		return err
	}
	out := make([]AdminKeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, AdminKeyView(k))
	}
	encode(w, http.StatusOK, map[string]any{"admin_keys": out})
	return nil
}

func (s *Server) revokeAdminKey(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	if _, err := s.flows.RevokeAdminKey(r.Context(), adm, org, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
