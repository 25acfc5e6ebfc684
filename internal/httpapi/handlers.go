package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// handle adapts a handler that returns an error.
func (s *Server) handle(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

type principalKey struct{}

// authed requires a bearer session token whose required actions are done.
func (s *Server) authed(fn func(w http.ResponseWriter, r *http.Request, p flows.Principal) error) http.Handler {
	return s.session(false, fn)
}

// authedPending requires a bearer session token, with or without required
// actions pending: for /me and for doing the actions.
func (s *Server) authedPending(fn func(w http.ResponseWriter, r *http.Request, p flows.Principal) error) http.Handler {
	return s.session(true, fn)
}

func (s *Server) session(allowPending bool, fn func(w http.ResponseWriter, r *http.Request, p flows.Principal) error) http.Handler {
	return withBearer(s, "session token", s.flows.Authenticate, func(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
		if len(p.RequiredActions) > 0 && !allowPending {
			return domain.Errorf(domain.EForbidden, "required-actions-pending",
				"Complete the required actions first: %s.", strings.Join(p.RequiredActions, ", "))
		}
		return fn(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), p)
	})
}

// withBearer is the one authentication wrapper of the API: it reads the
// request's bearer credential, turns it into the principal P with
// authenticate, and calls fn with it. A missing credential is a 401 that asks
// for a valid one of that kind ("session token", "admin API key", ...);
// authenticate's errors (401 for a bad credential) are answered as they are.
func withBearer[P any](s *Server, kind string, authenticate func(ctx context.Context, credential string) (P, error),
	fn func(w http.ResponseWriter, r *http.Request, p P) error) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		credential, ok := bearer(r)
		if !ok {
			return domain.Errorf(domain.EUnauthorized, "unauthenticated", "A valid %s is required.", kind)
		}
		p, err := authenticate(r.Context(), credential)
		if err != nil {
			return err
		}
		return fn(w, r, p)
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	encode(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		writeProblem(w, Problem{Type: ProblemBase + "not-ready", Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable, Detail: "The database does not answer."})
		return
	}
	encode(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.doc)
}

// ---- signups ----

type startSignupRequest struct {
	Email        string `json:"email"`
	AccountType  string `json:"account_type"`
	Organization string `json:"organization,omitempty"`
}

func (s *Server) startSignup(w http.ResponseWriter, r *http.Request) error {
	var req startSignupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	err := s.flows.StartSignup(r.Context(), flows.StartSignup{
		Organization: req.Organization, Email: req.Email, AccountType: req.AccountType, ClientIP: s.clientIP(r),
	})
	if err != nil {
		return err
	}
	encode(w, http.StatusAccepted, map[string]string{"status": "email_sent"})
	return nil
}

type agreementJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Title    string `json:"title"`
	Version  int    `json:"version"`
	Required bool   `json:"required"`
	Text     string `json:"text"`
}

