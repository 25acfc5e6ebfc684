package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// Pages of account administrators: the account's details, users,
// invitations, locations and the deletion of the whole account.

// ---- details ----

func (p *Pages) getDetails(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageDetails) {
		return
	}
	acct := rq.Principal.Account
	v, d := accountView(r, rq, pageDetails, "account.details.title")
	d.Facts = []fact{
		{rq.T("account.field.name"), acct.Name},
		{rq.T("account.field.type"), rq.T("account.type." + acct.Type)},
		{rq.T("account.field.status"), p.statusLabel(rq, acct.Status)},
		{rq.T("account.field.created"), when(acct.CreatedAt)},
	}
	for _, k := range slices.Sorted(maps.Keys(acct.Properties)) {
		d.Facts = append(d.Facts, fact{propertyLabel(rq, k), acct.Properties[k]})
	}
	p.render(w, r, http.StatusOK, "account", v)
}

// propertyLabel is the label of a property of an account: the catalogue's
// for the built-in ones, else its name.
func propertyLabel(rq *req, name string) string {
	switch name {
	case "phone", "address":
		return rq.T("account.field." + name)
	}
	return strings.ReplaceAll(name, "_", " ")
}

// ---- users ----

// userRow is a user of the account as its administrators see it.
type userRow struct {
	ID, Name, Email, Type, Status string
	You                           bool
	ChangeType                    *rowForm
	Remove                        string // the confirmation page
}

// assignable returns the user types users of the account may have.
func (p *Pages) assignable(r *http.Request, rq *req) ([]domain.UserType, error) {
	return p.flows.AssignableUserTypes(r.Context(), *rq.Principal, accountRef(rq))
}

// usersView is the users page.
func (p *Pages) usersView(r *http.Request, rq *req) (view, error) {
	users, err := p.flows.AccountUsers(r.Context(), *rq.Principal, accountRef(rq))
	if err != nil {
		return view{}, err
	}
	types, err := p.assignable(r, rq)
	if err != nil {
		return view{}, err
	}
	v, d := accountView(r, rq, pageUsers, "account.users.title")
	v.Lead = rq.T("account.users.lead")
	for _, au := range users {
		u := au.User
		row := userRow{ID: u.ID, Name: fullName(u), Email: u.Email, Type: p.userTypeLabel(rq, au.UserType),
			Status: p.statusLabel(rq, u.Status), You: u.ID == rq.Principal.User.ID}
		f := p.rowAction(rq, accountPath(rq, pageUsers+"/"+u.ID+"/type"), rq.T("account.users.change_type"),
			rq.T("account.users.type_of", "Name", row.Name))
		f.ID, f.Name = "f-type-"+u.ID, "user_type"
		for _, ut := range types {
			f.Select = append(f.Select, option{Value: ut.Name, Text: p.userTypeLabel(rq, ut), Selected: ut.ID == u.UserTypeID})
		}
		row.ChangeType = f
		if !row.You {
			row.Remove = accountPath(rq, pageUsers+"/"+u.ID+"/remove")
		}
		d.Users = append(d.Users, row)
	}
	return v, nil
}

func (p *Pages) getUsers(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageUsers) {
		return
	}
	v, err := p.usersView(r, rq)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "account-users", v)
}

// usersError shows a refused change on the users page (the last
// administrator, an unknown type) with its status.
func (p *Pages) usersError(w http.ResponseWriter, r *http.Request, rq *req, err error) {
	de := domain.AsError(err)
	if de == nil || (de.Code != domain.EConflict && de.Code != domain.EInvalid) {
		p.fail(w, r, err)
		return
	}
	v, verr := p.usersView(r, rq)
	if verr != nil {
		p.fail(w, r, verr)
		return
	}
	if len(de.Fields) == 0 {
		v.Errors = []string{p.detail(rq, de)}
	}
	for _, fe := range de.Fields {
		v.Errors = append(v.Errors, sentence(rq.T("account.field.user_type"), p.fieldMessage(rq, fe.Message)))
	}
	p.retryAfter(w, de)
	p.render(w, r, httpx.Status(de.Code), "account-users", v)
}

