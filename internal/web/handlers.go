package web

import (
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

func signInLink(rq *req) link { return link{Href: rq.Path("/login"), Text: rq.T("login.title")} }

func newResetLink(rq *req) link {
	return link{Href: rq.Path("/reset-password"), Text: rq.T("reset.again")}
}

// newForm starts the form of a page: its action is the page path (the link
// token travels in a hidden field, not in the URL of the POST).
func (p *Pages) newForm(path, linkToken, submit string) *formView {
	return &formView{Action: path, CSRF: p.formToken(path, linkToken), LinkToken: linkToken, Submit: submit}
}

// postedForm parses a POST and checks its anti-forgery token. It answers the
// request itself and returns false when the POST must go no further.
func (p *Pages) postedForm(w http.ResponseWriter, r *http.Request) (linkToken string, ok bool) {
	if !p.parseForm(w, r) {
		return "", false
	}
	linkToken = r.PostForm.Get("token")
	return linkToken, p.checkFormToken(w, r, linkToken)
}

// formError shows err on the form of v: field errors next to their inputs,
// the rest at the top, with the status of the error. Unknown, used or
// expired links, and unexpected errors, get the page of linkError.
func (p *Pages) formError(w http.ResponseWriter, r *http.Request, err error, page string, v view, again link) {
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EGone || de.Code == domain.ENotFound || de.Code == domain.EInternal {
		p.linkError(w, r, err, again)
		return
	}
	p.showError(w, r, de, page, v)
}

// showError renders v with the errors of de placed on its form.
func (p *Pages) showError(w http.ResponseWriter, r *http.Request, de *domain.Error, page string, v view) {
	rq := reqOf(r)
	v.Errors = p.applyError(rq, v.Form, de)
	p.retryAfter(w, de)
	status := httpx.Status(de.Code)
	p.render(w, r, status, page, v)
}

// sameOrg answers "this link is not valid" when a link's organization is
// not the one of the page it was opened on, and reports whether it did.
func (p *Pages) otherOrg(w http.ResponseWriter, r *http.Request, org domain.Organization, again link) bool {
	if org.ID == reqOf(r).Org.ID {
		return false
	}
	p.linkError(w, r, domain.Errorf(domain.ENotFound, "link-not-found", "This link is not valid."), again)
	return true
}

// completion splits the posted values of the form fields into the customer
// and user objects of the flows, and the top-level partner code. Empty
// values are left out; an unticked boolean is false.
func completion(fields []flows.Field, form url.Values) (customer, user map[string]any, partnerCode string) {
	customer, user = map[string]any{}, map[string]any{}
	for _, f := range fields {
		raw := form.Get(f.Name)
		var v any = raw
		if f.Type == flows.PropertyBoolean {
			v = raw == "true"
		} else if raw == "" {
			continue
		}
		switch {
		case f.Name == flows.PartnerCodeField:
			partnerCode = raw
		case strings.HasPrefix(f.Name, "customer."):
			customer[strings.TrimPrefix(f.Name, "customer.")] = v
		case strings.HasPrefix(f.Name, "user."):
			user[strings.TrimPrefix(f.Name, "user.")] = v
		}
	}
	return customer, user, partnerCode
}

// signedInAfterLink opens a browser session for a user who has just
// finished a mailed link's form, and goes to the account.
func (p *Pages) signedInAfterLink(w http.ResponseWriter, r *http.Request, user domain.User, next ...string) {
	rq := reqOf(r)
	token, pr, err := p.flows.SignInAfterLink(r.Context(), user, p.clientIP(r), r.UserAgent())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.startSession(w, r, token)
	http.Redirect(w, r, p.afterSignIn(rq, pr, strings.Join(next, "")), http.StatusSeeOther)
}

// ---- registration ----

func (p *Pages) registerView(rq *req, form flows.SignupForm, token string, values url.Values) view {
	fv := p.newForm(rq.Path("/register"), token, rq.T("register.submit"))
	for _, f := range form.Fields {
		fv.Inputs = append(fv.Inputs, p.fieldInput(rq, f, values))
	}
	fv.Inputs = append(fv.Inputs, p.passwordInput(rq, form.Policy))
	fv.Agreements = agreementInputs(form.Agreements, values["agreement"])
	return view{Title: rq.T("register.title"),
		Lead: rq.T("register.lead", "Email", form.Signup.Email, "Organization", orgName(form.Organization),
			"Type", rq.T("account_type."+form.Signup.AccountType)), Form: fv}
}

func (p *Pages) getRegister(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token := r.URL.Query().Get("token")
	form, err := p.flows.Signup(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink(rq))
		return
	}
	if p.otherOrg(w, r, form.Organization, signInLink(rq)) {
		return
	}
	p.render(w, r, http.StatusOK, "register", p.registerView(rq, form, token, nil))
}