func (s *Server) getSignup(w http.ResponseWriter, r *http.Request) error {
	form, err := s.flows.Signup(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	agreements := make([]agreementJSON, 0, len(form.Agreements))
	for _, a := range form.Agreements {
		agreements = append(agreements, agreementJSON{a.ID, a.Name, a.Kind, a.Title, a.Version, a.Required, a.Body})
	}
	encode(w, http.StatusOK, map[string]any{
		"email":           form.Signup.Email,
		"account_type":    form.Signup.AccountType,
		"organization":    form.Organization.Name,
		"expires_at":      form.Signup.ExpiresAt,
		"fields":          form.Fields,
		"agreements":      agreements,
		"password_policy": form.Policy,
	})
	return nil
}

type completeSignupRequest struct {
	Customer           map[string]any `json:"customer"`
	User               map[string]any `json:"user"`
	Password           string         `json:"password"`
	AcceptedAgreements []string       `json:"accepted_agreements"`
	PartnerCode        string         `json:"partner_code,omitempty"`
}

func (s *Server) completeSignup(w http.ResponseWriter, r *http.Request) error {
	var req completeSignupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	reg, err := s.flows.CompleteSignup(r.Context(), r.PathValue("token"), flows.Completion{
		Customer: req.Customer, User: req.User, Password: req.Password, AcceptedAgreements: req.AcceptedAgreements,
		PartnerCode: req.PartnerCode, ClientIP: s.clientIP(r),
	})
	if err != nil {
		return err
	}
	var loc any
	if reg.Location != nil {
		loc = locationView(*reg.Location)
	}
	encode(w, http.StatusCreated, map[string]any{
		reg.Account.Kind: accountView(reg.Account),
		"user":           userView(reg.User, reg.UserType),
		"location":       loc,
		"status":         reg.Status,
	})
	return nil
}

// ---- sessions ----

type createSessionRequest struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	Organization string `json:"organization,omitempty"`
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) error {
	var req createSessionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	token, p, err := s.flows.Login(r.Context(), flows.Login{
		Organization: req.Organization, Email: req.Email, Password: req.Password,
		ClientIP: s.clientIP(r), UserAgent: r.UserAgent(),
	})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, map[string]any{
		"token":            token,
		"expires_at":       p.Session.ExpiresAt,
		"user":             userView(p.User, p.UserType),
		"required_actions": p.RequiredActions,
	})
	return nil
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	if err := s.flows.Logout(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	prof, err := s.flows.Me(r.Context(), p)
	if err != nil {
		return err
	}
	locs := make([]any, 0, len(prof.Locations))
	for _, l := range prof.Locations {
		locs = append(locs, locationView(l))
	}
	encode(w, http.StatusOK, map[string]any{
		"user":             userView(prof.User, prof.UserType),
		prof.Account.Kind:  accountView(prof.Account),
		"locations":        locs,
		"required_actions": p.RequiredActions,
	})
	return nil
}

func agreementStatusViews(list []flows.AgreementStatus) []any {
	out := make([]any, 0, len(list))
	for _, a := range list {
		out = append(out, map[string]any{
			"id": a.ID, "name": a.Name, "kind": a.Kind, "title": a.Title, "version": a.Version, "required": a.Required,
			"text": a.Body, "accepted": a.Accepted, "accepted_at": a.AcceptedAt,
		})
	}
	return out
}

func (s *Server) myAgreements(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	list, err := s.flows.MyAgreements(r.Context(), p)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, map[string]any{"agreements": agreementStatusViews(list)})
	return nil
}

type acceptAgreementsRequest struct {
	Accepted []string `json:"accepted"`
}

func (s *Server) acceptAgreements(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req acceptAgreementsRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	list, err := s.flows.AcceptAgreements(r.Context(), p, req.Accepted)
	if err != nil {
		return err
	}
	p, err = s.reauthenticate(r)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, map[string]any{"agreements": agreementStatusViews(list), "required_actions": p.RequiredActions})
	return nil
}

type verifyCustomerRequest struct {
	Phone   string `json:"phone"`
	Address string `json:"address"`
}

func (s *Server) verifyCustomer(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req verifyCustomerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	acct, err := s.flows.VerifyCustomer(r.Context(), p, flows.CustomerDetails{Phone: req.Phone, Address: req.Address})
	if err != nil {
		return err
	}
	p, err = s.reauthenticate(r)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, map[string]any{"customer": accountView(acct), "required_actions": p.RequiredActions})
	return nil
}

// reauthenticate reloads the principal after a change to what it must do.
func (s *Server) reauthenticate(r *http.Request) (flows.Principal, error) {
	token, _ := bearer(r)
	return s.flows.Authenticate(r.Context(), token)
}

// ---- views ----

func accountView(a domain.Account) map[string]any {
	props := a.Properties
	if props == nil {
		props = map[string]string{}
	}
	return map[string]any{
		"id": a.ID, "kind": a.Kind, "type": a.Type, "name": a.Name, "status": a.Status,
		"properties": props, "created_at": a.CreatedAt,
	}
}

func userView(u domain.User, ut domain.UserType) map[string]any {
	perms := ut.Permissions
	if perms == nil {
		perms = []string{}
	}
	return map[string]any{
		"id": u.ID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName, "phone": u.Phone,
		"status": u.Status, "user_type": map[string]any{"name": ut.Name, "permissions": perms},
		"customer_id": u.AccountID, "created_at": u.CreatedAt,
	}
}

func locationView(l domain.Location) map[string]any {
	return map[string]any{"id": l.ID, "name": l.Name, "created_at": l.CreatedAt}
}
