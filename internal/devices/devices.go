// Package devices is onboard's self-service device setup: the supervisor's
// system-wide switch, device owners' sign-up through the setup, their
// devices, installation codes (owners' single-use codes and the back
// office's codes with expiry, usage limit and delay) and provisioning.
package devices

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
)

// settingName is the system setting that holds the supervisor's choice.
const settingName = "device_setup"

// Config are the settings of the device setup.
type Config struct {
	// Enabled and DefaultOrganization are the server configuration's
	// system-wide settings (ONBOARD_DEVICE_SETUP,
	// ONBOARD_DEVICE_SETUP_DEFAULT_ORG). When the configuration turns the
	// setup on or names a default organization, it is in force: the
	// supervisor's stored setting is not used and cannot be changed (the
	// console shows it locked, the admin API answers 409). Otherwise the
	// supervisor's stored setting applies (off until saved).
	Enabled             bool
	DefaultOrganization string
	PublicURL           string
	// CodeTTL is the lifetime of an owner's single-use installation code.
	CodeTTL time.Duration
	// SMSPerPhone and SMSPerAccount limit the installation SMS.
	SMSPerPhone   ratelimit.Rule
	SMSPerAccount ratelimit.Rule
}

// Deps are what the Service needs.
type Deps struct {
	Store   *store.Store
	Flows   *flows.Service
	Limiter flows.Limiter
	// NotifySMS wakes the SMS worker after a commit; may be nil.
	NotifySMS func()
	Now       func() time.Time
	Logger    *slog.Logger
}

// Service runs the device setup.
type Service struct {
	store   *store.Store
	flows   *flows.Service
	limiter flows.Limiter
	notify  func()
	now     func() time.Time
	log     *slog.Logger
	cfg     Config
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	clock := d.Now
	if d.NotifySMS == nil {
		d.NotifySMS = func() {}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 7 * 24 * time.Hour
	}
	if cfg.SMSPerPhone.Limit == 0 {
		cfg.SMSPerPhone = ratelimit.Rule{Limit: 3, Window: time.Hour}
	}
	if cfg.SMSPerAccount.Limit == 0 {
		cfg.SMSPerAccount = ratelimit.Rule{Limit: 10, Window: 24 * time.Hour}
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{store: d.Store, flows: d.Flows, limiter: d.Limiter, notify: d.NotifySMS,
		now: func() time.Time { return store.Timestamp(clock()) }, log: d.Logger, cfg: cfg}
}

// ---- errors ----

func unavailable() error {
	return domain.Errorf(domain.EForbidden, "device-setup-unavailable", "Self-service device setup is not available.")
}

// invalidCode is the one answer for an unknown, used, expired or revoked
// installation code, or one used again too soon.
func invalidCode() error {
	return domain.Errorf(domain.EGone, "installation-code-invalid",
		"This installation code is not valid: it may be unknown, used up, revoked or expired, or used again too soon.")
}

// ---- system-wide settings ----

// Locked reports whether the server configuration sets the system-wide
// settings (see Config), so that they cannot be changed at run time.
func (s *Service) Locked() bool {
	return s.cfg.Enabled || strings.TrimSpace(s.cfg.DefaultOrganization) != ""
}

// System returns the system-wide device setup settings in force: the
// server configuration's when it is given (Locked), else the supervisor's
// stored ones (off when never saved). The stored setting is read at each
// use, so a change is in force on every node at once.
func (s *Service) System(ctx context.Context) (domain.SystemDeviceSetup, error) {
	if s.Locked() {
		return domain.SystemDeviceSetup{Enabled: s.cfg.Enabled, DefaultOrganization: strings.TrimSpace(s.cfg.DefaultOrganization)}, nil
	}
	raw, ok, err := s.store.SystemSetting(ctx, settingName)
	if err != nil {
		return domain.SystemDeviceSetup{}, err
	}
	if !ok {
		return domain.SystemDeviceSetup{}, nil
	}
	var sys domain.SystemDeviceSetup
	if err := json.Unmarshal([]byte(raw), &sys); err != nil {
		return sys, fmt.Errorf("system device setup: %w", err)
	}
	return sys, nil
}

// ErrLocked is the answer to a change of the system-wide settings that the
// server configuration sets.
func ErrLocked() error {
	return domain.Errorf(domain.EConflict, "device-setup-locked",
		"The system-wide device setup is set by the server configuration (ONBOARD_DEVICE_SETUP, ONBOARD_DEVICE_SETUP_DEFAULT_ORG) and cannot be changed here.")
}

// PutSystem stores the system-wide settings, with an audit entry naming
// the admin (a back-office user for the console); only the full-rights
// admin key and supervisors may, and only when the server configuration
// does not set them.
func (s *Service) PutSystem(ctx context.Context, adm flows.Admin, sys domain.SystemDeviceSetup) (domain.SystemDeviceSetup, error) {
	if adm.OrgID != "" {
		return sys, domain.Errorf(domain.EForbidden, "supervisor-only", "Only the full-rights admin key may change system-wide settings.")
	}
	if s.Locked() {
		return sys, ErrLocked()
	}
	sys.DefaultOrganization = strings.TrimSpace(sys.DefaultOrganization)
	if sys.DefaultOrganization != "" {
		if _, err := s.store.OrganizationByName(ctx, sys.DefaultOrganization); err != nil {
			if store.IsNotFound(err) {
				return sys, domain.Invalid(domain.FieldError{Field: "default_organization", Message: "no such organization"})
			}
			return sys, err
		}
	}
	raw, err := json.Marshal(sys)
	if err != nil {
		return sys, fmt.Errorf("put system device setup: %w", err)
	}
	before, err := s.System(ctx)
	if err != nil {
		return sys, err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PutSystemSetting(ctx, settingName, string(raw), now); err != nil {
			return err
		}
		// System-wide changes are kept in the default organization's log.
		auditOrg := ""
		if def, err := tx.OrganizationByName(ctx, flows.DefaultOrganization); err == nil {
			auditOrg = def.ID
		} else if !store.IsNotFound(err) {
			return err
		}
		return flows.Audit(ctx, tx, auditOrg, adm, "system_setting.updated", settingName, map[string]any{
			"before": map[string]any{"enabled": before.Enabled, "default_organization": before.DefaultOrganization},
			"after":  map[string]any{"enabled": sys.Enabled, "default_organization": sys.DefaultOrganization}}, now)
	})
	if err != nil {
		return sys, fmt.Errorf("put system device setup: %w", err)
	}
	return sys, nil
}

