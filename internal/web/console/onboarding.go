package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// section is a group of the User Onboarding page, as the seeds group the
// switches.
type section struct {
	ID, Title, Lead string
	Fields          []*field
	// Groups are fieldsets after the fields: identity providers, device
	// templates.
	Groups []group
}

// onboardingData is the Access and Security / User Onboarding page.
type onboardingData struct {
	Action   string
	Sections []section
	// TryEmail and TestProvider are the page's two small forms, with what
	// they found (Result) after a POST.
	TryEmail     form
	TryResult    string
	TryOK        bool
	TestProvider form
	TestResult   string
	TestOK       bool
	HasProvider  bool
}

// onboardingFields are the page's controls for a configuration; the names
// are the admin API's field paths, so its field errors find them.
func (c *Console) onboardingData(rq *req, o domain.Onboarding, userTypes []domain.UserType) onboardingData {
	T := rq.T
	check := func(name string, on bool, hint string) *field {
		return &field{Name: name, ID: fieldID(name), Label: T("console.onb." + name), Kind: "checkbox", Value: "true", Checked: on, Hint: hint}
	}
	text := func(name, value, hint string) *field {
		return &field{Name: name, ID: fieldID(name), Label: T("console.onb." + name), Kind: "text", Value: value, Hint: hint}
	}
	types := &field{Name: "self_registration.account_types", ID: fieldID("self_registration.account_types"),
		Label: T("console.onb.self_registration.account_types"), Kind: "checkboxes", Hint: T("console.onb.account_types_hint")}
	for _, t := range domain.AccountTypes {
		types.Options = append(types.Options, option{Value: t, Label: T("console.account_type." + t), Selected: slices.Contains(o.SelfRegistration.AccountTypes, t)})
	}
	pp := o.PartnerProvider
	if pp == nil {
		pp = &domain.PartnerProvider{}
	}
	var mapping []string
	for k, v := range pp.PropertyMapping {
		mapping = append(mapping, k+"="+v)
	}
	slices.Sort(mapping)
	timeout := ""
	if pp.Timeout != 0 {
		timeout = time.Duration(pp.Timeout).String()
	}
	ttl := ""
	if o.SignupLinkTTL != 0 {
		ttl = time.Duration(o.SignupLinkTTL).String()
	}
	secretHint := T("console.onb.secret_hint")
	if o.PartnerProvider != nil {
		secretHint = T("console.onb.secret_kept_hint")
	}
	var utFields []*field
	for _, t := range domain.AccountTypes {
		name := "default_user_types." + t
		f := &field{Name: name, ID: fieldID(name), Label: T("console.account_type." + t), Kind: "select", Value: o.DefaultUserTypes[t], Required: true}
		for _, ut := range userTypes {
			f.Options = append(f.Options, option{Value: ut.Name, Label: ut.Label + " (" + ut.Name + ")"})
		}
		utFields = append(utFields, f)
	}
	d := onboardingData{
		Action:      rq.OrgPath("/onboarding"),
		HasProvider: o.PartnerProvider != nil,
		Sections: []section{
			{ID: "self-registration", Title: T("console.onb.sec.self_registration"), Lead: T("console.onb.sec.self_registration_lead"), Fields: []*field{
				check("self_registration.enabled", o.SelfRegistration.Enabled, T("console.onb.enabled_hint")), types}},
			{ID: "partners", Title: T("console.onb.sec.partners"), Lead: T("console.onb.sec.partners_lead"), Fields: []*field{
				check("partner_self_registration_without_code", o.PartnerSelfRegistrationWithoutCode, T("console.onb.without_code_hint")),
				text("partner_provider.url", pp.URL, T("console.onb.provider_url_hint")),
				{Name: "partner_provider.secret", ID: fieldID("partner_provider.secret"), Label: T("console.onb.partner_provider.secret"), Kind: "password", Hint: secretHint, Autocomplete: "off"},
				text("partner_provider.name_field", pp.NameField, T("console.onb.name_field_hint")),
				{Name: "partner_provider.property_mapping", ID: fieldID("partner_provider.property_mapping"), Label: T("console.onb.partner_provider.property_mapping"),
					Kind: "textarea", Value: strings.Join(mapping, "\n"), Hint: T("console.onb.mapping_hint")},
				text("partner_provider.timeout", timeout, T("console.onb.timeout_hint"))}},
			{ID: "location", Title: T("console.onb.sec.location"), Fields: []*field{
				check("default_location", o.DefaultLocation, T("console.onb.default_location_hint"))}},
			{ID: "verification", Title: T("console.onb.sec.verification"), Fields: []*field{
				check("customer_verification", o.CustomerVerification, T("console.onb.customer_verification_hint"))}},
			ssoSection(rq, o.SSO),
			{ID: "email", Title: T("console.onb.sec.email"), Fields: []*field{
				text("email_requirement", o.EmailRequirement, T("console.onb.email_requirement_hint"))}},
			{ID: "links", Title: T("console.onb.sec.links"), Fields: []*field{
				text("signup_link_ttl", ttl, T("console.onb.signup_link_ttl_hint"))}},
			{ID: "user-types", Title: T("console.onb.sec.user_types"), Lead: T("console.onb.sec.user_types_lead"), Fields: utFields},
			{ID: "branding", Title: T("console.onb.sec.branding"), Fields: []*field{
				text("branding.display_name", o.Branding.DisplayName, ""),
				text("branding.logo_url", o.Branding.LogoURL, T("console.onb.logo_url_hint")),
				text("branding.accent_color", o.Branding.AccentColor, T("console.onb.accent_color_hint"))}},
			deviceSection(rq, o.DeviceSetup, userTypes),
		},
		TryEmail: form{Action: rq.OrgPath("/onboarding/try-email"), Submit: rq.T("console.onb.try_submit"), Fields: []*field{
			{Name: "email", ID: "f-try-email", Label: T("console.onb.try_label"), Kind: "email", Autocomplete: "off"}}},
		TestProvider: form{Action: rq.OrgPath("/onboarding/test-provider"), Submit: rq.T("console.onb.test_submit"), Fields: []*field{
			{Name: "code", ID: "f-test-code", Label: T("console.onb.test_label"), Kind: "text", Autocomplete: "off", Hint: T("console.onb.test_hint")}}},
	}
	return d
}