func (p *Pages) postRegister(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	form, err := p.flows.Signup(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink(rq))
		return
	}
	if p.otherOrg(w, r, form.Organization, signInLink(rq)) {
		return
	}
	customer, user, partnerCode := completion(form.Fields, r.PostForm)
	reg, err := p.flows.CompleteSignup(r.Context(), token, flows.Completion{
		Customer: customer, User: user, Password: r.PostForm.Get("password"),
		AcceptedAgreements: r.PostForm["agreement"], PartnerCode: partnerCode, ClientIP: p.clientIP(r),
	})
	if err != nil {
		p.formError(w, r, err, "register", p.registerView(rq, form, token, r.PostForm), signInLink(rq))
		return
	}
	if reg.Status == domain.StatusPendingApproval {
		p.message(w, r, http.StatusCreated, rq.T("register.pending.title"), rq.T("register.pending.lead", "Email", reg.User.Email), nil)
		return
	}
	next := ""
	if form.Signup.Purpose == domain.SignupDeviceSetup {
		next = rq.Path("/setup/devices")
	}
	p.signedInAfterLink(w, r, reg.User, next)
}

// orgName is the name of an organization people see.
func orgName(o domain.Organization) string {
	if o.Onboarding.Branding.DisplayName != "" {
		return o.Onboarding.Branding.DisplayName
	}
	if o.DisplayName != "" {
		return o.DisplayName
	}
	return o.Name
}

// ---- invitations ----

func (p *Pages) invitationView(rq *req, form flows.InvitationForm, token string, values url.Values) view {
	fv := p.newForm(rq.Path("/invitation"), token, rq.T("invitation.submit"))
	for _, f := range form.Fields {
		fv.Inputs = append(fv.Inputs, p.fieldInput(rq, f, values))
	}
	fv.Inputs = append(fv.Inputs, p.passwordInput(rq, form.Policy))
	fv.Agreements = agreementInputs(form.Agreements, values["agreement"])
	args := []any{"Account", form.Account.Name, "Organization", orgName(form.Organization), "Email", form.Invitation.Email,
		"Inviter", form.InvitedBy, "UserType", form.UserType.Label}
	key := "invitation.lead"
	if form.InvitedBy != "" {
		key = "invitation.lead_by"
	}
	return view{Title: rq.T("invitation.title"), Lead: rq.T(key, args...), Form: fv}
}

func (p *Pages) getInvitation(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token := r.URL.Query().Get("token")
	form, err := p.flows.Invitation(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink(rq))
		return
	}
	if p.otherOrg(w, r, form.Organization, signInLink(rq)) {
		return
	}
	p.render(w, r, http.StatusOK, "invitation", p.invitationView(rq, form, token, nil))
}

func (p *Pages) postInvitation(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	form, err := p.flows.Invitation(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink(rq))
		return
	}
	if p.otherOrg(w, r, form.Organization, signInLink(rq)) {
		return
	}
	_, user, _ := completion(form.Fields, r.PostForm)
	au, err := p.flows.AcceptInvitation(r.Context(), token, flows.InvitationCompletion{
		User: user, Password: r.PostForm.Get("password"), AcceptedAgreements: r.PostForm["agreement"], Language: rq.Lang,
	})
	if err != nil {
		p.formError(w, r, err, "invitation", p.invitationView(rq, form, token, r.PostForm), signInLink(rq))
		return
	}
	p.signedInAfterLink(w, r, au.User)
}

// ---- password reset ----

