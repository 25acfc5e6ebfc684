package console

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
	"github.com/onboard-dev/onboard/internal/store"
)

// The directory of an organization (customers, partners, data recipients
// and users: search, keyset paging, detail pages), the back-office creation
// of a customer with its first user, and the audit log. Catalogue:
// locales/console-directory.*.toml.

// directoryRoutes registers the directory's pages (called from routes).
func (c *Console) directoryRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/o/{org}/customers", c.inOrg(c.getAccounts(domain.KindCustomer)))
	mux.HandleFunc("GET /admin/o/{org}/partners", c.inOrg(c.getAccounts(domain.KindPartner)))
	mux.HandleFunc("GET /admin/o/{org}/data-recipients", c.inOrg(c.getAccounts(domain.KindDataRecipient)))
	mux.HandleFunc("GET /admin/o/{org}/customers/new", c.inOrg(c.getNewCustomer))
	mux.HandleFunc("POST /admin/o/{org}/customers", c.inOrg(c.postNewCustomer))
	mux.HandleFunc("GET /admin/o/{org}/accounts/{id}", c.inOrg(c.getAccount))
	mux.HandleFunc("GET /admin/o/{org}/users", c.inOrg(c.getUsers))
	mux.HandleFunc("GET /admin/o/{org}/users/{id}", c.inOrg(c.getUser))
	mux.HandleFunc("GET /admin/o/{org}/audit", c.inOrg(c.getAudit))
}

// timeLayout is how the directory shows times (always UTC).
const timeLayout = "2006-01-02 15:04 UTC"

// label is the catalogue's text of prefix+value, or value itself.
func (c *Console) label(rq *req, prefix, value string) string {
	if c.tr.Has(rq.Lang, prefix+value) {
		return rq.T(prefix + value)
	}
	return value
}

// searchForm is a GET form of filters above a list.
type searchForm struct {
	Action string
	Fields []*field
	Submit string
	// Reset is the list without filters, when some are set.
	Reset string
}

// paging are the links to the pages before and after.
type paging struct {
	Prev, Next string
}

// pageLinks are the URLs of a page's neighbours: the same query with
// another cursor.
func pageLinks(r *http.Request, prev, next string) paging {
	link := func(cur string) string {
		if cur == "" {
			return ""
		}
		q := r.URL.Query()
		q.Set("cursor", cur)
		return r.URL.Path + "?" + q.Encode()
	}
	return paging{Prev: link(prev), Next: link(next)}
}

// accountRow is a row of the accounts list.
type accountRow struct {
	Link, Name, Type, Status, Created string
	Users                             int
}

// userRow is a row of a users list.
type userRow struct {
	Link, Email, Name, Account, AccountLink, Type, Status, Created string
}

// directoryData is a page of the directory.
type directoryData struct {
	Kind     string
	Search   searchForm
	Caption  string
	Accounts []accountRow
	Users    []userRow
	Paging   paging
	// New is the link to the form that creates a customer.
	New string
}

func (c *Console) searchForm(rq *req, r *http.Request, hint string) searchForm {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	f := searchForm{Action: r.URL.Path, Submit: rq.T("console.dir.search.submit"), Fields: []*field{
		{Name: "q", ID: "f-q", Label: rq.T("console.dir.search.label"), Kind: "search", Value: q, Hint: hint}}}
	if q != "" {
		f.Reset = r.URL.Path
	}
	return f
}

func (c *Console) userRow(rq *req, u store.DirectoryUser) userRow {
	return userRow{Link: rq.OrgPath("/users/" + url.PathEscape(u.ID)), Email: u.Email,
		Name: strings.TrimSpace(u.FirstName + " " + u.LastName), Account: u.AccountName,
		AccountLink: rq.OrgPath("/accounts/" + url.PathEscape(u.AccountID)), Type: u.UserType,
		Status: c.label(rq, "console.dir.status.", u.Status), Created: u.CreatedAt.Format(timeLayout)}
}