// allFields are the fields of every section.
func (d onboardingData) allFields() []*field {
	var out []*field
	for _, s := range d.Sections {
		out = append(out, s.Fields...)
		for _, g := range s.Groups {
			out = append(out, g.Fields...)
		}
	}
	return out
}

// parseOnboarding reads the page's form into a configuration; values that
// cannot even be read (a duration) are field errors.
func parseOnboarding(form url.Values) (domain.Onboarding, []domain.FieldError) {
	var errs []domain.FieldError
	dur := func(name string) domain.Duration {
		v := strings.TrimSpace(form.Get(name))
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, domain.FieldError{Field: name, Message: "must be a duration such as 24h or 30m"})
		}
		return domain.Duration(d)
	}
	o := domain.Onboarding{
		SelfRegistration: domain.SelfRegistration{Enabled: form.Get("self_registration.enabled") == "true",
			AccountTypes: append([]string{}, form["self_registration.account_types"]...)},
		PartnerSelfRegistrationWithoutCode: form.Get("partner_self_registration_without_code") == "true",
		DefaultLocation:                    form.Get("default_location") == "true",
		CustomerVerification:               form.Get("customer_verification") == "true",
		EmailRequirement:                   strings.TrimSpace(form.Get("email_requirement")),
		SignupLinkTTL:                      dur("signup_link_ttl"),
		DefaultUserTypes:                   map[string]string{},
		Branding: domain.Branding{DisplayName: strings.TrimSpace(form.Get("branding.display_name")),
			LogoURL: strings.TrimSpace(form.Get("branding.logo_url")), AccentColor: strings.TrimSpace(form.Get("branding.accent_color"))},
	}
	o.SSO = parseSSO(form)
	o.DeviceSetup = parseDeviceSetup(form, &errs)
	for _, t := range domain.AccountTypes {
		if v := form.Get("default_user_types." + t); v != "" {
			o.DefaultUserTypes[t] = v
		}
	}
	if u := strings.TrimSpace(form.Get("partner_provider.url")); u != "" {
		pp := &domain.PartnerProvider{URL: u, Secret: form.Get("partner_provider.secret"),
			NameField: strings.TrimSpace(form.Get("partner_provider.name_field")), PropertyMapping: map[string]string{},
			Timeout: dur("partner_provider.timeout")}
		for _, line := range strings.Split(form.Get("partner_provider.property_mapping"), "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				errs = append(errs, domain.FieldError{Field: "partner_provider.property_mapping", Message: fmt.Sprintf("line %q must be written property=field.path", line)})
				continue
			}
			pp.PropertyMapping[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		o.PartnerProvider = pp
	}
	return o, errs
}

