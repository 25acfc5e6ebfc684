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

// DeviceView is a device as the API shows it.
type DeviceView struct {
	ID            string            `json:"id"`
	Platform      string            `json:"platform"`
	Name          string            `json:"name"`
	Serial        string            `json:"serial"`
	Model         string            `json:"model"`
	OS            string            `json:"os"`
	State         string            `json:"state"`
	Settings      map[string]string `json:"settings"`
	CreatedAt     time.Time         `json:"created_at"`
	ProvisionedAt *time.Time        `json:"provisioned_at"`
}

func deviceView(d domain.Device) DeviceView {
	return DeviceView{ID: d.ID, Platform: d.Platform, Name: d.Name, Serial: d.Serial, Model: d.Model, OS: d.OS, State: d.State,
		Settings: props(d.Settings), CreatedAt: d.CreatedAt, ProvisionedAt: d.ProvisionedAt}
}

// InstallationCodeView is a back-office installation code as the admin API shows it.
type InstallationCodeView struct {
	ID         string          `json:"id"`
	Platform   string          `json:"platform"`
	AccountID  *string         `json:"account_id"`
	ExpiresAt  time.Time       `json:"expires_at"`
	UsageLimit int             `json:"usage_limit"`
	UsageDelay domain.Duration `json:"usage_delay"`
	TimesUsed  int             `json:"times_used"`
	LastUsedAt *time.Time      `json:"last_used_at"`
	RevokedAt  *time.Time      `json:"revoked_at"`
	CreatedBy  string          `json:"created_by"`
	CreatedAt  time.Time       `json:"created_at"`
	// Code, ProvisioningURL and QRURL are shown once, when the code is created.
	Code            string `json:"code,omitempty"`
	ProvisioningURL string `json:"provisioning_url,omitempty"`
	QRURL           string `json:"qr_url,omitempty"`
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

type setupSignupRequest struct {
	Email        string `json:"email"`
	Organization string `json:"organization,omitempty"`
}

type statusView struct {
	Status string `json:"status"`
}

func (s *Server) startSetupSignup(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req setupSignupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := ds.StartSignup(r.Context(), req.Organization, req.Email, s.clientIP(r), requestLanguage(r)); err != nil {
		return err
	}
	encode(w, http.StatusAccepted, statusView{Status: "email_sent"})
	return nil
}

type deviceTypeView struct {
	Platform            string `json:"platform"`
	SMSInstallationCode bool   `json:"sms_installation_code"`
}

type deviceTypesView struct {
	DeviceTypes []deviceTypeView `json:"device_types"`
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
	out := deviceTypesView{DeviceTypes: []deviceTypeView{}}
	for _, t := range types {
		out.DeviceTypes = append(out.DeviceTypes, deviceTypeView{t.Platform, t.SMSInstallationCode})
	}
	encode(w, http.StatusOK, out)
	return nil
}

type setupDeviceRequest struct {
	Platform string `json:"platform"`
	Name     string `json:"name"`
	Phone    string `json:"phone,omitempty"`
}

type setupDeviceView struct {
	Device           DeviceView `json:"device"`
	InstallationCode string     `json:"installation_code"`
	ProvisioningURL  string     `json:"provisioning_url"`
	QRURL            string     `json:"qr_url"`
	Instructions     string     `json:"instructions"`
	SMSSent          bool       `json:"sms_sent"`
}

func (s *Server) createSetupDevice(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req setupDeviceRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	setup, err := ds.CreateDevice(r.Context(), p, devices.NewDevice{Platform: req.Platform, Name: req.Name, Phone: req.Phone,
		Language: requestLanguage(r)})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, setupDeviceView{Device: deviceView(setup.Device), InstallationCode: setup.InstallationCode,
		ProvisioningURL: setup.ProvisioningURL, QRURL: setup.ProvisioningURL + "/qr.svg", Instructions: setup.Instructions,
		SMSSent: setup.SMSSent})
	return nil
}

type provisionDevice struct {
	Serial string `json:"serial,omitempty"`
	Model  string `json:"model,omitempty"`
	OS     string `json:"os,omitempty"`
	Name   string `json:"name,omitempty"`
}

type provisionDeviceRequest struct {
	InstallationCode string          `json:"installation_code"`
	Device           provisionDevice `json:"device"`
}

type provisionedView struct {
	Device       DeviceView `json:"device"`
	DeviceSecret string     `json:"device_secret"`
}

func (s *Server) provisionDevice(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req provisionDeviceRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	out, err := ds.Provision(r.Context(), req.InstallationCode, devices.DeviceInfo{Serial: req.Device.Serial, Model: req.Device.Model,
		OS: req.Device.OS, Name: req.Device.Name})
	if err != nil {
		return err
	}
	encode(w, http.StatusCreated, provisionedView{Device: deviceView(out.Device), DeviceSecret: out.Secret})
	return nil
}

type devicesView struct {
	Devices []DeviceView `json:"devices"`
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
	out := devicesView{Devices: []DeviceView{}}
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

type renameDeviceRequest struct {
	Name string `json:"name"`
}

func (s *Server) renameDevice(w http.ResponseWriter, r *http.Request, p flows.Principal) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req renameDeviceRequest
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
	encode(w, http.StatusOK, sys)
	return nil
}

func (s *Server) putSystemDeviceSetup(w http.ResponseWriter, r *http.Request, adm flows.Admin) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req domain.SystemDeviceSetup
	if err := decode(w, r, &req); err != nil {
		return err
	}
	sys, err := ds.PutSystem(r.Context(), adm, req)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, sys)
	return nil
}

// ---- back-office installation codes ----

type createCodeRequest struct {
	Platform   string          `json:"platform"`
	AccountID  string          `json:"account_id,omitempty"`
	ExpiresAt  time.Time       `json:"expires_at"`
	UsageLimit int             `json:"usage_limit"`
	UsageDelay domain.Duration `json:"usage_delay,omitempty"`
}

type codesView struct {
	InstallationCodes []InstallationCodeView `json:"installation_codes"`
}

func (s *Server) createInstallationCode(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	ds, err := s.deviceService()
	if err != nil {
		return err
	}
	var req createCodeRequest
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
	out := codesView{InstallationCodes: []InstallationCodeView{}}
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
