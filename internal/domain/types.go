package domain

import (
	"strings"
	"time"
)

// Account types a person can register as.
const (
	AccountCustomerBusiness = "customer_business"
	AccountCustomerPersonal = "customer_personal"
	AccountChannelPartner   = "channel_partner"
	AccountDataRecipient    = "data_recipient"
)

// AccountTypes lists every account type.
var AccountTypes = []string{AccountCustomerBusiness, AccountCustomerPersonal, AccountChannelPartner, AccountDataRecipient}

// Account kinds, and the types within them.
const (
	KindCustomer      = "customer"
	KindPartner       = "partner"
	KindDataRecipient = "data_recipient"

	CustomerBusiness  = "business"
	CustomerPersonal  = "personal"
	PartnerChannel    = "channel"
	TypeDataRecipient = "data_recipient"
)

// KindAndType maps an account type to the kind and type of account it creates.
func KindAndType(accountType string) (kind, typ string) {
	switch accountType {
	case AccountCustomerBusiness:
		return KindCustomer, CustomerBusiness
	case AccountCustomerPersonal:
		return KindCustomer, CustomerPersonal
	case AccountChannelPartner:
		return KindPartner, PartnerChannel
	case AccountDataRecipient:
		return KindDataRecipient, TypeDataRecipient
	}
	return "", ""
}

// Statuses of accounts and users.
const (
	StatusActive          = "active"
	StatusPendingApproval = "pending_approval"
	StatusRejected        = "rejected"
)

// Origins of an account: how it came to exist.
const (
	OriginSelf            = "self_registration"
	OriginBackOffice      = "back_office"
	OriginPartnerProvider = "partner_provider"
)

// Required actions a session must complete before anything else.
const (
	ActionAcceptAgreements = "accept_agreements"
	ActionVerifyCustomer   = "verify_customer"
)

// Permission names.
const (
	PermAccountAdmin        = "customer.account_admin"
	PermPartnerAccountAdmin = "partner.account_admin"
	PermDataAccess          = "data.read"
	PermLocationWrite       = "location.write"
	PermLocationRead        = "location.read"
	PermThingsRead          = "things.read"
	PermThingsWrite         = "things.write"
)

// Signup states.
const (
	SignupPending    = "pending"
	SignupCompleted  = "completed"
	SignupSuperseded = "superseded"
)

// Organization is an OEM tenant.
type Organization struct {
	ID          string
	Name        string // the slug used in URLs and APIs
	DisplayName string
	Onboarding  Onboarding
	CreatedAt   time.Time
	// DisabledAt is when a supervisor disabled the organization (nil:
	// enabled). A disabled organization answers as an unknown one to the
	// public; the console still shows it.
	DisabledAt *time.Time
}

// Onboarding is an organization's onboarding configuration.
type Onboarding struct {
	SelfRegistration                   SelfRegistration  `json:"self_registration"`
	PartnerSelfRegistrationWithoutCode bool              `json:"partner_self_registration_without_code"`
	DefaultLocation                    bool              `json:"default_location"`
	CustomerVerification               bool              `json:"customer_verification"`
	EmailRequirement                   string            `json:"email_requirement"`
	SignupLinkTTL                      Duration          `json:"signup_link_ttl"` // 0: the service default (--signup-ttl)
	DefaultUserTypes                   map[string]string `json:"default_user_types"`
	PartnerProvider                    *PartnerProvider  `json:"partner_provider"`
	Branding                           Branding          `json:"branding"`
	// SSO is the sign-in with OpenID Connect; nil when there is none.
	SSO *SSO `json:"sso,omitempty"`
	// DeviceSetup is the self-service device setup (see devices.go).
	DeviceSetup DeviceSetup `json:"device_setup"`
}

// Branding is how an organization's pages and mails look.
type Branding struct {
	// DisplayName replaces the organization's display name on its pages and
	// in its mail when set.
	DisplayName string `json:"display_name,omitempty"`
	// LogoURL is an https address of the logo, used unless a logo was
	// uploaded.
	LogoURL string `json:"logo_url,omitempty"`
	// LogoUploaded is set while an uploaded logo is served by onboard
	// (PUT and DELETE …/logo keep it; the onboarding document cannot).
	LogoUploaded bool `json:"logo_uploaded,omitempty"`
	// AccentColor is the colour of buttons and links, "#rrggbb".
	AccentColor string `json:"accent_color,omitempty"`
}

// PartnerProvider is the plugin that finds a partner by its code.
type PartnerProvider struct {
	URL             string            `json:"url"`
	Secret          string            `json:"secret"`
	NameField       string            `json:"name_field"`
	PropertyMapping map[string]string `json:"property_mapping"`
	Timeout         Duration          `json:"timeout"`
}

// SelfRegistration says whether and as what people may register themselves.
type SelfRegistration struct {
	Enabled      bool     `json:"enabled"`
	AccountTypes []string `json:"account_types"`
}

// Offers reports whether accountType may self-register.
func (o Onboarding) Offers(accountType string) bool {
	if !o.SelfRegistration.Enabled {
		return false
	}
	for _, t := range o.SelfRegistration.AccountTypes {
		if t == accountType {
			return true
		}
	}
	return false
}

// DefaultOnboarding is the configuration of a new organization.
func DefaultOnboarding() Onboarding {
	return Onboarding{
		SelfRegistration: SelfRegistration{
			Enabled:      true,
			AccountTypes: []string{AccountCustomerBusiness, AccountCustomerPersonal},
		},
		DefaultLocation: true,
		DefaultUserTypes: map[string]string{
			AccountCustomerBusiness: "customer_admin",
			AccountCustomerPersonal: "customer_admin",
			AccountChannelPartner:   "partner_admin",
			AccountDataRecipient:    "data_recipient_admin",
		},
		DeviceSetup: DeviceSetup{DeviceTemplates: map[string]DeviceTemplate{}},
	}
}