// ErrChooseOrganization is returned by SetupOrganization when no
// organization was named and there is no default one.
var ErrChooseOrganization = domain.Errorf(domain.EInvalid, "validation-error", "Name the organization.")

// SetupOrganization returns the organization whose setup a person uses:
// the named one, else the default organization for device setup. It is a
// 403 problem when the setup is off system-wide, or off (or unknown) for
// the organization; domain.EInvalid on "organization" when none is named
// and there is no default.
func (s *Service) SetupOrganization(ctx context.Context, name string) (domain.Organization, error) {
	sys, err := s.System(ctx)
	if err != nil {
		return domain.Organization{}, err
	}
	if !sys.Enabled {
		return domain.Organization{}, unavailable()
	}
	if name == "" {
		name = sys.DefaultOrganization
	}
	if name == "" {
		return domain.Organization{}, domain.Invalid(domain.FieldError{Field: "organization", Message: "is required: there is no default organization for device setup"})
	}
	org, err := s.flows.Organization(ctx, name)
	if domain.ErrorCode(err) == domain.ENotFound {
		return org, unavailable()
	}
	if err != nil {
		return org, err
	}
	if !org.Onboarding.DeviceSetup.Enabled {
		return org, unavailable()
	}
	return org, nil
}

// enabledFor checks both switches for an organization.
func (s *Service) enabledFor(ctx context.Context, org domain.Organization) error {
	sys, err := s.System(ctx)
	if err != nil {
		return err
	}
	if !sys.Enabled || !org.Onboarding.DeviceSetup.Enabled {
		return unavailable()
	}
	return nil
}

// ---- device owners ----

// StartSignup starts a device owner's registration through the setup of
// the named organization ("" → the default one): a mailed link, as for
// every sign-up, that leads to an account made from the account template.
func (s *Service) StartSignup(ctx context.Context, orgName, email, clientIP, lang string) error {
	org, err := s.SetupOrganization(ctx, orgName)
	if err != nil {
		return err
	}
	return s.flows.StartDeviceSetupSignup(ctx, org, email, clientIP, lang)
}

// DeviceType is a platform the setup offers.
type DeviceType struct {
	Platform string
	// SMSInstallationCode is set when the provisioning address is sent by SMS.
	SMSInstallationCode bool
}

