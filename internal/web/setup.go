package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/devices"
	"github.com/onboard-dev/onboard/internal/domain"
)

// The self-service device setup's pages: /setup (the default organization
// for device setup, or a choice), /setup/{org} (give an email address, or
// sign in), /setup/devices (the owner's devices: add, rename, remove), and
// the provisioning link /provision/{code} with its QR code.

// setupPaths are the page paths of the device setup, for Paths.
var setupPaths = []string{"/setup", "/setup/", "/provision/"}

var orgNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (p *Pages) setupRoutes(mux *http.ServeMux) {
	mux.Handle("GET /setup", p.withReq(p.getSetupRoot))
	mux.Handle("GET /setup/{org}", p.withReq(p.getSetup))
	mux.Handle("POST /setup/{org}", p.withReq(p.postSetup))
	p.handle(mux, "GET /setup/devices", p.requireSignedIn(p.getSetupDevices))
	p.handle(mux, "POST /setup/devices", p.requireSignedIn(p.postSetupDevice))
	p.handle(mux, "POST /setup/devices/{id}/rename", p.requireSignedIn(p.postRenameSetupDevice))
	p.handle(mux, "POST /setup/devices/{id}/remove", p.requireSignedIn(p.postRemoveSetupDevice))
	mux.Handle("GET /provision/{code}", p.withReq(p.getProvision))
	mux.Handle("POST /provision/{code}", p.withReq(p.postProvision))
	mux.Handle("GET /provision/{code}/qr.svg", p.withReq(p.getProvisionQR))
}

// setupUnavailable is the page of a setup that is switched off.
func (p *Pages) setupUnavailable(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	p.message(w, r, http.StatusForbidden, rq.T("setup.unavailable.title"), rq.T("setup.unavailable.lead"), nil)
}

// setupFailed answers an error of the device setup outside a form.
func (p *Pages) setupFailed(w http.ResponseWriter, r *http.Request, err error) {
	if devices.IsUnavailable(err) || p.cfg.Devices == nil {
		p.setupUnavailable(w, r)
		return
	}
	p.fail(w, r, err)
}

// getSetupRoot goes to the default organization's setup, or asks which
// organization.
func (p *Pages) getSetupRoot(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if p.cfg.Devices == nil {
		p.setupUnavailable(w, r)
		return
	}
	sys, err := p.cfg.Devices.System(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !sys.Enabled {
		p.setupUnavailable(w, r)
		return
	}
	name := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("organization")))
	if name == "" {
		name = sys.DefaultOrganization
	}
	if name != "" && orgNamePattern.MatchString(name) {
		http.Redirect(w, r, "/setup/"+url.PathEscape(name), http.StatusSeeOther)
		return
	}
	v := view{Title: rq.T("setup.choose.title"), Lead: rq.T("setup.choose.lead"), Data: setupChoice{Value: name, Invalid: name != ""}}
	status := http.StatusOK
	if name != "" {
		status = http.StatusUnprocessableEntity
	}
	p.render(w, r, status, "setup-choose", v)
}

// setupChoice is the form that asks for the organization (a GET form).
type setupChoice struct {
	Value   string
	Invalid bool
}

// setupOrg checks the setup of the page's organization and answers when it
// is not available.
func (p *Pages) setupOrg(w http.ResponseWriter, r *http.Request) (domain.Organization, bool) {
	rq := reqOf(r)
	if p.cfg.Devices == nil {
		p.setupUnavailable(w, r)
		return rq.Org, false
	}
	org, err := p.cfg.Devices.SetupOrganization(r.Context(), rq.Org.Name)
	if err != nil {
		p.setupFailed(w, r, err)
		return org, false
	}
	return org, true
}

