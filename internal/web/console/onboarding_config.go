package console

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
)

// group is a block of fields inside a section: one identity provider or
// one device template, shown as a fieldset.
type group struct {
	ID, Legend, Hint string
	Fields           []*field
}

// instructionLanguages are the languages every device template row offers
// instructions in; a template's other languages are shown too.
var instructionLanguages = []string{"en", "it"}

// ssoSection is the SSO part of the User Onboarding page: the first-login
// switch, its account type, and one group per identity provider plus a
// blank one to add a provider. Client secrets are never rendered.
func ssoSection(rq *req, s *domain.SSO) section {
	T := rq.T
	if s == nil {
		s = &domain.SSO{}
	}
	accountType := &field{Name: "sso.first_login_account_type", ID: fieldID("sso.first_login_account_type"),
		Label: T("console.cfg.sso.first_login_account_type"), Kind: "select", Value: s.FirstLoginAccountType, Hint: T("console.cfg.sso.account_type_hint"),
		Options: []option{{Value: "", Label: T("console.cfg.none")}}}
	for _, t := range []string{domain.AccountCustomerPersonal, domain.AccountCustomerBusiness} {
		accountType.Options = append(accountType.Options, option{Value: t, Label: T("console.account_type." + t)})
	}
	sec := section{ID: "sso", Title: T("console.onb.sec.sso"), Lead: T("console.onb.sec.sso_lead"), Fields: []*field{
		{Name: "sso.first_login_creates_customer", ID: fieldID("sso.first_login_creates_customer"), Label: T("console.cfg.sso.first_login_creates_customer"),
			Kind: "checkbox", Value: "true", Checked: s.FirstLoginCreatesCustomer, Hint: T("console.cfg.sso.creates_hint")},
		accountType,
	}}
	providers := append(slices.Clone(s.Providers), domain.SSOProvider{})
	for i, p := range providers {
		blank := i == len(providers)-1
		prefix := "sso.providers[" + strconv.Itoa(i) + "]."
		text := func(name, value, hint string) *field {
			return &field{Name: prefix + name, ID: fieldID(prefix + name), Label: T("console.cfg.sso." + name), Kind: "text", Value: value, Hint: hint, Autocomplete: "off"}
		}
		g := group{ID: "sso-provider-" + strconv.Itoa(i), Legend: T("console.cfg.sso.provider", "Name", p.Name)}
		secretHint := T("console.cfg.sso.secret_kept_hint")
		if blank {
			g.Legend, g.Hint = T("console.cfg.sso.new_provider"), T("console.cfg.sso.new_provider_hint")
			secretHint = T("console.cfg.sso.secret_hint")
		}
		g.Fields = []*field{
			text("name", p.Name, T("console.cfg.sso.name_hint")),
			{Name: prefix + "issuer", ID: fieldID(prefix + "issuer"), Label: T("console.cfg.sso.issuer"), Kind: "text", Value: p.Issuer, Hint: T("console.cfg.sso.issuer_hint"), Autocomplete: "off"},
			text("client_id", p.ClientID, ""),
			{Name: prefix + "client_secret", ID: fieldID(prefix + "client_secret"), Label: T("console.cfg.sso.client_secret"), Kind: "password", Hint: secretHint, Autocomplete: "new-password"},
			text("scopes", strings.Join(p.Scopes, " "), T("console.cfg.sso.scopes_hint")),
			text("button_label", p.ButtonLabel, T("console.cfg.sso.button_label_hint")),
			text("claims.email", p.Claims.Email, T("console.cfg.sso.claim_hint", "Default", "email")),
			text("claims.first_name", p.Claims.FirstName, T("console.cfg.sso.claim_hint", "Default", "given_name")),
			text("claims.last_name", p.Claims.LastName, T("console.cfg.sso.claim_hint", "Default", "family_name")),
			text("claims.phone", p.Claims.Phone, T("console.cfg.sso.claim_hint", "Default", "phone_number")),
			text("claims.locale", p.Claims.Locale, T("console.cfg.sso.claim_hint", "Default", "locale")),
			{Name: prefix + "app_redirect_uris", ID: fieldID(prefix + "app_redirect_uris"), Label: T("console.cfg.sso.app_redirect_uris"), Kind: "textarea",
				Value: strings.Join(p.AppRedirectURIs, "\n"), Hint: T("console.cfg.sso.app_redirect_uris_hint")},
		}
		if !blank {
			// A provider needs these; the blank row may stay empty.
			for _, f := range g.Fields[:3] {
				f.Required = true
			}
			g.Fields = append(g.Fields, &field{Name: prefix + "remove", ID: fieldID(prefix + "remove"), Label: T("console.cfg.sso.remove", "Name", p.Name), Kind: "checkbox", Value: "true"})
		}
		sec.Groups = append(sec.Groups, g)
	}
	return sec
}