// ownerOrg returns the organization of a signed-in device owner, with the
// setup enabled, and checks that the owner may manage devices.
func (s *Service) ownerOrg(ctx context.Context, p flows.Principal) (domain.Organization, error) {
	org, err := s.flows.OrganizationByID(ctx, p.User.OrgID)
	if err != nil {
		return org, err
	}
	if err := s.enabledFor(ctx, org); err != nil {
		return org, err
	}
	if p.Account.Kind != domain.KindCustomer {
		return org, domain.Errorf(domain.EForbidden, "customers-only", "Only customers set devices up.")
	}
	return org, nil
}

func requireAdmin(p flows.Principal) error {
	if !p.Can(domain.PermAccountAdmin) {
		return domain.Errorf(domain.EForbidden, "forbidden", "Your user type does not allow managing devices (%s).", domain.PermAccountAdmin)
	}
	return nil
}

// DeviceTypes lists the platforms the owner's organization has a template for.
func (s *Service) DeviceTypes(ctx context.Context, p flows.Principal) ([]DeviceType, error) {
	org, err := s.ownerOrg(ctx, p)
	if err != nil {
		return nil, err
	}
	ds := org.Onboarding.DeviceSetup
	out := []DeviceType{}
	for _, pl := range ds.Platforms() {
		out = append(out, DeviceType{Platform: pl, SMSInstallationCode: ds.DeviceTemplates[pl].SMSInstallationCode})
	}
	return out, nil
}

// NewDevice is an owner's request for a device.
type NewDevice struct {
	Platform string
	Name     string
	// Phone (E.164) receives the provisioning address by SMS, for
	// platforms whose template asks for it.
	Phone    string
	Language string
}

