package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/flows"
)

// Handlers of what users do about themselves: password reset and change,
// email change, sessions and the data export.

// ---- password reset ----

func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var req PasswordResetRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	err := s.flows.RequestPasswordReset(r.Context(), flows.PasswordResetRequest{
		Organization: req.Organization, Email: req.Email, ClientIP: s.clientIP(r),
	})
	if err != nil {
		return err
	}
	encode(w, http.StatusAccepted, EmailSent{Status: "email_sent"})
	return nil
}

func (s *Server) getPasswordReset(w http.ResponseWriter, r *http.Request) error {
	info, err := s.flows.PasswordReset(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, PasswordResetInfo{Email: info.MaskedEmail, ExpiresAt: info.Reset.ExpiresAt, PasswordPolicy: policyView(info.Policy)})
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var req ResetPasswordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.flows.ResetPassword(r.Context(), r.PathValue("token"), req.Password); err != nil {
		return err
	}
	encode(w, http.StatusOK, PasswordChanged{Status: "password_changed"})
	return nil
}

// ---- password change ----

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req ChangePasswordRequest
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

func (s *Server) requestEmailChange(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req ChangeEmailRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.flows.RequestEmailChange(r.Context(), p, req.Email, req.CurrentPassword); err != nil {
		return err
	}
	encode(w, http.StatusAccepted, EmailSent{Status: "email_sent"})
	return nil
}

func (s *Server) getEmailChange(w http.ResponseWriter, r *http.Request) error {
	info, err := s.flows.EmailChange(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, EmailChangeInfo{Email: info.Change.NewEmail, CurrentEmail: info.MaskedEmail, ExpiresAt: info.Change.ExpiresAt})
	return nil
}

func (s *Server) confirmEmailChange(w http.ResponseWriter, r *http.Request) error {
	u, err := s.flows.ConfirmEmailChange(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, EmailChanged{Status: "email_changed", Email: u.Email})
	return nil
}

// ---- sessions ----

func (s *Server) listMySessions(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	list, err := s.flows.Sessions(r.Context(), p)
	if err != nil {
		return err
	}
	out := MySessions{Sessions: make([]MySession, 0, len(list))}
	for _, sess := range list {
		out.Sessions = append(out.Sessions, sessionView(sess, p.Session.ID))
	}
	encode(w, http.StatusOK, out)
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
	encode(w, http.StatusOK, SessionsEnded{Ended: n})
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