func (c *Console) renderOnboarding(w http.ResponseWriter, r *http.Request, status int, v view, d onboardingData) {
	rq := reqOf(r)
	v.Title = rq.T("console.onb.title")
	v.Data = d
	c.render(w, r, status, "onboarding", v)
}

func (c *Console) storedOnboarding(w http.ResponseWriter, r *http.Request) (onboardingData, bool) {
	rq := reqOf(r)
	uts, err := c.flows.UserTypes(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return onboardingData{}, false
	}
	return c.onboardingData(rq, flows.Redacted(rq.Org.Onboarding), uts), true
}

func (c *Console) getOnboarding(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	d, ok := c.storedOnboarding(w, r)
	if !ok {
		return
	}
	v := view{Lead: rq.T("console.onb.lead")}
	v.doneLead(r, "onboarding")
	c.renderOnboarding(w, r, http.StatusOK, v, d)
}

// postOnboarding saves the configuration through the admin flows (the
// API's validation); errors go next to their fields, nothing is saved.
func (c *Console) postOnboarding(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	next, perrs := parseOnboarding(r.PostForm)
	var err error
	if len(perrs) > 0 {
		err = domain.Invalid(perrs...)
	} else {
		_, err = c.flows.PutOnboarding(r.Context(), rq.P.Admin(), rq.Org, next)
	}
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/onboarding?done=saved"), http.StatusSeeOther)
		return
	}
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal {
		c.fail(w, r, err)
		return
	}
	uts, uerr := c.flows.UserTypes(r.Context(), rq.Org)
	if uerr != nil {
		c.fail(w, r, uerr)
		return
	}
	next = flows.Redacted(next)
	rowErrors(de, next.DeviceSetup)
	d := c.onboardingData(rq, next, uts)
	errs := c.applyErrors(rq, d.allFields(), de)
	c.renderOnboarding(w, r, httpx.Status(de.Code), view{Errors: errs}, d)
}

// refuseTry shows the onboarding page again with a refused try's errors
// (an address or code the flows call invalid) next to the fields of its
// form; any other error fails the page.
func (c *Console) refuseTry(w http.ResponseWriter, r *http.Request, err error, d onboardingData, f form) {
	de := domain.AsError(err)
	if de == nil || de.Code != domain.EInvalid {
		c.fail(w, r, err)
		return
	}
	errs := c.applyErrors(reqOf(r), f.Fields, de)
	c.renderOnboarding(w, r, http.StatusUnprocessableEntity, view{Errors: errs}, d)
}

// postTryEmail tells whether the stored email requirement accepts an
// address.
func (c *Console) postTryEmail(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	d, ok := c.storedOnboarding(w, r)
	if !ok {
		return
	}
	addr := strings.TrimSpace(r.PostForm.Get("email"))
	d.TryEmail.Fields[0].Value = addr
	accepted, err := flows.TryEmailRequirement(rq.Org.Onboarding.EmailRequirement, addr)
	if err != nil {
		c.refuseTry(w, r, err, d, d.TryEmail)
		return
	}
	d.TryOK = accepted
	if accepted {
		d.TryResult = rq.T("console.onb.try_accepted", "Email", addr)
	} else {
		d.TryResult = rq.T("console.onb.try_refused", "Email", addr)
	}
	c.renderOnboarding(w, r, http.StatusOK, view{}, d)
}

// postTestProvider asks the stored Partner Provider about a code.
func (c *Console) postTestProvider(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	d, ok := c.storedOnboarding(w, r)
	if !ok {
		return
	}
	code := r.PostForm.Get("code")
	d.TestProvider.Fields[0].Value = code
	res, err := c.flows.TestPartnerProvider(r.Context(), rq.P.Admin(), rq.Org, code)
	if err != nil {
		c.refuseTry(w, r, err, d, d.TestProvider)
		return
	}
	switch {
	case res.Known:
		d.TestOK, d.TestResult = true, rq.T("console.onb.test_known", "Name", res.Name)
	case res.Problem == "":
		d.TestOK, d.TestResult = true, rq.T("console.onb.test_unknown")
	default:
		d.TestResult = rq.T("console.onb.test_failed", "Problem", res.Problem)
	}
	c.renderOnboarding(w, r, http.StatusOK, view{}, d)
}
