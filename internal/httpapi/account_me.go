package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/flows"
)

// Handlers of what users do about themselves: password reset and change,
// email change, sessions and the data export.

// ---- password reset ----

type passwordResetRequest struct {
	Email        string `json:"email"`
	Organization string `json:"organization,omitempty"`
}

func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var req passwordResetRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	err := s.flows.RequestPasswordReset(r.Context(), flows.PasswordResetRequest{
		Organization: req.Organization, Email: req.Email, ClientIP: s.clientIP(r),
	})
	if err != nil {
		return err
	}
	encode(w, http.StatusAccepted, map[string]string{"status": "email_sent"})
	return nil
}

func (s *Server) getPasswordReset(w http.ResponseWriter, r *http.Request) error {
	info, err := s.flows.PasswordReset(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, map[string]any{
		"email": info.MaskedEmail, "expires_at": info.Reset.ExpiresAt, "password_policy": info.Policy,
	})
	return nil
}

type resetPasswordRequest struct {
	Password string `json:"password"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var req resetPasswordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.flows.ResetPassword(r.Context(), r.PathValue("token"), req.Password); err != nil {
		return err
	}
	encode(w, http.StatusOK, map[string]string{"status": "password_changed"})
	return nil
}

// ---- password change ----

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req changePasswordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.flows.ChangePassword(r.Context(), p, req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- email change ----

type changeEmailRequest struct {
	Email           string `json:"email"`
	CurrentPassword string `json:"current_password"`
}

func (s *Server) requestEmailChange(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req changeEmailRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.flows.RequestEmailChange(r.Context(), p, req.Email, req.CurrentPassword); err != nil {
		return err
	}
	encode(w, http.StatusAccepted, map[string]string{"status": "email_sent"})
	return nil
}

func (s *Server) getEmailChange(w http.ResponseWriter, r *http.Request) error {
	info, err := s.flows.EmailChange(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, map[string]any{
		"email": info.Change.NewEmail, "current_email": info.MaskedEmail, "expires_at": info.Change.ExpiresAt,
	})
	return nil
}

func (s *Server) confirmEmailChange(w http.ResponseWriter, r *http.Request) error {
	u, err := s.flows.ConfirmEmailChange(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, map[string]string{"status": "email_changed", "email": u.Email})
	return nil
}

// ---- sessions ----

func (s *Server) listMySessions(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	list, err := s.flows.Sessions(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(list))
	for _, sess := range list {
		out = append(out, sessionView(sess, p.Session.ID))
	}
	encode(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (s *Server) endMySession(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	if err := s.flows.EndSession(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) endMyOtherSessions(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	n, err := s.flows.EndOtherSessions(r.Context(), p)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, map[string]any{"ended": n})
	return nil
}

// ---- export ----

func (s *Server) exportMe(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	x, err := s.flows.Export(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="onboard-export.json"`)
	encode(w, http.StatusOK, exportView(x, p.Session.ID))
	return nil
}
