package httpapi

import (
	"net/http"

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

func (s *Server) ssoService() (*sso.Service, error) {
	if s.cfg.SSO == nil {
		return nil, domain.Errorf(domain.ENotFound, "sso-not-configured", "Sign-in with OpenID Connect is not available.")
	}
	return s.cfg.SSO, nil
}

func sessionAnswer(token string, p flows.Principal) OIDCSessionAnswer {
	exp := p.Session.ExpiresAt
	actions := p.RequiredActions
	if actions == nil {
		actions = []string{}
	}
	u := userView(p.User, p.UserType)
	return OIDCSessionAnswer{Status: "signed_in", Token: token, ExpiresAt: &exp, User: &u, RequiredActions: actions}
}

func (s *Server) createOIDCSession(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.ssoService()
	if err != nil {
		return err
	}
	var req OIDCSessionRequest
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
	pv := &OIDCPending{Token: out.Pending.Token, ExpiresAt: out.Pending.ExpiresAt, Email: out.Pending.Claims.Email}
	if out.Pending.Kind == domain.SSOFlowLink {
		encode(w, http.StatusOK, OIDCSessionAnswer{Status: "link_required", Link: pv})
		return nil
	}
	encode(w, http.StatusOK, OIDCSessionAnswer{Status: "registration_required", Registration: pv})
	return nil
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
	encode(w, http.StatusOK, OIDCRegistrationForm{Email: form.Claims.Email, AccountType: form.AccountType, Organization: form.Organization.Name,
		Provider: form.Provider, ExpiresAt: form.ExpiresAt, Fields: fieldViews(form.Fields), Prefilled: form.Prefilled, Agreements: agreements})
	return nil
}

func (s *Server) completeOIDCRegistration(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.ssoService()
	if err != nil {
		return err
	}
	var req OIDCRegistrationRequest
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
	encode(w, http.StatusCreated, OIDCRegistered{Status: "signed_in", Token: reg.Token, ExpiresAt: reg.Principal.Session.ExpiresAt,
		User: userView(reg.Registration.User, reg.Registration.UserType), Customer: accountView(reg.Registration.Account),
		Location: loc, RequiredActions: actions})
	return nil
}

func (s *Server) completeOIDCLink(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.ssoService()
	if err != nil {
		return err
	}
	var req OIDCLinkRequest
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
