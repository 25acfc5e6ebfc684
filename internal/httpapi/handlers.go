package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
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
	encode(w, http.StatusOK, Health{Status: "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		writeProblem(w, Problem{Type: ProblemBase + "not-ready", Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable, Detail: "The database does not answer."})
		return
	}
	encode(w, http.StatusOK, Health{Status: "ready"})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.doc)
}

// ---- signups ----

func (s *Server) startSignup(w http.ResponseWriter, r *http.Request) error {
	var req StartSignupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	err := s.flows.StartSignup(r.Context(), flows.StartSignup{
		Organization: req.Organization, Email: req.Email, AccountType: req.AccountType, ClientIP: s.clientIP(r),
	})
	if err != nil {
		return err
	}
	encode(w, http.StatusAccepted, SignupStatus{Status: "email_sent"})
	return nil
}

func (s *Server) getSignup(w http.ResponseWriter, r *http.Request) error {
	form, err := s.flows.Signup(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, SignupForm{
		Email:          form.Signup.Email,
		AccountType:    form.Signup.AccountType,
		Organization:   form.Organization.Name,
		ExpiresAt:      form.Signup.ExpiresAt,
		Fields:         fieldViews(form.Fields),
		Agreements:     agreementViews(form.Agreements),
		PasswordPolicy: policyView(form.Policy),
	})
	return nil
}

func (s *Server) completeSignup(w http.ResponseWriter, r *http.Request) error {
	var req CompleteSignupRequest
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
	out := Registration{User: userView(reg.User, reg.UserType), Status: reg.Status}
	if reg.Location != nil {
		l := locationView(*reg.Location)
		out.Location = &l
	}
	*accountByKind(reg.Account.Kind, &out.Customer, &out.Partner, &out.DataRecipient) = accountView(reg.Account)
	encode(w, http.StatusCreated, out)
	return nil
}

// ---- sessions ----

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) error {
	var req CreateSessionRequest
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
	encode(w, http.StatusCreated, Session{
		Token: token, ExpiresAt: p.Session.ExpiresAt, User: userView(p.User, p.UserType), RequiredActions: strs(p.RequiredActions),
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
	out := Me{User: userView(prof.User, prof.UserType), Locations: make([]Location, 0, len(prof.Locations)), RequiredActions: strs(p.RequiredActions)}
	for _, l := range prof.Locations {
		out.Locations = append(out.Locations, locationView(l))
	}
	*accountByKind(prof.Account.Kind, &out.Customer, &out.Partner, &out.DataRecipient) = accountView(prof.Account)
	encode(w, http.StatusOK, out)
	return nil
}

func agreementStatusViews(list []flows.AgreementStatus) []AgreementStatus {
	out := make([]AgreementStatus, 0, len(list))
	for _, a := range list {
		out = append(out, AgreementStatus{
			ID: a.ID, Name: a.Name, Kind: a.Kind, Title: a.Title, Version: a.Version, Required: a.Required,
			Text: a.Body, Accepted: a.Accepted, AcceptedAt: a.AcceptedAt,
		})
	}
	return out
}

func (s *Server) myAgreements(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	list, err := s.flows.MyAgreements(r.Context(), p)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, MyAgreements{Agreements: agreementStatusViews(list)})
	return nil
}

func (s *Server) acceptAgreements(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req AcceptAgreementsRequest
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
	encode(w, http.StatusOK, AgreementsAccepted{Agreements: agreementStatusViews(list), RequiredActions: strs(p.RequiredActions)})
	return nil
}

func (s *Server) verifyCustomer(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	var req VerifyCustomerRequest
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
	encode(w, http.StatusOK, VerifiedCustomer{Customer: accountView(acct), RequiredActions: strs(p.RequiredActions)})
	return nil
}

// reauthenticate reloads the principal after a change to what it must do.
func (s *Server) reauthenticate(r *http.Request) (flows.Principal, error) {
	token, _ := bearer(r)
	return s.flows.Authenticate(r.Context(), token)
}

// ---- views ----

func accountView(a domain.Account) Customer {
	return Customer{
		ID: a.ID, Kind: a.Kind, Type: a.Type, Name: a.Name, Status: a.Status, Properties: props(a.Properties), CreatedAt: a.CreatedAt,
	}
}

// accountByKind is the member of a view that names an account of this kind:
// customer, partner or data_recipient.
func accountByKind(kind string, customer, partner, dataRecipient *Customer) *Customer {
	switch kind {
	case domain.KindPartner:
		return partner
	case domain.KindDataRecipient:
		return dataRecipient
	}
	return customer
}

func userView(u domain.User, ut domain.UserType) User {
	return User{
		ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Phone: u.Phone, Status: u.Status,
		UserType: UserType{Name: ut.Name, Permissions: strs(ut.Permissions)}, CustomerID: u.AccountID, CreatedAt: u.CreatedAt,
	}
}

func locationView(l domain.Location) Location {
	return Location{ID: l.ID, Name: l.Name, CreatedAt: l.CreatedAt}
}

func agreementViews(list []domain.Agreement) []Agreement {
	out := make([]Agreement, 0, len(list))
	for _, a := range list {
		out = append(out, Agreement{ID: a.ID, Name: a.Name, Kind: a.Kind, Title: a.Title, Version: a.Version, Required: a.Required, Text: a.Body})
	}
	return out
}

func fieldViews(list []flows.Field) []Field {
	out := make([]Field, 0, len(list))
	for _, f := range list {
		out = append(out, Field{Name: f.Name, Label: f.Label, Type: f.Type, Required: f.Required, MaxLength: f.MaxLength, Options: f.Options})
	}
	return out
}

func policyView(p auth.PolicyDescription) PasswordPolicy {
	return PasswordPolicy{MinLength: p.MinLength, MaxLength: p.MaxLength, Rules: strs(p.Rules)}
}
