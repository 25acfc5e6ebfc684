package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// The pages of an organization's configuration besides User Onboarding:
// properties per account type, user types and their permissions, partners
// and their codes. Each saves through the admin flows (the API's
// validation, audited with the back-office user as actor).

// ---- properties ----

// propertyRow is a property definition in the list with its edit link.
type propertyRow struct {
	domain.PropertyDefinition
	Edit string
}

// propertiesData is the properties page: the definitions of one account
// type (or all) and the form that adds one.
type propertiesData struct {
	Filter form
	Rows   []propertyRow
	New    form
}

// propertyEditData is the page of one definition: its form and the delete
// button.
type propertyEditData struct {
	Form   form
	Delete form
}

func (c *Console) propertyFields(rq *req, in flows.PropertyInput, edit bool) []*field {
	T := rq.T
	scope := &field{Name: "scope", ID: "f-scope", Label: T("console.prop.scope"), Kind: "select", Value: in.Scope, Required: true, Hint: T("console.prop.scope_hint")}
	for _, s := range []string{flows.PropertyScopeCustomer, flows.PropertyScopeUser} {
		scope.Options = append(scope.Options, option{Value: s, Label: T("console.prop.scope." + s)})
	}
	typ := &field{Name: "type", ID: "f-type", Label: T("console.prop.type"), Kind: "select", Value: in.Type, Required: true}
	for _, t := range flows.PropertyTypes {
		typ.Options = append(typ.Options, option{Value: t, Label: T("console.prop.type." + t)})
	}
	types := &field{Name: "account_types", ID: "f-account_types", Label: T("console.prop.account_types"), Kind: "checkboxes", Hint: T("console.prop.account_types_hint")}
	for _, t := range domain.AccountTypes {
		types.Options = append(types.Options, option{Value: t, Label: T("console.account_type." + t), Selected: slices.Contains(in.AccountTypes, t)})
	}
	num := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	fields := []*field{}
	if !edit {
		fields = append(fields, scope,
			&field{Name: "name", ID: "f-name", Label: T("console.prop.name"), Kind: "text", Value: in.Name, Required: true, Hint: T("console.prop.name_hint"), Autocomplete: "off"})
	}
	return append(fields,
		&field{Name: "label", ID: "f-label", Label: T("console.prop.label"), Kind: "text", Value: in.Label, Required: true, Autocomplete: "off"},
		typ,
		&field{Name: "required", ID: "f-required", Label: T("console.prop.required"), Kind: "checkbox", Value: "true", Checked: in.Required},
		types,
		&field{Name: "options", ID: "f-options", Label: T("console.prop.options"), Kind: "textarea", Value: strings.Join(in.Options, "\n"), Hint: T("console.prop.options_hint")},
		&field{Name: "pattern", ID: "f-pattern", Label: T("console.prop.pattern"), Kind: "text", Value: in.Pattern, Hint: T("console.prop.pattern_hint"), Autocomplete: "off"},
		&field{Name: "max_length", ID: "f-max_length", Label: T("console.prop.max_length"), Kind: "text", Value: num(in.MaxLength),
			Hint: T("console.prop.max_length_hint", "N", flows.DefaultPropertyMaxLength), Autocomplete: "off"},
		&field{Name: "position", ID: "f-position", Label: T("console.prop.position"), Kind: "text", Value: num(in.Position), Hint: T("console.prop.position_hint"), Autocomplete: "off"},
	)
}

// parseProperty reads a property form; numbers that are not numbers are
// field errors.
func parseProperty(form url.Values) (flows.PropertyInput, []domain.FieldError) {
	var errs []domain.FieldError
	num := func(name string) *int {
		v := strings.TrimSpace(form.Get(name))
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, domain.FieldError{Field: name, Message: "must be a whole number"})
			return nil
		}
		return &n
	}
	in := flows.PropertyInput{Scope: form.Get("scope"), Name: strings.TrimSpace(form.Get("name")), Label: form.Get("label"), Type: form.Get("type"),
		Required: form.Get("required") == "true", AccountTypes: append([]string{}, form["account_types"]...),
		Pattern: strings.TrimSpace(form.Get("pattern")), MaxLength: num("max_length"), Position: num("position")}
	for _, o := range strings.Split(form.Get("options"), "\n") {
		if o = strings.TrimSpace(o); o != "" {
			in.Options = append(in.Options, o)
		}
	}
	return in, errs
}

