package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/onboard-dev/onboard/internal/brand"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// ---- sign-up ----

// offeredTypes are the account types the organization lets people register
// as, in the order of domain.AccountTypes.
func offeredTypes(o domain.Organization) []string {
	var out []string
	for _, t := range domain.AccountTypes {
		if o.Onboarding.Offers(t) {
			out = append(out, t)
		}
	}
	return out
}

func (p *Pages) signupView(rq *req, values url.Values) view {
	fv := p.newForm(rq.Path("/signup"), "", rq.T("signup.submit"))
	fv.Inputs = []*input{{Name: "email", ID: "f-email", Label: rq.T("field.label.email"), Kind: "email", Required: true,
		MaxLength: 254, Autocomplete: "email", Value: values.Get("email"), Hint: rq.T("signup.email_hint")}}
	types := offeredTypes(rq.Org)
	if len(types) == 1 {
		fv.Hidden = map[string]string{"account_type": types[0]}
	} else {
		in := &input{Name: "account_type", ID: "f-account_type", Label: rq.T("signup.account_type"), Kind: "radio",
			Required: true, Value: values.Get("account_type")}
		for _, t := range types {
			in.Choices = append(in.Choices, choice{Value: t, Label: rq.T("account_type." + t), Hint: rq.T("account_type." + t + ".hint")})
		}
		fv.Inputs = append(fv.Inputs, in)
	}
	fv.Footer = []link{{Href: rq.Path("/login"), Text: rq.T("signup.have_account")}}
	return view{Title: rq.T("signup.title"), Lead: rq.T("signup.lead", "Organization", rq.OrgName()), Form: fv}
}

// signupClosed answers when the organization offers no self-registration.
func (p *Pages) signupClosed(w http.ResponseWriter, r *http.Request) bool {
	rq := reqOf(r)
	if offersSignup(rq.Org) {
		return false
	}
	p.message(w, r, http.StatusNotFound, rq.T("signup.closed.title"), rq.T("signup.closed.lead"), []link{signInLink(rq)})
	return true
}

func (p *Pages) getSignup(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if rq.SignedIn() {
		http.Redirect(w, r, rq.Path("/account"), http.StatusSeeOther)
		return
	}
	if p.signupClosed(w, r) {
		return
	}
	p.render(w, r, http.StatusOK, "signup", p.signupView(rq, r.URL.Query()))
}

func (p *Pages) postSignup(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if _, ok := p.postedForm(w, r); !ok {
		return
	}
	if p.signupClosed(w, r) {
		return
	}
	email := r.PostForm.Get("email")
	err := p.flows.StartSignup(r.Context(), flows.StartSignup{Organization: rq.Org.Name, Email: email,
		AccountType: r.PostForm.Get("account_type"), ClientIP: p.clientIP(r), Language: rq.Lang})
	if err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code == domain.EInternal {
			p.fail(w, r, err)
			return
		}
		if de.Code == domain.EForbidden { // switched off meanwhile
			p.message(w, r, http.StatusNotFound, rq.T("signup.closed.title"), rq.T("signup.closed.lead"), []link{signInLink(rq)})
			return
		}
		p.showError(w, r, de, "signup", p.signupView(rq, r.PostForm))
		return
	}
	// The same answer whether or not the address has an account: its mailbox
	// is told which.
	p.render(w, r, http.StatusOK, "message", view{Title: rq.T("signup.sent.title"),
		Lead: rq.T("signup.sent.lead", "Email", email), Success: true,
		Links: []link{{Href: rq.Path("/signup"), Text: rq.T("signup.sent.again")}}})
}

// ---- required actions ----

// actionsData is what the required-actions page shows.
type actionsData struct {
	Agreements *formView
	Customer   *formView
}

