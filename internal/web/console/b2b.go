package console

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/b2b/importrun"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpx"
	"github.com/onboard-dev/onboard/internal/store"
)

// The B2B pages of an organization (/admin/o/{org}/b2b/…): labelpartners,
// API clients with their secrets, end users, and bulk imports of end users
// from an uploaded file, run in the background (package importrun).

// maxImportUpload is the largest import file the console takes.
const maxImportUpload = 256 << 20

// importScriptCSP is the policy of an import's page: its one same-origin
// script follows the progress.
const importScriptCSP = contentSecurityPolicy + "; script-src 'self'; connect-src 'self'"

// bodyLimit is the largest body a request may have: an import's upload, or
// a form.
func bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/admin/o/") && strings.HasSuffix(r.URL.Path, "/b2b/imports") {
		return maxImportUpload
	}
	return maxBody
}

// Under reports whether the page is at or under path of the organization.
func (rq *req) Under(path string) bool { return strings.HasPrefix(rq.Current, rq.OrgPath(path)) }

func (c *Console) b2bRoutes(mux *http.ServeMux) {
	if c.cfg.B2B == nil || c.cfg.Imports == nil {
		return
	}
	mux.HandleFunc("GET /admin/static/b2b-import.js", c.staticScript)
	mux.HandleFunc("GET /admin/o/{org}/b2b/{$}", c.inOrg(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, reqOf(r).OrgPath("/b2b/labelpartners"), http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/o/{org}/b2b/labelpartners", c.inOrg(c.getLabelpartners))
	mux.HandleFunc("POST /admin/o/{org}/b2b/labelpartners", c.inOrg(c.postLabelpartner))
	mux.HandleFunc("GET /admin/o/{org}/b2b/labelpartners/{id}", c.inOrg(c.getLabelpartner))
	mux.HandleFunc("POST /admin/o/{org}/b2b/labelpartners/{id}", c.inOrg(c.postLabelpartnerLinks))
	mux.HandleFunc("GET /admin/o/{org}/b2b/clients", c.inOrg(c.getClients))
	mux.HandleFunc("POST /admin/o/{org}/b2b/clients", c.inOrg(c.postClient))
	mux.HandleFunc("POST /admin/o/{org}/b2b/clients/{id}/secret", c.inOrg(c.postRotateSecret))
	mux.HandleFunc("POST /admin/o/{org}/b2b/clients/{id}/revoke", c.inOrg(c.postRevokeClient))
	mux.HandleFunc("GET /admin/o/{org}/b2b/end-users", c.inOrg(c.getEndUsers))
	mux.HandleFunc("GET /admin/o/{org}/b2b/end-users/{id}", c.inOrg(c.getEndUser))
	mux.HandleFunc("GET /admin/o/{org}/b2b/imports", c.inOrg(c.getImports))
	mux.HandleFunc("POST /admin/o/{org}/b2b/imports", c.inOrg(c.postImport))
	mux.HandleFunc("GET /admin/o/{org}/b2b/imports/{id}", c.inOrg(c.getImport))
	mux.HandleFunc("GET /admin/o/{org}/b2b/imports/{id}/progress", c.inOrg(c.getImportProgress))
	mux.HandleFunc("GET /admin/o/{org}/b2b/imports/{id}/rejected.csv", c.inOrg(c.getImportReport))
}

func (c *Console) staticScript(w http.ResponseWriter, r *http.Request) {
	body, err := files.ReadFile("static/b2b-import.js")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(body) //nolint:errcheck // the client went away
}

// b2bTab is one link of the B2B pages' own menu.
type b2bTab struct {
	Href, Label string
	Current     bool
}

// b2bView is what every B2B page renders.
type b2bView struct {
	Tabs []b2bTab
	Page any
}

func (c *Console) b2bRender(w http.ResponseWriter, r *http.Request, status int, page, title string, v view) {
	rq := reqOf(r)
	var tabs []b2bTab
	for _, t := range []struct{ path, label string }{{"/b2b/labelpartners", "b2b.tab.labelpartners"}, {"/b2b/clients", "b2b.tab.clients"},
		{"/b2b/end-users", "b2b.tab.end_users"}, {"/b2b/imports", "b2b.tab.imports"}} {
		tabs = append(tabs, b2bTab{Href: rq.OrgPath(t.path), Label: rq.T(t.label), Current: rq.Under(t.path)})
	}
	v.Title = title
	v.Data = b2bView{Tabs: tabs, Page: v.Data}
	c.render(w, r, status, page, v)
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// ---- labelpartners ----

type labelpartnersPage struct {
	List []domain.Labelpartner
	New  form
	// Key is the new labelpartner's API key, shown once.
	Key, KeyName string
}

func (c *Console) newLabelpartnerForm(rq *req) form {
	policies := []option{{Value: domain.PolicyPassword, Label: rq.T("b2b.lp.policy.password")},
		{Value: domain.PolicyPincode, Label: rq.T("b2b.lp.policy.pincode")}, {Value: domain.PolicyDefault, Label: rq.T("b2b.lp.policy.default")}}
	return form{Action: rq.OrgPath("/b2b/labelpartners"), Submit: rq.T("b2b.lp.create"), Fields: []*field{
		{Name: "name", ID: "f-lp-name", Label: rq.T("b2b.lp.name"), Kind: "text", Required: true, Autocomplete: "off"},
		{Name: "password_policy", ID: "f-lp-password_policy", Label: rq.T("b2b.lp.policy"), Kind: "select", Required: true, Options: policies,
			Value: domain.PolicyPassword, Hint: rq.T("b2b.lp.policy_hint")},
		{Name: "require_voucher", ID: "f-lp-require_voucher", Label: rq.T("b2b.lp.require_voucher"), Kind: "checkbox"},
		{Name: "introspection.url", ID: "f-lp-introspection-url", Label: rq.T("b2b.lp.introspection_url"), Kind: "url", Hint: rq.T("b2b.lp.introspection_hint")},
		{Name: "introspection.client_id", ID: "f-lp-introspection-client_id", Label: rq.T("b2b.lp.introspection_client_id"), Kind: "text", Autocomplete: "off"},
		{Name: "introspection.client_secret", ID: "f-lp-introspection-client_secret", Label: rq.T("b2b.lp.introspection_client_secret"), Kind: "password", Autocomplete: "new-password"},
	}}
}

func (c *Console) getLabelpartners(w http.ResponseWriter, r *http.Request) {
	c.showLabelpartners(w, r, http.StatusOK, c.newLabelpartnerForm(reqOf(r)), nil, "", "")
}

func (c *Console) showLabelpartners(w http.ResponseWriter, r *http.Request, status int, f form, errs []string, key, keyName string) {
	rq := reqOf(r)
	list, err := c.cfg.B2B.Labelpartners(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := view{Errors: errs, Data: labelpartnersPage{List: list, New: f, Key: key, KeyName: keyName}}
	if key != "" {
		v.Lead, v.Success = rq.T("b2b.lp.created", "Name", keyName), true
	} else if !v.doneLead(r, "b2b-labelpartners") && len(list) == 0 {
		v.Lead = rq.T("b2b.lp.none")
	}
	c.b2bRender(w, r, status, "b2b-labelpartners", rq.T("b2b.lp.title"), v)
}

func (c *Console) postLabelpartner(w http.ResponseWriter, r *http.Request) {
	if !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	pf := r.PostForm
	in := b2b.LabelpartnerInput{Name: pf.Get("name"), PasswordPolicy: pf.Get("password_policy"), RequireVoucher: pf.Get("require_voucher") == "true",
		IntrospectionURL: strings.TrimSpace(pf.Get("introspection.url")), IntrospectionClientID: strings.TrimSpace(pf.Get("introspection.client_id")),
		IntrospectionClientSecret: pf.Get("introspection.client_secret")}
	lp, key, err := c.cfg.B2B.CreateLabelpartner(r.Context(), rq.P.Admin(), rq.Org, in)
	if err != nil {
		c.refuse(w, r, err, func() ([]*field, func(int, []string), error) {
			f := c.newLabelpartnerForm(rq)
			return refill(r, f.Fields), func(status int, errs []string) { c.showLabelpartners(w, r, status, f, errs, "", "") }, nil
		})
		return
	}
	// The key is shown on this answer only (no redirect: it is never stored).
	c.showLabelpartners(w, r, http.StatusCreated, c.newLabelpartnerForm(rq), nil, key, lp.Name)
}

type labelpartnerPage struct {
	LP   domain.Labelpartner
	Edit form
}

func (c *Console) appLinksForm(rq *req, lp domain.Labelpartner) form {
	f := form{Action: rq.OrgPath("/b2b/labelpartners/" + lp.ID), Submit: rq.T("console.save"), Fields: []*field{
		{Name: "app_links.verify_url", ID: "f-al-verify_url", Label: rq.T("b2b.lp.verify_url"), Kind: "url", Hint: rq.T("b2b.lp.link_hint")},
		{Name: "app_links.reset_url", ID: "f-al-reset_url", Label: rq.T("b2b.lp.reset_url"), Kind: "url", Hint: rq.T("b2b.lp.link_hint")},
		{Name: "app_links.ios.app_ids", ID: "f-al-ios-app_ids", Label: rq.T("b2b.lp.ios_app_ids"), Kind: "textarea", Hint: rq.T("b2b.lp.ios_hint")},
		{Name: "app_links.android.package_name", ID: "f-al-android-package_name", Label: rq.T("b2b.lp.android_package"), Kind: "text"},
		{Name: "app_links.android.sha256_cert_fingerprints", ID: "f-al-android-fingerprints", Label: rq.T("b2b.lp.android_fingerprints"),
			Kind: "textarea", Hint: rq.T("b2b.lp.android_hint")},
	}}
	if l := lp.AppLinks; l != nil {
		f.Fields[0].Value, f.Fields[1].Value = l.VerifyURL, l.ResetURL
		if l.IOS != nil {
			f.Fields[2].Value = strings.Join(l.IOS.AppIDs, "\n")
		}
		if l.Android != nil {
			f.Fields[3].Value, f.Fields[4].Value = l.Android.PackageName, strings.Join(l.Android.SHA256CertFingerprints, "\n")
		}
	}
	return f
}

func (c *Console) getLabelpartner(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	lp, err := c.cfg.B2B.Labelpartner(r.Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.b2bRender(w, r, http.StatusOK, "b2b-labelpartner", lp.Name, view{Lead: rq.T("b2b.lp.edit_lead"),
		Data: labelpartnerPage{LP: lp, Edit: c.appLinksForm(rq, lp)}})
}

func (c *Console) postLabelpartnerLinks(w http.ResponseWriter, r *http.Request) {
	if !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	lp, err := c.cfg.B2B.Labelpartner(r.Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	pf := r.PostForm
	links := &domain.AppLinks{VerifyURL: strings.TrimSpace(pf.Get("app_links.verify_url")), ResetURL: strings.TrimSpace(pf.Get("app_links.reset_url"))}
	if ids := lines(pf.Get("app_links.ios.app_ids")); len(ids) > 0 {
		links.IOS = &domain.IOSApps{AppIDs: ids}
	}
	pkg, fps := strings.TrimSpace(pf.Get("app_links.android.package_name")), lines(pf.Get("app_links.android.sha256_cert_fingerprints"))
	if pkg != "" || len(fps) > 0 {
		links.Android = &domain.AndroidApp{PackageName: pkg, SHA256CertFingerprints: fps}
	}
	if links.VerifyURL == "" && links.ResetURL == "" && links.IOS == nil && links.Android == nil {
		links = nil
	}
	if _, err := c.cfg.B2B.UpdateLabelpartner(r.Context(), rq.P.Admin(), rq.Org, lp.ID, b2b.LabelpartnerPatch{SetAppLinks: true, AppLinks: links}); err != nil {
		c.refuse(w, r, err, func() ([]*field, func(int, []string), error) {
			f := c.appLinksForm(rq, lp)
			return refill(r, f.Fields), func(status int, errs []string) {
				c.b2bRender(w, r, status, "b2b-labelpartner", lp.Name, view{Errors: errs, Data: labelpartnerPage{LP: lp, Edit: f}})
			}, nil
		})
		return
	}
	http.Redirect(w, r, rq.OrgPath("/b2b/labelpartners?done=saved"), http.StatusSeeOther)
}

// ---- clients ----

type clientRow struct {
	b2b.ClientDetails
	Rotate, Revoke form
}

type clientsPage struct {
	List []clientRow
	New  form
	// ClientID and Secret are a new secret, shown once.
	ClientID, Secret string
}

func (c *Console) newClientForm(rq *req, lps []domain.Labelpartner) form {
	kinds := []option{{Value: domain.ClientB2B, Label: rq.T("b2b.client.kind.b2b")}, {Value: domain.ClientApp, Label: rq.T("b2b.client.kind.app")}}
	var lpOpts []option
	for _, lp := range lps {
		lpOpts = append(lpOpts, option{Value: lp.Name, Label: lp.Name})
	}
	fields := []*field{
		{Name: "name", ID: "f-client-name", Label: rq.T("b2b.client.name"), Kind: "text", Required: true, Autocomplete: "off"},
		{Name: "kind", ID: "f-client-kind", Label: rq.T("b2b.client.kind"), Kind: "select", Required: true, Options: kinds, Value: domain.ClientB2B,
			Hint: rq.T("b2b.client.kind_hint")},
	}
	if len(lpOpts) > 0 {
		fields = append(fields, &field{Name: "labelpartners", ID: "f-client-labelpartners", Label: rq.T("b2b.client.labelpartners"),
			Kind: "checkboxes", Options: lpOpts, Hint: rq.T("b2b.client.labelpartners_hint")})
	}
	return form{Action: rq.OrgPath("/b2b/clients"), Submit: rq.T("b2b.client.create"), Fields: fields}
}

func (c *Console) showClients(w http.ResponseWriter, r *http.Request, status int, f *form, errs []string, clientID, secret, lead string) {
	rq := reqOf(r)
	list, err := c.cfg.B2B.Clients(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if f == nil {
		lps, err := c.cfg.B2B.Labelpartners(r.Context(), rq.Org)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		nf := c.newClientForm(rq, lps)
		f = &nf
	}
	p := clientsPage{New: *f, ClientID: clientID, Secret: secret}
	// Newest first; revoked ones last.
	for i := len(list) - 1; i >= 0; i-- {
		cl := list[i]
		row := clientRow{ClientDetails: cl}
		if !cl.Revoked() {
			row.Rotate = form{Action: rq.OrgPath("/b2b/clients/" + cl.ID + "/secret"), Submit: rq.T("b2b.client.rotate")}
			row.Revoke = form{Action: rq.OrgPath("/b2b/clients/" + cl.ID + "/revoke"), Submit: rq.T("b2b.client.revoke")}
		}
		p.List = append(p.List, row)
	}
	v := view{Errors: errs, Data: p, Lead: lead, Success: lead != ""}
	if lead == "" && !v.doneLead(r, "b2b-clients") && len(list) == 0 {
		v.Lead = rq.T("b2b.client.none")
	}
	c.b2bRender(w, r, status, "b2b-clients", rq.T("b2b.client.title"), v)
}

func (c *Console) getClients(w http.ResponseWriter, r *http.Request) {
	c.showClients(w, r, http.StatusOK, nil, nil, "", "", "")
}

func (c *Console) postClient(w http.ResponseWriter, r *http.Request) {
	if !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	in := b2b.ClientInput{Name: r.PostForm.Get("name"), Kind: r.PostForm.Get("kind"), Labelpartners: r.PostForm["labelpartners"]}
	cl, secret, err := c.cfg.B2B.CreateClient(r.Context(), rq.P.Admin(), rq.Org, in)
	if err != nil {
		c.refuse(w, r, err, func() ([]*field, func(int, []string), error) {
			lps, lerr := c.cfg.B2B.Labelpartners(r.Context(), rq.Org)
			if lerr != nil {
				return nil, nil, lerr
			}
			f := c.newClientForm(rq, lps)
			return refill(r, f.Fields), func(status int, errs []string) { c.showClients(w, r, status, &f, errs, "", "", "") }, nil
		})
		return
	}
	c.showClients(w, r, http.StatusCreated, nil, nil, cl.ClientID, secret, rq.T("b2b.client.created", "Name", cl.Name))
}

func (c *Console) postRotateSecret(w http.ResponseWriter, r *http.Request) {
	if !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	cl, secret, err := c.cfg.B2B.RotateClientSecret(r.Context(), rq.P.Admin(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.showClients(w, r, http.StatusOK, nil, nil, cl.ClientID, secret, rq.T("b2b.client.rotated", "Name", cl.Name))
}

func (c *Console) postRevokeClient(w http.ResponseWriter, r *http.Request) {
	if !c.posted(w, r) {
		return
	}
	rq := reqOf(r)
	if err := c.cfg.B2B.RevokeClient(r.Context(), rq.P.Admin(), rq.Org, r.PathValue("id")); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, rq.OrgPath("/b2b/clients?done=revoked"), http.StatusSeeOther)
}

// ---- end users ----

type endUsersPage struct {
	Query, State string
	States       []option
	List         []domain.EndUser
	// Next is the link of the next page; "" on the last.
	Next string
}

const endUsersPerPage = 50

func (c *Console) getEndUsers(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	q := r.URL.Query()
	p := endUsersPage{Query: q.Get("q"), State: q.Get("state")}
	p.States = []option{{Value: "", Label: rq.T("b2b.eu.state.any")}}
	for _, s := range b2b.EndUserStates {
		p.States = append(p.States, option{Value: s, Label: rq.T("b2b.eu.state." + s)})
	}
	list, err := c.cfg.B2B.SearchEndUsers(r.Context(), rq.Org, store.EndUserSearch{Query: p.Query, State: p.State, After: q.Get("after"), Limit: endUsersPerPage + 1})
	var errs []string
	if de := domain.AsError(err); de != nil && de.Code == domain.EInvalid {
		errs, list = c.applyErrors(rq, nil, de), nil
	} else if err != nil {
		c.fail(w, r, err)
		return
	}
	if len(list) > endUsersPerPage {
		list = list[:endUsersPerPage]
		next := url.Values{"q": {p.Query}, "state": {p.State}, "after": {list[len(list)-1].ID}}
		p.Next = rq.OrgPath("/b2b/end-users?" + next.Encode())
	}
	p.List = list
	v := view{Errors: errs, Data: p}
	if len(list) == 0 && len(errs) == 0 {
		v.Lead = rq.T("b2b.eu.none")
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	c.b2bRender(w, r, status, "b2b-end-users", rq.T("b2b.eu.title"), v)
}

// historyItem is a line of an end user's history. ActorName is the person
// or client behind Actor in the reader's language ("" when there is none to
// tell), as in the audit tables; Actor is the id as written in the log.
type historyItem struct {
	At                       string
	Action, Actor, ActorName string
	Details                  string
}

type endUserPage struct {
	U       domain.EndUser
	History []historyItem
}

func (c *Console) getEndUser(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	u, entries, err := c.cfg.B2B.EndUserHistory(r.Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	name, err := c.actorNamer(r, entries)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := endUserPage{U: u}
	for _, e := range entries {
		var details string
		if len(e.Data) > 0 {
			if raw, err := json.Marshal(e.Data); err == nil {
				details = string(raw)
			}
		}
		p.History = append(p.History, historyItem{At: e.CreatedAt.Format("2006-01-02 15:04:05"), Action: e.Action, Actor: e.Actor,
			ActorName: name(e.Actor), Details: details})
	}
	c.b2bRender(w, r, http.StatusOK, "b2b-end-user", u.Email, view{Data: p})
}

// ---- imports ----

type importsPage struct {
	Runs         []domain.ImportRun
	Next         string
	Labelpartner []option
	Formats      []option
}

const importsPerPage = 20

func (c *Console) importsPage(w http.ResponseWriter, r *http.Request) (importsPage, bool) {
	rq := reqOf(r)
	p := importsPage{Formats: []option{{Value: "", Label: rq.T("b2b.import.format.auto")}, {Value: b2b.ImportNDJSON, Label: "NDJSON"},
		{Value: b2b.ImportCSV, Label: "CSV"}}}
	lps, err := c.cfg.B2B.Labelpartners(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return p, false
	}
	p.Labelpartner = []option{{Value: "", Label: rq.T("b2b.import.labelpartner.none")}}
	for _, lp := range lps {
		p.Labelpartner = append(p.Labelpartner, option{Value: lp.ID, Label: lp.Name})
	}
	before := r.URL.Query().Get("before")
	runs, err := c.cfg.Imports.Runs(r.Context(), rq.Org, before, importsPerPage+1)
	if err != nil {
		c.fail(w, r, err)
		return p, false
	}
	if len(runs) > importsPerPage {
		runs = runs[:importsPerPage]
		p.Next = rq.OrgPath("/b2b/imports?before=" + url.QueryEscape(runs[len(runs)-1].ID))
	}
	p.Runs = runs
	return p, true
}

func (c *Console) getImports(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	p, ok := c.importsPage(w, r)
	if !ok {
		return
	}
	c.b2bRender(w, r, http.StatusOK, "b2b-imports", rq.T("b2b.import.title"), view{Lead: rq.T("b2b.import.lead"), Data: p})
}

// postImport takes the upload (multipart/form-data: csrf, labelpartner,
// format, then the file) and starts its run, streaming the file to the
// runner's spool without holding it in memory.
func (c *Console) postImport(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	mr, err := r.MultipartReader()
	if err != nil {
		c.message(w, r, http.StatusBadRequest, "page.bad_form.title", "page.bad_form.lead")
		return
	}
	vals := url.Values{}
	var run domain.ImportRun
	var started bool
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			c.uploadFailed(w, r, err)
			return
		}
		name := part.FormName()
		if name != "file" {
			b, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				c.uploadFailed(w, r, err)
				return
			}
			vals.Set(name, string(b))
			continue
		}
		if got := vals.Get("csrf"); got == "" || got != rq.csrf {
			c.forbidden(w, r)
			return
		}
		if started || part.FileName() == "" {
			continue
		}
		var lp domain.Labelpartner
		if id := vals.Get("labelpartner"); id != "" {
			if lp, err = c.cfg.B2B.Labelpartner(r.Context(), rq.Org, id); err != nil {
				c.importError(w, r, domain.Invalid(domain.FieldError{Field: "labelpartner", Message: "is not a labelpartner of the organization"}))
				return
			}
		}
		fileName := path.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
		format := vals.Get("format")
		if format == "" {
			format = guessFormat(fileName, part.Header.Get("Content-Type"))
		}
		run, err = c.cfg.Imports.Start(r.Context(), rq.Org, importrun.Upload{Actor: rq.P.Actor(), FileName: fileName, Format: format,
			Labelpartner: lp, Body: part})
		if err != nil {
			if de := domain.AsError(err); de != nil {
				c.importError(w, r, err)
				return
			}
			c.uploadFailed(w, r, err)
			return
		}
		started = true
	}
	if !started {
		if got := vals.Get("csrf"); got == "" || got != rq.csrf {
			c.forbidden(w, r)
			return
		}
		c.importError(w, r, domain.Invalid(domain.FieldError{Field: "file", Message: "is required"}))
		return
	}
	http.Redirect(w, r, rq.OrgPath("/b2b/imports/"+run.ID), http.StatusSeeOther)
}

func guessFormat(name, contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	if strings.HasSuffix(strings.ToLower(name), ".csv") || mt == "text/csv" {
		return b2b.ImportCSV
	}
	return b2b.ImportNDJSON
}

func (c *Console) uploadFailed(w http.ResponseWriter, r *http.Request, err error) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		c.message(w, r, http.StatusRequestEntityTooLarge, "page.too_large.title", "b2b.import.too_large")
		return
	}
	c.fail(w, r, err)
}

// importError shows the imports page with the upload form's error.
func (c *Console) importError(w http.ResponseWriter, r *http.Request, err error) {
	rq := reqOf(r)
	de := domain.AsError(err)
	if de == nil || de.Code != domain.EInvalid {
		c.fail(w, r, err)
		return
	}
	p, ok := c.importsPage(w, r)
	if !ok {
		return
	}
	var errs []string
	for _, fe := range de.Fields {
		label := map[string]string{"file": rq.T("b2b.import.file"), "format": rq.T("b2b.import.format"),
			"labelpartner": rq.T("b2b.import.labelpartner")}[fe.Field]
		errs = append(errs, sentence(label, c.fieldMessage(rq, fe.Message)))
	}
	c.b2bRender(w, r, http.StatusUnprocessableEntity, "b2b-imports", rq.T("b2b.import.title"), view{Errors: errs, Data: p})
}

type importPage struct {
	Run          domain.ImportRun
	ProgressURL  string
	ReportURL    string
	Labelpartner string
}

func (c *Console) getImport(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	run, err := c.cfg.Imports.Run(r.Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := importPage{Run: run, ProgressURL: rq.OrgPath("/b2b/imports/" + run.ID + "/progress"),
		ReportURL: rq.OrgPath("/b2b/imports/" + run.ID + "/rejected.csv")}
	if run.LabelpartnerID != "" {
		if lp, err := c.cfg.B2B.Labelpartner(r.Context(), rq.Org, run.LabelpartnerID); err == nil {
			p.Labelpartner = lp.Name
		}
	}
	v := view{Data: p}
	switch run.State {
	case domain.ImportDone:
		v.Lead, v.Success = rq.T("b2b.import.done_lead"), true
	case domain.ImportFailed:
		v.Errors = []string{rq.T("b2b.import.failed_lead"), run.Error}
	default:
		v.Lead = rq.T("b2b.import.running_lead")
	}
	w.Header().Set("Content-Security-Policy", importScriptCSP)
	c.b2bRender(w, r, http.StatusOK, "b2b-import", rq.T("b2b.import.run_title", "File", run.File), v)
}

// importProgress is the progress of a run as the page's script reads it.
type importProgress struct {
	State     string `json:"state"`
	Finished  bool   `json:"finished"`
	RowsTotal int64  `json:"rows_total"`
	RowsDone  int64  `json:"rows_done"`
	Percent   int64  `json:"percent"`
	Created   int64  `json:"created"`
	Unchanged int64  `json:"unchanged"`
	Rejected  int64  `json:"rejected"`
	Rate      int64  `json:"rate"`
}

func (c *Console) getImportProgress(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	run, err := c.cfg.Imports.Run(r.Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		de := domain.AsError(err)
		status := http.StatusInternalServerError
		if de != nil && de.Code != domain.EInternal {
			status = httpx.Status(de.Code)
		} else {
			c.log.ErrorContext(r.Context(), "import progress", "err", err)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(importProgress{State: run.State, Finished: run.Finished(), RowsTotal: run.RowsTotal, RowsDone: run.RowsDone, //nolint:errcheck // the client went away
		Percent: run.Percent(), Created: run.Created, Unchanged: run.Unchanged, Rejected: run.Rejected, Rate: run.Rate})
}

// getImportReport answers the rejected lines of a run as CSV: line, error.
func (c *Console) getImportReport(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	run, err := c.cfg.Imports.Run(r.Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="import-`+run.ID+`-rejected.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"line", "error"}) //nolint:errcheck // reported by Flush
	err = c.cfg.Imports.Rejections(r.Context(), run, func(rj domain.ImportRejection) error {
		return cw.Write([]string{strconv.FormatInt(rj.Line, 10), rj.Error})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		c.log.WarnContext(r.Context(), "import report", "err", err)
	}
}