func propertyInput(p domain.PropertyDefinition) flows.PropertyInput {
	ml, pos := p.MaxLength, p.Position
	return flows.PropertyInput{Scope: p.Scope, Name: p.Name, Label: p.Label, Type: p.Type, Required: p.Required,
		AccountTypes: p.AccountTypes, Options: p.Options, Pattern: p.Pattern, MaxLength: &ml, Position: &pos}
}

func (c *Console) newPropertyForm(rq *req, in flows.PropertyInput) form {
	return form{Action: rq.OrgPath("/properties"), Submit: rq.T("console.prop.create"), Fields: c.propertyFields(rq, in, false)}
}

func (c *Console) renderProperties(w http.ResponseWriter, r *http.Request, status int, v view, newForm form) {
	rq := reqOf(r)
	defs, err := c.flows.PropertyDefinitions(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	at := r.URL.Query().Get("account_type")
	if !slices.Contains(domain.AccountTypes, at) {
		at = ""
	}
	filter := &field{Name: "account_type", ID: "f-filter-account_type", Label: rq.T("console.prop.filter"), Kind: "select", Value: at,
		Options: []option{{Value: "", Label: rq.T("console.prop.filter_all")}}}
	for _, t := range domain.AccountTypes {
		filter.Options = append(filter.Options, option{Value: t, Label: rq.T("console.account_type." + t)})
	}
	d := propertiesData{New: newForm,
		Filter: form{Action: rq.OrgPath("/properties"), Submit: rq.T("console.prop.filter_submit"), Fields: []*field{filter}}}
	for _, p := range defs {
		if at != "" && !slices.Contains(p.AccountTypes, at) {
			continue
		}
		d.Rows = append(d.Rows, propertyRow{PropertyDefinition: p, Edit: rq.OrgPath("/properties/" + p.ID)})
	}
	v.Title = rq.T("console.prop.title")
	v.Data = d
	c.render(w, r, status, "properties", v)
}

func (c *Console) getProperties(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	v := view{Lead: rq.T("console.prop.lead")}
	v.doneLead(r, "properties")
	c.renderProperties(w, r, http.StatusOK, v, c.newPropertyForm(rq, flows.PropertyInput{Scope: flows.PropertyScopeCustomer, Type: flows.PropertyString}))
}

func (c *Console) postProperty(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	in, perrs := parseProperty(r.PostForm)
	var err error
	if len(perrs) > 0 {
		err = domain.Invalid(perrs...)
	} else if _, err = c.flows.CreateProperty(r.Context(), rq.P.Admin(), rq.Org, in); err == nil {
		http.Redirect(w, r, rq.OrgPath("/properties?done=created"), http.StatusSeeOther)
		return
	}
	c.refuse(w, r, err, func() ([]*field, func(int, []string), error) {
		f := c.newPropertyForm(rq, in)
		return f.Fields, func(status int, errs []string) {
			c.renderProperties(w, r, status, view{Errors: errs}, f)
		}, nil
	})
}

func (c *Console) propertyEdit(rq *req, id string, in flows.PropertyInput) propertyEditData {
	return propertyEditData{
		Form:   form{Action: rq.OrgPath("/properties/" + id), Submit: rq.T("console.save"), Fields: c.propertyFields(rq, in, true)},
		Delete: form{Action: rq.OrgPath("/properties/" + id + "/delete"), Submit: rq.T("console.prop.delete", "Name", in.Name)},
	}
}

func (c *Console) renderProperty(w http.ResponseWriter, r *http.Request, status int, v view, name string, d propertyEditData) {
	rq := reqOf(r)
	v.Title = rq.T("console.prop.edit_title", "Name", name)
	v.Data = d
	c.render(w, r, status, "property", v)
}

// storedProperty finds the definition of the path's id; false when it
// answered (404).
func (c *Console) storedProperty(w http.ResponseWriter, r *http.Request) (domain.PropertyDefinition, bool) {
	defs, err := c.flows.PropertyDefinitions(r.Context(), reqOf(r).Org)
	if err != nil {
		c.fail(w, r, err)
		return domain.PropertyDefinition{}, false
	}
	i := slices.IndexFunc(defs, func(p domain.PropertyDefinition) bool { return p.ID == r.PathValue("id") })
	if i < 0 {
		c.notFound(w, r)
		return domain.PropertyDefinition{}, false
	}
	return defs[i], true
}

func (c *Console) getProperty(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	p, ok := c.storedProperty(w, r)
	if !ok {
		return
	}
	v := view{Lead: rq.T("console.prop.edit_lead", "Scope", rq.T("console.prop.scope."+p.Scope))}
	v.doneLead(r, "property")
	c.renderProperty(w, r, http.StatusOK, v, p.Name, c.propertyEdit(rq, p.ID, propertyInput(p)))
}

func (c *Console) postPropertyUpdate(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	p, ok := c.storedProperty(w, r)
	if !ok {
		return
	}
	in, perrs := parseProperty(r.PostForm)
	in.Scope, in.Name = p.Scope, p.Name
	var err error
	if len(perrs) > 0 {
		err = domain.Invalid(perrs...)
	} else if _, err = c.flows.UpdateProperty(r.Context(), rq.P.Admin(), rq.Org, p.ID, in); err == nil {
		http.Redirect(w, r, rq.OrgPath("/properties/"+p.ID+"?done=saved"), http.StatusSeeOther)
		return
	}
	c.refuse(w, r, err, func() ([]*field, func(int, []string), error) {
		d := c.propertyEdit(rq, p.ID, in)
		return d.Form.Fields, func(status int, errs []string) {
			c.renderProperty(w, r, status, view{Errors: errs}, p.Name, d)
		}, nil
	})
}

func (c *Console) postPropertyDelete(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	if err := c.flows.DeleteProperty(r.Context(), rq.P.Admin(), rq.Org, r.PathValue("id")); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, rq.OrgPath("/properties?done=deleted"), http.StatusSeeOther)
}

