package domain

import (
	"strings"
	"time"
)

// Account types a person can register as.
const (
	AccountCustomerBusiness = "customer_business"
	AccountCustomerPersonal = "customer_personal"
)

// Account kinds and customer types.
const (
	KindCustomer     = "customer"
	CustomerBusiness = "business"
	CustomerPersonal = "personal"
)

// Statuses of accounts and users.
const (
	StatusActive = "active"
)

// Origins of an account: how it came to exist.
const (
	OriginSelf       = "self_registration"
	OriginBackOffice = "back_office"
)

// Permission names.
const (
	PermAccountAdmin  = "customer.account_admin"
	PermLocationWrite = "location.write"
	PermLocationRead  = "location.read"
	PermThingsRead    = "things.read"
	PermThingsWrite   = "things.write"
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
}

// Onboarding is an organization's onboarding configuration.
type Onboarding struct {
	SelfRegistration SelfRegistration  `json:"self_registration"`
	DefaultLocation  bool              `json:"default_location"`
	SignupLinkTTL    Duration          `json:"signup_link_ttl,omitempty"`
	DefaultUserTypes map[string]string `json:"default_user_types"`
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
		},
	}
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

// Account is a customer (and, later, a partner or data recipient).
type Account struct {
	ID         string
	OrgID      string
	Kind       string // customer
	Type       string // business | personal
	Name       string
	Properties map[string]string
	Status     string
	Origin     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
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
	CreatedAt    time.Time
	UpdatedAt    time.Time
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
}

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
