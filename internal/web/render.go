package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// view is what a page template renders.
type view struct {
	Title   string
	Lead    string   // a sentence under the title
	Errors  []string // problems that belong to no one input, shown at the top
	Form    *formView
	Links   []link // links offered on message pages
	Success bool
	// Data is anything else a page template needs.
	Data any

	// Set by render for the layout:
	Req     *req
	Summary []link // the error summary: one link to each field with an error
	// Switch is the language switch form; Logout the sign-out form.
	Switch *langSwitch
	Logout *formView
}

// langSwitch is the form of the language switch in the header.
type langSwitch struct {
	Action, CSRF, Next string
	Options            []langOption
}

type langOption struct {
	Code, Name string
	Current    bool
}

type link struct {
	Href, Text string
}

// formView is a form: hidden fields, inputs, agreements and a submit button.
type formView struct {
	Action     string
	CSRF       string
	LinkToken  string
	Hidden     map[string]string // other hidden fields
	Inputs     []*input
	Agreements []*agreement
	// AgreementErrors are the errors of the agreements as a group.
	AgreementErrors []string
	Submit          string
	Footer          []link
}

// input is one form control.
type input struct {
	Name         string
	ID           string
	Label        string
	Kind         string // text, email, tel, date, password, select, checkbox
	Value        string
	Checked      bool
	Required     bool
	MaxLength    int
	Options      []string
	Autocomplete string
	Hint         string
	Errors       []string
	// Choices are the options of a "radio" input.
	Choices []choice
}

// choice is one radio button.
type choice struct {
	Value, Label, Hint string
}

// HintID is the id of the input's hint, for aria-describedby.
func (in *input) HintID() string { return in.ID + "-hint" }

// ErrorID is the id of the input's error list, for aria-describedby.
func (in *input) ErrorID() string { return in.ID + "-error" }

// DescribedBy is the aria-describedby value of the input.
func (in *input) DescribedBy() string {
	var ids []string
	if in.Hint != "" {
		ids = append(ids, in.HintID())
	}
	if len(in.Errors) > 0 {
		ids = append(ids, in.ErrorID())
	}
	return strings.Join(ids, " ")
}

// agreement is one agreement checkbox.
type agreement struct {
	ID       string
	InputID  string
	Title    string
	Version  int
	Body     string
	Required bool
	Checked  bool
}

// inputID makes an HTML id from a field name ("user.first_name" →
// "f-user-first_name").
func inputID(name string) string {
	return "f-" + strings.NewReplacer(".", "-", " ", "-").Replace(name)
}

// autocomplete names the autofill hint of the built-in fields.
var autocomplete = map[string]string{
	"customer.name":   "organization",
	"user.first_name": "given-name",
	"user.last_name":  "family-name",
	"user.phone":      "tel",
}

// fieldInput turns a form field of the flows into a control. Values are the
// entered values by field name (after an error), or nil. Built-in fields
// have their labels in the catalogue ("field.label.<name>"); the
// organization's own properties keep the label it gave them.
func (p *Pages) fieldInput(rq *req, f flows.Field, values url.Values) *input {
	label := f.Label
	if p.cat.Has(rq.Lang, "field.label."+f.Name) {
		label = rq.T("field.label." + f.Name)
	}
	in := &input{Name: f.Name, ID: inputID(f.Name), Label: label, Required: f.Required, MaxLength: f.MaxLength,
		Autocomplete: autocomplete[f.Name], Value: values.Get(f.Name)}
	switch f.Type {
	case flows.PropertyEmail:
		in.Kind = "email"
		in.Autocomplete = "email"
	case flows.PropertyPhone:
		in.Kind = "tel"
		in.Hint = rq.T("field.hint.phone")
		in.Autocomplete = "tel"
	case flows.PropertyDate:
		in.Kind = "date"
		in.MaxLength = 0
	case flows.PropertyEnum:
		in.Kind = "select"
		in.Options = f.Options
		in.MaxLength = 0
	case flows.PropertyBoolean:
		in.Kind = "checkbox"
		in.Checked = values.Get(f.Name) == "true"
		in.Value = "true"
		in.Required = false // a checkbox always answers: unticked is "false"
		in.MaxLength = 0
	case flows.PropertyCountry:
		in.Kind = "text"
		in.Hint = rq.T("field.hint.country")
		in.Autocomplete = "country"
	default:
		in.Kind = "text"
	}
	if f.Name == flows.PartnerCodeField {
		in.Hint = rq.T("field.hint.partner_code")
	}
	return in
}

// passwordInput is the new-password control with the policy as its hint.
func (p *Pages) passwordInput(rq *req, policy auth.PolicyDescription) *input {
	return &input{Name: "password", ID: "f-password", Label: rq.T("field.label.password"), Kind: "password", Required: true,
		MaxLength: policy.MaxLength, Autocomplete: "new-password", Hint: policyHint(rq, policy)}
}

// policyHint describes the password policy in a sentence.
func policyHint(rq *req, p auth.PolicyDescription) string {
	s := rq.T("password.hint.length", "Min", p.MinLength, "Max", p.MaxLength)
	for _, r := range p.Rules {
		switch r {
		case "not_email":
			s += rq.T("password.hint.not_email")
		case "not_common":
			s += rq.T("password.hint.not_common")
		}
	}
	return s + rq.T("password.hint.end")
}

