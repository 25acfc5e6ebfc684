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

var (
	signInLink   = link{Href: "/login", Text: "Sign in"}
	newResetLink = link{Href: "/reset-password", Text: "Ask for a new password-reset link"}
)

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
	v.Errors = v.Form.applyError(de)
	p.retryAfter(w, de)
	status := httpx.Status(de.Code)
	p.render(w, r, status, page, v)
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

// ---- registration ----

func (p *Pages) registerView(form flows.SignupForm, token string, values url.Values) view {
	fv := p.newForm("/register", token, "Create account")
	for _, f := range form.Fields {
		fv.Inputs = append(fv.Inputs, fieldInput(f, values))
	}
	fv.Inputs = append(fv.Inputs, passwordInput(form.Policy))
	fv.Agreements = agreementInputs(form.Agreements, values["agreement"])
	return view{Title: "Create your account",
		Lead: "You are registering " + form.Signup.Email + " with " + orgName(form.Organization) + ".", Form: fv}
}

func (p *Pages) getRegister(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	form, err := p.flows.Signup(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink)
		return
	}
	p.render(w, r, http.StatusOK, "register", p.registerView(form, token, nil))
}

func (p *Pages) postRegister(w http.ResponseWriter, r *http.Request) {
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	form, err := p.flows.Signup(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink)
		return
	}
	customer, user, partnerCode := completion(form.Fields, r.PostForm)
	reg, err := p.flows.CompleteSignup(r.Context(), token, flows.Completion{
		Customer: customer, User: user, Password: r.PostForm.Get("password"),
		AcceptedAgreements: r.PostForm["agreement"], PartnerCode: partnerCode, ClientIP: p.clientIP(r),
	})
	if err != nil {
		p.formError(w, r, err, "register", p.registerView(form, token, r.PostForm), signInLink)
		return
	}
	if reg.Status == domain.StatusPendingApproval {
		p.message(w, r, http.StatusCreated, "Your registration is waiting for approval",
			"We received the registration of "+reg.User.Email+". Your account will be checked before you can use it; we will send you a mail when it has been approved.", nil)
		return
	}
	p.message(w, r, http.StatusCreated, "Your account is ready",
		"Your account has been created. Sign in with "+reg.User.Email+" and the password you chose.", []link{signInLink})
}

// orgName is the name of an organization people see.
func orgName(o domain.Organization) string {
	if o.DisplayName != "" {
		return o.DisplayName
	}
	return o.Name
}

// ---- invitations ----

func (p *Pages) invitationView(form flows.InvitationForm, token string, values url.Values) view {
	fv := p.newForm("/invitation", token, "Accept invitation")
	for _, f := range form.Fields {
		fv.Inputs = append(fv.Inputs, fieldInput(f, values))
	}
	fv.Inputs = append(fv.Inputs, passwordInput(form.Policy))
	fv.Agreements = agreementInputs(form.Agreements, values["agreement"])
	who := "You have been invited"
	if form.InvitedBy != "" {
		who = form.InvitedBy + " invited you"
	}
	lead := who + " to join " + form.Account.Name + " at " + orgName(form.Organization) + " as " + form.Invitation.Email
	if form.UserType.Label != "" {
		lead += " (" + form.UserType.Label + ")"
	}
	return view{Title: "Accept your invitation", Lead: lead + ". Choose a password to finish.", Form: fv}
}

func (p *Pages) getInvitation(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	form, err := p.flows.Invitation(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink)
		return
	}
	p.render(w, r, http.StatusOK, "invitation", p.invitationView(form, token, nil))
}

func (p *Pages) postInvitation(w http.ResponseWriter, r *http.Request) {
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	form, err := p.flows.Invitation(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink)
		return
	}
	_, user, _ := completion(form.Fields, r.PostForm)
	au, err := p.flows.AcceptInvitation(r.Context(), token, flows.InvitationCompletion{
		User: user, Password: r.PostForm.Get("password"), AcceptedAgreements: r.PostForm["agreement"],
	})
	if err != nil {
		p.formError(w, r, err, "invitation", p.invitationView(form, token, r.PostForm), signInLink)
		return
	}
	p.message(w, r, http.StatusOK, "Your account is ready",
		"You have joined "+form.Account.Name+". Sign in with "+au.User.Email+" and the password you chose.", []link{signInLink})
}

// ---- password reset ----

func (p *Pages) resetView(info flows.PasswordResetInfo, token string) view {
	fv := p.newForm("/reset-password", token, "Set new password")
	fv.Inputs = []*input{passwordInput(info.Policy)}
	fv.Inputs[0].Label = "New password"
	return view{Title: "Set a new password", Lead: "Choose a new password for " + info.MaskedEmail + ".", Form: fv}
}

// requestResetView asks for the address to send a reset link to.
func (p *Pages) requestResetView(values url.Values) view {
	fv := p.newForm("/reset-password", "", "Send link")
	fv.Inputs = []*input{{Name: "email", ID: "f-email", Label: "Email address", Kind: "email", Required: true,
		MaxLength: 254, Autocomplete: "email", Value: values.Get("email")}}
	addOrganization(fv, values)
	fv.Footer = []link{signInLink}
	return view{Title: "Forgot your password?", Lead: "Enter the email address you sign in with. We will send you a link to set a new password.", Form: fv}
}

func (p *Pages) getReset(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		p.render(w, r, http.StatusOK, "reset-password", p.requestResetView(r.URL.Query()))
		return
	}
	info, err := p.flows.PasswordReset(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, newResetLink)
		return
	}
	p.render(w, r, http.StatusOK, "reset-password", p.resetView(info, token))
}