// Setup is a device waiting to be provisioned: its single-use code, the
// provisioning address and the instructions, shown once.
type Setup struct {
	Device           domain.Device
	InstallationCode string
	ProvisioningURL  string
	Instructions     string
	SMSSent          bool
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// NormalizePhone removes spaces, dots, dashes and parentheses from a phone number.
func NormalizePhone(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(" .-()\u00a0", r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

func checkText(field, v string, required bool, max int) *domain.FieldError {
	switch {
	case required && strings.TrimSpace(v) == "":
		return &domain.FieldError{Field: field, Message: "is required"}
	case utf8.RuneCountInString(v) > max:
		return &domain.FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", max)}
	case strings.ContainsFunc(v, unicode.IsControl):
		return &domain.FieldError{Field: field, Message: "must not contain control characters such as tabs or line breaks"}
	}
	return nil
}

// CreateDevice creates, in one transaction, a pending device of the
// owner's customer and its single-use installation code (and, for a
// platform that asks for it, the SMS with the provisioning address).
func (s *Service) CreateDevice(ctx context.Context, p flows.Principal, in NewDevice) (Setup, error) {
	org, err := s.ownerOrg(ctx, p)
	if err != nil {
		return Setup{}, err
	}
	if err := requireAdmin(p); err != nil {
		return Setup{}, err
	}
	ds := org.Onboarding.DeviceSetup
	var fields []domain.FieldError
	tmpl, ok := ds.DeviceTemplates[in.Platform]
	if !ok {
		fields = append(fields, domain.FieldError{Field: "platform", Message: "must be one of " + strings.Join(ds.Platforms(), ", ")})
	}
	in.Name = strings.TrimSpace(in.Name)
	if fe := checkText("name", in.Name, true, 100); fe != nil {
		fields = append(fields, *fe)
	}
	phone := NormalizePhone(in.Phone)
	switch {
	case ok && tmpl.SMSInstallationCode && phone == "":
		fields = append(fields, domain.FieldError{Field: "phone", Message: "is required: the provisioning address is sent by SMS"})
	case phone != "" && !e164.MatchString(phone):
		fields = append(fields, domain.FieldError{Field: "phone", Message: "must be an international number such as +393471234567"})
	case ok && !tmpl.SMSInstallationCode && phone != "":
		fields = append(fields, domain.FieldError{Field: "phone", Message: "is not used for this device type"})
	}
	if len(fields) > 0 {
		return Setup{}, domain.Invalid(fields...)
	}
	if phone != "" {
		if err := s.rateLimit(ctx, "sms:phone:"+phone, s.cfg.SMSPerPhone); err != nil {
			return Setup{}, err
		}
		if err := s.rateLimit(ctx, "sms:account:"+p.Account.ID, s.cfg.SMSPerAccount); err != nil {
			return Setup{}, err
		}
	}
	code, hash, err := auth.NewToken()
	if err != nil {
		return Setup{}, fmt.Errorf("create device: %w", err)
	}
	now := s.now()
	d := domain.Device{ID: store.NewID(), OrgID: org.ID, AccountID: p.Account.ID, Platform: in.Platform, Name: in.Name,
		State: domain.DevicePending, Settings: tmpl.Settings, CreatedAt: now, UpdatedAt: now}
	c := domain.InstallationCode{ID: store.NewID(), OrgID: org.ID, Platform: in.Platform, CodeHash: hash, AccountID: p.Account.ID,
		DeviceID: d.ID, CreatedBy: "user:" + p.User.ID, ExpiresAt: now.Add(s.cfg.CodeTTL), UsageLimit: 1, CreatedAt: now}
	setup := Setup{Device: d, InstallationCode: code, ProvisioningURL: s.ProvisioningURL(code), SMSSent: phone != ""}
	setup.Instructions, err = domain.RenderInstructions(tmpl.InstructionsIn(in.Language), domain.InstructionData{
		ProvisioningURL: setup.ProvisioningURL, InstallationCode: code, DeviceName: d.Name})
	if err != nil {
		return Setup{}, fmt.Errorf("create device: %w", err)
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateDevice(ctx, d); err != nil {
			return err
		}
		if err := tx.CreateInstallationCode(ctx, c); err != nil {
			return err
		}
		if phone != "" {
			if err := tx.EnqueueSMS(ctx, store.SMS{ID: store.NewID(), OrgID: org.ID, To: phone,
				Body: smsBody(in.Language, displayName(org), setup.ProvisioningURL)}, now); err != nil {
				return err
			}
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "user:" + p.User.ID, Action: "device.created", SubjectID: d.ID,
			Data: map[string]any{"account_id": p.Account.ID, "platform": d.Platform, "sms": phone != ""}, CreatedAt: now})
	})
	if err != nil {
		return Setup{}, fmt.Errorf("create device: %w", err)
	}
	if phone != "" {
		s.notify()
	}
	return setup, nil
}

func displayName(org domain.Organization) string {
	switch {
	case org.Onboarding.Branding.DisplayName != "":
		return org.Onboarding.Branding.DisplayName
	case org.DisplayName != "":
		return org.DisplayName
	}
	return org.Name
}

// smsBody is the text of the installation SMS (kept short: one SMS).
func smsBody(lang, org, link string) string {
	if lang == "it" {
		return org + ": registra il tuo dispositivo: " + link
	}
	return org + ": register your device: " + link
}

// ProvisioningURL is the address that provisions a device with a code.
func (s *Service) ProvisioningURL(code string) string {
	return s.cfg.PublicURL + "/provision/" + url.PathEscape(code)
}

func (s *Service) rateLimit(ctx context.Context, key string, r ratelimit.Rule) error {
	if r.Limit <= 0 {
		return nil
	}
	d, err := s.limiter.Allow(ctx, key, r)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return &domain.Error{Code: domain.ERateLimited, Slug: "rate-limited", Detail: "Too many attempts. Try again later.", RetryAfter: d.RetryAfter}
	}
	return nil
}

// Devices lists the devices of the owner's customer.
func (s *Service) Devices(ctx context.Context, p flows.Principal) ([]domain.Device, error) {
	if _, err := s.ownerOrg(ctx, p); err != nil {
		return nil, err
	}
	return s.store.DevicesOfAccount(ctx, p.User.OrgID, p.Account.ID)
}

// Device returns one device of the owner's customer (404 for any other).
func (s *Service) Device(ctx context.Context, p flows.Principal, id string) (domain.Device, error) {
	if _, err := s.ownerOrg(ctx, p); err != nil {
		return domain.Device{}, err
	}
	d, err := s.store.Device(ctx, p.User.OrgID, p.Account.ID, id)
	if store.IsNotFound(err) {
		return d, deviceNotFound()
	}
	return d, err
}

func deviceNotFound() error {
	return domain.Errorf(domain.ENotFound, "device-not-found", "There is no such device.")
}