// listError answers a bad cursor with a 400 page; other errors as usual.
func (c *Console) listError(w http.ResponseWriter, r *http.Request, err error) {
	if de := domain.AsError(err); de != nil && de.Code == domain.EInvalid {
		c.message(w, r, http.StatusBadRequest, "console.dir.bad_cursor.title", "console.dir.bad_cursor.lead")
		return
	}
	c.fail(w, r, err)
}

func (c *Console) getAccounts(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq := reqOf(r)
		q := r.URL.Query()
		p, err := c.bo.Accounts(r.Context(), rq.Org, kind, q.Get("q"), q.Get("cursor"))
		if err != nil {
			c.listError(w, r, err)
			return
		}
		d := directoryData{Kind: kind, Search: c.searchForm(rq, r, rq.T("console.dir.search.hint_accounts")),
			Caption: rq.T("console.dir.caption." + kind), Paging: pageLinks(r, p.Prev, p.Next), Accounts: []accountRow{}}
		if kind == domain.KindCustomer {
			d.New = rq.OrgPath("/customers/new")
		}
		for _, a := range p.Items {
			d.Accounts = append(d.Accounts, accountRow{Link: rq.OrgPath("/accounts/" + url.PathEscape(a.ID)), Name: a.Name,
				Type: c.label(rq, "console.dir.type.", a.Type), Status: c.label(rq, "console.dir.status.", a.Status),
				Created: a.CreatedAt.Format(timeLayout), Users: a.Users})
		}
		v := view{Title: rq.T("console.dir.title." + kind), Data: d}
		if len(p.Items) == 0 {
			v.Lead = rq.T("console.dir.none")
		}
		c.render(w, r, http.StatusOK, "directory", v)
	}
}

func (c *Console) getUsers(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	q := r.URL.Query()
	p, err := c.bo.Users(r.Context(), rq.Org, q.Get("q"), q.Get("cursor"))
	if err != nil {
		c.listError(w, r, err)
		return
	}
	d := directoryData{Kind: "user", Search: c.searchForm(rq, r, rq.T("console.dir.search.hint_users")),
		Caption: rq.T("console.dir.caption.user"), Paging: pageLinks(r, p.Prev, p.Next), Users: []userRow{}}
	for _, u := range p.Items {
		d.Users = append(d.Users, c.userRow(rq, u))
	}
	v := view{Title: rq.T("console.dir.title.user"), Data: d}
	if len(p.Items) == 0 {
		v.Lead = rq.T("console.dir.none")
	}
	c.render(w, r, http.StatusOK, "directory", v)
}

// fact is one term and description of a detail page.
type fact struct{ Term, Value string }

// auditRow is a row of an audit table. ActorName is the person or key
// behind Actor in the reader's language ("" when there is none to tell);
// Actor, the id as written in the log, stays for support and the filter.
type auditRow struct {
	Time, Actor, ActorName, Action, Subject, SubjectLink, Data string
}

// auditTable is a captioned table of audit entries.
type auditTable struct {
	ID, Caption string
	Rows        []auditRow
}

// actorNamer names the actors of entries shown together, with one query
// for all of them: the returned function tells who an actor is in the
// reader's language, "" when there is nothing to tell (see actorName).
func (c *Console) actorNamer(r *http.Request, entries []domain.AuditEntry) (func(actor string) string, error) {
	rq := reqOf(r)
	names, err := c.bo.ActorNames(r.Context(), rq.Org, entries)
	if err != nil {
		return nil, err
	}
	return func(actor string) string { return c.actorName(rq, actor, names) }, nil
}

// auditTable is the table of entries, their actors named with one query.
func (c *Console) auditTable(r *http.Request, caption string, entries []domain.AuditEntry) (auditTable, error) {
	rq := reqOf(r)
	name, err := c.actorNamer(r, entries)
	if err != nil {
		return auditTable{}, err
	}
	out := []auditRow{}
	for _, e := range entries {
		data := ""
		if len(e.Data) > 0 {
			if b, err := json.Marshal(e.Data); err == nil {
				data = string(b)
				if len(data) > 300 {
					data = data[:300] + "…"
				}
			}
		}
		row := auditRow{Time: e.CreatedAt.Format("2006-01-02 15:04:05 UTC"), Actor: e.Actor, ActorName: name(e.Actor),
			Action: e.Action, Subject: e.SubjectID, Data: data}
		if e.SubjectID != "" {
			row.SubjectLink = rq.OrgPath("/audit?" + url.Values{"subject": {e.SubjectID}}.Encode())
		}
		out = append(out, row)
	}
	return auditTable{ID: "audit-caption", Caption: caption, Rows: out}, nil
}

