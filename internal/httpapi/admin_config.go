package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// Handlers of the admin API's configuration: organizations, property
// definitions, user types and agreements.

// ---- organizations ----

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request, adm flows.Admin) error {
	var req CreateOrganizationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	org, err := s.flows.CreateOrganization(r.Context(), adm, req.Name, req.DisplayName)
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, organizationView(org))
	return nil
}

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request, adm flows.Admin) error {
	orgs, err := s.flows.Organizations(r.Context(), adm)
	if err != nil {
		return err
	}
	out := OrganizationList{Organizations: make([]AdminOrganization, 0, len(orgs))}
	for _, o := range orgs {
		out.Organizations = append(out.Organizations, organizationView(o))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) patchOrganization(w http.ResponseWriter, r *http.Request, adm flows.Admin) error {
	var req PatchOrganizationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	org, err := s.flows.UpdateOrganization(r.Context(), adm, r.PathValue("org"),
		flows.OrganizationPatch{DisplayName: req.DisplayName, Disabled: req.Disabled})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, organizationView(org))
	return nil
}

// ---- property definitions ----

type propertyRequest struct {
	Scope        string   `json:"scope"`
	Name         string   `json:"name"`
	Label        string   `json:"label"`
	Type         string   `json:"type"`
	Required     bool     `json:"required"`
	AccountTypes []string `json:"account_types"`
	Options      []string `json:"options"`
	Pattern      string   `json:"pattern"`
	MaxLength    *int     `json:"max_length"`
	Position     *int     `json:"position"`
}

func (p propertyRequest) input() flows.PropertyInput {
	return flows.PropertyInput{Scope: p.Scope, Name: p.Name, Label: p.Label, Type: p.Type, Required: p.Required,
		AccountTypes: p.AccountTypes, Options: p.Options, Pattern: p.Pattern, MaxLength: p.MaxLength, Position: p.Position}
}

func (s *Server) listProperties(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	defs, err := s.flows.PropertyDefinitions(r.Context(), org)
	if err != nil {
		return err
	}
	out := PropertyList{Properties: make([]PropertyDefinition, 0, len(defs))}
	for _, p := range defs {
		out.Properties = append(out.Properties, propertyView(p))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) createProperty(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req propertyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.flows.CreateProperty(r.Context(), adm, org, req.input())
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, propertyView(p))
	return nil
}

func (s *Server) updateProperty(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req propertyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.flows.UpdateProperty(r.Context(), adm, org, r.PathValue("id"), req.input())
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, propertyView(p))
	return nil
}

func (s *Server) deleteProperty(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	if err := s.flows.DeleteProperty(r.Context(), adm, org, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- user types ----

func (s *Server) listUserTypes(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	uts, err := s.flows.UserTypes(r.Context(), org)
	if err != nil {
		return err
	}
	out := UserTypeList{UserTypes: make([]AdminUserType, 0, len(uts))}
	for _, u := range uts {
		out.UserTypes = append(out.UserTypes, userTypeAdminView(u))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) createUserType(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req CreateUserTypeRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	ut, err := s.flows.CreateUserType(r.Context(), adm, org, flows.UserTypeInput{Name: req.Name, Label: req.Label, Permissions: req.Permissions})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, userTypeAdminView(ut))
	return nil
}

func (s *Server) patchUserType(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req PatchUserTypeRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	ut, err := s.flows.UpdateUserType(r.Context(), adm, org, r.PathValue("name"), flows.UserTypePatch{Label: req.Label, Permissions: req.Permissions})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, userTypeAdminView(ut))
	return nil
}

// ---- agreements ----

func agreementViewsAdmin(as []domain.Agreement) []AdminAgreement {
	out := make([]AdminAgreement, 0, len(as))
	for _, a := range as {
		out = append(out, agreementAdminView(a))
	}
	return out
}

func (s *Server) listAgreements(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	as, err := s.flows.CurrentAgreements(r.Context(), org)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, AgreementList{Agreements: agreementViewsAdmin(as)})
	return nil
}

func (s *Server) createAgreement(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req CreateAgreementRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.flows.CreateAgreement(r.Context(), adm, org, flows.AgreementInput{
		Name: req.Name, Kind: req.Kind, Title: req.Title, Text: req.Text, AccountTypes: req.AccountTypes, Required: req.Required,
	})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, agreementAdminView(a))
	return nil
}

func (s *Server) listAgreementVersions(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	vs, err := s.flows.AgreementVersions(r.Context(), org, r.PathValue("name"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, AgreementVersionList{Versions: agreementViewsAdmin(vs)})
	return nil
}

func (s *Server) publishAgreementVersion(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	var req AgreementVersionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.flows.PublishAgreementVersion(r.Context(), adm, org, r.PathValue("name"), flows.AgreementVersionInput{Title: req.Title, Text: req.Text})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, agreementAdminView(a))
	return nil
}