// deviceSection is the self-service device setup part of the page: its
// switch, email requirement and account template, and one group per
// device template (sorted by platform) plus a blank one to add a platform.
func deviceSection(rq *req, d domain.DeviceSetup, userTypes []domain.UserType) section {
	T := rq.T
	at := d.AccountTemplate
	accountType := &field{Name: "device_setup.account_template.account_type", ID: fieldID("device_setup.account_template.account_type"),
		Label: T("console.cfg.dev.account_type"), Kind: "select", Value: at.AccountType,
		Options: []option{{Value: "", Label: T("console.cfg.dev.account_type_default")}}}
	for _, t := range []string{domain.AccountCustomerPersonal, domain.AccountCustomerBusiness} {
		accountType.Options = append(accountType.Options, option{Value: t, Label: T("console.account_type." + t)})
	}
	userType := &field{Name: "device_setup.account_template.user_type", ID: fieldID("device_setup.account_template.user_type"),
		Label: T("console.cfg.dev.user_type"), Kind: "select", Value: at.UserType, Hint: T("console.cfg.dev.user_type_hint"),
		Options: []option{{Value: "", Label: T("console.cfg.dev.user_type_default")}}}
	for _, ut := range userTypes {
		userType.Options = append(userType.Options, option{Value: ut.Name, Label: ut.Label + " (" + ut.Name + ")"})
	}
	sec := section{ID: "device-setup", Title: T("console.cfg.dev.title"), Lead: T("console.cfg.dev.lead"), Fields: []*field{
		{Name: "device_setup.enabled", ID: fieldID("device_setup.enabled"), Label: T("console.cfg.dev.enabled"), Kind: "checkbox", Value: "true",
			Checked: d.Enabled, Hint: T("console.cfg.dev.enabled_hint")},
		{Name: "device_setup.email_requirement", ID: fieldID("device_setup.email_requirement"), Label: T("console.cfg.dev.email_requirement"),
			Kind: "text", Value: d.EmailRequirement, Hint: T("console.onb.email_requirement_hint"), Autocomplete: "off"},
		accountType, userType,
		{Name: "device_setup.account_template.settings", ID: fieldID("device_setup.account_template.settings"), Label: T("console.cfg.dev.account_settings"),
			Kind: "textarea", Value: settingsText(at.Settings), Hint: T("console.cfg.dev.settings_hint")},
	}}
	platforms := append(d.Platforms(), "")
	for i, p := range platforms {
		blank := i == len(platforms)-1
		t := d.DeviceTemplates[p]
		prefix := "device_setup.device_templates[" + strconv.Itoa(i) + "]."
		g := group{ID: "device-template-" + strconv.Itoa(i), Legend: T("console.cfg.dev.template", "Platform", p)}
		if blank {
			g.Legend, g.Hint = T("console.cfg.dev.new_template"), T("console.cfg.dev.new_template_hint")
		}
		g.Fields = []*field{{Name: prefix + "platform", ID: fieldID(prefix + "platform"), Label: T("console.cfg.dev.platform"), Kind: "text", Value: p,
			Hint: T("console.cfg.dev.platform_hint", "Platforms", strings.Join(domain.Platforms, ", ")), Autocomplete: "off", Required: !blank}}
		langs := slices.Clone(instructionLanguages)
		for l := range t.Instructions {
			if !slices.Contains(langs, l) {
				langs = append(langs, l)
			}
		}
		slices.Sort(langs[len(instructionLanguages):])
		for _, l := range langs {
			name := prefix + "instructions." + l
			f := &field{Name: name, ID: fieldID(name), Label: T("console.cfg.dev.instructions", "Language", l), Kind: "textarea", Value: t.Instructions[l]}
			if l == "en" {
				f.Hint, f.Required = T("console.cfg.dev.instructions_hint"), !blank
			}
			g.Fields = append(g.Fields, f)
		}
		g.Fields = append(g.Fields,
			&field{Name: prefix + "settings", ID: fieldID(prefix + "settings"), Label: T("console.cfg.dev.device_settings"), Kind: "textarea",
				Value: settingsText(t.Settings), Hint: T("console.cfg.dev.settings_hint")},
			&field{Name: prefix + "sms_installation_code", ID: fieldID(prefix + "sms_installation_code"), Label: T("console.cfg.dev.sms"), Kind: "checkbox",
				Value: "true", Checked: t.SMSInstallationCode, Hint: T("console.cfg.dev.sms_hint")})
		if !blank {
			g.Fields = append(g.Fields, &field{Name: prefix + "remove", ID: fieldID(prefix + "remove"), Label: T("console.cfg.dev.remove", "Platform", p), Kind: "checkbox", Value: "true"})
		}
		sec.Groups = append(sec.Groups, g)
	}
	return sec
}