// actorName tells who an actor is: a resolved back-office user, admin key,
// B2B client, user, end user or installation code by kind and name
// ("console.audit.by.<kind>", the detail in brackets after the name), a
// message from the bus by its subject ("console.audit.by.nats"), an actor
// of its own ("system", "admin:environment", …) by its catalogue text
// ("console.audit.by.<actor>"), else "" (the id alone is shown).
func (c *Console) actorName(rq *req, actor string, names map[string]store.ActorName) string {
	if n, ok := names[actor]; ok {
		name := n.Name
		switch {
		case name == "":
			name = n.Detail
		case n.Detail != "":
			name += " (" + n.Detail + ")"
		}
		return rq.T("console.audit.by."+string(n.Kind), "Name", name)
	}
	if subject, ok := strings.CutPrefix(actor, "nats:"); ok && subject != "" {
		return rq.T("console.audit.by.nats", "Subject", subject)
	}
	if id := "console.audit.by." + actor; c.tr.Has(rq.Lang, id) {
		return rq.T(id)
	}
	return ""
}

// accountData is the detail page of an account.
type accountData struct {
	Facts     []fact
	Locations []domain.Location
	Users     []userRow
	Audit     auditTable
	AuditLink string
}

func (c *Console) getAccount(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	d, err := c.bo.Account(r.Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	a := d.Account
	facts := []fact{
		{rq.T("console.dir.col.kind"), c.label(rq, "console.dir.kind.", a.Kind)},
		{rq.T("console.dir.col.type"), c.label(rq, "console.dir.type.", a.Type)},
		{rq.T("console.dir.col.status"), c.label(rq, "console.dir.status.", a.Status)},
		{rq.T("console.dir.col.origin"), c.label(rq, "console.dir.origin.", a.Origin)},
		{rq.T("console.dir.col.created"), a.CreatedAt.Format(timeLayout)},
	}
	if a.VerifiedAt != nil {
		facts = append(facts, fact{rq.T("console.dir.col.verified"), a.VerifiedAt.Format(timeLayout)})
	}
	if a.DecisionReason != "" {
		facts = append(facts, fact{rq.T("console.dir.col.reason"), a.DecisionReason})
	}
	if a.ExternalRef != "" {
		facts = append(facts, fact{rq.T("console.dir.col.external_ref"), a.ExternalRef})
	}
	for _, k := range sortedKeys(a.Properties) {
		facts = append(facts, fact{k, a.Properties[k]})
	}
	facts = append(facts, fact{rq.T("console.dir.col.things"), itoa(d.Counts.Things)}, fact{rq.T("console.dir.col.devices"), itoa(d.Counts.Devices)})
	audit, err := c.auditTable(r, rq.T("console.dir.audit_caption"), d.Audit)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ad := accountData{Facts: facts, Locations: d.Locations, Audit: audit, Users: []userRow{},
		AuditLink: rq.OrgPath("/audit?" + url.Values{"subject": {a.ID}}.Encode())}
	for _, u := range d.Users {
		ad.Users = append(ad.Users, c.userRow(rq, u))
	}
	v := view{Title: a.Name, Data: ad}
	if email := r.URL.Query().Get("invited"); email != "" {
		v.Lead, v.Success = rq.T("console.dir.new.created", "Email", email), true
	}
	c.render(w, r, http.StatusOK, "account", v)
}

// userData is the detail page of a user.
type userData struct {
	Facts       []fact
	AccountLink string
	Audit       auditTable
	AuditLink   string
}

func (c *Console) getUser(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	d, err := c.bo.User(r.Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	u := d.User
	facts := []fact{
		{rq.T("field.label.email"), u.Email},
		{rq.T("console.dir.col.name"), strings.TrimSpace(u.FirstName + " " + u.LastName)},
		{rq.T("console.dir.col.account"), u.AccountName},
		{rq.T("console.dir.col.user_type"), u.UserType},
		{rq.T("console.dir.col.status"), c.label(rq, "console.dir.status.", u.Status)},
		{rq.T("console.dir.col.created"), u.CreatedAt.Format(timeLayout)},
	}
	if u.Phone != "" {
		facts = append(facts, fact{rq.T("field.label.phone"), u.Phone})
	}
	audit, err := c.auditTable(r, rq.T("console.dir.audit_caption"), d.Audit)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ud := userData{Facts: facts, AccountLink: rq.OrgPath("/accounts/" + url.PathEscape(u.AccountID)), Audit: audit,
		AuditLink: rq.OrgPath("/audit?" + url.Values{"subject": {u.ID}}.Encode())}
	c.render(w, r, http.StatusOK, "user", view{Title: u.Email, Data: ud})
}

// ---- creating a customer ----

func (c *Console) newCustomerForm(rq *req, types []domain.UserType, in url.Values) form {
	uts := []option{{Value: "", Label: rq.T("console.dir.new.user_type_default")}}
	for _, ut := range types {
		if ut.Has(domain.PermAccountAdmin) {
			uts = append(uts, option{Value: ut.Name, Label: ut.Label + " (" + ut.Name + ")"})
		}
	}
	typ := in.Get("type")
	if typ == "" {
		typ = domain.CustomerBusiness
	}
	return form{Action: rq.OrgPath("/customers"), Submit: rq.T("console.dir.new.submit"), Fields: []*field{
		{Name: "type", ID: "f-type", Label: rq.T("console.dir.col.type"), Kind: "select", Required: true, Value: typ, Options: []option{
			{Value: domain.CustomerBusiness, Label: rq.T("console.dir.type.business")},
			{Value: domain.CustomerPersonal, Label: rq.T("console.dir.type.personal")}}},
		{Name: "name", ID: "f-name", Label: rq.T("console.dir.col.name"), Kind: "text", Value: in.Get("name"), Hint: rq.T("console.dir.new.name_hint"), Autocomplete: "off"},
		{Name: "user.email", ID: "f-user-email", Label: rq.T("field.label.email"), Kind: "email", Required: true, Value: in.Get("user.email"),
			Hint: rq.T("console.dir.new.email_hint"), Autocomplete: "off"},
		{Name: "user.first_name", ID: "f-user-first_name", Label: rq.T("field.label.user.first_name"), Kind: "text", Required: true, Value: in.Get("user.first_name"), Autocomplete: "off"},
		{Name: "user.last_name", ID: "f-user-last_name", Label: rq.T("field.label.user.last_name"), Kind: "text", Required: true, Value: in.Get("user.last_name"), Autocomplete: "off"},
		{Name: "user.phone", ID: "f-user-phone", Label: rq.T("field.label.user.phone"), Kind: "tel", Value: in.Get("user.phone"), Autocomplete: "off"},
		{Name: "user_type", ID: "f-user_type", Label: rq.T("console.dir.col.user_type"), Kind: "select", Value: in.Get("user_type"), Options: uts},
	}}
}

func (c *Console) getNewCustomer(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	types, err := c.flows.UserTypes(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "form", view{Title: rq.T("console.dir.new.title"), Lead: rq.T("console.dir.new.lead"),
		Data: c.newCustomerForm(rq, types, url.Values{})})
}

// postNewCustomer creates a customer with its first user through the same
// flow as POST /api/v1/admin/organizations/{org}/customers: the user is
// invited by mail to choose a password, and the audit entry names the
// back-office user.
func (c *Console) postNewCustomer(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	in := r.PostForm
	created, err := c.flows.CreateCustomer(r.Context(), rq.P.Admin(), rq.Org, flows.CustomerInput{
		Type: in.Get("type"), Name: in.Get("name"), UserType: in.Get("user_type"),
		User: flows.CustomerUserInput{Email: in.Get("user.email"), FirstName: in.Get("user.first_name"),
			LastName: in.Get("user.last_name"), Phone: in.Get("user.phone")},
	})
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/accounts/"+url.PathEscape(created.Account.ID)+"?"+
			url.Values{"invited": {created.User.Email}}.Encode()), http.StatusSeeOther)
		return
	}
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal || de.Code == domain.ENotFound {
		c.fail(w, r, err)
		return
	}
	types, terr := c.flows.UserTypes(r.Context(), rq.Org)
	if terr != nil {
		c.fail(w, r, terr)
		return
	}
	f := c.newCustomerForm(rq, types, in)
	errs := c.applyErrors(rq, f.Fields, de)
	c.retryAfter(w, de)
	c.render(w, r, httpx.Status(de.Code), "form", view{Title: rq.T("console.dir.new.title"), Errors: errs, Data: f})
}