func (p *Pages) postUserType(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageUsers) || !p.postedSessionForm(w, r, rq) {
		return
	}
	_, err := p.flows.ChangeUserType(r.Context(), *rq.Principal, accountRef(rq), r.PathValue("id"), r.PostForm.Get("user_type"))
	if err != nil {
		p.usersError(w, r, rq, err)
		return
	}
	done(w, r, rq, pageUsers, "user_type")
}

// accountUser finds a user of the signed-in person's account (ENotFound
// otherwise, as the flows answer).
func (p *Pages) accountUser(r *http.Request, rq *req, id string) (flows.AccountUser, error) {
	users, err := p.flows.AccountUsers(r.Context(), *rq.Principal, accountRef(rq))
	if err != nil {
		return flows.AccountUser{}, err
	}
	for _, u := range users {
		if u.User.ID == id {
			return u, nil
		}
	}
	return flows.AccountUser{}, domain.Errorf(domain.ENotFound, "user-not-found", "The account has no such user.")
}

func (p *Pages) removeUserView(r *http.Request, rq *req, u flows.AccountUser) view {
	v, d := accountView(r, rq, pageUsers, "account.users.remove.title")
	v.Lead = rq.T("account.users.remove.lead", "Name", fullName(u.User), "Email", u.User.Email)
	v.Form = p.sessionForm(rq, accountPath(rq, pageUsers+"/"+u.User.ID+"/remove"), rq.T("account.users.remove.submit"))
	d.Cancel = &link{Href: accountPath(rq, pageUsers), Text: rq.T("account.cancel")}
	return v
}

func (p *Pages) getRemoveUser(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageUsers) {
		return
	}
	u, err := p.accountUser(r, rq, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "account-form", p.removeUserView(r, rq, u))
}

func (p *Pages) postRemoveUser(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageUsers) || !p.postedSessionForm(w, r, rq) {
		return
	}
	if err := p.flows.DeleteAccountUser(r.Context(), *rq.Principal, accountRef(rq), r.PathValue("id")); err != nil {
		p.usersError(w, r, rq, err)
		return
	}
	done(w, r, rq, pageUsers, "user_removed")
}

// ---- invitations ----

// invitationRow is an invitation of the account.
type invitationRow struct {
	Email, Type, Status, Expires string
	Resend, Revoke               *rowForm
}

func (p *Pages) invitationsView(r *http.Request, rq *req, values url.Values) (view, error) {
	list, err := p.flows.Invitations(r.Context(), *rq.Principal, accountRef(rq))
	if err != nil {
		return view{}, err
	}
	types, err := p.assignable(r, rq)
	if err != nil {
		return view{}, err
	}
	v, d := accountView(r, rq, pageInvitations, "account.invitations.title")
	v.Lead = rq.T("account.invitations.lead")
	fv := p.sessionForm(rq, accountPath(rq, pageInvitations), rq.T("account.invitations.submit"))
	typ := &input{Name: "user_type", ID: "f-user_type", Label: rq.T("account.field.user_type"), Kind: "radio",
		Value: values.Get("user_type")}
	for _, ut := range types {
		typ.Choices = append(typ.Choices, choice{Value: ut.Name, Label: p.userTypeLabel(rq, ut)})
	}
	if typ.Value == "" && len(types) > 0 {
		typ.Value = defaultInviteType(rq, types)
	}
	fv.Inputs = []*input{
		{Name: "email", ID: "f-email", Label: rq.T("account.field.email"), Kind: "email", Required: true, MaxLength: 254,
			Autocomplete: "off", Value: values.Get("email")},
		typ,
	}
	d.Invite = fv
	for _, in := range list {
		email := in.Invitation.Email
		row := invitationRow{Email: email, Type: p.userTypeLabel(rq, in.UserType), Status: p.statusLabel(rq, in.Status),
			Expires: when(in.Invitation.ExpiresAt)}
		if in.Status == domain.InvitationPending || in.Status == "expired" {
			base := pageInvitations + "/" + in.Invitation.ID
			row.Resend = p.rowAction(rq, accountPath(rq, base+"/resend"), rq.T("account.invitations.resend"),
				rq.T("account.invitations.resend.label", "Email", email))
			row.Revoke = p.rowAction(rq, accountPath(rq, base+"/revoke"), rq.T("account.invitations.revoke"),
				rq.T("account.invitations.revoke.label", "Email", email))
			row.Revoke.Danger = true
		}
		d.Invitations = append(d.Invitations, row)
	}
	d.Empty = rq.T("account.invitations.none")
	v.Form = fv
	return v, nil
}

