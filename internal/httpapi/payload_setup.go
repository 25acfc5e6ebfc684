package httpapi

import (
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Payloads of the self-service device setup, provisioning and installation
// codes (devices.go). The OpenAPI document's component schemas are
// generated from them (openapi_schemas.go).

// SetupSignupRequest starts the device setup of a new owner.
type SetupSignupRequest struct {
	// The owner's email address.
	Email string `json:"email" jsonschema:"maxLength=254"`
	// The organization's name; default: the default organization for device setup.
	Organization string `json:"organization,omitempty"`
}

// SetupStatus says that the setup link was mailed.
type SetupStatus struct {
	// Always `email_sent`.
	Status string `json:"status" jsonschema:"enum=email_sent"`
}

// DeviceType is a platform the owner may set up.
type DeviceType struct {
	// android, ios, windows, macos, linux or a custom name.
	Platform string `json:"platform"`
	// The provisioning link is sent by SMS.
	SMSInstallationCode bool `json:"sms_installation_code"`
}

// DeviceTypes are the platforms the owner may set up.
type DeviceTypes struct {
	DeviceTypes []DeviceType `json:"device_types"`
}

// SetupDeviceRequest adds a device to set up.
type SetupDeviceRequest struct {
	// A platform with a device template.
	Platform string `json:"platform"`
	// The device's name.
	Name string `json:"name" jsonschema:"maxLength=100"`
	// E.164 phone number for the SMS (SMS platforms only).
	Phone string `json:"phone,omitempty"`
}

// Device is a device of a customer.
type Device struct {
	// Opaque id.
	ID string `json:"id"`
	// The platform.
	Platform string `json:"platform"`
	// The name.
	Name string `json:"name"`
	// Serial number the device gave.
	Serial string `json:"serial"`
	// Model the device gave.
	Model string `json:"model"`
	// Operating system the device gave.
	OS string `json:"os"`
	// `pending` until provisioned, then `active`.
	State string `json:"state" jsonschema:"enum=pending,enum=active"`
	// The platform template's device settings.
	Settings map[string]string `json:"settings"`
	// When it was added.
	CreatedAt time.Time `json:"created_at"`
	// When it was provisioned; null while pending.
	ProvisionedAt *time.Time `json:"provisioned_at" jsonschema:"nullable"`
}

// DeviceView is a device as the API shows it.
type DeviceView = Device

// SetupDevice is an added device and the link that provisions it.
type SetupDevice struct {
	Device Device `json:"device"`
	// The single-use code (shown once).
	InstallationCode string `json:"installation_code"`
	// `<public-url>/provision/{code}`.
	ProvisioningURL string `json:"provisioning_url" jsonschema:"format=uri"`
	// A QR code (SVG) of the provisioning link.
	QRURL string `json:"qr_url" jsonschema:"format=uri"`
	// The platform's instructions, filled in.
	Instructions string `json:"instructions"`
	// The link is on its way by SMS.
	SMSSent bool `json:"sms_sent"`
}

// ProvisionDevice is what a device tells of itself when it is provisioned.
type ProvisionDevice struct {
	// Serial number.
	Serial string `json:"serial,omitempty" jsonschema:"maxLength=100"`
	// Model.
	Model string `json:"model,omitempty" jsonschema:"maxLength=100"`
	// Operating system.
	OS string `json:"os,omitempty" jsonschema:"maxLength=100"`
	// Name; default: the owner's name for it, or the platform and model.
	Name string `json:"name,omitempty" jsonschema:"maxLength=100"`
}

// ProvisionRequest provisions a device with an installation code.
type ProvisionRequest struct {
	// The installation code.
	InstallationCode string          `json:"installation_code"`
	Device           ProvisionDevice `json:"device,omitzero"`
	// The email address of the device's owner: required with a back-office
	// installation code that has no account (each use creates the owner's
	// customer, or uses the one of the user with that address), and refused
	// with any other code. A new owner is invited by email to choose a
	// password and then sees the device in `/setup/devices`.
	OwnerEmail string `json:"owner_email,omitempty" jsonschema:"format=idn-email,maxLength=254"`
}

// ProvisionedDevice is a provisioned device and its secret.
type ProvisionedDevice struct {
	Device Device `json:"device"`
	// The device's secret, shown once; only its SHA-256 is stored.
	DeviceSecret string `json:"device_secret"`
}

// Devices are the devices of a customer.
type Devices struct {
	Devices []Device `json:"devices"`
}

// RenameDeviceRequest renames a device.
type RenameDeviceRequest struct {
	// The new name.
	Name string `json:"name" jsonschema:"maxLength=100"`
}

// SystemDeviceSetup is the supervisor's system-wide device setup settings.
type SystemDeviceSetup struct {
	// Device setup enabled (system-wide).
	Enabled bool `json:"enabled"`
	// The organization `/setup` uses; empty: `/setup` asks.
	DefaultOrganization string `json:"default_organization"`
}

// SystemDeviceSetupView is the system-wide device setup in force.
type SystemDeviceSetupView struct {
	// Device setup enabled (system-wide).
	Enabled bool `json:"enabled"`
	// The organization `/setup` uses; empty: `/setup` asks.
	DefaultOrganization string `json:"default_organization"`
	// True when the server configuration (`ONBOARD_DEVICE_SETUP`,
	// `ONBOARD_DEVICE_SETUP_DEFAULT_ORG`) sets these settings: they cannot be
	// changed through the API or the console (409).
	Locked bool `json:"locked"`
}

// CreateInstallationCodeRequest creates a back-office installation code.
type CreateInstallationCodeRequest struct {
	// A platform with a device template.
	Platform string `json:"platform"`
	// A customer of the organization; absent: each use creates an account from the template.
	AccountID string `json:"account_id,omitempty"`
	// When the code stops working (RFC 3339).
	ExpiresAt time.Time `json:"expires_at"`
	// How many devices it may provision.
	UsageLimit int `json:"usage_limit" jsonschema:"minimum=1,maximum=100000"`
	// Least time between two uses, a Go duration such as `1m` (default 0s).
	UsageDelay domain.Duration `json:"usage_delay,omitempty" jsonschema:"type=string"`
}

// InstallationCode is a back-office installation code.
type InstallationCode struct {
	// Opaque id.
	ID string `json:"id"`
	// The platform.
	Platform string `json:"platform"`
	// The customer it provisions for; null: an account per use.
	AccountID *string `json:"account_id" jsonschema:"nullable"`
	// Expiry.
	ExpiresAt time.Time `json:"expires_at"`
	// Most uses.
	UsageLimit int `json:"usage_limit"`
	// Least time between two uses.
	UsageDelay domain.Duration `json:"usage_delay" jsonschema:"type=string"`
	// Uses so far.
	TimesUsed int `json:"times_used"`
	// Last use.
	LastUsedAt *time.Time `json:"last_used_at" jsonschema:"nullable"`
	// When revoked.
	RevokedAt *time.Time `json:"revoked_at" jsonschema:"nullable"`
	// Who created it.
	CreatedBy string `json:"created_by"`
	// When created.
	CreatedAt time.Time `json:"created_at"`
	// The code; only in the answer that created it.
	Code string `json:"code,omitempty"`
	// The provisioning link; only when created.
	ProvisioningURL string `json:"provisioning_url,omitempty" jsonschema:"format=uri"`
	// Its QR code (SVG); only when created.
	QRURL string `json:"qr_url,omitempty" jsonschema:"format=uri"`
}

// InstallationCodeView is a back-office installation code as the admin API shows it.
type InstallationCodeView = InstallationCode

// InstallationCodes are an organization's installation codes.
type InstallationCodes struct {
	InstallationCodes []InstallationCode `json:"installation_codes"`
}