func settingsText(m map[string]string) string {
	lines := make([]string, 0, len(m))
	for k, v := range m {
		lines = append(lines, k+"="+v)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// parseSettings reads name=value lines; a line without "=" is an error on
// field.
func parseSettings(field, text string, errs *[]domain.FieldError) map[string]string {
	var m map[string]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			*errs = append(*errs, domain.FieldError{Field: field, Message: fmt.Sprintf("line %q must be written name=value", line)})
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}

// rowIndexes are the row numbers the page posted for a list field such as
// sso.providers, in order.
func rowIndexes(form url.Values, list string) []int {
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(list) + `\[(\d{1,3})\]\.`)
	seen := map[int]bool{}
	var out []int
	for k := range form {
		if m := re.FindStringSubmatch(k); m != nil {
			n, _ := strconv.Atoi(m[1])
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// parseSSO reads the SSO section; removed and blank provider rows are left
// out. An empty section is no SSO at all.
func parseSSO(form url.Values) *domain.SSO {
	s := &domain.SSO{FirstLoginCreatesCustomer: form.Get("sso.first_login_creates_customer") == "true",
		FirstLoginAccountType: strings.TrimSpace(form.Get("sso.first_login_account_type")), Providers: []domain.SSOProvider{}}
	for _, i := range rowIndexes(form, "sso.providers") {
		prefix := "sso.providers[" + strconv.Itoa(i) + "]."
		get := func(name string) string { return strings.TrimSpace(form.Get(prefix + name)) }
		if form.Get(prefix+"remove") == "true" {
			continue
		}
		p := domain.SSOProvider{Name: get("name"), Issuer: get("issuer"), ClientID: get("client_id"), ClientSecret: form.Get(prefix + "client_secret"),
			ButtonLabel: get("button_label"),
			Claims: domain.SSOClaims{Email: get("claims.email"), FirstName: get("claims.first_name"), LastName: get("claims.last_name"),
				Phone: get("claims.phone"), Locale: get("claims.locale")}}
		if sc := strings.Fields(form.Get(prefix + "scopes")); len(sc) > 0 {
			p.Scopes = sc
		}
		for _, u := range strings.Split(form.Get(prefix+"app_redirect_uris"), "\n") {
			if u = strings.TrimSpace(u); u != "" {
				p.AppRedirectURIs = append(p.AppRedirectURIs, u)
			}
		}
		if p.Name == "" && p.Issuer == "" && p.ClientID == "" && p.ClientSecret == "" && len(p.Scopes) == 0 && p.ButtonLabel == "" &&
			p.Claims == (domain.SSOClaims{}) && len(p.AppRedirectURIs) == 0 {
			continue
		}
		s.Providers = append(s.Providers, p)
	}
	if !s.FirstLoginCreatesCustomer && s.FirstLoginAccountType == "" && len(s.Providers) == 0 {
		return nil
	}
	return s
}

// parseDeviceSetup reads the device setup section; removed and blank
// template rows are left out. A platform given twice is an error on the
// platform of the first row (the rows are shown again sorted by platform).
func parseDeviceSetup(form url.Values, errs *[]domain.FieldError) domain.DeviceSetup {
	d := domain.DeviceSetup{Enabled: form.Get("device_setup.enabled") == "true",
		EmailRequirement: strings.TrimSpace(form.Get("device_setup.email_requirement")),
		AccountTemplate: domain.AccountTemplate{AccountType: form.Get("device_setup.account_template.account_type"),
			UserType: form.Get("device_setup.account_template.user_type")},
		DeviceTemplates: map[string]domain.DeviceTemplate{}}
	d.AccountTemplate.Settings = parseSettings("device_setup.account_template.settings", form.Get("device_setup.account_template.settings"), errs)
	type row struct {
		platform string
		t        domain.DeviceTemplate
		settings string
	}
	var rows []row
	for _, i := range rowIndexes(form, "device_setup.device_templates") {
		prefix := "device_setup.device_templates[" + strconv.Itoa(i) + "]."
		if form.Get(prefix+"remove") == "true" {
			continue
		}
		r := row{platform: strings.TrimSpace(form.Get(prefix + "platform")), settings: form.Get(prefix + "settings"),
			t: domain.DeviceTemplate{SMSInstallationCode: form.Get(prefix+"sms_installation_code") == "true"}}
		for k, v := range form {
			if l, ok := strings.CutPrefix(k, prefix+"instructions."); ok && strings.TrimSpace(strings.Join(v, "")) != "" {
				if r.t.Instructions == nil {
					r.t.Instructions = map[string]string{}
				}
				r.t.Instructions[l] = strings.ReplaceAll(v[0], "\r\n", "\n")
			}
		}
		if r.platform == "" && len(r.t.Instructions) == 0 && strings.TrimSpace(r.settings) == "" && !r.t.SMSInstallationCode {
			continue
		}
		rows = append(rows, r)
	}
	for _, r := range rows {
		if _, dup := d.DeviceTemplates[r.platform]; dup {
			*errs = append(*errs, domain.FieldError{Field: "device_setup.device_templates." + r.platform, Message: "is listed twice"})
			continue
		}
		r.t.Settings = parseSettings("device_setup.device_templates."+r.platform+".settings", r.settings, errs)
		d.DeviceTemplates[r.platform] = r.t
	}
	return d
}

// rowErrors renames the field errors of device templates, which the
// validation keys by platform, to the rows of the page (sorted by
// platform, as deviceSection shows them).
func rowErrors(de *domain.Error, d domain.DeviceSetup) {
	platforms := d.Platforms()
	const prefix = "device_setup.device_templates."
	for i, fe := range de.Fields {
		rest, ok := strings.CutPrefix(fe.Field, prefix)
		if !ok {
			continue
		}
		// The longest platform that prefixes the rest is the one meant.
		best := -1
		for j, p := range platforms {
			if (rest == p || strings.HasPrefix(rest, p+".")) && (best < 0 || len(p) > len(platforms[best])) {
				best = j
			}
		}
		if best < 0 {
			continue
		}
		tail := strings.TrimPrefix(rest, platforms[best])
		if tail == "" {
			tail = ".platform"
		}
		de.Fields[i].Field = "device_setup.device_templates[" + strconv.Itoa(best) + "]" + tail
	}
}