func (p *Pages) resetView(rq *req, info flows.PasswordResetInfo, token string) view {
	fv := p.newForm(rq.Path("/reset-password"), token, rq.T("reset.set.submit"))
	fv.Inputs = []*input{p.passwordInput(rq, info.Policy)}
	fv.Inputs[0].Label = rq.T("reset.set.label")
	return view{Title: rq.T("reset.set.title"), Lead: rq.T("reset.set.lead", "Email", info.MaskedEmail), Form: fv}
}

// requestResetView asks for the address to send a reset link to.
func (p *Pages) requestResetView(rq *req, values url.Values) view {
	fv := p.newForm(rq.Path("/reset-password"), "", rq.T("reset.request.submit"))
	fv.Inputs = []*input{{Name: "email", ID: "f-email", Label: rq.T("field.label.email"), Kind: "email", Required: true,
		MaxLength: 254, Autocomplete: "email", Value: values.Get("email")}}
	fv.Footer = []link{signInLink(rq)}
	return view{Title: rq.T("reset.request.title"), Lead: rq.T("reset.request.lead"), Form: fv}
}

func (p *Pages) getReset(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token := r.URL.Query().Get("token")
	if token == "" {
		p.render(w, r, http.StatusOK, "reset-password", p.requestResetView(rq, r.URL.Query()))
		return
	}
	info, err := p.flows.PasswordReset(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, newResetLink(rq))
		return
	}
	p.render(w, r, http.StatusOK, "reset-password", p.resetView(rq, info, token))
}

func (p *Pages) postReset(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	if token == "" {
		p.postRequestReset(w, r)
		return
	}
	info, err := p.flows.PasswordReset(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, newResetLink(rq))
		return
	}
	if err := p.flows.ResetPassword(r.Context(), token, r.PostForm.Get("password")); err != nil {
		p.formError(w, r, err, "reset-password", p.resetView(rq, info, token), newResetLink(rq))
		return
	}
	p.message(w, r, http.StatusOK, rq.T("reset.done.title"), rq.T("reset.done.lead"), []link{signInLink(rq)})
}

func (p *Pages) postRequestReset(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	email := r.PostForm.Get("email")
	err := p.flows.RequestPasswordReset(r.Context(), flows.PasswordResetRequest{
		Organization: rq.Org.Name, Email: email, ClientIP: p.clientIP(r), Language: rq.Lang,
	})
	if err != nil {
		p.formError(w, r, err, "reset-password", p.requestResetView(rq, r.PostForm), signInLink(rq))
		return
	}
	p.message(w, r, http.StatusOK, rq.T("reset.sent.title"), rq.T("reset.sent.lead", "Email", strings.TrimSpace(email)),
		[]link{signInLink(rq)})
}

// ---- email change ----

func (p *Pages) getConfirm(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token := r.URL.Query().Get("token")
	info, err := p.flows.EmailChange(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink(rq))
		return
	}
	// Opening the link changes nothing (mail scanners open links too); the
	// button does.
	fv := p.newForm(rq.Path("/confirm-email"), token, rq.T("confirm.submit"))
	p.render(w, r, http.StatusOK, "confirm-email", view{Title: rq.T("confirm.title"),
		Lead: rq.T("confirm.lead", "Old", info.MaskedEmail, "New", info.Change.NewEmail), Form: fv})
}

func (p *Pages) postConfirm(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	u, err := p.flows.ConfirmEmailChange(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink(rq))
		return
	}
	p.message(w, r, http.StatusOK, rq.T("confirm.done.title"), rq.T("confirm.done.lead", "Email", u.Email), []link{signInLink(rq)})
}

// ---- sign-in ----

// offersSignup reports whether the organization's sign-in page offers
// "Create new account": self-registration is on and offers an account type.
func offersSignup(o domain.Organization) bool {
	return o.Onboarding.SelfRegistration.Enabled && len(o.Onboarding.SelfRegistration.AccountTypes) > 0
}

