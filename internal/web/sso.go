package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
	"github.com/onboard-dev/onboard/internal/sso"
)

// The sign-in with OpenID Connect: /auth/oidc/{name} starts it (a link on
// the sign-in page), /auth/oidc/{name}/callback finishes it, and the
// first-login registration (…/register) and the link to an existing user
// (…/link) are forms whose pending token travels in a hidden field and is
// also bound to the browser's flow cookie.

// ssoRoutes registers the pages of the sign-in with OpenID Connect.
func (p *Pages) ssoRoutes(mux *http.ServeMux) {
	if p.cfg.SSO == nil {
		return
	}
	p.handle(mux, "GET /auth/oidc/{name}", p.getSSOBegin)
	p.handle(mux, "GET /auth/oidc/{name}/callback", p.getSSOCallback)
	p.handle(mux, "POST /auth/oidc/{name}/register", p.postSSORegister)
	p.handle(mux, "POST /auth/oidc/{name}/link", p.postSSOLink)
}

// ssoButtons are the provider links of the sign-in page.
func ssoButtons(rq *req, next string) []link {
	var out []link
	for _, b := range sso.Buttons(rq.Org) {
		href := rq.Path("/auth/oidc/" + url.PathEscape(b.Name))
		if next != "" {
			href += "?next=" + url.QueryEscape(next)
		}
		out = append(out, link{Href: href, Text: rq.T("sso.button", "Label", b.Label)})
	}
	return out
}