// ---- user types ----

// userTypeRow is a user type in the list with its edit link.
type userTypeRow struct {
	domain.UserType
	Edit string
}

// userTypesData is the user types page.
type userTypesData struct {
	Rows []userTypeRow
	New  form
}

func (c *Console) permissionsField(rq *req, perms []string) *field {
	f := &field{Name: "permissions", ID: "f-permissions", Label: rq.T("console.ut.permissions"), Kind: "checkboxes", Hint: rq.T("console.ut.permissions_hint")}
	for _, p := range flows.Permissions {
		f.Options = append(f.Options, option{Value: p, Label: rq.T("console.perm."+p) + " (" + p + ")", Selected: slices.Contains(perms, p)})
	}
	return f
}

func (c *Console) newUserTypeForm(rq *req, in flows.UserTypeInput) form {
	return form{Action: rq.OrgPath("/user-types"), Submit: rq.T("console.ut.create"), Fields: []*field{
		{Name: "name", ID: "f-name", Label: rq.T("console.ut.name"), Kind: "text", Value: in.Name, Required: true, Hint: rq.T("console.ut.name_hint"), Autocomplete: "off"},
		{Name: "label", ID: "f-label", Label: rq.T("console.ut.label"), Kind: "text", Value: in.Label, Required: true, Autocomplete: "off"},
		c.permissionsField(rq, in.Permissions),
	}}
}

func (c *Console) renderUserTypes(w http.ResponseWriter, r *http.Request, status int, v view, newForm form) {
	rq := reqOf(r)
	uts, err := c.flows.UserTypes(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := userTypesData{New: newForm}
	for _, u := range uts {
		d.Rows = append(d.Rows, userTypeRow{UserType: u, Edit: rq.OrgPath("/user-types/" + u.Name)})
	}
	v.Title = rq.T("console.ut.title")
	v.Data = d
	c.render(w, r, status, "usertypes", v)
}

func (c *Console) getUserTypes(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	v := view{Lead: rq.T("console.ut.lead")}
	v.doneLead(r, "usertypes")
	c.renderUserTypes(w, r, http.StatusOK, v, c.newUserTypeForm(rq, flows.UserTypeInput{}))
}

func (c *Console) postUserType(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	in := flows.UserTypeInput{Name: strings.TrimSpace(r.PostForm.Get("name")), Label: r.PostForm.Get("label"),
		Permissions: append([]string{}, r.PostForm["permissions"]...)}
	_, err := c.flows.CreateUserType(r.Context(), rq.P.Admin(), rq.Org, in)
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/user-types?done=created"), http.StatusSeeOther)
		return
	}
	c.refuse(w, r, err, func() ([]*field, func(int, []string), error) {
		f := c.newUserTypeForm(rq, in)
		return f.Fields, func(status int, errs []string) {
			c.renderUserTypes(w, r, status, view{Errors: errs}, f)
		}, nil
	})
}