// ---- audit log ----

// auditData is the audit log page.
type auditData struct {
	Filter searchForm
	Table  auditTable
	Paging paging
}

const dateLayout = "2006-01-02"

func (c *Console) getAudit(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	q := r.URL.Query()
	fields := []*field{
		{Name: "actor", ID: "f-actor", Label: rq.T("console.audit.actor"), Kind: "text", Value: strings.TrimSpace(q.Get("actor")), Hint: rq.T("console.audit.actor_hint")},
		{Name: "action", ID: "f-action", Label: rq.T("console.audit.action"), Kind: "text", Value: strings.TrimSpace(q.Get("action")), Hint: rq.T("console.audit.action_hint")},
		{Name: "subject", ID: "f-subject", Label: rq.T("console.audit.subject"), Kind: "text", Value: strings.TrimSpace(q.Get("subject")), Hint: rq.T("console.audit.subject_hint")},
		{Name: "from", ID: "f-from", Label: rq.T("console.audit.from"), Kind: "date", Value: q.Get("from")},
		{Name: "to", ID: "f-to", Label: rq.T("console.audit.to"), Kind: "date", Value: q.Get("to"), Hint: rq.T("console.audit.to_hint")},
	}
	f := store.AuditFilter{Actor: fields[0].Value, Action: fields[1].Value, Subject: fields[2].Value}
	var errs []string
	day := func(fl *field) time.Time {
		if fl.Value == "" {
			return time.Time{}
		}
		t, err := time.Parse(dateLayout, fl.Value)
		if err != nil {
			msg := sentence(fl.Label, rq.T("console.audit.bad_date"))
			fl.Errors = append(fl.Errors, msg)
			errs = append(errs, msg)
		}
		return t
	}
	f.From = day(fields[3])
	if to := day(fields[4]); !to.IsZero() {
		f.To = to.AddDate(0, 0, 1)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		msg := sentence(fields[4].Label, rq.T("console.audit.to_before_from"))
		fields[4].Errors = append(fields[4].Errors, msg)
		errs = append(errs, msg)
	}
	d := auditData{Filter: searchForm{Action: r.URL.Path, Fields: fields, Submit: rq.T("console.audit.submit")}}
	for _, fl := range fields {
		if fl.Value != "" {
			d.Filter.Reset = r.URL.Path
		}
	}
	if len(errs) > 0 {
		c.render(w, r, http.StatusUnprocessableEntity, "audit", view{Title: rq.T("console.audit.title"), Errors: errs, Data: d})
		return
	}
	p, err := c.bo.AuditLog(r.Context(), rq.Org, f, q.Get("cursor"))
	if err != nil {
		c.listError(w, r, err)
		return
	}
	if d.Table, err = c.auditTable(r, rq.T("console.audit.caption"), p.Items); err != nil {
		c.fail(w, r, err)
		return
	}
	d.Paging = pageLinks(r, p.Prev, p.Next)
	v := view{Title: rq.T("console.audit.title"), Data: d}
	if len(p.Items) == 0 {
		v.Lead = rq.T("console.audit.none")
	}
	c.render(w, r, http.StatusOK, "audit", v)
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func itoa(n int) string { return strconv.Itoa(n) }