func (p *Pages) postReset(w http.ResponseWriter, r *http.Request) {
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
		p.linkError(w, r, err, newResetLink)
		return
	}
	if err := p.flows.ResetPassword(r.Context(), token, r.PostForm.Get("password")); err != nil {
		p.formError(w, r, err, "reset-password", p.resetView(info, token), newResetLink)
		return
	}
	p.message(w, r, http.StatusOK, "Your password has been changed",
		"Every session of your account has been signed out. Sign in with your new password.", []link{signInLink})
}

func (p *Pages) postRequestReset(w http.ResponseWriter, r *http.Request) {
	email := r.PostForm.Get("email")
	err := p.flows.RequestPasswordReset(r.Context(), flows.PasswordResetRequest{
		Organization: r.PostForm.Get("organization"), Email: email, ClientIP: p.clientIP(r),
	})
	if err != nil {
		p.formError(w, r, err, "reset-password", p.requestResetView(r.PostForm), signInLink)
		return
	}
	p.message(w, r, http.StatusOK, "Check your mail",
		"If "+strings.TrimSpace(email)+" belongs to an account, we have sent it a link to set a new password. The link works once and for a limited time.",
		[]link{signInLink})
}

// ---- email change ----

func (p *Pages) getConfirm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	info, err := p.flows.EmailChange(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink)
		return
	}
	// Opening the link changes nothing (mail scanners open links too); the
	// button does.
	fv := p.newForm("/confirm-email", token, "Confirm new address")
	p.render(w, r, http.StatusOK, "confirm-email", view{Title: "Confirm your new email address",
		Lead: "Your sign-in address will change from " + info.MaskedEmail + " to " + info.Change.NewEmail + ".", Form: fv})
}

func (p *Pages) postConfirm(w http.ResponseWriter, r *http.Request) {
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	u, err := p.flows.ConfirmEmailChange(r.Context(), token)
	if err != nil {
		p.linkError(w, r, err, signInLink)
		return
	}
	p.message(w, r, http.StatusOK, "Your email address has been changed",
		"From now on, sign in with "+u.Email+".", []link{signInLink})
}

// ---- sign-in ----

// addOrganization keeps the organization of a multi-tenant link (?organization=…).
func addOrganization(fv *formView, values url.Values) {
	if org := values.Get("organization"); org != "" {
		fv.Hidden = map[string]string{"organization": org}
	}
}

func (p *Pages) loginView(values url.Values) view {
	fv := p.newForm("/login", "", "Sign in")
	fv.Inputs = []*input{
		{Name: "email", ID: "f-email", Label: "Email address", Kind: "email", Required: true, MaxLength: 254,
			Autocomplete: "username", Value: values.Get("email")},
		{Name: "password", ID: "f-password", Label: "Password", Kind: "password", Required: true,
			MaxLength: 1024, Autocomplete: "current-password"},
	}
	addOrganization(fv, values)
	fv.Footer = []link{{Href: "/reset-password", Text: "Forgot your password?"}}
	return view{Title: "Sign in", Form: fv}
}

func (p *Pages) getLogin(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "login", p.loginView(r.URL.Query()))
}

func (p *Pages) postLogin(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.postedForm(w, r); !ok {
		return
	}
	_, principal, err := p.flows.Login(r.Context(), flows.Login{
		Organization: r.PostForm.Get("organization"), Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"),
		ClientIP: p.clientIP(r), UserAgent: r.UserAgent(),
	})
	if err != nil {
		v := p.loginView(r.PostForm)
		de := domain.AsError(err)
		if de == nil {
			p.linkError(w, r, err, signInLink)
			return
		}
		v.Errors = v.Form.applyError(de)
		p.retryAfter(w, de)
		status := httpx.Status(de.Code)
		p.render(w, r, status, "login", v)
		return
	}
	// The pages keep no session: end the one the sign-in opened, so that no
	// unused bearer token stays valid.
	if err := p.flows.Logout(r.Context(), principal); err != nil {
		p.log.WarnContext(r.Context(), "end page session", "route", r.Pattern, "err", err)
	}
	p.message(w, r, http.StatusOK, "Signed in",
		"You signed in as "+flows.MaskEmail(principal.User.Email)+". You can close this page and continue in the app.", nil)
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
	token := r.URL.Query().Get("token")
	if err := p.flows.CheckVerifyLink(r.Context(), token); err != nil {
		p.verifyError(w, r, err)
		return
	}
	// Opening the link verifies nothing (mail scanners open links too); the
	// button does.
	p.render(w, r, http.StatusOK, "verify-email", view{Title: "Verify your email address",
		Lead: "Confirm that this address is yours. Then go back to the app to set your password.",
		Form: p.newForm(VerifyPath, token, "Verify my email address")})
}

func (p *Pages) postVerify(w http.ResponseWriter, r *http.Request) {
	token, ok := p.postedForm(w, r)
	if !ok {
		return
	}
	if err := p.flows.VerifyEmail(r.Context(), token); err != nil {
		p.verifyError(w, r, err)
		return
	}
	p.message(w, r, http.StatusOK, "Email address verified",
		"Thank you. Your email address is verified: go back to the app to set your password.", nil)
}

// verifyError shows why a verification link does not work; a new link is
// asked for in the app, so the page links nowhere.
func (p *Pages) verifyError(w http.ResponseWriter, r *http.Request, err error) {
	de := domain.AsError(err)
	status := http.StatusInternalServerError
	if de != nil {
		status = httpx.Status(de.Code)
	}
	if status == http.StatusInternalServerError {
		p.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "route", r.Pattern, "err", err)
		p.message(w, r, http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side. Try again later.", nil)
		return
	}
	p.message(w, r, status, "This link does not work", de.Detail, nil)
}
