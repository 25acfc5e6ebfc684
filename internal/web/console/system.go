package console

import (
	"net/http"
	"net/url"

	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// systemData is the supervisor's page: the system-wide settings, the
// organizations, and the forms that create organizations and back-office
// users.
type systemData struct {
	Settings form
	NewOrg   form
	NewUser  form
	Orgs     []domain.Organization
}

func (c *Console) systemData(rq *req, requireTOTP bool) systemData {
	roles := []option{{Value: domain.RoleOrgAdmin, Label: rq.T("console.role.org_admin")}, {Value: domain.RoleSupervisor, Label: rq.T("console.role.supervisor")}}
	orgs := []option{}
	for _, o := range rq.Orgs {
		orgs = append(orgs, option{Value: o.Name, Label: o.DisplayName + " (" + o.Name + ")"})
	}
	return systemData{
		Orgs: rq.Orgs,
		Settings: form{Action: "/admin/system", Submit: rq.T("console.save"), Fields: []*field{
			{Name: "require_totp", ID: "f-require_totp", Label: rq.T("console.system.require_totp"), Kind: "checkbox", Value: "true",
				Checked: requireTOTP, Hint: rq.T("console.system.require_totp_hint")}}},
		NewOrg: form{Action: "/admin/system/organizations", Submit: rq.T("console.system.create_org"), Fields: []*field{
			{Name: "name", ID: "f-org-name", Label: rq.T("console.system.org_name"), Kind: "text", Required: true, Hint: rq.T("console.system.org_name_hint")},
			{Name: "display_name", ID: "f-org-display_name", Label: rq.T("console.system.org_display_name"), Kind: "text", Required: true}}},
		NewUser: form{Action: "/admin/system/users", Submit: rq.T("console.system.create_user"), Fields: []*field{
			{Name: "organization", ID: "f-user-organization", Label: rq.T("console.system.user_org"), Kind: "select", Required: true, Options: orgs},
			{Name: "email", ID: "f-user-email", Label: rq.T("field.label.email"), Kind: "email", Required: true, Autocomplete: "off"},
			{Name: "role", ID: "f-user-role", Label: rq.T("console.system.user_role"), Kind: "select", Required: true, Options: roles, Value: domain.RoleOrgAdmin}}},
	}
}

func (c *Console) supervisorOnly(w http.ResponseWriter, r *http.Request) bool {
	if !reqOf(r).Supervisor() {
		c.notFound(w, r)
		return false
	}
	return true
}

func (c *Console) getSystem(w http.ResponseWriter, r *http.Request) {
	if !c.supervisorOnly(w, r) {
		return
	}
	rq := reqOf(r)
	on, err := c.bo.RequireTOTP(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := view{Title: rq.T("console.system.title"), Data: c.systemData(rq, on)}
	switch r.URL.Query().Get("done") {
	case "settings":
		v.Lead, v.Success = rq.T("console.saved"), true
	case "org":
		v.Lead, v.Success = rq.T("console.system.org_created", "Name", r.URL.Query().Get("name")), true
	case "user":
		v.Lead, v.Success = rq.T("console.system.user_created"), true
	}
	c.render(w, r, http.StatusOK, "system", v)
}

func (c *Console) postSystem(w http.ResponseWriter, r *http.Request) {
	if !c.supervisorOnly(w, r) || !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	if err := c.bo.SetRequireTOTP(r.Context(), *rq.P, r.PostForm.Get("require_totp") == "true"); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/system?done=settings", http.StatusSeeOther)
}

// systemError shows the supervisor's page again with the errors of one of
// its forms next to their fields.
func (c *Console) systemError(w http.ResponseWriter, r *http.Request, err error, pick func(*systemData) *form) {
	rq := reqOf(r)
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal || de.Code == domain.ENotFound {
		c.fail(w, r, err)
		return
	}
	on, serr := c.bo.RequireTOTP(r.Context())
	if serr != nil {
		c.fail(w, r, serr)
		return
	}
	d := c.systemData(rq, on)
	f := pick(&d)
	for _, fl := range f.Fields {
		if fl.Kind != "checkbox" {
			fl.Value = r.PostForm.Get(fl.Name)
		}
	}
	errs := c.applyErrors(rq, f.Fields, de)
	c.render(w, r, httpx.Status(de.Code), "system", view{Title: rq.T("console.system.title"), Errors: errs, Data: d})
}

func (c *Console) postOrganization(w http.ResponseWriter, r *http.Request) {
	if !c.supervisorOnly(w, r) || !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	org, err := c.flows.CreateOrganization(r.Context(), rq.P.Admin(), r.PostForm.Get("name"), r.PostForm.Get("display_name"))
	if err != nil {
		c.systemError(w, r, err, func(d *systemData) *form { return &d.NewOrg })
		return
	}
	http.Redirect(w, r, "/admin/system?done=org&name="+url.QueryEscape(org.Name), http.StatusSeeOther)
}

func (c *Console) postBackOfficeUser(w http.ResponseWriter, r *http.Request) {
	if !c.supervisorOnly(w, r) || !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	_, err := c.bo.CreateUser(r.Context(), rq.P.Actor(), backoffice.NewUser{Organization: r.PostForm.Get("organization"),
		Email: r.PostForm.Get("email"), Role: r.PostForm.Get("role"), Language: rq.Lang})
	if err != nil {
		c.systemError(w, r, err, func(d *systemData) *form { return &d.NewUser })
		return
	}
	http.Redirect(w, r, "/admin/system?done=user", http.StatusSeeOther)
}