func (p *Pages) actionsView(r *http.Request, rq *req, values url.Values) (view, error) {
	pr := rq.Principal
	next := safeNext(r.URL.Query().Get("next"), "")
	if values != nil {
		next = safeNext(values.Get("next"), "")
	}
	action := rq.Path("/required-actions")
	if next != "" {
		action += "?next=" + url.QueryEscape(next)
	}
	var d actionsData
	if slices.Contains(pr.RequiredActions, domain.ActionAcceptAgreements) {
		status, err := p.flows.MyAgreements(r.Context(), *pr)
		if err != nil {
			return view{}, err
		}
		var pending []domain.Agreement
		for _, a := range status {
			if a.Required && !a.Accepted {
				pending = append(pending, a.Agreement)
			}
		}
		fv := p.sessionForm(rq, action, rq.T("actions.agreements.submit"))
		fv.Hidden = map[string]string{"action": "agreements"}
		var ticked []string
		if values != nil {
			ticked = values["agreement"]
		}
		fv.Agreements = agreementInputs(pending, ticked)
		d.Agreements = fv
	}
	if slices.Contains(pr.RequiredActions, domain.ActionVerifyCustomer) {
		fv := p.sessionForm(rq, action, rq.T("actions.customer.submit"))
		fv.Hidden = map[string]string{"action": "customer"}
		get := func(k string) string {
			if values != nil {
				return values.Get(k)
			}
			return pr.Account.Properties[k]
		}
		fv.Inputs = []*input{
			{Name: "phone", ID: "f-phone", Label: rq.T("field.label.phone"), Kind: "tel", Required: true, MaxLength: 32,
				Autocomplete: "tel", Hint: rq.T("field.hint.phone"), Value: get("phone")},
			{Name: "address", ID: "f-address", Label: rq.T("field.label.address"), Kind: "textarea", Required: true,
				MaxLength: 500, Autocomplete: "street-address", Value: get("address")},
		}
		d.Customer = fv
	}
	return view{Title: rq.T("actions.title"), Lead: rq.T("actions.lead"), Data: d}, nil
}

func (p *Pages) getActions(w http.ResponseWriter, r *http.Request, rq *req) {
	if len(rq.Principal.RequiredActions) == 0 {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next"), rq.Path("/account")), http.StatusSeeOther)
		return
	}
	v, err := p.actionsView(r, rq, nil)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "required-actions", v)
}

func (p *Pages) postActions(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	pr := *rq.Principal
	var err error
	switch r.PostForm.Get("action") {
	case "agreements":
		ids := r.PostForm["agreement"]
		if len(ids) == 0 {
			err = domain.Invalid(domain.FieldError{Field: "accepted", Message: "must list at least one agreement id"})
		} else {
			_, err = p.flows.AcceptAgreements(r.Context(), pr, ids)
		}
	case "customer":
		_, err = p.flows.VerifyCustomer(r.Context(), pr, flows.CustomerDetails{Phone: r.PostForm.Get("phone"), Address: r.PostForm.Get("address")})
	default:
		p.message(w, r, http.StatusBadRequest, rq.T("page.bad_form.title"), rq.T("page.bad_form.lead"), nil)
		return
	}
	next := safeNext(r.URL.Query().Get("next"), rq.Path("/account"))
	if err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code == domain.EInternal {
			p.fail(w, r, err)
			return
		}
		v, verr := p.actionsView(r, rq, r.PostForm)
		if verr != nil {
			p.fail(w, r, verr)
			return
		}
		d := v.Data.(actionsData)
		form := d.Agreements
		if r.PostForm.Get("action") == "customer" {
			form = d.Customer
		}
		if form != nil {
			v.Errors = p.applyError(rq, form, de)
			v.Form = form // for the error summary
			v.Summary = nil
		}
		p.retryAfter(w, de)
		status := httpx.Status(de.Code)
		p.render(w, r, status, "required-actions", v)
		return
	}
	// Again: the page shows what is still pending, or goes on.
	http.Redirect(w, r, rq.Path("/required-actions")+"?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// ---- branding ----

// getBrandCSS serves the organization's accent colour as a stylesheet (the
// pages' CSP allows no inline styles).
func (p *Pages) getBrandCSS(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	accent := rq.Org.Onboarding.Branding.AccentColor
	if !brand.ValidColour(accent) {
		return
	}
	c := brand.Of(accent)
	fmt.Fprintf(w, ":root { --accent: %s; --on-accent: %s; --link: %s; }\n", c.Accent, c.OnAccent, c.Link)
}

// getLogo serves the organization's uploaded logo (PNG or JPEG only: no
// SVG, which could carry script), with its own strict policy.
func (p *Pages) getLogo(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	l, err := p.flows.Logo(r.Context(), rq.Org)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", l.ContentType)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Disposition", "inline")
	http.ServeContent(w, r, "", l.UpdatedAt, bytes.NewReader(l.Data))
}
