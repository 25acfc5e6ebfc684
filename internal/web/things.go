package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/things"
)

// Option is a setting of New.
type Option func(*Pages)

// WithThings serves the things pages of the signed-in area with t; without
// it they are not there (404).
func WithThings(t *things.Service) Option {
	return func(p *Pages) { p.things = t }
}

// The pages of things, under /account.
const (
	pageThings   = "/things"
	pageActivate = "/things/activate"
)

// newLocationChoice is the value of the location choice that creates one.
const newLocationChoice = "new"

// thingsRoutes registers the things pages: the customer's things with
// rename, move and release, the activation form, and /activate, the
// address printed as a QR code or barcode on products
// (<public-url>/activate?serial=…), which leads, after sign-in, to the
// activation form with the serial number filled in.
func (p *Pages) thingsRoutes(mux *http.ServeMux) {
	in := p.requireSignedIn
	p.handle(mux, "GET /activate", in(p.getActivateLink))
	p.handle(mux, "GET /account/things", in(p.getThings))
	p.handle(mux, "GET /account/things/activate", in(p.getActivate))
	p.handle(mux, "POST /account/things/activate", in(p.postActivate))
	p.handle(mux, "POST /account/things/{id}/rename", in(p.postRenameThing))
	p.handle(mux, "POST /account/things/{id}/move", in(p.postMoveThing))
	p.handle(mux, "POST /account/things/{id}/release", in(p.postReleaseThing))
}

// thingsAccess is pageAccess for the things pages.
func (p *Pages) thingsAccess(rq *req, page string) (exists, allowed bool) {
	exists, allowed = pageAccess(rq, pageThings)
	if page == pageActivate {
		allowed = rq.Principal.Can(domain.PermThingsActivate)
	}
	return exists, allowed
}