func (p *Pages) setupView(rq *req, values url.Values) view {
	fv := p.newForm("/setup/"+rq.Org.Name, "", rq.T("setup.start.submit"))
	fv.Inputs = []*input{{Name: "email", ID: "f-email", Label: rq.T("field.label.email"), Kind: "email", Required: true,
		MaxLength: 254, Autocomplete: "email", Value: values.Get("email"), Hint: rq.T("setup.start.email_hint")}}
	fv.Footer = []link{{Href: rq.Path("/login") + "?next=" + url.QueryEscape(rq.Path("/setup/devices")), Text: rq.T("setup.start.sign_in")}}
	return view{Title: rq.T("setup.start.title"), Lead: rq.T("setup.start.lead", "Organization", rq.OrgName()), Form: fv}
}

func (p *Pages) getSetup(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if _, ok := p.setupOrg(w, r); !ok {
		return
	}
	if rq.SignedIn() {
		http.Redirect(w, r, rq.Path("/setup/devices"), http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "signup", p.setupView(rq, nil))
}

func (p *Pages) postSetup(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if _, ok := p.postedForm(w, r); !ok {
		return
	}
	if _, ok := p.setupOrg(w, r); !ok {
		return
	}
	email := r.PostForm.Get("email")
	err := p.cfg.Devices.StartSignup(r.Context(), rq.Org.Name, email, p.clientIP(r), rq.Lang)
	if err != nil {
		de := domain.AsError(err)
		switch {
		case devices.IsUnavailable(err):
			p.setupUnavailable(w, r)
		case de == nil || de.Code == domain.EInternal:
			p.fail(w, r, err)
		default:
			p.showError(w, r, de, "signup", p.setupView(rq, r.PostForm))
		}
		return
	}
	p.render(w, r, http.StatusOK, "message", view{Title: rq.T("signup.sent.title"),
		Lead: rq.T("setup.sent.lead", "Email", email), Success: true})
}

// ---- the owner's devices ----

// deviceRow is a device in the owner's list.
type deviceRow struct {
	ID, Name, Platform, State, Provisioned, Serial string
	Pending                                        bool
	Rename, Remove                                 *rowForm
}

// setupDevicesData is what /setup/devices shows.
type setupDevicesData struct {
	Notice  string
	Devices []deviceRow
	Add     *formView
	// Setup is set right after a device was added: its instructions, link
	// and QR code, shown once.
	Setup *setupShown
}

type setupShown struct {
	Name, Platform, Code, URL, QR, Instructions string
	SMS                                         bool
}

func (p *Pages) platformLabel(rq *req, platform string) string {
	if key := "setup.platform." + platform; p.cat.Has(rq.Lang, key) {
		return rq.T(key)
	}
	return platform
}

func (p *Pages) setupDevicesView(r *http.Request, rq *req, values url.Values) (view, error) {
	ctx := r.Context()
	types, err := p.cfg.Devices.DeviceTypes(ctx, *rq.Principal)
	if err != nil {
		return view{}, err
	}
	list, err := p.cfg.Devices.Devices(ctx, *rq.Principal)
	if err != nil {
		return view{}, err
	}
	d := &setupDevicesData{}
	if c := r.URL.Query().Get("done"); c == "renamed" || c == "removed" {
		d.Notice = rq.T("setup.devices.done." + c)
	}
	admin := rq.Principal.Can(domain.PermAccountAdmin)
	for _, dev := range list {
		row := deviceRow{ID: dev.ID, Name: dev.Name, Platform: p.platformLabel(rq, dev.Platform), State: rq.T("setup.state." + dev.State),
			Serial: dev.Serial, Pending: dev.State == domain.DevicePending}
		if dev.ProvisionedAt != nil {
			row.Provisioned = when(*dev.ProvisionedAt)
		}
		if admin {
			base := rq.Path("/setup/devices/" + dev.ID)
			row.Rename = p.rowAction(rq, base+"/rename", rq.T("setup.devices.rename"), rq.T("setup.devices.rename.label", "Name", dev.Name))
			row.Rename.ID, row.Rename.Name, row.Rename.Value, row.Rename.Text = "f-name-"+dev.ID, "name", dev.Name, true
			row.Remove = p.rowAction(rq, base+"/remove", rq.T("setup.devices.remove"), dev.Name)
			row.Remove.Danger = true
		}
		d.Devices = append(d.Devices, row)
	}
	if admin && len(types) > 0 {
		fv := p.sessionForm(rq, rq.Path("/setup/devices"), rq.T("setup.devices.add"))
		platform := &input{Name: "platform", ID: "f-platform", Label: rq.T("setup.devices.platform"), Kind: "radio", Required: true,
			Value: values.Get("platform")}
		sms := false
		for _, t := range types {
			c := choice{Value: t.Platform, Label: p.platformLabel(rq, t.Platform)}
			if t.SMSInstallationCode {
				c.Hint, sms = rq.T("setup.devices.platform.sms_hint"), true
			}
			platform.Choices = append(platform.Choices, c)
		}
		fv.Inputs = []*input{platform,
			{Name: "name", ID: "f-name", Label: rq.T("setup.devices.name"), Kind: "text", Required: true, MaxLength: 100,
				Autocomplete: "off", Value: values.Get("name"), Hint: rq.T("setup.devices.name.hint")}}
		if sms {
			fv.Inputs = append(fv.Inputs, &input{Name: "phone", ID: "f-phone", Label: rq.T("setup.devices.phone"), Kind: "tel",
				MaxLength: 20, Autocomplete: "tel", Value: values.Get("phone"), Hint: rq.T("setup.devices.phone.hint")})
		}
		d.Add = fv
	}
	return view{Title: rq.T("setup.devices.title"), Lead: rq.T("setup.devices.lead", "Organization", rq.OrgName()), Form: d.Add, Data: d}, nil
}

func (p *Pages) getSetupDevices(w http.ResponseWriter, r *http.Request, rq *req) {
	if p.cfg.Devices == nil {
		p.setupUnavailable(w, r)
		return
	}
	v, err := p.setupDevicesView(r, rq, nil)
	if err != nil {
		p.setupFailed(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "setup-devices", v)
}

// setupDeviceError shows a refused change on the devices page.
func (p *Pages) setupDeviceError(w http.ResponseWriter, r *http.Request, rq *req, err error, values url.Values) {
	if devices.IsUnavailable(err) {
		p.setupUnavailable(w, r)
		return
	}
	v, verr := p.setupDevicesView(r, rq, values)
	if verr != nil {
		p.setupFailed(w, r, verr)
		return
	}
	p.accountError(w, r, err, "setup-devices", v)
}

func (p *Pages) postSetupDevice(w http.ResponseWriter, r *http.Request, rq *req) {
	if p.cfg.Devices == nil {
		p.setupUnavailable(w, r)
		return
	}
	if !p.postedSessionForm(w, r, rq) {
		return
	}
	setup, err := p.cfg.Devices.CreateDevice(r.Context(), *rq.Principal, devices.NewDevice{Platform: r.PostForm.Get("platform"),
		Name: r.PostForm.Get("name"), Phone: r.PostForm.Get("phone"), Language: rq.Lang})
	if err != nil {
		p.setupDeviceError(w, r, rq, err, r.PostForm)
		return
	}
	v, err := p.setupDevicesView(r, rq, nil)
	if err != nil {
		p.setupFailed(w, r, err)
		return
	}
	d := v.Data.(*setupDevicesData)
	d.Setup = &setupShown{Name: setup.Device.Name, Platform: p.platformLabel(rq, setup.Device.Platform), Code: setup.InstallationCode,
		URL: setup.ProvisioningURL, QR: "/provision/" + url.PathEscape(setup.InstallationCode) + "/qr.svg",
		Instructions: setup.Instructions, SMS: setup.SMSSent}
	v.Title = rq.T("setup.added.title", "Name", setup.Device.Name)
	v.Lead = rq.T("setup.added.lead")
	v.Success = true
	p.render(w, r, http.StatusCreated, "setup-devices", v)
}

func (p *Pages) postRenameSetupDevice(w http.ResponseWriter, r *http.Request, rq *req) {
	if p.cfg.Devices == nil || !p.postedSessionForm(w, r, rq) {
		if p.cfg.Devices == nil {
			p.setupUnavailable(w, r)
		}
		return
	}
	if _, err := p.cfg.Devices.RenameDevice(r.Context(), *rq.Principal, r.PathValue("id"), r.PostForm.Get("name")); err != nil {
		p.setupDeviceError(w, r, rq, err, nil)
		return
	}
	http.Redirect(w, r, rq.Path("/setup/devices")+"?done=renamed", http.StatusSeeOther)
}

func (p *Pages) postRemoveSetupDevice(w http.ResponseWriter, r *http.Request, rq *req) {
	if p.cfg.Devices == nil || !p.postedSessionForm(w, r, rq) {
		if p.cfg.Devices == nil {
			p.setupUnavailable(w, r)
		}
		return
	}
	if err := p.cfg.Devices.DeleteDevice(r.Context(), *rq.Principal, r.PathValue("id")); err != nil {
		p.setupDeviceError(w, r, rq, err, nil)
		return
	}
	http.Redirect(w, r, rq.Path("/setup/devices")+"?done=removed", http.StatusSeeOther)
}

// ---- provisioning link ----

func (p *Pages) provisionView(rq *req, code string, values url.Values) view {
	fv := p.newForm("/provision/"+url.PathEscape(code), code, rq.T("setup.provision.submit"))
	fv.LinkToken = "" // the code is in the path already
	for _, f := range []struct{ name, label string }{
		{"name", "setup.provision.name"}, {"serial", "setup.provision.serial"}, {"model", "setup.provision.model"}, {"os", "setup.provision.os"},
	} {
		fv.Inputs = append(fv.Inputs, &input{Name: f.name, ID: "f-" + f.name, Label: rq.T(f.label), Kind: "text", MaxLength: 100,
			Autocomplete: "off", Value: values.Get(f.name)})
	}
	return view{Title: rq.T("setup.provision.title"), Lead: rq.T("setup.provision.lead"), Form: fv}
}

func (p *Pages) getProvision(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if p.cfg.Devices == nil {
		p.setupUnavailable(w, r)
		return
	}
	p.render(w, r, http.StatusOK, "signup", p.provisionView(rq, r.PathValue("code"), nil))
}

func (p *Pages) postProvision(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	code := r.PathValue("code")
	if !p.parseForm(w, r) || !p.checkFormToken(w, r, code) {
		return
	}
	if p.cfg.Devices == nil {
		p.setupUnavailable(w, r)
		return
	}
	out, err := p.cfg.Devices.Provision(r.Context(), code, devices.DeviceInfo{Name: r.PostForm.Get("name"),
		Serial: r.PostForm.Get("serial"), Model: r.PostForm.Get("model"), OS: r.PostForm.Get("os")})
	if err != nil {
		de := domain.AsError(err)
		switch {
		case devices.IsUnavailable(err):
			p.setupUnavailable(w, r)
		case de != nil && de.Code == domain.EGone:
			p.message(w, r, http.StatusGone, rq.T("setup.provision.invalid.title"), rq.T("setup.provision.invalid.lead"), nil)
		case de == nil || de.Code == domain.EInternal:
			p.fail(w, r, err)
		default:
			p.showError(w, r, de, "signup", p.provisionView(rq, code, r.PostForm))
		}
		return
	}
	p.render(w, r, http.StatusCreated, "setup-provisioned", view{Title: rq.T("setup.provisioned.title", "Name", out.Device.Name),
		Lead: rq.T("setup.provisioned.lead"), Success: true, Data: out.Secret})
}

// getProvisionQR serves the QR code of a provisioning link as SVG. It
// encodes only this service's own link, for a well-formed code.
func (p *Pages) getProvisionQR(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if p.cfg.Devices == nil || !auth.WellFormedToken(code) {
		p.notFound(w, r)
		return
	}
	svg, err := qrSVG(p.cfg.Devices.ProvisioningURL(code))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write(svg) //nolint:errcheck // the client went away
}

// qrSVG draws the QR code of text as an SVG image: one path of the dark
// modules, with the quiet zone around them.
func qrSVG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	bm := q.Bitmap()
	n := len(bm)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges" role="img">`,
		n, n, n*6, n*6)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bm {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String()), nil
}