func (c *Console) userTypeForm(rq *req, name, label string, perms []string) form {
	return form{Action: rq.OrgPath("/user-types/" + name), Submit: rq.T("console.save"), Fields: []*field{
		{Name: "label", ID: "f-label", Label: rq.T("console.ut.label"), Kind: "text", Value: label, Required: true, Autocomplete: "off"},
		c.permissionsField(rq, perms),
	}}
}

func (c *Console) getUserType(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	uts, err := c.flows.UserTypes(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(uts, func(u domain.UserType) bool { return u.Name == r.PathValue("name") })
	if i < 0 {
		c.notFound(w, r)
		return
	}
	u := uts[i]
	v := view{Title: rq.T("console.ut.edit_title", "Name", u.Name), Lead: rq.T("console.ut.edit_lead")}
	v.doneLead(r, "usertype")
	v.Data = c.userTypeForm(rq, u.Name, u.Label, u.Permissions)
	c.render(w, r, http.StatusOK, "form", v)
}

func (c *Console) postUserTypeUpdate(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	name := r.PathValue("name")
	label := r.PostForm.Get("label")
	perms := append([]string{}, r.PostForm["permissions"]...)
	_, err := c.flows.UpdateUserType(r.Context(), rq.P.Admin(), rq.Org, name, flows.UserTypePatch{Label: &label, Permissions: &perms})
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/user-types/"+url.PathEscape(name)+"?done=saved"), http.StatusSeeOther)
		return
	}
	c.refuse(w, r, err, func() ([]*field, func(int, []string), error) {
		f := c.userTypeForm(rq, name, label, perms)
		return f.Fields, func(status int, errs []string) {
			c.render(w, r, status, "form", view{Title: rq.T("console.ut.edit_title", "Name", name), Errors: errs, Data: f})
		}, nil
	})
}

// ---- partners ----

// partnerRow is a partner in the list with its "new code" form.
type partnerRow struct {
	flows.Partner
	NewCode form
}

// partnersData is the partners page.
type partnersData struct {
	Rows []partnerRow
	New  form
	// Changed is the partner whose code is new (created or regenerated).
	Changed string
}

// newPartnerForm has the partner's name and a control for each account
// property of channel partners.
func (c *Console) newPartnerForm(rq *req, defs []domain.PropertyDefinition, values url.Values) form {
	f := form{Action: rq.OrgPath("/partner-codes"), Submit: rq.T("console.partner.create"), Fields: []*field{
		{Name: "name", ID: "f-name", Label: rq.T("console.partner.name"), Kind: "text", Value: values.Get("name"), Required: true, Autocomplete: "organization"}}}
	for _, p := range defs {
		if p.Scope != flows.PropertyScopeCustomer || !slices.Contains(p.AccountTypes, domain.AccountChannelPartner) {
			continue
		}
		name := "properties." + p.Name
		fd := &field{Name: name, ID: fieldID(name), Label: p.Label, Kind: "text", Value: values.Get(name), Required: p.Required, Autocomplete: "off"}
		switch p.Type {
		case flows.PropertyBoolean:
			fd.Kind, fd.Value, fd.Checked = "checkbox", "true", values.Get(name) == "true"
		case flows.PropertyEnum:
			fd.Kind = "select"
			fd.Options = []option{{Value: "", Label: rq.T("console.cfg.none")}}
			for _, o := range p.Options {
				fd.Options = append(fd.Options, option{Value: o, Label: o})
			}
		case flows.PropertyEmail:
			fd.Kind = "email"
		case flows.PropertyPhone:
			fd.Kind = "tel"
		}
		f.Fields = append(f.Fields, fd)
	}
	return f
}