// WithDefaults fills what a stored configuration from an older release lacks.
func (o Onboarding) WithDefaults() Onboarding {
	def := DefaultOnboarding()
	if o.DefaultUserTypes == nil {
		o.DefaultUserTypes = map[string]string{}
	}
	for k, v := range def.DefaultUserTypes {
		if o.DefaultUserTypes[k] == "" {
			o.DefaultUserTypes[k] = v
		}
	}
	if o.SelfRegistration.AccountTypes == nil {
		o.SelfRegistration.AccountTypes = []string{}
	}
	if o.DeviceSetup.DeviceTemplates == nil {
		o.DeviceSetup.DeviceTemplates = map[string]DeviceTemplate{}
	}
	return o
}

// Duration is a time.Duration written in JSON as a Go duration string ("24h").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UserType is a named set of permissions.
type UserType struct {
	ID          string
	OrgID       string
	Name        string
	Label       string
	Permissions []string
}

// Has reports whether the user type grants perm.
func (u UserType) Has(perm string) bool {
	for _, p := range u.Permissions {
		if p == perm {
			return true
		}
	}
	return false
}

// Account is a customer, a partner or a data recipient.
type Account struct {
	ID             string
	OrgID          string
	Kind           string // customer | partner | data_recipient
	Type           string // business | personal | channel | data_recipient
	Name           string
	Properties     map[string]string
	Status         string
	Origin         string
	VerifiedAt     *time.Time // customer details confirmed (customer verification)
	DecidedAt      *time.Time // approval or rejection (data recipients)
	DecisionReason string
	ExternalRef    string // e.g. the partner code the Partner Provider knew it by
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// AccountType is the account type of the account (customer_business, …).
func (a Account) AccountType() string {
	switch a.Kind {
	case KindCustomer:
		return KindCustomer + "_" + a.Type
	case KindPartner:
		return AccountChannelPartner
	case KindDataRecipient:
		return AccountDataRecipient
	}
	return ""
}

// PropertyDefinition is a field an organization asks for at registration.
type PropertyDefinition struct {
	ID           string
	OrgID        string
	Scope        string // customer | user
	Name         string
	Label        string
	Type         string // string | email | phone | country | enum | boolean | date
	Required     bool
	AccountTypes []string
	Options      []string // for enum
	Pattern      string   // RE2, whole value
	MaxLength    int
	Position     int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AdminKey is an API key of the admin API, scoped to one organization.
type AdminKey struct {
	ID         string
	OrgID      string
	Name       string
	KeyHash    []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// User is a person belonging to one account.
type User struct {
	ID           string
	OrgID        string
	AccountID    string
	UserTypeID   string
	Email        string
	FirstName    string
	LastName     string
	Phone        string
	Properties   map[string]string
	PasswordHash string
	Status       string
	// Language is the language the user chose for pages and mail ("en",
	// "it"), or empty when they never chose one.
	Language  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Location is a place of a customer.
type Location struct {
	ID        string
	OrgID     string
	AccountID string
	Name      string
	CreatedAt time.Time
}

// Agreement is one version of a legal text.
type Agreement struct {
	ID           string
	OrgID        string
	Name         string
	Kind         string // terms_of_service | privacy_policy | other
	Version      int
	Title        string
	Body         string
	AccountTypes []string
	Required     bool
	CreatedAt    time.Time
}

// Targets reports whether the agreement applies to accountType.
func (a Agreement) Targets(accountType string) bool {
	for _, t := range a.AccountTypes {
		if t == accountType {
			return true
		}
	}
	return false
}

// Acceptance records that a user accepted a version of an agreement.
type Acceptance struct {
	ID          string
	OrgID       string
	UserID      string
	AgreementID string
	Name        string
	Version     int
	AcceptedAt  time.Time
}

// Signup is a pending self-registration.
type Signup struct {
	ID          string
	OrgID       string
	Email       string
	AccountType string
	TokenHash   []byte
	State       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	CompletedAt *time.Time
	UserID      string
	// Language is the language of the page the sign-up started on; the
	// mails of the registration and the new user use it.
	Language string
	// Purpose is "" for a sign-up, SignupDeviceSetup for one started by the
	// self-service device setup.
	Purpose string
}

// Session is a signed-in user's bearer session.
type Session struct {
	ID        string
	OrgID     string
	UserID    string
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	ClientIP  string
	UserAgent string
	// Kind is SessionAPI (a bearer token) or SessionBrowser (a cookie).
	Kind string
	// IdleExpiresAt is when a browser session ends unless it is used
	// before; nil for API sessions.
	IdleExpiresAt *time.Time
}

// Logo is an organization's uploaded logo image.
type Logo struct {
	ContentType string // image/png or image/jpeg
	Data        []byte
	UpdatedAt   time.Time
}

// Session kinds.
const (
	SessionAPI     = "api"
	SessionBrowser = "browser"
)

// OutboxMail is a rendered mail queued for delivery.
type OutboxMail struct {
	ID        string
	OrgID     string
	MessageID string
	Template  string
	To        string
	Subject   string
	Text      string
	HTML      string
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID        string
	OrgID     string
	Actor     string
	Action    string
	SubjectID string
	Data      map[string]any
	CreatedAt time.Time
}

// NormalizeEmail is the form in which emails are compared: trimmed, lower-cased.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}
