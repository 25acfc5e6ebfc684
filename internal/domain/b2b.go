package domain

import (
	"encoding/json"
	"time"
)

// Password policies of a labelpartner's end users.
const (
	PolicyPincode  = "pincode"  // exactly 6 digits
	PolicyPassword = "password" // 6-16 Latin letters, digits and listed specials
	PolicyDefault  = "default"  // the service's core policy
)

// Kinds of API clients.
const (
	ClientB2B = "b2b" // provisions end users (client credentials)
	ClientApp = "app" // an end-user app (/v2/token)
)

// States of a provisioned end user.
const (
	EndUserProvisioned = "provisioned"
	EndUserRegistered  = "registered"
	EndUserActive      = "active"
)

// Labelpartner is a brand of an organization under which end users are
// provisioned; it fixes their password policy and SSO provider.
type Labelpartner struct {
	ID                        string
	OrgID                     string
	Name                      string
	PasswordPolicy            string
	IntrospectionURL          string
	IntrospectionClientID     string
	IntrospectionClientSecret string
	APIKeyHash                []byte
	// RequireVoucher refuses provisions without a voucher code and
	// registrations of end users that have none.
	RequireVoucher bool
	CreatedAt      time.Time
	// AppLinks are the labelpartner's apps and the links its mails carry;
	// nil when it has none.
	AppLinks *AppLinks
}

// AppLinks are the apps of a labelpartner that open its mailed links, and
// the URL templates of those links.
type AppLinks struct {
	// VerifyURL is an https URL template holding {token} once, for the
	// verification link; "" leads to onboard's own page.
	VerifyURL string
	// ResetURL is the same for the password-reset link.
	ResetURL string
	// IOS is the labelpartner's iOS apps; nil when none.
	IOS *IOSApps
	// Android is the labelpartner's Android app; nil when none.
	Android *AndroidApp
}

// IOSApps are iOS apps, by application identifier (TEAMID.bundle.id).
type IOSApps struct {
	AppIDs []string
}

// AndroidApp is an Android app: its package and the SHA-256 fingerprints
// of its signing certificates (32 upper-case hex bytes separated by colons).
type AndroidApp struct {
	PackageName            string
	SHA256CertFingerprints []string
}

// Client is an API client of an organization.
type Client struct {
	ID              string
	OrgID           string
	Name            string
	Kind            string
	ClientID        string
	SecretHash      []byte
	LabelpartnerIDs []string
	CreatedAt       time.Time
	// LastUsedAt is when the client last authenticated at a token endpoint
	// (recorded at most once a minute); nil when never.
	LastUsedAt *time.Time
	// RevokedAt is when an admin revoked the client; nil while it works.
	RevokedAt *time.Time
}

// Revoked reports whether the client was revoked.
func (c Client) Revoked() bool { return c.RevokedAt != nil }

// EndUser is an end user provisioned by a B2B client.
type EndUser struct {
	ID                 string
	OrgID              string
	LabelpartnerID     string
	Labelpartner       string // name, filled on reads
	Email              string
	FirstName          string
	LastName           string
	ExternalID         string // "" when none
	VoucherCode        string
	CreateVerified     bool
	Customer           json.RawMessage // free customer details: a JSON object, or nil
	Installation       json.RawMessage // free installation details: a JSON object, or nil
	State              string
	PasswordHash       string
	CreatedAt          time.Time
	EmailVerifiedAt    *time.Time
	RegisteredAt       *time.Time
	ActivatedAt        *time.Time
	FirstMeasurementAt *time.Time
}

// Verified reports whether the end user's address counts as verified.
func (u EndUser) Verified() bool { return u.CreateVerified || u.EmailVerifiedAt != nil }

// B2BLink is a mailed single-purpose link of an end user.
type B2BLink struct {
	ID        string
	OrgID     string
	EndUserID string
	Purpose   string // "verify" or "reset"
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// B2BToken is an opaque access or refresh token.
type B2BToken struct {
	ID        string
	OrgID     string
	Kind      string // "client_access", "access" or "refresh"
	SubjectID string // client row id or end user id
	ClientID  string
	FamilyID  string
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}
