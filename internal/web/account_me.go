package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpapi"
)

// Pages of what everyone does about themselves: profile, password, email
// address, sessions, agreements and the data export.

// ---- profile ----

func (p *Pages) profileView(r *http.Request, rq *req, values url.Values) view {
	v, _ := accountView(r, rq, pageProfile, "account.profile.title")
	v.Lead = rq.T("account.profile.lead")
	if values == nil {
		u := rq.Principal.User
		values = url.Values{"first_name": {u.FirstName}, "last_name": {u.LastName}, "phone": {u.Phone}, "language": {u.Language}}
	}
	fv := p.sessionForm(rq, accountPath(rq, pageProfile), rq.T("account.save"))
	lang := &input{Name: "language", ID: "f-language", Label: rq.T("account.field.language"), Kind: "radio",
		Value: values.Get("language"), Hint: rq.T("account.field.language.hint"),
		Choices: []choice{{Value: "", Label: rq.T("account.language.browser")}}}
	for _, l := range flows.Languages {
		lang.Choices = append(lang.Choices, choice{Value: l, Label: languageNames[l]})
	}
	fv.Inputs = []*input{
		{Name: "first_name", ID: "f-first_name", Label: rq.T("account.field.first_name"), Kind: "text", Required: true,
			MaxLength: 200, Autocomplete: "given-name", Value: values.Get("first_name")},
		{Name: "last_name", ID: "f-last_name", Label: rq.T("account.field.last_name"), Kind: "text", Required: true,
			MaxLength: 200, Autocomplete: "family-name", Value: values.Get("last_name")},
		{Name: "phone", ID: "f-phone", Label: rq.T("account.field.phone"), Kind: "tel", MaxLength: 32,
			Autocomplete: "tel", Hint: rq.T("account.field.phone.hint"), Value: values.Get("phone")},
		lang,
	}
	v.Form = fv
	return v
}

func (p *Pages) getProfile(w http.ResponseWriter, r *http.Request, rq *req) {
	p.render(w, r, http.StatusOK, "account-form", p.profileView(r, rq, nil))
}

func (p *Pages) postProfile(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	f := r.PostForm
	_, err := p.flows.UpdateProfile(r.Context(), *rq.Principal, flows.ProfileUpdate{
		FirstName: f.Get("first_name"), LastName: f.Get("last_name"), Phone: f.Get("phone"), Language: f.Get("language"),
	})
	if err != nil {
		p.accountError(w, r, err, "account-form", p.profileView(r, rq, f))
		return
	}
	done(w, r, rq, pageProfile, "profile")
}

// accountError shows an error of the flows on the page's form (field errors
// next to their inputs and in the summary, the rest at the top) with its
// status. Unknown ids get the "page not found" page, a missing permission
// the 403 page, and unexpected errors the 500 page.
func (p *Pages) accountError(w http.ResponseWriter, r *http.Request, err error, page string, v view) {
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal || de.Code == domain.ENotFound || de.Code == domain.EForbidden {
		p.fail(w, r, err)
		return
	}
	if v.Form == nil {
		v.Form = &formView{}
	}
	p.showError(w, r, de, page, v)
}

// ---- password ----

func (p *Pages) passwordView(r *http.Request, rq *req) view {
	v, _ := accountView(r, rq, pagePassword, "account.password.title")
	v.Lead = rq.T("account.password.lead")
	fv := p.sessionForm(rq, accountPath(rq, pagePassword), rq.T("account.password.submit"))
	next := p.passwordInput(rq, p.flows.Policy().Describe())
	next.Name, next.ID, next.Label = "new_password", "f-new_password", rq.T("account.field.new_password")
	fv.Inputs = []*input{
		{Name: "current_password", ID: "f-current_password", Label: rq.T("account.field.current_password"), Kind: "password",
			Required: true, MaxLength: 1024, Autocomplete: "current-password"},
		next,
	}
	v.Form = fv
	return v
}

func (p *Pages) getPassword(w http.ResponseWriter, r *http.Request, rq *req) {
	p.render(w, r, http.StatusOK, "account-form", p.passwordView(r, rq))
}