// defaultInviteType is the type preselected for a new invitation: the
// account's plain user type (customer_user, partner_user) when it exists,
// else the first.
func defaultInviteType(rq *req, types []domain.UserType) string {
	want := accountKind(rq) + "_user"
	for _, ut := range types {
		if ut.Name == want {
			return ut.Name
		}
	}
	return types[0].Name
}

func (p *Pages) getInvitations(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageInvitations) {
		return
	}
	v, err := p.invitationsView(r, rq, nil)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "account-invitations", v)
}

func (p *Pages) postInvite(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageInvitations) || !p.postedSessionForm(w, r, rq) {
		return
	}
	_, err := p.flows.Invite(r.Context(), *rq.Principal, accountRef(rq), flows.Invite{
		Email: r.PostForm.Get("email"), UserType: r.PostForm.Get("user_type"), ClientIP: p.clientIP(r),
	})
	if err != nil {
		v, verr := p.invitationsView(r, rq, r.PostForm)
		if verr != nil {
			p.fail(w, r, verr)
			return
		}
		p.accountError(w, r, err, "account-invitations", v)
		return
	}
	done(w, r, rq, pageInvitations, "invited")
}

// invitationError shows a refused resend or revocation on the invitations
// page with its status.
func (p *Pages) invitationError(w http.ResponseWriter, r *http.Request, rq *req, err error) {
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal || de.Code == domain.ENotFound || de.Code == domain.EForbidden {
		p.fail(w, r, err)
		return
	}
	v, verr := p.invitationsView(r, rq, nil)
	if verr != nil {
		p.fail(w, r, verr)
		return
	}
	v.Errors = []string{p.detail(rq, de)}
	p.retryAfter(w, de)
	p.render(w, r, httpx.Status(de.Code), "account-invitations", v)
}

func (p *Pages) postResendInvitation(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageInvitations) || !p.postedSessionForm(w, r, rq) {
		return
	}
	if _, err := p.flows.ResendInvitation(r.Context(), *rq.Principal, accountRef(rq), r.PathValue("id"), p.clientIP(r)); err != nil {
		p.invitationError(w, r, rq, err)
		return
	}
	done(w, r, rq, pageInvitations, "resent")
}

func (p *Pages) postRevokeInvitation(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageInvitations) || !p.postedSessionForm(w, r, rq) {
		return
	}
	if err := p.flows.RevokeInvitation(r.Context(), *rq.Principal, accountRef(rq), r.PathValue("id")); err != nil {
		p.invitationError(w, r, rq, err)
		return
	}
	done(w, r, rq, pageInvitations, "revoked")
}

// ---- locations ----

// locationRow is a location of the customer, with its forms when the
// person may change locations.
type locationRow struct {
	Name           string
	Rename, Remove *rowForm
}

func (p *Pages) locationsView(r *http.Request, rq *req, values url.Values) (view, error) {
	locs, err := p.flows.Locations(r.Context(), *rq.Principal, rq.Principal.Account.ID)
	if err != nil {
		return view{}, err
	}
	v, d := accountView(r, rq, pageLocations, "account.locations.title")
	v.Lead = rq.T("account.locations.lead")
	write := rq.Principal.Can(domain.PermLocationWrite)
	for _, l := range locs {
		row := locationRow{Name: l.Name}
		if write {
			base := pageLocations + "/" + l.ID
			row.Rename = p.rowAction(rq, accountPath(rq, base+"/rename"), rq.T("account.locations.rename"),
				rq.T("account.locations.rename.label", "Name", l.Name))
			row.Rename.ID, row.Rename.Name, row.Rename.Value, row.Rename.Text = "f-name-"+l.ID, "name", l.Name, true
			row.Remove = p.rowAction(rq, accountPath(rq, base+"/remove"), rq.T("account.locations.remove"),
				rq.T("account.locations.remove.label", "Name", l.Name))
			row.Remove.Danger = true
		}
		d.Locations = append(d.Locations, row)
	}
	d.Empty = rq.T("account.locations.none")
	if write {
		fv := p.sessionForm(rq, accountPath(rq, pageLocations), rq.T("account.locations.add"))
		fv.Inputs = []*input{{Name: "name", ID: "f-name", Label: rq.T("account.locations.new"), Kind: "text", Required: true,
			MaxLength: 100, Autocomplete: "off", Value: values.Get("name")}}
		d.AddLocation = fv
		v.Form = fv
	}
	return v, nil
}