// flowCookie keeps the browser binding of a sign-in in progress.
func (p *Pages) flowCookie(w http.ResponseWriter, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: p.cookieName("oidc"), Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		Secure: p.cfg.SecureCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if maxAge <= 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (p *Pages) binding(r *http.Request) string {
	if c, err := r.Cookie(p.cookieName("oidc")); err == nil {
		return c.Value
	}
	return ""
}

func (p *Pages) getSSOBegin(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	next := safeNext(r.URL.Query().Get("next"), "")
	authURL, binding, err := p.cfg.SSO.Begin(r.Context(), rq.Org, r.PathValue("name"), next)
	if err != nil {
		p.ssoError(w, r, err)
		return
	}
	p.flowCookie(w, binding, time.Hour)
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

func (p *Pages) getSSOCallback(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	out, err := p.cfg.SSO.Callback(r.Context(), rq.Org, r.PathValue("name"), r.URL.Query(), p.binding(r), p.clientIP(r), r.UserAgent())
	if err != nil {
		p.ssoError(w, r, err)
		return
	}
	if out.Pending == nil {
		p.flowCookie(w, "", 0)
		p.startSession(w, r, out.Token)
		http.Redirect(w, r, p.afterSignIn(rq, out.Principal, out.Next), http.StatusSeeOther)
		return
	}
	switch out.Pending.Kind {
	case domain.SSOFlowRegistration:
		form, err := p.cfg.SSO.Registration(r.Context(), out.Pending.Token, p.binding(r))
		if err != nil {
			p.ssoError(w, r, err)
			return
		}
		p.render(w, r, http.StatusOK, "sso-register", p.ssoRegisterView(rq, form, out.Pending.Token, nil, nil))
	default:
		lf, err := p.cfg.SSO.Link(r.Context(), out.Pending.Token, p.binding(r))
		if err != nil {
			p.ssoError(w, r, err)
			return
		}
		p.render(w, r, http.StatusOK, "sso-link", p.ssoLinkView(rq, lf, out.Pending.Token))
	}
}

// ssoData is what the first-login and link pages show besides the form:
// what the provider said about the person.
type ssoData struct {
	Known []fact
}

func (p *Pages) ssoRegisterView(rq *req, form sso.RegistrationForm, token string, values url.Values, de *domain.Error) view {
	fv := p.newForm(rq.Path("/auth/oidc/"+url.PathEscape(form.Provider)+"/register"), token, rq.T("sso.register.submit"))
	errored := map[string]bool{}
	if de != nil {
		for _, fe := range de.Fields {
			errored[fe.Field] = true
		}
	}
	d := ssoData{Known: []fact{{rq.T("field.label.email"), form.Claims.Email}}}
	for _, f := range form.Fields {
		if v := form.Prefilled[f.Name]; v != "" && !errored[f.Name] {
			label := f.Label
			if p.cat.Has(rq.Lang, "field.label."+f.Name) {
				label = rq.T("field.label." + f.Name)
			}
			d.Known = append(d.Known, fact{label, v})
			continue
		}
		if values == nil && form.Prefilled[f.Name] != "" {
			values = url.Values{}
		}
		in := p.fieldInput(rq, f, values)
		if in.Value == "" {
			in.Value = form.Prefilled[f.Name]
		}
		fv.Inputs = append(fv.Inputs, in)
	}
	fv.Agreements = agreementInputs(form.Agreements, values["agreement"])
	fv.Footer = []link{signInLink(rq)}
	return view{Title: rq.T("sso.register.title"),
		Lead: rq.T("sso.register.lead", "Organization", orgName(form.Organization), "Type", rq.T("account_type."+form.AccountType)),
		Form: fv, Data: d}
}

func (p *Pages) ssoLinkView(rq *req, lf sso.LinkForm, token string) view {
	fv := p.newForm(rq.Path("/auth/oidc/"+url.PathEscape(lf.Provider)+"/link"), token, rq.T("sso.link.submit"))
	fv.Inputs = []*input{{Name: "password", ID: "f-password", Label: rq.T("field.label.password"), Kind: "password", Required: true,
		MaxLength: 1024, Autocomplete: "current-password"}}
	fv.Footer = []link{{Href: rq.Path("/reset-password"), Text: rq.T("login.forgot")}, signInLink(rq)}
	return view{Title: rq.T("sso.link.title"), Lead: rq.T("sso.link.lead", "Email", lf.Claims.Email, "Organization", orgName(lf.Organization)),
		Form: fv, Data: ssoData{Known: []fact{{rq.T("field.label.email"), lf.Claims.Email}}}}
}

func (p *Pages) postSSORegister(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	form, err := p.cfg.SSO.Registration(r.Context(), token, p.binding(r))
	if err != nil {
		p.ssoError(w, r, err)
		return
	}
	if form.Organization.ID != rq.Org.ID || form.Provider != r.PathValue("name") {
		p.ssoError(w, r, domain.Errorf(domain.ENotFound, "sso-pending-not-found", "This sign-in form is not valid."))
		return
	}
	var fields []flows.Field
	for _, f := range form.Fields {
		if r.PostForm.Has(f.Name) || form.Prefilled[f.Name] == "" || f.Type == flows.PropertyBoolean {
			fields = append(fields, f)
		}
	}
	customer, user, _ := completion(fields, r.PostForm)
	reg, err := p.cfg.SSO.CompleteRegistration(r.Context(), token, p.binding(r), flows.Completion{
		Customer: customer, User: user, AcceptedAgreements: r.PostForm["agreement"], ClientIP: p.clientIP(r),
	}, r.UserAgent())
	if err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code != domain.EInvalid {
			p.ssoError(w, r, err)
			return
		}
		v := p.ssoRegisterView(rq, form, token, r.PostForm, de)
		p.showError(w, r, de, "sso-register", v)
		return
	}
	p.flowCookie(w, "", 0)
	p.startSession(w, r, reg.Token)
	http.Redirect(w, r, p.afterSignIn(rq, reg.Principal, ""), http.StatusSeeOther)
}

func (p *Pages) postSSOLink(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	lf, err := p.cfg.SSO.Link(r.Context(), token, p.binding(r))
	if err != nil {
		p.ssoError(w, r, err)
		return
	}
	if lf.Organization.ID != rq.Org.ID || lf.Provider != r.PathValue("name") {
		p.ssoError(w, r, domain.Errorf(domain.ENotFound, "sso-pending-not-found", "This sign-in form is not valid."))
		return
	}
	sessToken, pr, err := p.cfg.SSO.CompleteLink(r.Context(), token, p.binding(r), r.PostForm.Get("password"), p.clientIP(r), r.UserAgent())
	if err != nil {
		de := domain.AsError(err)
		if de == nil || !slices.Contains([]domain.Code{domain.EInvalid, domain.EUnauthorized, domain.ERateLimited}, de.Code) {
			p.ssoError(w, r, err)
			return
		}
		p.showError(w, r, de, "sso-link", p.ssoLinkView(rq, lf, token))
		return
	}
	p.flowCookie(w, "", 0)
	p.startSession(w, r, sessToken)
	http.Redirect(w, r, p.afterSignIn(rq, pr, ""), http.StatusSeeOther)
}

// ssoError is the page of a sign-in that failed: its status and why, and a
// way back to the sign-in page. Unexpected errors are the 500 page.
func (p *Pages) ssoError(w http.ResponseWriter, r *http.Request, err error) {
	rq := reqOf(r)
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal {
		p.fail(w, r, err)
		return
	}
	status := httpx.Status(de.Code)
	p.retryAfter(w, de)
	title := rq.T("sso.failed.title")
	lead := p.detail(rq, de)
	switch de.Slug {
	case "sso-account-not-found":
		title, lead = rq.T("sso.no_account.title"), rq.T("sso.no_account.lead", "Organization", rq.OrgName())
	case "sso-provider-not-found":
		p.notFound(w, r)
		return
	}
	p.message(w, r, status, title, lead, []link{signInLink(rq)})
}
