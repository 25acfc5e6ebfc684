package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// versionRow is one version of an agreement with how many users accepted it.
type versionRow struct {
	Version   int
	Title     string
	Published time.Time
	Accepted  int
}

// agreementBlock is an agreement on the agreements page: its newest
// version and every version.
type agreementBlock struct {
	domain.Agreement
	Versions []versionRow
	Write    string
}

// agreementsData is the agreements page.
type agreementsData struct {
	Agreements []agreementBlock
	New        form
}

// agreementData is the page of one agreement: its versions and the form
// that writes, previews and publishes the next one.
type agreementData struct {
	agreementBlock
	Action string
	Fields []*field
	// Next is the number the new version gets.
	Next int
	// Preview is the new version as a person sees it, after "Preview".
	Preview *domain.Agreement
}

// versionRows are the versions of an agreement (newest first) with their
// acceptance counts.
func versionRows(vs []domain.Agreement, counts map[string]int) []versionRow {
	out := make([]versionRow, 0, len(vs))
	for _, v := range vs {
		out = append(out, versionRow{Version: v.Version, Title: v.Title, Published: v.CreatedAt, Accepted: counts[v.ID]})
	}
	return out
}

func (c *Console) newAgreementForm(rq *req, in flows.AgreementInput) form {
	T := rq.T
	kind := &field{Name: "kind", ID: "f-agreement-kind", Label: T("console.agr.kind"), Kind: "select", Value: in.Kind, Required: true}
	for _, k := range flows.AgreementKinds {
		kind.Options = append(kind.Options, option{Value: k, Label: T("console.agr.kind." + k)})
	}
	types := &field{Name: "account_types", ID: "f-agreement-account_types", Label: T("console.agr.account_types"), Kind: "checkboxes",
		Hint: T("console.agr.account_types_hint")}
	for _, t := range domain.AccountTypes {
		types.Options = append(types.Options, option{Value: t, Label: T("console.account_type." + t), Selected: slices.Contains(in.AccountTypes, t)})
	}
	required := in.Required == nil || *in.Required
	return form{Action: rq.OrgPath("/agreements"), Submit: T("console.agr.create"), Fields: []*field{
		{Name: "name", ID: "f-agreement-name", Label: T("console.agr.name"), Kind: "text", Value: in.Name, Required: true,
			Hint: T("console.agr.name_hint"), Autocomplete: "off"},
		kind,
		{Name: "title", ID: "f-agreement-title", Label: T("console.agr.title_field"), Kind: "text", Value: in.Title, Required: true, Autocomplete: "off"},
		{Name: "text", ID: "f-agreement-text", Label: T("console.agr.text"), Kind: "textarea", Value: in.Text, Required: true, Hint: T("console.agr.text_hint")},
		types,
		{Name: "required", ID: "f-agreement-required", Label: T("console.agr.required"), Kind: "checkbox", Value: "true", Checked: required,
			Hint: T("console.agr.required_hint")},
	}}
}

// agreementsList reads every agreement with its versions and counts.
func (c *Console) agreementsList(r *http.Request) ([]agreementBlock, error) {
	rq := reqOf(r)
	current, err := c.flows.CurrentAgreements(r.Context(), rq.Org)
	if err != nil {
		return nil, err
	}
	counts, err := c.flows.AcceptanceCounts(r.Context(), rq.Org)
	if err != nil {
		return nil, err
	}
	out := make([]agreementBlock, 0, len(current))
	for _, a := range current {
		vs, err := c.flows.AgreementVersions(r.Context(), rq.Org, a.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, agreementBlock{Agreement: a, Versions: versionRows(vs, counts), Write: rq.OrgPath("/agreements/" + a.Name)})
	}
	return out, nil
}

func (c *Console) renderAgreements(w http.ResponseWriter, r *http.Request, status int, v view, newForm form) {
	rq := reqOf(r)
	list, err := c.agreementsList(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Title = rq.T("console.agr.title")
	v.Data = agreementsData{Agreements: list, New: newForm}
	c.render(w, r, status, "agreements", v)
}

func (c *Console) getAgreements(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	v := view{Lead: rq.T("console.agr.lead")}
	if name := r.URL.Query().Get("created"); name != "" {
		v.Lead, v.Success = rq.T("console.agr.created", "Name", name), true
	}
	c.renderAgreements(w, r, http.StatusOK, v, c.newAgreementForm(rq, flows.AgreementInput{}))
}

// postAgreement creates an agreement at version 1 with the admin API's
// validation.
func (c *Console) postAgreement(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	required := r.PostForm.Get("required") == "true"
	in := flows.AgreementInput{Name: strings.TrimSpace(r.PostForm.Get("name")), Kind: r.PostForm.Get("kind"), Title: r.PostForm.Get("title"),
		Text: normalizeText(r.PostForm.Get("text")), AccountTypes: append([]string{}, r.PostForm["account_types"]...), Required: &required}
	a, err := c.flows.CreateAgreement(r.Context(), rq.P.Admin(), rq.Org, in)
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/agreements?created="+a.Name), http.StatusSeeOther)
		return
	}
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal {
		c.fail(w, r, err)
		return
	}
	f := c.newAgreementForm(rq, in)
	errs := c.applyErrors(rq, f.Fields, de)
	c.renderAgreements(w, r, httpx.Status(de.Code), view{Errors: errs}, f)
}