// agreementInputs makes the agreement checkboxes; accepted are the ids
// ticked before an error.
func agreementInputs(as []domain.Agreement, accepted []string) []*agreement {
	out := make([]*agreement, 0, len(as))
	for _, a := range as {
		ag := &agreement{ID: a.ID, InputID: "f-agreement-" + strconv.Itoa(len(out)), Title: a.Title, Version: a.Version,
			Body: a.Body, Required: a.Required}
		for _, id := range accepted {
			if id == a.ID {
				ag.Checked = true
			}
		}
		out = append(out, ag)
	}
	return out
}

// applyError places the field errors of de next to their inputs (or the
// agreements) of fv and returns the messages that belong to no input, in
// the request's language.
func (p *Pages) applyError(rq *req, fv *formView, de *domain.Error) []string {
	var top []string
	byName := map[string]*input{}
	for _, in := range fv.Inputs {
		byName[in.Name] = in
	}
	for _, fe := range de.Fields {
		msg := p.fieldMessage(rq, fe.Message)
		if (fe.Field == "accepted_agreements" || fe.Field == "accepted") && len(fv.Agreements) > 0 {
			fv.AgreementErrors = append(fv.AgreementErrors, sentence("", msg))
			continue
		}
		if in, ok := byName[fe.Field]; ok {
			in.Errors = append(in.Errors, sentence(in.Label, msg))
			continue
		}
		top = append(top, sentence(fe.Field, msg))
	}
	if len(de.Fields) == 0 || len(top) > 0 {
		top = append([]string{p.detail(rq, de)}, top...)
	}
	return top
}

// sentence makes "First name is required." from a label and a message.
func sentence(label, msg string) string {
	s := strings.TrimSpace(label + " " + msg)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// render writes a page template with a status. The templates run with
// the request's functions (requestFuncs): t (translate), path (a path of
// the request's organization), lang.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	rq := reqOf(r)
	t, ok := p.pages[page]
	if !ok {
		p.log.ErrorContext(r.Context(), "no such page template", "page", page, "route", r.Pattern)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.Req = rq
	v.Summary = v.Form.summary()
	v.Switch = p.languageSwitch(r, rq)
	if rq.Principal != nil && v.Logout == nil {
		v.Logout = p.sessionForm(rq, rq.Path("/logout"), rq.T("layout.sign_out"))
	}
	t, err := t.Clone()
	if err == nil {
		t = t.Funcs(requestFuncs(rq))
	}
	var buf bytes.Buffer
	if err == nil {
		err = t.Execute(&buf, v)
	}
	if err != nil {
		p.log.ErrorContext(r.Context(), "render page", "page", page, "route", r.Pattern, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", rq.Lang)
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

// requestFuncs are the template functions bound to a request.
func requestFuncs(rq *req) template.FuncMap {
	return template.FuncMap{
		"t":    rq.T,
		"path": rq.Path,
		"lang": func() string { return rq.Lang },
	}
}

// summary links to every field of the form that has an error, in order.
func (fv *formView) summary() []link {
	if fv == nil {
		return nil
	}
	var out []link
	for _, in := range fv.Inputs {
		for _, e := range in.Errors {
			out = append(out, link{Href: "#" + in.ID, Text: e})
		}
	}
	for _, e := range fv.AgreementErrors {
		if len(fv.Agreements) > 0 {
			out = append(out, link{Href: "#" + fv.Agreements[0].InputID, Text: e})
		}
	}
	return out
}

// languageSwitch is the header's form that changes the language and comes
// back to the page.
func (p *Pages) languageSwitch(r *http.Request, rq *req) *langSwitch {
	action := rq.Path("/language")
	next := r.URL.Path
	switch {
	case r.Method == http.MethodGet && r.URL.RawQuery != "":
		next += "?" + r.URL.RawQuery
	case r.Method == http.MethodPost && r.PostForm.Get("token") != "":
		next += "?token=" + url.QueryEscape(r.PostForm.Get("token")) // back to the mailed link's page
	}
	ls := &langSwitch{Action: action, CSRF: p.formToken(action, ""), Next: safeNext(next, rq.Path("/"))}
	for _, l := range flows.Languages {
		ls.Options = append(ls.Options, langOption{Code: l, Name: languageNames[l], Current: l == rq.Lang})
	}
	return ls
}

// message renders a page with a title, a sentence and links.
func (p *Pages) message(w http.ResponseWriter, r *http.Request, status int, title, lead string, links []link) {
	p.render(w, r, status, "message", view{Title: title, Lead: lead, Links: links, Success: status < 300})
}

// linkError answers an error of a link-based page that has no form to show
// it on: expired, used or unknown links get a friendly page with their
// status; other errors their status and detail; unexpected errors a 500
// whose cause is logged.
func (p *Pages) linkError(w http.ResponseWriter, r *http.Request, err error, again link) {
	rq := reqOf(r)
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal {
		p.fail(w, r, err)
		return
	}
	status := httpx.Status(de.Code)
	p.retryAfter(w, de)
	switch de.Code {
	case domain.EGone:
		p.message(w, r, status, rq.T("link.gone.title"), p.detail(rq, de)+" "+rq.T("link.gone.advice"), []link{again})
	case domain.ENotFound:
		p.message(w, r, status, rq.T("link.invalid.title"), rq.T("link.invalid.lead"), []link{again})
	default:
		p.message(w, r, status, rq.T("page.failed.title"), p.detail(rq, de), []link{again})
	}
}

// retryAfter sets Retry-After on rate-limited answers.
func (p *Pages) retryAfter(w http.ResponseWriter, de *domain.Error) {
	if de.Code == domain.ERateLimited && de.RetryAfter > 0 {
		secs := int((de.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
}