// allowThings is allow for the things pages.
func (p *Pages) allowThings(w http.ResponseWriter, r *http.Request, rq *req, page string) bool {
	exists, allowed := p.thingsAccess(rq, page)
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

// thingRow is a thing of the customer with its forms.
type thingRow struct {
	Name, Serial, Model, Location, Activated string
	Rename, Move, Release                    *rowForm
}

// thingsData is what the things page shows besides the area's parts.
type thingsData struct {
	*accountData
	Things   []thingRow
	Activate *link
}

func (p *Pages) getActivateLink(w http.ResponseWriter, r *http.Request, rq *req) {
	target := accountPath(rq, pageActivate)
	if sn := strings.TrimSpace(r.URL.Query().Get("serial")); sn != "" && len(sn) <= 200 {
		target += "?serial=" + url.QueryEscape(sn)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (p *Pages) thingsView(r *http.Request, rq *req) (view, error) {
	ctx, pr := r.Context(), *rq.Principal
	ts, err := p.things.Things(ctx, pr, pr.Account.ID, "")
	if err != nil {
		return view{}, err
	}
	locs, err := p.things.Locations(ctx, pr, pr.Account.ID)
	if err != nil {
		return view{}, err
	}
	v, ad := accountView(r, rq, pageThings, "things.title")
	if n := r.URL.Query().Get("done"); strings.HasPrefix(n, "thing_") && p.cat.Has(rq.Lang, "things.done."+n) {
		ad.Notice = rq.T("things.done." + n)
	}
	v.Lead = rq.T("things.lead")
	ad.Empty = rq.T("things.none")
	d := &thingsData{accountData: ad}
	if exists, ok := p.thingsAccess(rq, pageActivate); exists && ok {
		d.Activate = &link{Href: accountPath(rq, pageActivate), Text: rq.T("things.activate.title")}
	}
	names := map[string]string{}
	for _, l := range locs {
		names[l.ID] = l.Name
	}
	write := pr.Can(domain.PermThingsWrite)
	for _, t := range ts {
		label := t.Name
		if label == "" {
			label = t.Model
		}
		row := thingRow{Name: label, Serial: t.SerialNumber, Model: t.Model, Location: names[t.LocationID]}
		if t.ActivatedAt != nil {
			row.Activated = when(*t.ActivatedAt)
		}
		if write {
			base := pageThings + "/" + t.ThingID
			row.Rename = p.rowAction(rq, accountPath(rq, base+"/rename"), rq.T("things.rename"), rq.T("things.rename.label", "Name", label))
			row.Rename.ID, row.Rename.Name, row.Rename.Value, row.Rename.Text = "f-name-"+t.ThingID, "name", t.Name, true
			if len(locs) > 1 {
				row.Move = p.rowAction(rq, accountPath(rq, base+"/move"), rq.T("things.move"), rq.T("things.move.label", "Name", label))
				row.Move.ID, row.Move.Name = "f-location-"+t.ThingID, "location_id"
				for _, l := range locs {
					row.Move.Select = append(row.Move.Select, option{Value: l.ID, Text: l.Name, Selected: l.ID == t.LocationID})
				}
			}
			row.Release = p.rowAction(rq, accountPath(rq, base+"/release"), rq.T("things.release"), label)
			row.Release.Danger = true
		}
		d.Things = append(d.Things, row)
	}
	v.Data = d
	return v, nil
}

func (p *Pages) getThings(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allowThings(w, r, rq, pageThings) {
		return
	}
	v, err := p.thingsView(r, rq)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "account-things", v)
}

// thingsError shows a refused change of a thing on the things page.
func (p *Pages) thingsError(w http.ResponseWriter, r *http.Request, rq *req, err error) {
	v, verr := p.thingsView(r, rq)
	if verr != nil {
		p.fail(w, r, verr)
		return
	}
	de := domain.AsError(err)
	if de == nil || de.Code == domain.EInternal || de.Code == domain.EForbidden {
		p.fail(w, r, err)
		return
	}
	v.Form = &formView{}
	p.showError(w, r, de, "account-things", v)
}

func (p *Pages) activateView(r *http.Request, rq *req, values url.Values) (view, error) {
	pr := *rq.Principal
	locs, err := p.things.Locations(r.Context(), pr, pr.Account.ID)
	if err != nil {
		return view{}, err
	}
	v, d := accountView(r, rq, pageThings, "things.activate.title")
	v.Lead = rq.T("things.activate.lead")
	fv := p.sessionForm(rq, accountPath(rq, pageActivate), rq.T("things.activate.submit"))
	serial := values.Get("serial_number")
	if serial == "" && r.Method == http.MethodGet {
		serial = strings.TrimSpace(r.URL.Query().Get("serial"))
	}
	loc := &input{Name: "location_id", ID: "f-location_id", Label: rq.T("things.field.location"), Kind: "radio", Required: true,
		Value: values.Get("location_id")}
	for _, l := range locs {
		loc.Choices = append(loc.Choices, choice{Value: l.ID, Label: l.Name})
	}
	canCreate := pr.Can(domain.PermLocationWrite)
	if canCreate {
		loc.Choices = append(loc.Choices, choice{Value: newLocationChoice, Label: rq.T("things.field.location.new")})
	}
	if loc.Value == "" && len(loc.Choices) > 0 {
		loc.Value = loc.Choices[0].Value
	}
	fv.Inputs = []*input{
		{Name: "serial_number", ID: "f-serial_number", Label: rq.T("things.field.serial"), Kind: "text", Required: true, MaxLength: 64,
			Autocomplete: "off", Value: serial, Hint: rq.T("things.field.serial.hint")},
		{Name: "connection_token", ID: "f-connection_token", Label: rq.T("things.field.token"), Kind: "text", MaxLength: 256,
			Autocomplete: "off", Value: values.Get("connection_token"), Hint: rq.T("things.field.token.hint")},
		{Name: "name", ID: "f-name", Label: rq.T("things.field.name"), Kind: "text", MaxLength: 100, Autocomplete: "off",
			Value: values.Get("name"), Hint: rq.T("things.field.name.hint")},
		loc,
	}
	if canCreate {
		fv.Inputs = append(fv.Inputs, &input{Name: "new_location", ID: "f-new_location", Label: rq.T("things.field.new_location"),
			Kind: "text", MaxLength: 100, Autocomplete: "off", Value: values.Get("new_location"), Hint: rq.T("things.field.new_location.hint")})
	}
	v.Form = fv
	d.Cancel = &link{Href: accountPath(rq, pageThings), Text: rq.T("account.cancel")}
	return v, nil
}

func (p *Pages) getActivate(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allowThings(w, r, rq, pageActivate) {
		return
	}
	v, err := p.activateView(r, rq, url.Values{})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "account-form", v)
}

func (p *Pages) postActivate(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allowThings(w, r, rq, pageActivate) || !p.postedSessionForm(w, r, rq) {
		return
	}
	f := r.PostForm
	in := things.Activation{SerialNumber: f.Get("serial_number"), ConnectionToken: f.Get("connection_token"), Name: f.Get("name"),
		LocationID: f.Get("location_id")}
	if in.LocationID == newLocationChoice {
		in.LocationID, in.NewLocation = "", f.Get("new_location")
	}
	if _, err := p.things.Activate(r.Context(), *rq.Principal, rq.Principal.Account.ID, in); err != nil {
		de := domain.AsError(err)
		if de == nil || de.Code == domain.EInternal {
			p.fail(w, r, err)
			return
		}
		// Refusals (an unknown serial number among them, a 404) are told
		// on the form, which keeps what was typed but the token.
		values := url.Values{}
		for _, k := range []string{"serial_number", "name", "location_id", "new_location"} {
			values.Set(k, f.Get(k))
		}
		v, verr := p.activateView(r, rq, values)
		if verr != nil {
			p.fail(w, r, verr)
			return
		}
		p.showError(w, r, de, "account-form", v)
		return
	}
	http.Redirect(w, r, accountPath(rq, pageThings)+"?done=thing_activated", http.StatusSeeOther)
}

func (p *Pages) postRenameThing(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allowThings(w, r, rq, pageThings) || !p.postedSessionForm(w, r, rq) {
		return
	}
	name := r.PostForm.Get("name")
	if _, err := p.things.UpdateThing(r.Context(), *rq.Principal, rq.Principal.Account.ID, r.PathValue("id"),
		things.ThingPatch{Name: &name}); err != nil {
		p.thingsError(w, r, rq, err)
		return
	}
	http.Redirect(w, r, accountPath(rq, pageThings)+"?done=thing_renamed", http.StatusSeeOther)
}

func (p *Pages) postMoveThing(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allowThings(w, r, rq, pageThings) || !p.postedSessionForm(w, r, rq) {
		return
	}
	loc := r.PostForm.Get("location_id")
	if _, err := p.things.UpdateThing(r.Context(), *rq.Principal, rq.Principal.Account.ID, r.PathValue("id"),
		things.ThingPatch{LocationID: &loc}); err != nil {
		p.thingsError(w, r, rq, err)
		return
	}
	http.Redirect(w, r, accountPath(rq, pageThings)+"?done=thing_moved", http.StatusSeeOther)
}

func (p *Pages) postReleaseThing(w http.ResponseWriter, r *http.Request, rq *req) {
	if !p.allowThings(w, r, rq, pageThings) || !p.postedSessionForm(w, r, rq) {
		return
	}
	if err := p.things.ReleaseThing(r.Context(), *rq.Principal, rq.Principal.Account.ID, r.PathValue("id")); err != nil {
		p.thingsError(w, r, rq, err)
		return
	}
	http.Redirect(w, r, accountPath(rq, pageThings)+"?done=thing_released", http.StatusSeeOther)
}