// normalizeText turns the line ends a browser posts into "\n".
func normalizeText(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func (c *Console) agreementFields(rq *req, in flows.AgreementVersionInput) []*field {
	return []*field{
		{Name: "title", ID: "f-title", Label: rq.T("console.agr.title_field"), Kind: "text", Value: in.Title, Required: true, Autocomplete: "off"},
		{Name: "text", ID: "f-text", Label: rq.T("console.agr.text"), Kind: "textarea", Value: in.Text, Required: true, Hint: rq.T("console.agr.text_hint")},
	}
}

// agreementPage reads one agreement for its page; false when it answered.
func (c *Console) agreementPage(w http.ResponseWriter, r *http.Request) (agreementData, bool) {
	rq := reqOf(r)
	name := r.PathValue("name")
	vs, err := c.flows.AgreementVersions(r.Context(), rq.Org, name)
	if err != nil {
		c.fail(w, r, err)
		return agreementData{}, false
	}
	counts, err := c.flows.AcceptanceCounts(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return agreementData{}, false
	}
	cur := vs[0]
	return agreementData{
		agreementBlock: agreementBlock{Agreement: cur, Versions: versionRows(vs, counts), Write: rq.OrgPath("/agreements/" + cur.Name)},
		Action:         rq.OrgPath("/agreements/" + cur.Name),
		Next:           cur.Version + 1,
		Fields:         c.agreementFields(rq, flows.AgreementVersionInput{Title: cur.Title, Text: cur.Body}),
	}, true
}

func (c *Console) renderAgreement(w http.ResponseWriter, r *http.Request, status int, v view, d agreementData) {
	rq := reqOf(r)
	v.Title = rq.T("console.agr.one_title", "Title", d.Title)
	v.Data = d
	c.render(w, r, status, "agreement", v)
}

func (c *Console) getAgreement(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	d, ok := c.agreementPage(w, r)
	if !ok {
		return
	}
	v := view{Lead: rq.T("console.agr.one_lead")}
	if n, err := strconv.Atoi(r.URL.Query().Get("published")); err == nil && n > 0 {
		key := "console.agr.published_required"
		if !d.Required {
			key = "console.agr.published_optional"
		}
		v.Lead, v.Success = rq.T(key, "Version", n), true
	}
	c.renderAgreement(w, r, http.StatusOK, v, d)
}

// postAgreementVersion previews (op=preview) or publishes the next version
// of an agreement; both check it with the admin API's validation.
func (c *Console) postAgreementVersion(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	d, ok := c.agreementPage(w, r)
	if !ok {
		return
	}
	in := flows.AgreementVersionInput{Title: r.PostForm.Get("title"), Text: normalizeText(r.PostForm.Get("text"))}
	d.Fields = c.agreementFields(rq, in)
	var err error
	switch r.PostForm.Get("op") {
	case "preview":
		if err = flows.CheckAgreementVersion(in); err == nil {
			d.Preview = &domain.Agreement{Name: d.Name, Version: d.Next, Title: strings.TrimSpace(in.Title), Body: in.Text, Required: d.Required}
			c.renderAgreement(w, r, http.StatusOK, view{Lead: rq.T("console.agr.preview_lead")}, d)
			return
		}
	case "publish":
		var a domain.Agreement
		if a, err = c.flows.PublishAgreementVersion(r.Context(), rq.P.Admin(), rq.Org, d.Name, in); err == nil {
			http.Redirect(w, r, rq.OrgPath("/agreements/"+a.Name+"?published="+strconv.Itoa(a.Version)), http.StatusSeeOther)
			return
		}
	default:
		c.message(w, r, http.StatusBadRequest, "page.bad_form.title", "page.bad_form.lead")
		return
	}
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal {
		c.fail(w, r, err)
		return
	}
	errs := c.applyErrors(rq, d.Fields, de)
	c.renderAgreement(w, r, httpx.Status(de.Code), view{Errors: errs}, d)
}
