package httpapi

import (
	"net/http"
	"strconv"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// Handlers of the admin API's accounts: partners, back-office customers,
// data recipients awaiting approval, and the audit log.

// ---- partners ----

type createPartnerRequest struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties"`
}

func (s *Server) listPartners(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ps, err := s.flows.Partners(r.Context(), org)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		out = append(out, partnerView(p))
	}
	encode(w, http.StatusOK, map[string]any{"partners": out})
	return nil
}

func (s *Server) createPartner(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req createPartnerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.flows.CreatePartner(r.Context(), adm, org, flows.PartnerInput{Name: req.Name, Properties: req.Properties})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, partnerView(p))
	return nil
}

func (s *Server) regeneratePartnerCode(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	p, err := s.flows.RegeneratePartnerCode(r.Context(), adm, org, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, partnerView(p))
	return nil
}

// ---- back-office customers ----

type createCustomerRequest struct {
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties"`
	User       struct {
		Email     string `json:"email"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Phone     string `json:"phone"`
	} `json:"user"`
	UserType string `json:"user_type"`
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req createCustomerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.flows.CreateCustomer(r.Context(), adm, org, flows.CustomerInput{
		Type: req.Type, Name: req.Name, Properties: req.Properties, UserType: req.UserType,
		User: flows.CustomerUserInput{Email: req.User.Email, FirstName: req.User.FirstName, LastName: req.User.LastName, Phone: req.User.Phone},
	})
	if err != nil {
		return err
	}
	var loc any
	if c.Location != nil {
		loc = locationView(*c.Location)
	}
	encode(w, http.StatusCreated, map[string]any{
		"customer": adminAccountView(c.Account),
		"user":     adminUserView(c.User, c.UserType.Name),
		"location": loc,
	})
	return nil
}

// ---- approvals ----

type rejectRequest struct {
	Reason string `json:"reason"`
}

// pendingView shows an account with its users; typeNames maps user type ids
// to names.
func pendingView(p flows.PendingAccount, typeNames map[string]string) map[string]any {
	users := make([]any, 0, len(p.Users))
	for _, u := range p.Users {
		users = append(users, adminUserView(u, typeNames[u.UserTypeID]))
	}
	return map[string]any{"account": adminAccountView(p.Account), "users": users}
}

func (s *Server) userTypeNames(r *http.Request, org domain.Organization) (map[string]string, error) {
	uts, err := s.flows.UserTypes(r.Context(), org)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(uts))
	for _, u := range uts {
		out[u.ID] = u.Name
	}
	return out, nil
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ps, err := s.flows.PendingApprovals(r.Context(), org)
	if err != nil {
		return err
	}
	names, err := s.userTypeNames(r, org)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		out = append(out, pendingView(p, names))
	}
	encode(w, http.StatusOK, map[string]any{"approvals": out})
	return nil
}

func (s *Server) approveAccount(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	p, err := s.flows.ApproveAccount(r.Context(), adm, org, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeDecision(w, r, org, p)
}

func (s *Server) rejectAccount(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req rejectRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.flows.RejectAccount(r.Context(), adm, org, r.PathValue("id"), req.Reason)
	if err != nil {
		return err
	}
	return s.writeDecision(w, r, org, p)
}

func (s *Server) writeDecision(w http.ResponseWriter, r *http.Request, org domain.Organization, p flows.PendingAccount) error {
	names, err := s.userTypeNames(r, org)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, pendingView(p, names))
	return nil
}

// ---- audit log ----

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	q := r.URL.Query()
	limit := flows.DefaultAuditLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return domain.Invalid(domain.FieldError{Field: "limit", Message: "must be a whole number between 1 and " + strconv.Itoa(flows.MaxAuditLimit)})
		}
		limit = n
	}
	entries, err := s.flows.AuditLog(r.Context(), org, q.Get("action"), limit)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		out = append(out, auditView(e))
	}
	encode(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}
