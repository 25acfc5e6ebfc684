package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/devices"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// deviceRoutes: the self-service device setup, provisioning, owners'
// devices, the back office's installation codes and the supervisor's
// system-wide switch.
func (s *Server) deviceRoutes() []Route {
	return []Route{
		{"POST", "/api/v1/setup/signups", s.handle(s.startSetupSignup)},
		{"GET", "/api/v1/setup/device-types", s.authed(s.deviceTypes)},
		{"POST", "/api/v1/setup/devices", s.authed(s.createSetupDevice)},
		{"POST", "/api/v1/provision", s.handle(s.provisionDevice)},
		{"GET", "/api/v1/devices", s.authed(s.listDevices)},
		{"GET", "/api/v1/devices/{id}", s.authed(s.getDevice)},
		{"PATCH", "/api/v1/devices/{id}", s.authed(s.renameDevice)},
		{"DELETE", "/api/v1/devices/{id}", s.authed(s.deleteDevice)},

		{"GET", "/api/v1/admin/device-setup", s.adminRoot(s.getSystemDeviceSetup)},
		{"PUT", "/api/v1/admin/device-setup", s.adminRoot(s.putSystemDeviceSetup)},
		{"GET", "/api/v1/admin/organizations/{org}/installation-codes", s.admin(s.listInstallationCodes)},
		{"POST", "/api/v1/admin/organizations/{org}/installation-codes", s.admin(s.createInstallationCode)},
		{"GET", "/api/v1/admin/organizations/{org}/installation-codes/{id}", s.admin(s.getInstallationCode)},
		{"DELETE", "/api/v1/admin/organizations/{org}/installation-codes/{id}", s.admin(s.revokeInstallationCode)},
	}
}

// deviceService is the device setup; a 403 problem when the service runs without one.
func (s *Server) deviceService() (*devices.Service, error) {
	if s.cfg.Devices == nil {
		return nil, domain.Errorf(domain.EForbidden, "device-setup-unavailable", "Self-service device setup is not available.")
	}
	return s.cfg.Devices, nil
}

// requestLanguage is "it" when the request prefers Italian, else "en".
func requestLanguage(r *http.Request) string {
	al := strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language")))
	if strings.HasPrefix(al, "it") {
		return "it"
	}
	return "en"
}

// ---- views ----

func deviceView(d domain.Device) DeviceView {
	return DeviceView{ID: d.ID, Platform: d.Platform, Name: d.Name, Serial: d.Serial, Model: d.Model, OS: d.OS, State: d.State,
		Settings: props(d.Settings), CreatedAt: d.CreatedAt, ProvisionedAt: d.ProvisionedAt}
}

// InstallationCodeViewOf is the admin API's view of a code (without the
// code itself), for the command line.
func InstallationCodeViewOf(c domain.InstallationCode) InstallationCodeView { return codeView(c) }

func codeView(c domain.InstallationCode) InstallationCodeView {
	v := InstallationCodeView{ID: c.ID, Platform: c.Platform, ExpiresAt: c.ExpiresAt, UsageLimit: c.UsageLimit,
		UsageDelay: domain.Duration(c.UsageDelay), TimesUsed: c.TimesUsed, LastUsedAt: c.LastUsedAt, RevokedAt: c.RevokedAt,
		CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt}
	if c.AccountID != "" {
		id := c.AccountID
		v.AccountID = &id
	}
	return v
}

// ---- device owners ----

func (s *Server) startSetupSignup(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req SetupSignupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := ds.StartSignup(r.Context(), req.Organization, req.Email, s.clientIP(r), requestLanguage(r)); err != nil {
		return err
	}
	encode(w, http.StatusAccepted, SetupStatus{Status: "email_sent"})
	return nil
}