// RenameDevice renames a device of the owner's customer.
func (s *Service) RenameDevice(ctx context.Context, p flows.Principal, id, name string) (domain.Device, error) {
	org, err := s.ownerOrg(ctx, p)
	if err != nil {
		return domain.Device{}, err
	}
	if err := requireAdmin(p); err != nil {
		return domain.Device{}, err
	}
	name = strings.TrimSpace(name)
	if fe := checkText("name", name, true, 100); fe != nil {
		return domain.Device{}, domain.Invalid(*fe)
	}
	now := s.now()
	var d domain.Device
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.RenameDevice(ctx, org.ID, p.Account.ID, id, name, now)
		if err != nil {
			return err
		}
		if !ok {
			return deviceNotFound()
		}
		if d, err = tx.Device(ctx, org.ID, p.Account.ID, id); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "user:" + p.User.ID, Action: "device.renamed", SubjectID: id,
			Data: map[string]any{"name": name}, CreatedAt: now})
	})
	return d, err
}

// DeleteDevice removes a device of the owner's customer (and its code).
func (s *Service) DeleteDevice(ctx context.Context, p flows.Principal, id string) error {
	org, err := s.ownerOrg(ctx, p)
	if err != nil {
		return err
	}
	if err := requireAdmin(p); err != nil {
		return err
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.DeleteDevice(ctx, org.ID, p.Account.ID, id)
		if err != nil {
			return err
		}
		if !ok {
			return deviceNotFound()
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: "user:" + p.User.ID, Action: "device.deleted", SubjectID: id,
			CreatedAt: now})
	})
}

// ---- provisioning ----

// DeviceInfo is what a device tells of itself when it is provisioned.
type DeviceInfo struct {
	Serial string
	Model  string
	OS     string
	Name   string
	// OwnerEmail is the address of the device's owner. It is required by
	// (and only accepted for) a back-office code without an account: the
	// device then goes to that owner's customer, created with the owner
	// invited when the address is new (see flows.DeviceOwnerAccountTx).
	OwnerEmail string
	// Language is the language of the owner's invitation mail.
	Language string
}

// Provisioned is a device that was just provisioned, with its secret
// (shown once; only its SHA-256 is kept).
type Provisioned struct {
	Device domain.Device
	Secret string
}