func (c *Console) renderPartners(w http.ResponseWriter, r *http.Request, status int, v view, values url.Values, errs *domain.Error) {
	rq := reqOf(r)
	ps, err := c.flows.Partners(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	defs, err := c.flows.PropertyDefinitions(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := partnersData{New: c.newPartnerForm(rq, defs, values), Changed: r.URL.Query().Get("changed")}
	for _, p := range ps {
		d.Rows = append(d.Rows, partnerRow{Partner: p, NewCode: form{Action: rq.OrgPath("/partner-codes/" + p.Account.ID + "/code"),
			Submit: rq.T("console.partner.new_code", "Name", p.Account.Name)}})
	}
	if errs != nil {
		v.Errors = c.applyErrors(rq, d.New.Fields, errs)
	}
	v.Title = rq.T("console.partner.title")
	v.Data = d
	c.render(w, r, status, "partners", v)
}

func (c *Console) getPartners(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	v := view{Lead: rq.T("console.partner.lead")}
	v.doneLead(r, "partners")
	c.renderPartners(w, r, http.StatusOK, v, url.Values{}, nil)
}

func (c *Console) postPartner(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	props := map[string]any{}
	for k, v := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "properties."); ok && len(v) > 0 && strings.TrimSpace(v[0]) != "" {
			props[name] = v[0]
		}
	}
	p, err := c.flows.CreatePartner(r.Context(), rq.P.Admin(), rq.Org, flows.PartnerInput{Name: r.PostForm.Get("name"), Properties: props})
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/partner-codes?done=created&changed="+url.QueryEscape(p.Account.ID)), http.StatusSeeOther)
		return
	}
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal {
		c.fail(w, r, err)
		return
	}
	c.renderPartners(w, r, httpx.Status(de.Code), view{}, r.PostForm, de)
}

func (c *Console) postPartnerCode(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	p, err := c.flows.RegeneratePartnerCode(r.Context(), rq.P.Admin(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, rq.OrgPath("/partner-codes?done=code&changed="+url.QueryEscape(p.Account.ID)), http.StatusSeeOther)
}

// orgConfigRoutes registers the agreements, properties, user types and
// partners pages.
func (c *Console) orgConfigRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/o/{org}/agreements", c.inOrg(c.getAgreements))
	mux.HandleFunc("POST /admin/o/{org}/agreements", c.inOrg(c.postAgreement))
	mux.HandleFunc("GET /admin/o/{org}/agreements/{name}", c.inOrg(c.getAgreement))
	mux.HandleFunc("POST /admin/o/{org}/agreements/{name}", c.inOrg(c.postAgreementVersion))
	mux.HandleFunc("GET /admin/o/{org}/properties", c.inOrg(c.getProperties))
	mux.HandleFunc("POST /admin/o/{org}/properties", c.inOrg(c.postProperty))
	mux.HandleFunc("GET /admin/o/{org}/properties/{id}", c.inOrg(c.getProperty))
	mux.HandleFunc("POST /admin/o/{org}/properties/{id}", c.inOrg(c.postPropertyUpdate))
	mux.HandleFunc("POST /admin/o/{org}/properties/{id}/delete", c.inOrg(c.postPropertyDelete))
	mux.HandleFunc("GET /admin/o/{org}/user-types", c.inOrg(c.getUserTypes))
	mux.HandleFunc("POST /admin/o/{org}/user-types", c.inOrg(c.postUserType))
	mux.HandleFunc("GET /admin/o/{org}/user-types/{name}", c.inOrg(c.getUserType))
	mux.HandleFunc("POST /admin/o/{org}/user-types/{name}", c.inOrg(c.postUserTypeUpdate))
	mux.HandleFunc("GET /admin/o/{org}/partner-codes", c.inOrg(c.getPartners))
	mux.HandleFunc("POST /admin/o/{org}/partner-codes", c.inOrg(c.postPartner))
	mux.HandleFunc("POST /admin/o/{org}/partner-codes/{id}/code", c.inOrg(c.postPartnerCode))
}
