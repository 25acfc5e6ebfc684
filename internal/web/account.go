package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// The signed-in area (/account and below). Every page calls the flows as
// the JSON API does, with the signed-in person's account: no page takes an
// account id from the address, and ids of users, invitations, locations
// and sessions that are not the account's (or do not exist) get the same
// "page not found" page. Pages a user type does not allow get the 403 page
// and are left out of the navigation; pages that do not apply to the kind
// of account (locations of a partner) do not exist for it (404).
//
// Forms post to their own path; after a change the browser is sent back
// to the page with ?done=<what> (post/redirect/get), which shows a notice.

// accountRoutes registers the signed-in area.
func (p *Pages) accountRoutes(mux *http.ServeMux) {
	in := p.requireSignedIn
	p.handle(mux, "GET /account", in(p.getAccount))
	p.handle(mux, "GET /account/profile", in(p.getProfile))
	p.handle(mux, "POST /account/profile", in(p.postProfile))
	p.handle(mux, "GET /account/password", in(p.getPassword))
	p.handle(mux, "POST /account/password", in(p.postPassword))
	p.handle(mux, "GET /account/email", in(p.getEmail))
	p.handle(mux, "POST /account/email", in(p.postEmail))
	p.handle(mux, "GET /account/sessions", in(p.getSessions))
	p.handle(mux, "POST /account/sessions/{id}/end", in(p.postEndSession))
	p.handle(mux, "POST /account/sessions/end-others", in(p.postEndOtherSessions))
	p.handle(mux, "GET /account/agreements", in(p.getAgreements))
	p.handle(mux, "GET /account/data", in(p.getData))
	p.handle(mux, "POST /account/data", in(p.postData))

	p.handle(mux, "GET /account/details", in(p.getDetails))
	p.handle(mux, "GET /account/users", in(p.getUsers))
	p.handle(mux, "POST /account/users/{id}/type", in(p.postUserType))
	p.handle(mux, "GET /account/users/{id}/remove", in(p.getRemoveUser))
	p.handle(mux, "POST /account/users/{id}/remove", in(p.postRemoveUser))
	p.handle(mux, "GET /account/invitations", in(p.getInvitations))
	p.handle(mux, "POST /account/invitations", in(p.postInvite))
	p.handle(mux, "POST /account/invitations/{id}/resend", in(p.postResendInvitation))
	p.handle(mux, "POST /account/invitations/{id}/revoke", in(p.postRevokeInvitation))
	p.handle(mux, "GET /account/locations", in(p.getLocations))
	p.handle(mux, "POST /account/locations", in(p.postAddLocation))
	p.handle(mux, "POST /account/locations/{id}/rename", in(p.postRenameLocation))
	p.handle(mux, "POST /account/locations/{id}/remove", in(p.postRemoveLocation))
	p.handle(mux, "GET /account/delete", in(p.getDelete))
	p.handle(mux, "POST /account/delete", in(p.postDelete))
}

// accountData is what the templates of the signed-in area show besides the
// layout's title, lead, errors and form. Each page fills what it needs.
type accountData struct {
	Nav    []navItem
	Notice string // the outcome of the last change (?done=…)
	Intro  string
	Facts  []fact
	Empty  string // shown when a list has no entries

	Sessions    []sessionRow
	EndOthers   *formView
	Agreements  []agreementRow
	Users       []userRow
	Invitations []invitationRow
	Invite      *formView
	Locations   []locationRow
	AddLocation *formView
	// Cancel is the way back from a confirmation page.
	Cancel *link
}

// navItem is a link of the area's navigation.
type navItem struct {
	Href, Text string
	Current    bool
}

// fact is a labelled value of a description list.
type fact struct {
	Label, Value string
}

// rowForm is a small form of one entry of a list (change a type, rename,
// remove): a button, optionally with one select or text control before it.
type rowForm struct {
	Action, CSRF string
	Submit       string
	// Label names the control; without a control it is said after the
	// button's text, for assistive technology only ("Remove" "Site 2").
	Label  string
	ID     string
	Name   string
	Value  string
	Select []option // when set, the control is a select
	Text   bool     // when set, the control is a text input
	Danger bool
}

// option is an option of a select.
type option struct {
	Value, Text string
	Selected    bool
}

// The pages of the area, by the path under /account.
const (
	pageHome        = ""
	pageProfile     = "/profile"
	pagePassword    = "/password"
	pageEmail       = "/email"
	pageSessions    = "/sessions"
	pageAgreements  = "/agreements"
	pageData        = "/data"
	pageDetails     = "/details"
	pageUsers       = "/users"
	pageInvitations = "/invitations"
	pageLocations   = "/locations"
	pageDelete      = "/delete"
)

// accountPath is the path of a page of the area on the request's
// organization ("/account/users", "/o/acme/account/users").
func accountPath(rq *req, page string) string { return rq.Path("/account" + page) }

// accountKind is the kind of the signed-in person's account: customer,
// partner or data_recipient.
func accountKind(rq *req) string { return rq.Principal.Account.Kind }

// accountRef names the signed-in person's own account for the flows.
func accountRef(rq *req) flows.AccountRef {
	return flows.AccountRef{Kind: rq.Principal.Account.Kind, ID: rq.Principal.Account.ID}
}

// isAccountAdmin reports whether the signed-in person administers their
// account: customer.account_admin of a customer, partner.account_admin of a
// partner. The flows check the same again.
func isAccountAdmin(rq *req) bool {
	switch accountKind(rq) {
	case domain.KindCustomer:
		return rq.Principal.Can(domain.PermAccountAdmin)
	case domain.KindPartner:
		return rq.Principal.Can(domain.PermPartnerAccountAdmin)
	}
	return false
}