func (p *Pages) loginView(rq *req, values url.Values) view {
	fv := p.newForm(rq.Path("/login"), "", rq.T("login.submit"))
	fv.Inputs = []*input{
		{Name: "email", ID: "f-email", Label: rq.T("field.label.email"), Kind: "email", Required: true, MaxLength: 254,
			Autocomplete: "username", Value: values.Get("email")},
		{Name: "password", ID: "f-password", Label: rq.T("field.label.password"), Kind: "password", Required: true,
			MaxLength: 1024, Autocomplete: "current-password"},
	}
	if next := values.Get("next"); next != "" && safeNext(next, "") != "" {
		fv.Hidden = map[string]string{"next": next}
	}
	fv.Footer = []link{{Href: rq.Path("/reset-password"), Text: rq.T("login.forgot")}}
	d := loginData{}
	if offersSignup(rq.Org) {
		d = loginData{Signup: &link{Href: rq.Path("/signup"), Text: rq.T("login.create")}, SignupLead: rq.T("login.create_lead")}
	}
	if p.cfg.SSO != nil {
		d.SSO = ssoButtons(rq, safeNext(values.Get("next"), ""))
	}
	return view{Title: rq.T("login.title"), Form: fv, Data: d}
}

// loginData is what the sign-in page shows besides its form.
type loginData struct {
	Signup     *link
	SignupLead string
	// SSO are the links that sign in through the organization's identity
	// providers.
	SSO []link
}

func (p *Pages) getLogin(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if rq.SignedIn() {
		http.Redirect(w, r, p.afterSignIn(rq, *rq.Principal, r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	v := p.loginView(rq, r.URL.Query())
	if r.URL.Query().Get("signed_out") != "" {
		v.Lead, v.Success = rq.T("login.signed_out"), true
	}
	p.render(w, r, http.StatusOK, "login", v)
}

func (p *Pages) postLogin(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if _, ok := p.postedForm(w, r); !ok {
		return
	}
	token, principal, err := p.flows.Login(r.Context(), flows.Login{
		Organization: rq.Org.Name, Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"),
		ClientIP: p.clientIP(r), UserAgent: r.UserAgent(), Browser: true,
	})
	if err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code == domain.EInternal {
			p.fail(w, r, err)
			return
		}
		p.showError(w, r, de, "login", p.loginView(rq, r.PostForm))
		return
	}
	p.startSession(w, r, token)
	http.Redirect(w, r, p.afterSignIn(rq, principal, r.PostForm.Get("next")), http.StatusSeeOther)
}

// ---- verification of an end user's address (B2B) ----

// VerifyPath is the path of the verification link mailed to end users. Its
// GET shows a page whose button POSTs the form back; apps POST JSON to the
// same path, which the API answers (see ServesVerify).
const VerifyPath = "/v2/registration/verify"

// ServesVerify reports whether a request to VerifyPath is for the pages (a
// browser opening the link or posting its form) rather than for the API.
func ServesVerify(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return mt == "application/x-www-form-urlencoded"
	}
	return false
}

func (p *Pages) getVerify(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token := r.URL.Query().Get("token")
	if err := p.b2b.CheckVerifyLink(r.Context(), token); err != nil {
		p.verifyError(w, r, err)
		return
	}
	// Opening the link verifies nothing (mail scanners open links too); the
	// button does.
	p.render(w, r, http.StatusOK, "verify-email", view{Title: rq.T("verify.title"),
		Lead: rq.T("verify.lead"), Form: p.newForm(VerifyPath, token, rq.T("verify.submit"))})
}

func (p *Pages) postVerify(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	if err := p.b2b.VerifyEmail(r.Context(), token); err != nil {
		p.verifyError(w, r, err)
		return
	}
	p.message(w, r, http.StatusOK, rq.T("verify.done.title"), rq.T("verify.done.lead"), nil)
}

// verifyError shows why a verification link does not work; a new link is
// asked for in the app, so the page links nowhere.
func (p *Pages) verifyError(w http.ResponseWriter, r *http.Request, err error) {
	rq := reqOf(r)
	de := domain.AsError(err)
	if de == nil || httpx.Status(de.Code) == http.StatusInternalServerError {
		p.fail(w, r, err)
		return
	}
	p.message(w, r, httpx.Status(de.Code), rq.T("verify.error.title"), de.Detail, nil)
}
