package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/backoffice"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// field is one form control of a console page.
type field struct {
	Name, ID, Label, Kind, Value, Hint, Autocomplete string
	Checked, Required                                bool
	Errors                                           []string
	Options                                          []option
}

// option is one choice of a select or of a group of checkboxes.
type option struct {
	Value, Label string
	Selected     bool
}

// HintID and ErrorID are the ids aria-describedby points to.
func (f *field) HintID() string  { return f.ID + "-hint" }
func (f *field) ErrorID() string { return f.ID + "-error" }

// DescribedBy is the aria-describedby value of the control.
func (f *field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.HintID())
	}
	if len(f.Errors) > 0 {
		ids = append(ids, f.ErrorID())
	}
	return strings.Join(ids, " ")
}

func fieldID(name string) string {
	return "f-" + strings.NewReplacer(".", "-", " ", "-", "[", "-", "]", "").Replace(name)
}

// form is a form of a console page.
type form struct {
	Action string
	Hidden map[string]string
	Fields []*field
	Submit string
}

// applyErrors puts the field errors of de next to their fields and returns
// the messages that belong to none.
func (c *Console) applyErrors(rq *req, fields []*field, de *domain.Error) []string {
	byName := map[string]*field{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	var top []string
	for _, fe := range de.Fields {
		msg := c.fieldMessage(rq, fe.Message)
		if f := fieldFor(byName, fe.Field); f != nil {
			f.Errors = append(f.Errors, sentence(f.Label, msg))
			continue
		}
		top = append(top, sentence(fe.Field, msg))
	}
	if len(de.Fields) == 0 {
		top = append(top, c.detail(rq, de))
	}
	return top
}

// fieldFor finds the control of a field error: the field of that name,
// else (for an item of a list, as in sso.providers[0].app_redirect_uris[1])
// the field of the list, dropping the last index, then everything from the
// first one.
func fieldFor(byName map[string]*field, name string) *field {
	if f, ok := byName[name]; ok {
		return f
	}
	if strings.HasSuffix(name, "]") {
		if f, ok := byName[name[:strings.LastIndexByte(name, '[')]]; ok {
			return f
		}
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		return byName[name[:i]]
	}
	return nil
}

func sentence(label, msg string) string {
	s := strings.TrimSpace(label + " " + msg)
	if s != "" && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// routes registers every console page.
func (c *Console) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/static/console.css", c.static)
	mux.HandleFunc("GET /admin/login", c.withReq(c.getLogin))
	mux.HandleFunc("POST /admin/login", c.withReq(c.postLogin))
	mux.HandleFunc("GET /admin/login/code", c.withReq(c.getCode))
	mux.HandleFunc("POST /admin/login/code", c.withReq(c.postCode))
	mux.HandleFunc("GET /admin/set-password", c.withReq(c.getSetPassword))
	mux.HandleFunc("POST /admin/set-password", c.withReq(c.postSetPassword))
	mux.HandleFunc("POST /admin/logout", c.withReq(c.postLogout))
	mux.HandleFunc("POST /admin/language", c.withReq(c.postLanguage))
	mux.HandleFunc("GET /admin/security", c.ready(c.getSecurity))
	mux.HandleFunc("POST /admin/security/totp", c.ready(c.postBeginTOTP))
	mux.HandleFunc("GET /admin/security/totp.png", c.ready(c.getQR))
	mux.HandleFunc("POST /admin/security/totp/confirm", c.ready(c.postConfirmTOTP))
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /admin/{$}", c.ready(c.getRoot))
	mux.HandleFunc("GET /admin/switch", c.ready(c.getSwitch))
	mux.HandleFunc("GET /admin/system", c.ready(c.getSystem))
	mux.HandleFunc("POST /admin/system", c.ready(c.postSystem))
	mux.HandleFunc("POST /admin/system/organizations", c.ready(c.postOrganization))
	mux.HandleFunc("POST /admin/system/organizations/{org}", c.ready(c.postOrganizationChange))
	mux.HandleFunc("POST /admin/system/users", c.ready(c.postBackOfficeUser))
	mux.HandleFunc("GET /admin/o/{org}/{$}", c.inOrg(c.getHome))
	mux.HandleFunc("GET /admin/o/{org}/onboarding", c.inOrg(c.getOnboarding))
	mux.HandleFunc("POST /admin/o/{org}/onboarding", c.inOrg(c.postOnboarding))
	mux.HandleFunc("POST /admin/o/{org}/onboarding/try-email", c.inOrg(c.postTryEmail))
	mux.HandleFunc("POST /admin/o/{org}/onboarding/test-provider", c.inOrg(c.postTestProvider))
	mux.HandleFunc("GET /admin/o/{org}/approvals", c.inOrg(c.getApprovals))
	mux.HandleFunc("POST /admin/o/{org}/approvals/{id}/{decision}", c.inOrg(c.postDecision))
	c.directoryRoutes(mux)
	if c.cfg.Webhooks != nil {
		c.webhookRoutes(mux)
	}
	c.orgConfigRoutes(mux)
	c.b2bRoutes(mux)
	mux.HandleFunc("/admin/", c.withReq(c.notFound))
}

func (c *Console) static(w http.ResponseWriter, r *http.Request) {
	body, err := files.ReadFile("static/console.css")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(body) //nolint:errcheck // the client went away
}

// getRoot goes to the home page of the user's own organization.
func (c *Console) getRoot(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	home, err := c.bo.Home(r.Context(), *rq.P)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/o/"+url.PathEscape(home.Name)+"/", http.StatusSeeOther)
}

// getSwitch is the organization switcher (a GET form): it goes to the
// chosen organization's home page when the user may manage it.
func (c *Console) getSwitch(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	org, err := c.bo.Organization(r.Context(), *rq.P, r.URL.Query().Get("org"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/o/"+url.PathEscape(org.Name)+"/", http.StatusSeeOther)
}

func (c *Console) loginFields(rq *req, email string) []*field {
	return []*field{
		{Name: "email", ID: "f-email", Label: rq.T("field.label.email"), Kind: "email", Value: email, Required: true, Autocomplete: "username"},
		{Name: "password", ID: "f-password", Label: rq.T("field.label.password"), Kind: "password", Required: true, Autocomplete: "current-password"},
	}
}

func (c *Console) getLogin(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if rq.P != nil && rq.P.Ready() {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next"), "/admin/"), http.StatusSeeOther)
		return
	}
	v := view{Title: rq.T("console.login.title"), Lead: rq.T("console.login.lead")}
	if r.URL.Query().Get("signed_out") == "1" {
		v.Lead, v.Success = rq.T("console.login.signed_out"), true
	}
	if r.URL.Query().Get("password_set") == "1" {
		v.Lead, v.Success = rq.T("console.login.password_set"), true
	}
	v.Data = form{Action: "/admin/login", Hidden: map[string]string{"next": r.URL.Query().Get("next")},
		Fields: c.loginFields(rq, ""), Submit: rq.T("console.login.submit")}
	c.render(w, r, http.StatusOK, "form", v)
}

func (c *Console) postLogin(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	email := r.PostForm.Get("email")
	token, p, err := c.bo.Login(r.Context(), backoffice.Login{Email: email, Password: r.PostForm.Get("password"),
		ClientIP: c.clientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code == domain.EInternal {
			c.fail(w, r, err)
			return
		}
		fields := c.loginFields(rq, email)
		errs := c.applyErrors(rq, fields, de)
		c.retryAfter(w, de)
		c.render(w, r, httpx.Status(de.Code), "form", view{Title: rq.T("console.login.title"), Errors: errs,
			Data: form{Action: "/admin/login", Hidden: map[string]string{"next": r.PostForm.Get("next")}, Fields: fields,
				Submit: rq.T("console.login.submit")}})
		return
	}
	if rq.P != nil {
		if err := c.bo.Logout(r.Context(), *rq.P); err != nil {
			c.log.WarnContext(r.Context(), "end previous console session", "err", err)
		}
	}
	c.setSession(w, token)
	next := safeNext(r.PostForm.Get("next"), "/admin/")
	if p.NeedsSecondFactor {
		http.Redirect(w, r, "/admin/login/code?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	if p.MustEnrol {
		next = "/admin/security"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) codeForm(rq *req, next string) form {
	return form{Action: "/admin/login/code", Hidden: map[string]string{"next": next}, Submit: rq.T("console.code.submit"),
		Fields: []*field{{Name: "code", ID: "f-code", Label: rq.T("console.code.label"), Kind: "text", Required: true,
			Autocomplete: "one-time-code", Hint: rq.T("console.code.hint")}}}
}

func (c *Console) getCode(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if rq.P == nil {
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	if !rq.P.NeedsSecondFactor {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "form", view{Title: rq.T("console.code.title"), Lead: rq.T("console.code.lead"),
		Data: c.codeForm(rq, r.URL.Query().Get("next"))})
}

func (c *Console) postCode(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if rq.P == nil {
		c.message(w, r, http.StatusUnauthorized, "console.session_expired.title", "console.session_expired.lead")
		return
	}
	if !c.posted(w, r) {
		return
	}
	next := safeNext(r.PostForm.Get("next"), "/admin/")
	if _, err := c.bo.VerifyCode(r.Context(), *rq.P, r.PostForm.Get("code")); err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code == domain.EInternal {
			c.fail(w, r, err)
			return
		}
		f := c.codeForm(rq, next)
		errs := c.applyErrors(rq, f.Fields, de)
		c.retryAfter(w, de)
		c.render(w, r, httpx.Status(de.Code), "form", view{Title: rq.T("console.code.title"), Errors: errs, Data: f})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) passwordForm(rq *req, token string) form {
	return form{Action: "/admin/set-password", Hidden: map[string]string{"token": token}, Submit: rq.T("console.set_password.submit"),
		Fields: []*field{{Name: "password", ID: "f-password", Label: rq.T("field.label.password"), Kind: "password", Required: true,
			Autocomplete: "new-password", Hint: rq.T("console.set_password.hint")}}}
}

func (c *Console) getSetPassword(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	token := r.URL.Query().Get("token")
	email, err := c.bo.CheckPasswordLink(r.Context(), token)
	if err != nil {
		c.linkError(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "form", view{Title: rq.T("console.set_password.title"),
		Lead: rq.T("console.set_password.lead", "Email", email), Data: c.passwordForm(rq, token)})
}

func (c *Console) postSetPassword(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	token := r.PostForm.Get("token")
	if err := c.bo.SetPassword(r.Context(), token, r.PostForm.Get("password")); err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code != domain.EInvalid {
			c.linkError(w, r, err)
			return
		}
		f := c.passwordForm(rq, token)
		errs := c.applyErrors(rq, f.Fields, de)
		c.render(w, r, http.StatusUnprocessableEntity, "form", view{Title: rq.T("console.set_password.title"), Errors: errs, Data: f})
		return
	}
	http.Redirect(w, r, "/admin/login?password_set=1", http.StatusSeeOther)
}

func (c *Console) linkError(w http.ResponseWriter, r *http.Request, err error) {
	de := domain.AsError(err)
	if de != nil && de.Code == domain.EGone {
		c.message(w, r, http.StatusGone, "console.link_gone.title", "console.link_gone.lead")
		return
	}
	c.fail(w, r, err)
}

func (c *Console) postLogout(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if rq.P == nil {
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	if !c.posted(w, r) {
		return
	}
	if err := c.bo.Logout(r.Context(), *rq.P); err != nil {
		c.fail(w, r, err)
		return
	}
	c.clearSession(w)
	http.Redirect(w, r, "/admin/login?signed_out=1", http.StatusSeeOther)
}

func (c *Console) postLanguage(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	lang := r.PostForm.Get("lang")
	if !c.tr.Supported(lang) {
		c.message(w, r, http.StatusUnprocessableEntity, "page.bad_form.title", "page.bad_form.lead")
		return
	}
	if rq.P != nil {
		if err := c.bo.SetLanguage(r.Context(), *rq.P, lang); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: c.cookieName("lang"), Value: lang, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		Secure: c.cfg.SecureCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, safeNext(r.PostForm.Get("next"), "/admin/"), http.StatusSeeOther)
}