func (p *Pages) postPassword(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	err := p.flows.ChangePassword(r.Context(), *rq.Principal, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
	if err != nil {
		p.accountError(w, r, err, "account-form", p.passwordView(r, rq))
		return
	}
	done(w, r, rq, pagePassword, "password")
}

// ---- email address ----

func (p *Pages) emailView(r *http.Request, rq *req, values url.Values) view {
	v, _ := accountView(r, rq, pageEmail, "account.email.title")
	v.Lead = rq.T("account.email.lead", "Email", rq.Principal.User.Email)
	fv := p.sessionForm(rq, accountPath(rq, pageEmail), rq.T("account.email.submit"))
	fv.Inputs = []*input{
		{Name: "email", ID: "f-email", Label: rq.T("account.field.new_email"), Kind: "email", Required: true, MaxLength: 254,
			Autocomplete: "email", Value: values.Get("email")},
		{Name: "current_password", ID: "f-current_password", Label: rq.T("account.field.current_password"), Kind: "password",
			Required: true, MaxLength: 1024, Autocomplete: "current-password"},
	}
	v.Form = fv
	return v
}

func (p *Pages) getEmail(w http.ResponseWriter, r *http.Request, rq *req) {
	p.render(w, r, http.StatusOK, "account-form", p.emailView(r, rq, nil))
}

func (p *Pages) postEmail(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if err := p.flows.RequestEmailChange(r.Context(), *rq.Principal, email, r.PostForm.Get("current_password")); err != nil {
		p.accountError(w, r, err, "account-form", p.emailView(r, rq, r.PostForm))
		return
	}
	v, _ := accountView(r, rq, pageEmail, "account.email.sent.title")
	v.Lead = rq.T("account.email.sent.lead", "Email", email)
	v.Success = true
	p.render(w, r, http.StatusAccepted, "account-form", v)
}

// ---- sessions ----

// sessionRow is one of the person's sessions.
type sessionRow struct {
	Started, Ends, Client, Kind string
	Current                     bool
	End                         *rowForm
}

func (p *Pages) getSessions(w http.ResponseWriter, r *http.Request, rq *req) {
	list, err := p.flows.Sessions(r.Context(), *rq.Principal)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v, d := accountView(r, rq, pageSessions, "account.sessions.title")
	v.Lead = rq.T("account.sessions.lead")
	for _, s := range list {
		row := sessionRow{Started: when(s.CreatedAt), Ends: when(s.ExpiresAt), Current: s.ID == rq.Principal.Session.ID,
			Client: strings.TrimSpace(s.UserAgent + " · " + s.ClientIP), Kind: rq.T("account.sessions.kind.api")}
		if s.Kind == domain.SessionBrowser {
			row.Kind = rq.T("account.sessions.kind.browser")
			if s.IdleExpiresAt != nil && s.IdleExpiresAt.Before(s.ExpiresAt) {
				row.Ends = when(*s.IdleExpiresAt)
			}
		}
		row.Client = strings.Trim(row.Client, " ·")
		if !row.Current {
			row.End = p.rowAction(rq, accountPath(rq, pageSessions+"/"+s.ID+"/end"), rq.T("account.sessions.end"),
				rq.T("account.sessions.end.label", "Started", row.Started))
		}
		d.Sessions = append(d.Sessions, row)
	}
	if len(list) > 1 {
		d.EndOthers = p.sessionForm(rq, accountPath(rq, pageSessions+"/end-others"), rq.T("account.sessions.end_others"))
	}
	p.render(w, r, http.StatusOK, "account-sessions", v)
}

func (p *Pages) postEndSession(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	id := r.PathValue("id")
	if err := p.flows.EndSession(r.Context(), *rq.Principal, id); err != nil {
		p.fail(w, r, err)
		return
	}
	if id == rq.Principal.Session.ID {
		p.clearSessionCookie(w)
		http.Redirect(w, r, rq.Path("/login"), http.StatusSeeOther)
		return
	}
	done(w, r, rq, pageSessions, "session")
}

func (p *Pages) postEndOtherSessions(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	if _, err := p.flows.EndOtherSessions(r.Context(), *rq.Principal); err != nil {
		p.fail(w, r, err)
		return
	}
	done(w, r, rq, pageSessions, "sessions")
}

// ---- agreements ----

// agreementRow is an agreement version the person accepted.
type agreementRow struct {
	Title    string
	Version  int
	Accepted string
}

func (p *Pages) getAgreements(w http.ResponseWriter, r *http.Request, rq *req) {
	accepted, err := p.flows.Acceptances(r.Context(), *rq.Principal)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	current, err := p.flows.MyAgreements(r.Context(), *rq.Principal)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	titles := map[string]string{}
	for _, a := range current {
		titles[a.Name] = a.Title
	}
	v, d := accountView(r, rq, pageAgreements, "account.agreements.title")
	v.Lead = rq.T("account.agreements.lead")
	slices.SortFunc(accepted, func(a, b domain.Acceptance) int { return b.AcceptedAt.Compare(a.AcceptedAt) })
	for _, a := range accepted {
		title := titles[a.Name]
		if title == "" {
			title = a.Name
		}
		d.Agreements = append(d.Agreements, agreementRow{Title: title, Version: a.Version, Accepted: when(a.AcceptedAt)})
	}
	d.Empty = rq.T("account.agreements.none")
	p.render(w, r, http.StatusOK, "account-agreements", v)
}

// ---- data export ----

func (p *Pages) getData(w http.ResponseWriter, r *http.Request, rq *req) {
	v, _ := accountView(r, rq, pageData, "account.data.title")
	v.Lead = rq.T("account.data.lead")
	v.Form = p.sessionForm(rq, accountPath(rq, pageData), rq.T("account.data.submit"))
	p.render(w, r, http.StatusOK, "account-form", v)
}

// postData answers the export as a file download: the same JSON document as
// GET /api/v1/me/export. It is a POST (with the form token) because reading
// the export is recorded in the audit log.
func (p *Pages) postData(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	x, err := p.flows.Export(r.Context(), *rq.Principal)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	body, err := json.MarshalIndent(httpapi.ExportDocument(x, rq.Principal.Session.ID), "", "  ")
	if err != nil {
		p.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="onboard-export.json"`)
	w.WriteHeader(http.StatusOK)
	w.Write(body) //nolint:errcheck // the client went away
}
