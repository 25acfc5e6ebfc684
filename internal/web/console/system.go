package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// DeviceSetupSettings are the system-wide device setup settings the
// System page shows and changes (devices.Service).
type DeviceSetupSettings interface {
	System(ctx context.Context) (domain.SystemDeviceSetup, error)
	PutSystem(ctx context.Context, adm flows.Admin, sys domain.SystemDeviceSetup) (domain.SystemDeviceSetup, error)
	// Locked reports whether the server configuration sets them.
	Locked() bool
}

// systemData is the supervisor's page: the system-wide settings, the
// organizations, and the forms that create organizations and back-office
// users.
type systemData struct {
	Settings form
	NewOrg   form
	NewUser  form
	Orgs     []orgRow
	// Device is the system-wide device setup in force; DeviceLocked when
	// the server configuration sets it (shown, not in the form).
	Device       domain.SystemDeviceSetup
	DeviceLocked bool
	HasDevice    bool
}

// orgRow is an organization of the page's table with its forms.
type orgRow struct {
	Org            domain.Organization
	Rename, Toggle form
}

// systemSettings are the settings the page's first form shows.
type systemSettings struct {
	requireTOTP bool
	device      domain.SystemDeviceSetup
	locked      bool
	hasDevice   bool
}

func (c *Console) loadSystemSettings(r *http.Request) (systemSettings, error) {
	var st systemSettings
	var err error
	if st.requireTOTP, err = c.bo.RequireTOTP(r.Context()); err != nil {
		return st, err
	}
	if ds := c.cfg.DeviceSetup; ds != nil {
		st.hasDevice, st.locked = true, ds.Locked()
		if st.device, err = ds.System(r.Context()); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (c *Console) systemData(rq *req, st systemSettings) systemData {
	roles := []option{{Value: domain.RoleOrgAdmin, Label: rq.T("console.role.org_admin")}, {Value: domain.RoleSupervisor, Label: rq.T("console.role.supervisor")}}
	orgs := []option{}
	defaults := []option{{Value: "", Label: rq.T("console.sysdev.none")}}
	rows := []orgRow{}
	for _, o := range rq.Orgs {
		label := o.DisplayName + " (" + o.Name + ")"
		orgs = append(orgs, option{Value: o.Name, Label: label})
		defaults = append(defaults, option{Value: o.Name, Label: label})
		action := "/admin/system/organizations/" + url.PathEscape(o.Name)
		row := orgRow{Org: o,
			Rename: form{Action: action, Hidden: map[string]string{"op": "rename"}, Submit: rq.T("console.sysorg.rename", "Name", o.Name),
				Fields: []*field{{Name: "display_name", ID: "f-org-" + o.Name + "-display_name", Label: rq.T("console.sysorg.new_display_name", "Name", o.Name),
					Kind: "text", Required: true, Value: o.DisplayName}}},
			Toggle: form{Action: action, Hidden: map[string]string{"op": "disable"}, Submit: rq.T("console.sysorg.disable", "Name", o.Name)}}
		if o.DisabledAt != nil {
			row.Toggle.Hidden["op"], row.Toggle.Submit = "enable", rq.T("console.sysorg.enable", "Name", o.Name)
		}
		rows = append(rows, row)
	}
	settings := []*field{
		{Name: "require_totp", ID: "f-require_totp", Label: rq.T("console.system.require_totp"), Kind: "checkbox", Value: "true",
			Checked: st.requireTOTP, Hint: rq.T("console.system.require_totp_hint")}}
	if st.hasDevice && !st.locked {
		settings = append(settings,
			&field{Name: "device_setup", ID: "f-device_setup", Label: rq.T("console.sysdev.enabled"), Kind: "checkbox", Value: "true",
				Checked: st.device.Enabled, Hint: rq.T("console.sysdev.enabled_hint")},
			&field{Name: "default_organization", ID: "f-default_organization", Label: rq.T("console.sysdev.default_org"), Kind: "select",
				Required: true, Options: defaults, Value: st.device.DefaultOrganization, Hint: rq.T("console.sysdev.default_org_hint")})
	}
	return systemData{
		Orgs: rows, Device: st.device, DeviceLocked: st.locked, HasDevice: st.hasDevice,
		Settings: form{Action: "/admin/system", Submit: rq.T("console.save"), Fields: settings},
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
	st, err := c.loadSystemSettings(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := view{Title: rq.T("console.system.title"), Data: c.systemData(rq, st)}
	v.doneLead(r, "system", "Name", r.URL.Query().Get("name"))
	c.render(w, r, http.StatusOK, "system", v)
}

func (c *Console) postSystem(w http.ResponseWriter, r *http.Request) {
	if !c.supervisorOnly(w, r) || !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	st, err := c.loadSystemSettings(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	// The device setup first: it is the part that can be refused (an
	// unknown default organization), and then nothing is changed.
	if st.hasDevice && !st.locked {
		next := domain.SystemDeviceSetup{Enabled: r.PostForm.Get("device_setup") == "true",
			DefaultOrganization: r.PostForm.Get("default_organization")}
		if next != st.device {
			if _, err := c.cfg.DeviceSetup.PutSystem(r.Context(), rq.P.Admin(), next); err != nil {
				c.systemError(w, r, err, func(d *systemData) *form { return &d.Settings })
				return
			}
		}
	}
	if on := r.PostForm.Get("require_totp") == "true"; on != st.requireTOTP {
		if err := c.bo.SetRequireTOTP(r.Context(), *rq.P, on); err != nil {
			c.fail(w, r, err)
			return
		}
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
	st, serr := c.loadSystemSettings(r)
	if serr != nil {
		c.fail(w, r, serr)
		return
	}
	d := c.systemData(rq, st)
	f := pick(&d)
	for _, fl := range f.Fields {
		if fl.Kind == "checkbox" {
			fl.Checked = r.PostForm.Get(fl.Name) == "true"
		} else {
			fl.Value = r.PostForm.Get(fl.Name)
		}
	}
	errs := c.applyErrors(rq, f.Fields, de)
	c.render(w, r, httpx.Status(de.Code), "system", view{Title: rq.T("console.system.title"), Errors: errs, Data: d})
}

// postOrganizationChange renames, disables or enables an organization
// (the "op" of the form), with the supervisor as the audit log's actor.
func (c *Console) postOrganizationChange(w http.ResponseWriter, r *http.Request) {
	if !c.supervisorOnly(w, r) || !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	name := r.PathValue("org")
	var patch flows.OrganizationPatch
	done := ""
	switch r.PostForm.Get("op") {
	case "rename":
		v := r.PostForm.Get("display_name")
		patch.DisplayName, done = &v, "renamed"
	case "disable":
		t := true
		patch.Disabled, done = &t, "disabled"
	case "enable":
		f := false
		patch.Disabled, done = &f, "enabled"
	default:
		c.notFound(w, r)
		return
	}
	org, err := c.flows.UpdateOrganization(r.Context(), rq.P.Admin(), name, patch)
	if err != nil {
		c.systemError(w, r, err, func(d *systemData) *form {
			for i := range d.Orgs {
				if d.Orgs[i].Org.Name == name {
					return &d.Orgs[i].Rename
				}
			}
			return &form{}
		})
		return
	}
	http.Redirect(w, r, "/admin/system?done="+done+"&name="+url.QueryEscape(org.Name), http.StatusSeeOther)
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