// Provision uses an installation code: the owner's pending device becomes
// active, or (a back-office code) a new active device is made for the
// code's account or for a new account made from the account template. An
// unknown, used, expired, revoked or too-soon code gets one answer.
func (s *Service) Provision(ctx context.Context, code string, info DeviceInfo) (Provisioned, error) {
	var fields []domain.FieldError
	info.Name = strings.TrimSpace(info.Name)
	for _, f := range []struct {
		name, v string
	}{{"device.serial", info.Serial}, {"device.model", info.Model}, {"device.os", info.OS}, {"device.name", info.Name}} {
		if fe := checkText(f.name, f.v, false, 100); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if code == "" {
		fields = append(fields, domain.FieldError{Field: "installation_code", Message: "is required"})
	}
	ownerEmail := ""
	if strings.TrimSpace(info.OwnerEmail) != "" {
		var fe *domain.FieldError
		if ownerEmail, fe = flows.ValidEmail("owner_email", info.OwnerEmail); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if len(fields) > 0 {
		return Provisioned{}, domain.Invalid(fields...)
	}
	if !auth.WellFormedToken(code) {
		return Provisioned{}, invalidCode()
	}
	sys, err := s.System(ctx)
	if err != nil {
		return Provisioned{}, err
	}
	if !sys.Enabled {
		return Provisioned{}, unavailable()
	}
	secret, secretHash, err := auth.NewToken()
	if err != nil {
		return Provisioned{}, fmt.Errorf("provision: %w", err)
	}
	now := s.now()
	var out Provisioned
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.LockInstallationCode(ctx, auth.HashToken(code))
		if store.IsNotFound(err) {
			return invalidCode()
		}
		if err != nil {
			return err
		}
		// Read in the transaction: on PostgreSQL every racing provision
		// holds a connection while it waits for the code's row.
		org, err := tx.OrganizationByID(ctx, c.OrgID)
		if err != nil {
			return err
		}
		if !org.Onboarding.DeviceSetup.Enabled {
			return unavailable()
		}
		ok, err := tx.UseInstallationCode(ctx, c, now)
		if err != nil {
			return err
		}
		if !ok {
			return invalidCode()
		}
		claimable := c.DeviceID == "" && c.AccountID == ""
		switch {
		case claimable && ownerEmail == "":
			return domain.Invalid(domain.FieldError{Field: "owner_email",
				Message: "is required: this installation code creates an account for the device's owner, who is invited by email"})
		case !claimable && ownerEmail != "":
			return domain.Invalid(domain.FieldError{Field: "owner_email",
				Message: "is not used: this installation code provisions a device for an existing account"})
		}
		if c.DeviceID != "" {
			d, err := tx.Device(ctx, c.OrgID, c.AccountID, c.DeviceID)
			if store.IsNotFound(err) {
				return invalidCode()
			}
			if err != nil {
				return err
			}
			d.Serial, d.Model, d.OS, d.SecretHash, d.ProvisionedAt = info.Serial, info.Model, info.OS, secretHash, &now
			if info.Name != "" {
				d.Name = info.Name
			}
			if ok, err := tx.ActivateDevice(ctx, d); err != nil {
				return err
			} else if !ok {
				return invalidCode()
			}
			d.State, d.UpdatedAt = domain.DeviceActive, now
			out.Device = d
		} else {
			accountID := c.AccountID
			created := true
			if accountID == "" {
				acct, isNew, err := s.flows.DeviceOwnerAccountTx(ctx, tx, org, ownerEmail, info.Language, now)
				if err != nil {
					return err
				}
				accountID, created = acct.ID, isNew
			}
			name := info.Name
			if name == "" {
				name = strings.TrimSpace(c.Platform + " " + info.Model)
			}
			d := domain.Device{ID: store.NewID(), OrgID: org.ID, AccountID: accountID, Platform: c.Platform, Name: name,
				Serial: info.Serial, Model: info.Model, OS: info.OS, State: domain.DeviceActive,
				Settings: org.Onboarding.DeviceSetup.DeviceTemplates[c.Platform].Settings, SecretHash: secretHash,
				CreatedAt: now, UpdatedAt: now, ProvisionedAt: &now}
			if err := tx.CreateDevice(ctx, d); err != nil {
				return err
			}
			out.Device = d
			if !created {
				// The code named the address of a user who already has an
				// account: whoever holds the code could name anyone's, so the
				// owner is told and can remove a device they did not add.
				if err := s.noticeDeviceAdded(ctx, tx, org, ownerEmail, d, now); err != nil {
					return err
				}
			}
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: c.OrgID, Actor: "installation_code:" + c.ID, Action: "device.provisioned",
			SubjectID: out.Device.ID, Data: map[string]any{"account_id": out.Device.AccountID, "platform": out.Device.Platform}, CreatedAt: now})
	})
	if err != nil {
		if domain.AsError(err) != nil {
			return Provisioned{}, err
		}
		return Provisioned{}, fmt.Errorf("provision: %w", err)
	}
	out.Secret = secret
	// An invitation (a new owner, or one invited before) may be queued.
	if ownerEmail != "" {
		s.flows.WakeMail()
	}
	return out, nil
}

// noticeDeviceAdded queues the mail that tells an existing, active owner
// that a back-office code added device d to their account.
func (s *Service) noticeDeviceAdded(ctx context.Context, tx *store.Tx, org domain.Organization, email string, d domain.Device, now time.Time) error {
	u, err := tx.UserByEmail(ctx, org.ID, email)
	if err != nil {
		return fmt.Errorf("device owner: %w", err)
	}
	if u.Status != domain.StatusActive {
		return nil // an invited owner gets the invitation instead
	}
	orgName := org.DisplayName
	if orgName == "" {
		orgName = org.Name
	}
	m, err := s.flows.QueueMail(org, u.Language, obmail.TemplateDeviceAdded, u.Email, obmail.DeviceAddedData{
		Organization: orgName, DeviceName: d.Name, Platform: d.Platform,
		DevicesURL: s.cfg.PublicURL + flows.PagePath(org.Name, "/setup/devices")})
	if err != nil {
		return err
	}
	return tx.EnqueueMail(ctx, m, now)
}

// ---- back-office installation codes ----

// CodeInput is a back-office installation code to create.
type CodeInput struct {
	Platform   string
	AccountID  string // "": each use creates an account from the template
	ExpiresAt  time.Time
	UsageLimit int
	UsageDelay time.Duration
}