// pageAccess says whether a page of the area exists for the signed-in
// person's kind of account (else 404) and whether their user type allows it
// (else 403).
func pageAccess(rq *req, page string) (exists, allowed bool) {
	kind := accountKind(rq)
	switch page {
	case pageDetails, pageDelete:
		return kind == domain.KindCustomer, isAccountAdmin(rq)
	case pageUsers, pageInvitations:
		return kind == domain.KindCustomer || kind == domain.KindPartner, isAccountAdmin(rq)
	case pageLocations:
		return kind == domain.KindCustomer, rq.Principal.Can(domain.PermLocationRead)
	case pageThings:
		return kind == domain.KindCustomer && rq.things, rq.Principal.Can(domain.PermThingsRead)
	}
	return true, true
}

// allow answers a page the signed-in person may not open (404 or 403) and
// reports whether they may.
func (p *Pages) allow(w http.ResponseWriter, r *http.Request, rq *req, page string) bool {
	exists, allowed := pageAccess(rq, page)
	switch {
	case !exists:
		p.notFound(w, r)
		return false
	case !allowed:
		p.message(w, r, http.StatusForbidden, rq.T("account.forbidden.title"), rq.T("account.forbidden.lead"),
			[]link{{Href: accountPath(rq, pageHome), Text: rq.T("account.nav.home")}})
		return false
	}
	return true
}

// navigation lists the pages the signed-in person may open, current marked.
func navigation(rq *req, current string) []navItem {
	pages := []struct{ page, key string }{
		{pageHome, "account.nav.home"},
		{pageProfile, "account.nav.profile"},
		{pagePassword, "account.nav.password"},
		{pageEmail, "account.nav.email"},
		{pageSessions, "account.nav.sessions"},
		{pageAgreements, "account.nav.agreements"},
		{pageData, "account.nav.data"},
		{pageDetails, "account.nav.details"},
		{pageUsers, "account.nav.users"},
		{pageInvitations, "account.nav.invitations"},
		{pageLocations, "account.nav.locations"},
		{pageThings, "things.nav"},
		{pageDelete, "account.nav.delete"},
	}
	var out []navItem
	for _, pg := range pages {
		if exists, allowed := pageAccess(rq, pg.page); exists && allowed {
			out = append(out, navItem{Href: accountPath(rq, pg.page), Text: rq.T(pg.key), Current: pg.page == current})
		}
	}
	return out
}

// accountView starts the view of a page of the area: title, navigation and
// the notice of the change that led here (?done=…, known codes only).
func accountView(r *http.Request, rq *req, page, titleKey string) (view, *accountData) {
	d := &accountData{Nav: navigation(rq, page)}
	if done := r.URL.Query().Get("done"); done != "" && isDoneCode(done) {
		d.Notice = rq.T("account.done." + done)
	}
	return view{Title: rq.T(titleKey), Data: d}, d
}

// doneCodes are the outcomes a page shows after a change.
var doneCodes = []string{"profile", "password", "email", "session", "sessions", "user_type", "user_removed",
	"invited", "resent", "revoked", "location_added", "location_renamed", "location_removed"}

func isDoneCode(s string) bool { return slices.Contains(doneCodes, s) }

// done sends the browser back to a page of the area after a change, with
// the notice of what was done.
func done(w http.ResponseWriter, r *http.Request, rq *req, page, code string) {
	http.Redirect(w, r, accountPath(rq, page)+"?done="+url.QueryEscape(code), http.StatusSeeOther)
}

// rowAction makes the form of a button on one entry of a list.
func (p *Pages) rowAction(rq *req, action, submit, label string) *rowForm {
	return &rowForm{Action: action, CSRF: p.formToken(action, "session:"+rq.Principal.Session.ID), Submit: submit, Label: label}
}

// when formats a time for the pages: date and time in UTC, the same in
// every language.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04") + " UTC"
}

// userTypeLabel is a user type's name for people: the catalogue's text for
// the built-in types, else the label the organization gave it.
func (p *Pages) userTypeLabel(rq *req, ut domain.UserType) string {
	if key := "account.user_type." + ut.Name; ut.Name != "" && p.cat.Has(rq.Lang, key) {
		return rq.T(key)
	}
	if ut.Label != "" {
		return ut.Label
	}
	return ut.Name
}

// statusLabel is a status of a user or invitation for people.
func (p *Pages) statusLabel(rq *req, status string) string {
	if key := "account.status." + status; p.cat.Has(rq.Lang, key) {
		return rq.T(key)
	}
	return status
}

// fullName is a user's name, or their address when they have none.
func fullName(u domain.User) string {
	n := u.FirstName
	if u.LastName != "" {
		if n != "" {
			n += " "
		}
		n += u.LastName
	}
	if n == "" {
		return u.Email
	}
	return n
}

// getAccount is the landing page of the signed-in area.
func (p *Pages) getAccount(w http.ResponseWriter, r *http.Request, rq *req) {
	v, d := accountView(r, rq, pageHome, "account.home.title")
	pr := rq.Principal
	v.Lead = rq.T("account.home.lead", "Name", fullName(pr.User), "Email", pr.User.Email)
	d.Facts = []fact{
		{rq.T("account.field.email"), pr.User.Email},
		{rq.T("account.field.account"), pr.Account.Name},
		{rq.T("account.field.user_type"), p.userTypeLabel(rq, pr.UserType)},
	}
	p.render(w, r, http.StatusOK, "account", v)
}