func (p *Pages) getLocations(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageLocations) {
		return
	}
	v, err := p.locationsView(r, rq, nil)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "account-locations", v)
}

// locationError shows a refused change of a location on the locations page.
func (p *Pages) locationError(w http.ResponseWriter, r *http.Request, rq *req, err error, values url.Values) {
	v, verr := p.locationsView(r, rq, values)
	if verr != nil {
		p.fail(w, r, verr)
		return
	}
	p.accountError(w, r, err, "account-locations", v)
}

func (p *Pages) postAddLocation(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageLocations) || !p.postedSessionForm(w, r, rq) {
		return
	}
	if _, err := p.flows.CreateLocation(r.Context(), *rq.Principal, rq.Principal.Account.ID, r.PostForm.Get("name")); err != nil {
		p.locationError(w, r, rq, err, r.PostForm)
		return
	}
	done(w, r, rq, pageLocations, "location_added")
}

func (p *Pages) postRenameLocation(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageLocations) || !p.postedSessionForm(w, r, rq) {
		return
	}
	_, err := p.flows.RenameLocation(r.Context(), *rq.Principal, rq.Principal.Account.ID, r.PathValue("id"), r.PostForm.Get("name"))
	if err != nil {
		p.locationError(w, r, rq, err, nil)
		return
	}
	done(w, r, rq, pageLocations, "location_renamed")
}

func (p *Pages) postRemoveLocation(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageLocations) || !p.postedSessionForm(w, r, rq) {
		return
	}
	if err := p.flows.DeleteLocation(r.Context(), *rq.Principal, rq.Principal.Account.ID, r.PathValue("id")); err != nil {
		p.locationError(w, r, rq, err, nil)
		return
	}
	done(w, r, rq, pageLocations, "location_removed")
}

// ---- deletion of the account ----

func (p *Pages) deleteView(r *http.Request, rq *req) view {
	v, d := accountView(r, rq, pageDelete, "account.delete.title")
	v.Lead = rq.T("account.delete.lead", "Account", rq.Principal.Account.Name)
	fv := p.sessionForm(rq, accountPath(rq, pageDelete), rq.T("account.delete.submit"))
	fv.Inputs = []*input{{Name: "current_password", ID: "f-current_password", Label: rq.T("account.delete.password"),
		Kind: "password", Required: true, MaxLength: 1024, Autocomplete: "current-password"}}
	v.Form = fv
	d.Cancel = &link{Href: accountPath(rq, pageHome), Text: rq.T("account.cancel")}
	return v
}

func (p *Pages) getDelete(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageDelete) {
		return
	}
	p.render(w, r, http.StatusOK, "account-form", p.deleteView(r, rq))
}

func (p *Pages) postDelete(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allow(w, r, rq, pageDelete) || !p.postedSessionForm(w, r, rq) {
		return
	}
	name := rq.Principal.Account.Name
	err := p.flows.DeleteCustomerWithPassword(r.Context(), *rq.Principal, rq.Principal.Account.ID, r.PostForm.Get("current_password"))
	if err != nil {
		p.accountError(w, r, err, "account-form", p.deleteView(r, rq))
		return
	}
	// The account, its users and their sessions are gone: this browser is
	// signed out.
	p.clearSessionCookie(w)
	rq.Principal = nil
	p.message(w, r, http.StatusOK, rq.T("account.deleted.title"), rq.T("account.deleted.lead", "Account", name),
		[]link{{Href: rq.Path("/login"), Text: rq.T("login.title")}})
}