func (s *Server) deviceTypes(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	types, err := ds.DeviceTypes(r.Context(), p)
	if err != nil {
		return err
	}
	out := DeviceTypes{DeviceTypes: []DeviceType{}}
	for _, t := range types {
		out.DeviceTypes = append(out.DeviceTypes, DeviceType{t.Platform, t.SMSInstallationCode})
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) createSetupDevice(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req SetupDeviceRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	setup, err := ds.CreateDevice(r.Context(), p, devices.NewDevice{Platform: req.Platform, Name: req.Name, Phone: req.Phone,
		Language: requestLanguage(r)})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, SetupDevice{Device: deviceView(setup.Device), InstallationCode: setup.InstallationCode,
		ProvisioningURL: setup.ProvisioningURL, QRURL: setup.ProvisioningURL + "/qr.svg", Instructions: setup.Instructions,
		SMSSent: setup.SMSSent})
	return nil
}

func (s *Server) provisionDevice(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req ProvisionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	out, err := ds.Provision(r.Context(), req.InstallationCode, devices.DeviceInfo{Serial: req.Device.Serial, Model: req.Device.Model,
		OS: req.Device.OS, Name: req.Device.Name, OwnerEmail: req.OwnerEmail, Language: requestLanguage(r)})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, ProvisionedDevice{Device: deviceView(out.Device), DeviceSecret: out.Secret})
	return nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	list, err := ds.Devices(r.Context(), p)
	if err != nil {
		return err
	}
	out := Devices{Devices: []DeviceView{}}
	for _, d := range list {
		out.Devices = append(out.Devices, deviceView(d))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	d, err := ds.Device(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, deviceView(d))
	return nil
}

func (s *Server) renameDevice(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req RenameDeviceRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	d, err := ds.RenameDevice(r.Context(), p, r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, deviceView(d))
	return nil
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	if err := ds.DeleteDevice(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- supervisor ----

func (s *Server) getSystemDeviceSetup(w http.ResponseWriter, r *http.Request, adm flows.Admin) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	if adm.OrgID != "" {
		return domain.Errorf(domain.EForbidden, "supervisor-only", "Only the full-rights admin key may read system-wide settings.")
	}
	sys, err := ds.System(r.Context())
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, SystemDeviceSetupView{Enabled: sys.Enabled, DefaultOrganization: sys.DefaultOrganization, Locked: ds.Locked()})
	return nil
}

func (s *Server) putSystemDeviceSetup(w http.ResponseWriter, r *http.Request, adm flows.Admin) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req SystemDeviceSetup
	if err := decode(w, r, &req); err != nil {
		return err
	}
	sys, err := ds.PutSystem(r.Context(), adm, domain.SystemDeviceSetup(req))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, SystemDeviceSetupView{Enabled: sys.Enabled, DefaultOrganization: sys.DefaultOrganization, Locked: ds.Locked()})
	return nil
}

// ---- back-office installation codes ----

func (s *Server) createInstallationCode(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req CreateInstallationCodeRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, code, err := ds.CreateCode(r.Context(), adm, org, devices.CodeInput{Platform: req.Platform, AccountID: req.AccountID,
		ExpiresAt: req.ExpiresAt, UsageLimit: req.UsageLimit, UsageDelay: time.Duration(req.UsageDelay)})
	if err != nil {
		return err
	}
	v := codeView(c)
	v.Code, v.ProvisioningURL = code, ds.ProvisioningURL(code)
	v.QRURL = v.ProvisioningURL + "/qr.svg"
	encode(w, http.StatusCreated, v)
	return nil
}

func (s *Server) listInstallationCodes(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	list, err := ds.Codes(r.Context(), org)
	if err != nil {
		return err
	}
	out := InstallationCodes{InstallationCodes: []InstallationCodeView{}}
	for _, c := range list {
		out.InstallationCodes = append(out.InstallationCodes, codeView(c))
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) getInstallationCode(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	c, err := ds.Code(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, codeView(c))
	return nil
}

func (s *Server) revokeInstallationCode(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	c, err := ds.RevokeCode(r.Context(), adm, org, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, codeView(c))
	return nil
}
