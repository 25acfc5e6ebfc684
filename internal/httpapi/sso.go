package httpapi

import (
	"net/http"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/sso"
)

// ssoRoutes: the sign-in of apps with OpenID Connect.
func (s *Server) ssoRoutes() []Route {
	return []Route{
		{"POST", "/api/v1/sessions/oidc", s.handle(s.createOIDCSession)},
		{"GET", "/api/v1/sessions/oidc/registrations/{token}", s.handle(s.getOIDCRegistration)},
		{"POST", "/api/v1/sessions/oidc/registrations/{token}", s.handle(s.completeOIDCRegistration)},
		{"POST", "/api/v1/sessions/oidc/links/{token}", s.handle(s.completeOIDCLink)},
	}
}

// oidcSessionRequest is the body of POST /api/v1/sessions/oidc.
type oidcSessionRequest struct {
	Organization string `json:"organization,omitempty"`
	Provider     string `json:"provider"`
	Code         string `json:"code,omitempty"`
	CodeVerifier string `json:"code_verifier,omitempty"`
	RedirectURI  string `json:"redirect_uri,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Nonce        string `json:"nonce,omitempty"`
}

// oidcPendingView is a pending first-login registration or link.
type oidcPendingView struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Email     string    `json:"email"`
}

// oidcSessionResponse is the answer of POST /api/v1/sessions/oidc: a
// session (status signed_in), or the token of the first-login
// registration (registration_required) or of the link to an existing
// account (link_required).
type oidcSessionResponse struct {
	Status          string           `json:"status"`
	Token           string           `json:"token,omitempty"`
	ExpiresAt       *time.Time       `json:"expires_at,omitempty"`
	User            *User            `json:"user,omitempty"`
	RequiredActions []string         `json:"required_actions,omitempty"`
	Registration    *oidcPendingView `json:"registration,omitempty"`
	Link            *oidcPendingView `json:"link,omitempty"`
}

func (s *Server) ssoService() (*sso.Service, error) {
	if s.cfg.SSO == nil {
		return nil, domain.Errorf(domain.ENotFound, "sso-not-configured", "Sign-in with OpenID Connect is not available.")
	}
	return s.cfg.SSO, nil
}

func sessionAnswer(token string, p flows.Principal) oidcSessionResponse {
	exp := p.Session.ExpiresAt
	actions := p.RequiredActions
	if actions == nil {
		actions = []string{}
	}
	u := userView(p.User, p.UserType)
	return oidcSessionResponse{Status: "signed_in", Token: token, ExpiresAt: &exp, User: &u, RequiredActions: actions}
}

func (s *Server) createOIDCSession(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.ssoService()
	if err != nil {
		return err
	}
	var req oidcSessionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	out, err := svc.SignInApp(r.Context(), sso.AppSignIn{Organization: req.Organization, Provider: req.Provider, Code: req.Code,
		CodeVerifier: req.CodeVerifier, RedirectURI: req.RedirectURI, IDToken: req.IDToken, Nonce: req.Nonce,
		ClientIP: s.clientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	if out.Pending == nil {
		encode(w, http.StatusCreated, sessionAnswer(out.Token, out.Principal))
		return nil
	}
	pv := &oidcPendingView{Token: out.Pending.Token, ExpiresAt: out.Pending.ExpiresAt, Email: out.Pending.Claims.Email}
	if out.Pending.Kind == domain.SSOFlowLink {
		encode(w, http.StatusOK, oidcSessionResponse{Status: "link_required", Link: pv})
		return nil
	}
	encode(w, http.StatusOK, oidcSessionResponse{Status: "registration_required", Registration: pv})
	return nil
}

// oidcRegistrationView is the first-login registration form.
type oidcRegistrationView struct {
	Email        string            `json:"email"`
	AccountType  string            `json:"account_type"`
	Organization string            `json:"organization"`
	Provider     string            `json:"provider"`
	ExpiresAt    time.Time         `json:"expires_at"`
	Fields       []flows.Field     `json:"fields"`
	Prefilled    map[string]string `json:"prefilled"`
	Agreements   []Agreement       `json:"agreements"`
}

func (s *Server) getOIDCRegistration(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.ssoService()
	if err != nil {
		return err
	}
	form, err := svc.Registration(r.Context(), r.PathValue("token"), "")
	if err != nil {
		return err
	}
	agreements := agreementViews(form.Agreements)
	encode(w, http.StatusOK, oidcRegistrationView{Email: form.Claims.Email, AccountType: form.AccountType, Organization: form.Organization.Name,
		Provider: form.Provider, ExpiresAt: form.ExpiresAt, Fields: form.Fields, Prefilled: form.Prefilled, Agreements: agreements})
	return nil
}

// oidcRegistrationRequest completes the first-login registration: the
// fields of the form (values the claims gave may be left out) and the
// accepted agreements; there is no password.
type oidcRegistrationRequest struct {
	Customer           map[string]any `json:"customer"`
	User               map[string]any `json:"user"`
	AcceptedAgreements []string       `json:"accepted_agreements"`
}

// oidcRegisteredResponse is the created account and the new session.
type oidcRegisteredResponse struct {
	Status          string    `json:"status"`
	Token           string    `json:"token"`
	ExpiresAt       time.Time `json:"expires_at"`
	User            User      `json:"user"`
	Customer        Customer  `json:"customer"`
	Location        *Location `json:"location"`
	RequiredActions []string  `json:"required_actions"`
}

func (s *Server) completeOIDCRegistration(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.ssoService()
	if err != nil {
		return err
	}
	var req oidcRegistrationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	reg, err := svc.CompleteRegistration(r.Context(), r.PathValue("token"), "", flows.Completion{
		Customer: req.Customer, User: req.User, AcceptedAgreements: req.AcceptedAgreements, ClientIP: s.clientIP(r),
	}, r.UserAgent())
	if err != nil {
		return err
	}
	var loc *Location
	if reg.Registration.Location != nil {
		l := locationView(*reg.Registration.Location)
		loc = &l
	}
	actions := reg.Principal.RequiredActions
	if actions == nil {
		actions = []string{}
	}
	encode(w, http.StatusCreated, oidcRegisteredResponse{Status: "signed_in", Token: reg.Token, ExpiresAt: reg.Principal.Session.ExpiresAt,
		User: userView(reg.Registration.User, reg.Registration.UserType), Customer: accountView(reg.Registration.Account),
		Location: loc, RequiredActions: actions})
	return nil
}

// oidcLinkRequest links the identity to the existing account after its
// password.
type oidcLinkRequest struct {
	Password string `json:"password"`
}

func (s *Server) completeOIDCLink(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.ssoService()
	if err != nil {
		return err
	}
	var req oidcLinkRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	token, p, err := svc.CompleteLink(r.Context(), r.PathValue("token"), "", req.Password, s.clientIP(r), r.UserAgent())
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, sessionAnswer(token, p))
	return nil
}
