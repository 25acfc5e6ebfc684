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

func (s *Server) listPartners(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ps, err := s.flows.Partners(r.Context(), org)
	if err != nil {
		return err
	}
	out := PartnerList{Partners: make([]Partner, 0, len(ps))}
	for _, p := range ps {
		out.Partners = append(out.Partners, partnerView(p))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) createPartner(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req CreatePartnerRequest
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

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req CreateCustomerRequest
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
	var loc *Location
	if c.Location != nil {
		l := locationView(*c.Location)
		loc = &l
	}
	encode(w, http.StatusCreated, BackOfficeCustomer{Customer: adminAccountView(c.Account), User: adminUserView(c.User, c.UserType.Name), Location: loc})
	return nil
}

// ---- approvals ----

// pendingView shows an account with its users; typeNames maps user type ids
// to names.
func pendingView(p flows.PendingAccount, typeNames map[string]string) PendingAccount {
	users := make([]AdminUser, 0, len(p.Users))
	for _, u := range p.Users {
		users = append(users, adminUserView(u, typeNames[u.UserTypeID]))
	}
	return PendingAccount{Account: adminAccountView(p.Account), Users: users}
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
	out := ApprovalList{Approvals: make([]PendingAccount, 0, len(ps))}
	for _, p := range ps {
		out.Approvals = append(out.Approvals, pendingView(p, names))
	}
	encode(w, http.StatusOK, out)
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
	var req RejectRequest
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
	out := AuditLog{Entries: make([]AuditEntry, 0, len(entries))}
	for _, e := range entries {
		out.Entries = append(out.Entries, auditView(e))
	}
	encode(w, http.StatusOK, out)
	return nil
}
