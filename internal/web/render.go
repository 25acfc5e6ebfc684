package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
// entered values by field name (after an error), or nil.
func fieldInput(f flows.Field, values url.Values) *input {
	in := &input{Name: f.Name, ID: inputID(f.Name), Label: f.Label, Required: f.Required, MaxLength: f.MaxLength,
		Autocomplete: autocomplete[f.Name], Value: values.Get(f.Name)}
	switch f.Type {
	case flows.PropertyEmail:
		in.Kind = "email"
		in.Autocomplete = "email"
	case flows.PropertyPhone:
		in.Kind = "tel"
		in.Hint = "An international number such as +31 20 123 4567."
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
		in.Hint = "The two-letter country code, such as NL or DE."
		in.Autocomplete = "country"
	default:
		in.Kind = "text"
	}
	if in.MaxLength > 0 && in.Kind == "checkbox" {
		in.MaxLength = 0
	}
	return in
}

// passwordInput is the new-password control with the policy as its hint.
func passwordInput(policy auth.PolicyDescription) *input {
	return &input{Name: "password", ID: "f-password", Label: "Password", Kind: "password", Required: true,
		MaxLength: policy.MaxLength, Autocomplete: "new-password", Hint: policyHint(policy)}
}

// policyHint describes the password policy in a sentence.
func policyHint(p auth.PolicyDescription) string {
	s := fmt.Sprintf("Use %d to %d characters", p.MinLength, p.MaxLength)
	for _, r := range p.Rules {
		switch r {
		case "not_email":
			s += "; not your email address"
		case "not_common":
			s += "; not a commonly used password"
		}
	}
	return s + ". A few unrelated words make a good password."
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

// applyError places the field errors of err next to their inputs (or the
// agreements) and returns the messages that belong to no input.
func (fv *formView) applyError(de *domain.Error) []string {
	var top []string
	byName := map[string]*input{}
	for _, in := range fv.Inputs {
		byName[in.Name] = in
	}
	for _, fe := range de.Fields {
		if fe.Field == "accepted_agreements" && len(fv.Agreements) > 0 {
			fv.AgreementErrors = append(fv.AgreementErrors, sentence("", fe.Message))
			continue
		}
		if in, ok := byName[fe.Field]; ok {
			in.Errors = append(in.Errors, sentence(in.Label, fe.Message))
			continue
		}
		top = append(top, sentence(fe.Field, fe.Message))
	}
	if len(de.Fields) == 0 || len(top) > 0 {
		top = append([]string{de.Detail}, top...)
	}
	return top
}

// sentence makes "First name is required." from a label and a message.
func sentence(label, msg string) string {
	s := strings.TrimSpace(label + " " + msg)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// render writes a page template with a status.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	t, ok := p.pages[page]
	if !ok {
		p.log.ErrorContext(r.Context(), "no such page template", "page", page, "route", r.Pattern)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		p.log.ErrorContext(r.Context(), "render page", "page", page, "route", r.Pattern, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
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
	de := domain.AsError(err)
	if de == nil {
		p.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "route", r.Pattern, "err", err)
		p.message(w, r, http.StatusInternalServerError, "Something went wrong",
			"Something went wrong on our side. Try again later.", nil)
		return
	}
	status := httpx.Status(de.Code)
	p.retryAfter(w, de)
	switch de.Code {
	case domain.EGone:
		p.message(w, r, status, "This link can no longer be used", de.Detail+" "+goneAdvice, []link{again})
	case domain.ENotFound:
		p.message(w, r, status, "This link is not valid",
			de.Detail+" Check that you opened the whole link from the mail, or start again.", []link{again})
	default:
		p.message(w, r, status, "This did not work", de.Detail, []link{again})
	}
}

// goneAdvice follows the detail of an expired or used link.
const goneAdvice = "Links in our mails work once and only for a limited time; start again to get a new one."

// retryAfter sets Retry-After on rate-limited answers.
func (p *Pages) retryAfter(w http.ResponseWriter, de *domain.Error) {
	if de.Code == domain.ERateLimited && de.RetryAfter > 0 {
		secs := int((de.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
}