// CreateCode creates a back-office installation code and returns it with
// the code itself (shown once; only its SHA-256 is kept).
func (s *Service) CreateCode(ctx context.Context, adm flows.Admin, org domain.Organization, in CodeInput) (domain.InstallationCode, string, error) {
	now := s.now()
	var fields []domain.FieldError
	add := func(f, m string) { fields = append(fields, domain.FieldError{Field: f, Message: m}) }
	if _, ok := org.Onboarding.DeviceSetup.DeviceTemplates[in.Platform]; !ok {
		add("platform", "must be a platform with a device template in the onboarding configuration's device_setup")
	}
	switch {
	case in.ExpiresAt.IsZero():
		add("expires_at", "is required")
	case !in.ExpiresAt.After(now):
		add("expires_at", "must be in the future")
	case in.ExpiresAt.After(now.Add(366 * 24 * time.Hour)):
		add("expires_at", "must be within a year")
	}
	if in.UsageLimit < 1 || in.UsageLimit > 100000 {
		add("usage_limit", "must be between 1 and 100000")
	}
	if in.UsageDelay < 0 || in.UsageDelay > 30*24*time.Hour {
		add("usage_delay", "must be between 0s and 720h")
	}
	if in.AccountID != "" {
		a, err := s.store.AccountByID(ctx, org.ID, in.AccountID)
		switch {
		case store.IsNotFound(err):
			add("account_id", "no such customer")
		case err != nil:
			return domain.InstallationCode{}, "", err
		case a.Kind != domain.KindCustomer:
			add("account_id", "must be a customer")
		}
	}
	if len(fields) > 0 {
		return domain.InstallationCode{}, "", domain.Invalid(fields...)
	}
	code, hash, err := auth.NewToken()
	if err != nil {
		return domain.InstallationCode{}, "", fmt.Errorf("create installation code: %w", err)
	}
	c := domain.InstallationCode{ID: store.NewID(), OrgID: org.ID, Platform: in.Platform, CodeHash: hash, AccountID: in.AccountID,
		CreatedBy: adm.Actor(), ExpiresAt: store.Timestamp(in.ExpiresAt), UsageLimit: in.UsageLimit, UsageDelay: in.UsageDelay, CreatedAt: now}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateInstallationCode(ctx, c); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: adm.Actor(), Action: "installation_code.created", SubjectID: c.ID,
			Data: map[string]any{"platform": c.Platform, "account_id": c.AccountID, "usage_limit": c.UsageLimit,
				"expires_at": c.ExpiresAt}, CreatedAt: now})
	})
	if err != nil {
		return c, "", fmt.Errorf("create installation code: %w", err)
	}
	return c, code, nil
}

// Codes lists the organization's back-office codes.
func (s *Service) Codes(ctx context.Context, org domain.Organization) ([]domain.InstallationCode, error) {
	return s.store.InstallationCodes(ctx, org.ID)
}

// Code returns one back-office code.
func (s *Service) Code(ctx context.Context, org domain.Organization, id string) (domain.InstallationCode, error) {
	c, err := s.store.InstallationCode(ctx, org.ID, id)
	if store.IsNotFound(err) {
		return c, codeNotFound()
	}
	return c, err
}

func codeNotFound() error {
	return domain.Errorf(domain.ENotFound, "installation-code-not-found", "There is no such installation code.")
}

// RevokeCode revokes a back-office code; a revoked code provisions nothing.
func (s *Service) RevokeCode(ctx context.Context, adm flows.Admin, org domain.Organization, id string) (domain.InstallationCode, error) {
	now := s.now()
	var c domain.InstallationCode
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = tx.InstallationCode(ctx, org.ID, id); store.IsNotFound(err) {
			return codeNotFound()
		} else if err != nil {
			return err
		}
		if c.RevokedAt == nil {
			if _, err := tx.RevokeInstallationCode(ctx, org.ID, id, now); err != nil {
				return err
			}
			c.RevokedAt = &now
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: adm.Actor(), Action: "installation_code.revoked", SubjectID: id, CreatedAt: now})
	})
	return c, err
}

// Platforms is the set of built-in platforms, for pages that name them.
func Platforms() []string { return slices.Clone(domain.Platforms) }

// IsUnavailable reports whether err is the "device setup not available" problem.
func IsUnavailable(err error) bool {
	var de *domain.Error
	return errors.As(err, &de) && de.Slug == "device-setup-unavailable"
}
