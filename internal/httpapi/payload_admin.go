package httpapi

import (
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Payloads of the admin part of the API. The OpenAPI document's component
// schemas are generated from them (openapi_schemas.go).

// AdminOrganization is an organization (tenant) of the service.
type AdminOrganization struct {
	// Opaque id; do not parse it.
	ID string `json:"id"`
	// The slug used in admin URLs.
	Name string `json:"name"`
	// The name shown to people, e.g. in mail.
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
	// True when a supervisor disabled the organization: its public pages
	// and API answer as for an unknown organization.
	Disabled bool `json:"disabled"`
}

// PatchOrganizationRequest renames, disables or enables an organization;
// absent members are kept.
type PatchOrganizationRequest struct {
	// Name shown to people; surrounding spaces trimmed; no control or invisible characters.
	DisplayName *string `json:"display_name,omitempty" jsonschema:"minLength=1,maxLength=200"`
	// Disable (true) or enable (false) the organization.
	Disabled *bool `json:"disabled,omitempty"`
}

// CreateOrganizationRequest is a new organization.
type CreateOrganizationRequest struct {
	// Lowercase slug: letters, digits and `-`, starting with a letter or digit
	// (`^[a-z0-9][a-z0-9-]{1,62}$`). Must be new (409).
	Name string `json:"name" jsonschema:"minLength=2,maxLength=63"`
	// Name shown to people; surrounding spaces trimmed; no control or invisible characters.
	DisplayName string `json:"display_name" jsonschema:"minLength=1,maxLength=200"`
}

// OrganizationList is organizations by name.
type OrganizationList struct {
	Organizations []AdminOrganization `json:"organizations"`
}

// SelfRegistration is whether and as what people may register themselves.
type SelfRegistration struct {
	// Shows "Create new account" on the login page.
	Enabled bool `json:"enabled"`
	// The account types offered, each at most once.
	AccountTypes []string `json:"account_types" jsonschema:"enum=customer_business,enum=customer_personal,enum=channel_partner,enum=data_recipient"`
}

// PartnerProvider is the Partner Provider plugin: a service that returns a partner's details by
// its code, used when a code is not known locally.
type PartnerProvider struct {
	// Absolute https URL of the lookup, on a public address. Plain http, a user name or password, or
	// a literal loopback, private, link-local, CGNAT, metadata or other internal address is refused
	// (422 on partner_provider.url; -outbound-allow-private lifts this for development). A host name
	// that resolves to an internal address is refused at each call; redirects are not followed.
	URL string `json:"url" jsonschema:"format=uri"`
	// Shared secret (at least 16 characters). Never shown: reads answer an empty string; an empty
	// secret on write keeps the stored one.
	Secret string `json:"secret"`
	// Field path of the answer that holds the partner's name.
	NameField string `json:"name_field"`
	// Property name → field path of the answer.
	PropertyMapping map[string]string `json:"property_mapping" jsonschema:"nullable"`
	// Go duration, 100ms to 30s; `0s` is the default.
	Timeout domain.Duration `json:"timeout" jsonschema:"type=string,example=2s"`
}

// Onboarding is an organization's onboarding configuration. Every field is shown on read; on
// write, omitted fields take their zero value, so send the whole document (read, change, write).
type Onboarding struct {
	SelfRegistration SelfRegistration `json:"self_registration"`
	// Channel partners may register without a partner code (creating a partner instead of joining
	// one).
	PartnerSelfRegistrationWithoutCode bool `json:"partner_self_registration_without_code"`
	// Create a location with each new customer: "Location" for a business, "Home" for a personal
	// customer.
	DefaultLocation bool `json:"default_location"`
	// Users of back-office-created customers confirm the customer's details at their first sign-in.
	CustomerVerification bool `json:"customer_verification"`
	// RE2 pattern a registering address must match as a whole; empty allows any.
	EmailRequirement string `json:"email_requirement" jsonschema:"maxLength=1000"`
	// Lifetime of a registration link as a Go duration (`24h`, `90m`), 5m to 720h; `0s` uses the
	// service default.
	SignupLinkTtl domain.Duration `json:"signup_link_ttl" jsonschema:"type=string,example=24h0m0s"`
	// Account type → name of the user type of the first user. The customer types' user type must
	// grant customer.account_admin. Missing types keep the defaults.
	DefaultUserTypes map[string]string `json:"default_user_types" jsonschema:"nullable"`
	// The Partner Provider plugin, or null for none.
	PartnerProvider *PartnerProvider `json:"partner_provider" jsonschema:"nullable"`
	Branding        Branding         `json:"branding"`
	// Sign-in with OpenID Connect, and whether a first sign-in creates the customer (see
	// docs/sso.md); client secrets are write-only and never shown.
	SSO *domain.SSO `json:"sso,omitempty"`
	// The self-service device setup of the organization (see docs/device-setup.md).
	DeviceSetup domain.DeviceSetup `json:"device_setup"`
}

// PropertyDefinition is a field the organization asks for at registration, of the account
// (`customer` scope) or of the user.
type PropertyDefinition struct {
	// Opaque id; do not parse it.
	ID    string `json:"id"`
	Scope string `json:"scope" jsonschema:"enum=customer,enum=user"`
	// The key of the value in the form and in stored properties.
	Name     string `json:"name"`
	Label    string `json:"label"`
	Type     string `json:"type" jsonschema:"enum=string,enum=email,enum=phone,enum=country,enum=enum,enum=boolean,enum=date"`
	Required bool   `json:"required"`
	// Account types, each at most once; at least one.
	AccountTypes []string `json:"account_types" jsonschema:"enum=customer_business,enum=customer_personal,enum=channel_partner,enum=data_recipient"`
	// The choices of an enum property; empty otherwise.
	Options []string `json:"options"`
	// RE2 pattern the whole value must match; empty for none.
	Pattern   string `json:"pattern"`
	MaxLength int    `json:"max_length" jsonschema:"minimum=1,maximum=1000"`
	// Order in the form within the scope (then by name).
	Position  int       `json:"position" jsonschema:"minimum=0,maximum=10000"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PropertyRequest is a new property definition.
type PropertyRequest struct {
	// `customer`: a property of the account (customer, partner or data recipient); `user`: of the
	// user.
	Scope string `json:"scope" jsonschema:"enum=customer,enum=user"`
	// `^[a-z][a-z0-9_]{0,62}$`, not a built-in field (`name`, `first_name`, `last_name`, `phone`,
	// `email`); unique within the scope (409).
	Name string `json:"name" jsonschema:"minLength=1,maxLength=63"`
	PropertyFields
}

// PropertyUpdateRequest is a property definition's new state. `scope` and `name` cannot change:
// omit them or repeat the stored ones (others answer 422). Omitted optional fields take their
// defaults.
type PropertyUpdateRequest struct {
	// `customer`: a property of the account (customer, partner or data recipient); `user`: of the
	// user.
	Scope string `json:"scope,omitempty" jsonschema:"enum=customer,enum=user"`
	// `^[a-z][a-z0-9_]{0,62}$`, not a built-in field (`name`, `first_name`, `last_name`, `phone`,
	// `email`); unique within the scope (409).
	Name string `json:"name,omitempty" jsonschema:"minLength=1,maxLength=63"`
	PropertyFields
}

// PropertyFields are the fields of a property definition that both its
// creation and its update send (inlined in their schemas).
type PropertyFields struct {
	// Label shown in the form.
	Label string `json:"label" jsonschema:"minLength=1,maxLength=200"`
	// `country`: ISO 3166-1 alpha-2 code; `date`: YYYY-MM-DD; `boolean`: true or false; `enum`: one
	// of `options`.
	Type string `json:"type" jsonschema:"enum=string,enum=email,enum=phone,enum=country,enum=enum,enum=boolean,enum=date"`
	// Whether self-registration requires a value.
	Required bool `json:"required,omitempty" jsonschema:"default=false"`
	// The account types whose form asks for it; at least one, each at most once.
	AccountTypes []string `json:"account_types" jsonschema:"enum=customer_business,enum=customer_personal,enum=channel_partner,enum=data_recipient"`
	// Required for, and only for, `enum`: 1 to 100 distinct choices.
	Options []string `json:"options,omitempty" jsonschema:"minLength=1,maxLength=200"`
	// RE2 pattern the whole value must match (only for string, email and phone). Must compile.
	Pattern string `json:"pattern,omitempty" jsonschema:"maxLength=1000"`
	// Greatest number of characters of a value.
	MaxLength int `json:"max_length,omitempty" jsonschema:"minimum=1,maximum=1000,default=200"`
	// Order in the form within the scope.
	Position int `json:"position,omitempty" jsonschema:"minimum=0,maximum=10000,default=0"`
}

// PropertyList is property definitions by scope, position and name.
type PropertyList struct {
	Properties []PropertyDefinition `json:"properties"`
}

// AdminUserType is a named set of permissions given to users.
type AdminUserType struct {
	Name        string   `json:"name"`
	Label       string   `json:"label"`
	Permissions []string `json:"permissions" jsonschema:"enum=customer.account_admin,enum=partner.account_admin,enum=location.read,enum=location.write,enum=things.read,enum=things.write,enum=things.activate,enum=data.read"`
}

// CreateUserTypeRequest is a new user type.
type CreateUserTypeRequest struct {
	// `^[a-z0-9][a-z0-9_-]{0,62}$`; must be new (409).
	Name  string `json:"name" jsonschema:"minLength=1,maxLength=63"`
	Label string `json:"label" jsonschema:"minLength=1,maxLength=200"`
	// Distinct permissions of the catalogue; may be empty.
	Permissions []string `json:"permissions" jsonschema:"enum=customer.account_admin,enum=partner.account_admin,enum=location.read,enum=location.write,enum=things.read,enum=things.write,enum=things.activate,enum=data.read"`
}

// PatchUserTypeRequest is changes to a user type: `label`, `permissions` or both. `permissions`
// replaces the whole list.
type PatchUserTypeRequest struct {
	Label       *string   `json:"label,omitempty" jsonschema:"minLength=1,maxLength=200"`
	Permissions *[]string `json:"permissions,omitempty" jsonschema:"enum=customer.account_admin,enum=partner.account_admin,enum=location.read,enum=location.write,enum=things.read,enum=things.write,enum=things.activate,enum=data.read"`
}

// UserTypeList is user types by name.
type UserTypeList struct {
	UserTypes []AdminUserType `json:"user_types"`
}

// AdminAgreement is one version of an agreement.
type AdminAgreement struct {
	// The id of this version.
	ID string `json:"id"`
	// Stable name across versions.
	Name    string `json:"name"`
	Kind    string `json:"kind" jsonschema:"enum=terms_of_service,enum=privacy_policy,enum=other"`
	Version int    `json:"version" jsonschema:"minimum=1"`
	Title   string `json:"title"`
	Text    string `json:"text"`
	// Account types, each at most once; at least one.
	AccountTypes []string  `json:"account_types" jsonschema:"enum=customer_business,enum=customer_personal,enum=channel_partner,enum=data_recipient"`
	Required     bool      `json:"required"`
	CreatedAt    time.Time `json:"created_at"`
}

// CreateAgreementRequest is a new agreement, created at version 1.
type CreateAgreementRequest struct {
	// `^[a-z0-9][a-z0-9_-]{0,62}$`; must be new (409).
	Name  string `json:"name" jsonschema:"minLength=1,maxLength=63"`
	Kind  string `json:"kind" jsonschema:"enum=terms_of_service,enum=privacy_policy,enum=other"`
	Title string `json:"title" jsonschema:"minLength=1,maxLength=200"`
	// The full text; line breaks are kept.
	Text string `json:"text" jsonschema:"minLength=1,maxLength=60000"`
	// The account types that must accept it; at least one.
	AccountTypes []string `json:"account_types" jsonschema:"enum=customer_business,enum=customer_personal,enum=channel_partner,enum=data_recipient"`
	// Whether registration (and sign-in, for a new version) requires accepting it.
	Required *bool `json:"required"`
}

// AgreementVersionRequest is the next version of an agreement. Kind, account types and `required`
// stay those of the agreement.
type AgreementVersionRequest struct {
	Title string `json:"title" jsonschema:"minLength=1,maxLength=200"`
	Text  string `json:"text" jsonschema:"minLength=1,maxLength=60000"`
}

// AgreementList is the current (newest) version of each agreement, by name.
type AgreementList struct {
	Agreements []AdminAgreement `json:"agreements"`
}

// AgreementVersionList is every version of one agreement, newest first.
type AgreementVersionList struct {
	Versions []AdminAgreement `json:"versions"`
}

// Partner is a channel partner with the code its users register with.
type Partner struct {
	// Opaque id; do not parse it.
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status" jsonschema:"example=active"`
	Origin string `json:"origin" jsonschema:"enum=self_registration,enum=back_office,enum=partner_provider"`
	// Property name → value.
	Properties map[string]string `json:"properties"`
	// The partner code, grouped in fours (`K7QW-3MXA-HP2D-9TF`); empty when the partner has none
	// (e.g. one registered without code).
	Code      string    `json:"code"`
	CreatedAt time.Time `json:"created_at"`
}

// CreatePartnerRequest is a new channel partner.
type CreatePartnerRequest struct {
	Name string `json:"name" jsonschema:"minLength=1,maxLength=200"`
	// Values of the organization's `customer`-scope properties for the account type, by name. Values
	// are checked by the property's type, pattern and length; none is required here (customer
	// verification asks for missing ones). Booleans may be JSON booleans; null or blank values are
	// left out.
	Properties PropertyValues `json:"properties,omitempty"`
}

// PartnerList is partners, oldest first.
type PartnerList struct {
	Partners []Partner `json:"partners"`
}

// AdminAccount is an account (customer, partner or data recipient) as the back office sees it.
type AdminAccount struct {
	// Opaque id; do not parse it.
	ID          string `json:"id"`
	Kind        string `json:"kind" jsonschema:"enum=customer,enum=partner,enum=data_recipient"`
	Type        string `json:"type" jsonschema:"enum=business,enum=personal,enum=channel,enum=data_recipient"`
	AccountType string `json:"account_type" jsonschema:"enum=customer_business,enum=customer_personal,enum=channel_partner,enum=data_recipient"`
	Name        string `json:"name"`
	// active, pending_approval (data recipients awaiting the decision) or rejected.
	Status string `json:"status"`
	Origin string `json:"origin" jsonschema:"enum=self_registration,enum=back_office,enum=partner_provider"`
	// Property name → value.
	Properties map[string]string `json:"properties"`
	// When it was approved or rejected.
	DecidedAt *time.Time `json:"decided_at" jsonschema:"nullable"`
	// The reason of a rejection.
	DecisionReason string    `json:"decision_reason"`
	CreatedAt      time.Time `json:"created_at"`
}

// AdminUser is a user as the back office sees it.
type AdminUser struct {
	// Opaque id; do not parse it.
	ID        string `json:"id"`
	Email     string `json:"email" jsonschema:"format=idn-email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Phone     string `json:"phone"`
	// active, invited (no password yet), pending_approval or rejected.
	Status string `json:"status"`
	// The name of the user's type.
	UserType  string    `json:"user_type"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateCustomerRequestUser is the first user, the customer's account administrator.
type CreateCustomerRequestUser struct {
	// Must not be taken in the organization (409).
	Email     string `json:"email" jsonschema:"format=idn-email,maxLength=254"`
	FirstName string `json:"first_name" jsonschema:"minLength=1,maxLength=200"`
	LastName  string `json:"last_name" jsonschema:"minLength=1,maxLength=200"`
	// Optional, e.g. +31 20 123 4567.
	Phone string `json:"phone,omitempty" jsonschema:"maxLength=32"`
}

// CreateCustomerRequest is a customer registered by the back office, with its first user.
type CreateCustomerRequest struct {
	Type string `json:"type" jsonschema:"enum=business,enum=personal"`
	// Required for a business; a personal customer defaults to the user's full name.
	Name string `json:"name,omitempty" jsonschema:"maxLength=200"`
	// Values of the organization's `customer`-scope properties for the account type, by name. Values
	// are checked by the property's type, pattern and length; none is required here (customer
	// verification asks for missing ones). Booleans may be JSON booleans; null or blank values are
	// left out.
	Properties PropertyValues `json:"properties,omitempty"`
	// The first user, the customer's account administrator.
	User CreateCustomerRequestUser `json:"user"`
	// Name of the first user's type; it must grant customer.account_admin. Omitted: the onboarding
	// configuration's default for the customer type.
	UserType string `json:"user_type,omitempty"`
}

// BackOfficeCustomer is what the back office created.
type BackOfficeCustomer struct {
	Customer AdminAccount `json:"customer"`
	User     AdminUser    `json:"user"`
	// The default location, or null when the onboarding configuration has none.
	Location *Location `json:"location" jsonschema:"nullable"`
}

// PendingAccount is a data recipient account with its users.
type PendingAccount struct {
	Account AdminAccount `json:"account"`
	Users   []AdminUser  `json:"users"`
}

// ApprovalList is data recipients awaiting approval, oldest first.
type ApprovalList struct {
	Approvals []PendingAccount `json:"approvals"`
}

// RejectRequest is why the account is rejected; mailed to its users.
type RejectRequest struct {
	// Required; line breaks are kept.
	Reason string `json:"reason" jsonschema:"minLength=1,maxLength=1000"`
}

// AuditEntry is one change in the audit log.
type AuditEntry struct {
	// Opaque id; do not parse it.
	ID string `json:"id"`
	// Who: `admin:environment` (the full-rights key), `admin:<key id>:<key name>`, `user:<id>`,
	// `cli`, `back_office`.
	Actor string `json:"actor"`
	// What, as `<thing>.<verb>`: `property.created`, `user_type.updated`, `onboarding.updated`,
	// `account.approved`, …
	Action string `json:"action"`
	// The id of what changed.
	SubjectID string `json:"subject_id"`
	// Details; updates carry `before` and `after`. Secrets and partner codes are never recorded in
	// full.
	Data map[string]any `json:"data"`
	// When.
	CreatedAt time.Time `json:"created_at"`
}

// AuditLog is audit entries, newest first.
type AuditLog struct {
	Entries []AuditEntry `json:"entries"`
}

// AdminKey is an admin API key of an organization. The key itself and its hash are never shown.
type AdminKey struct {
	ID string `json:"id"`
	// Who or what uses the key.
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// When the key was last used (to the minute); null when never.
	LastUsedAt *time.Time `json:"last_used_at" jsonschema:"nullable"`
	// When the key was revoked; null while it works.
	RevokedAt *time.Time `json:"revoked_at" jsonschema:"nullable"`
}

// AdminKeyList is a payload of the API.
type AdminKeyList struct {
	AdminKeys []AdminKey `json:"admin_keys"`
}

// Branding is how the organization's pages (`/o/{org}/…`, or the plain paths for the default
// organization) and its mails look.
type Branding struct {
	// Shown on the pages and in the mails instead of the organization's display name; empty keeps
	// that.
	DisplayName string `json:"display_name,omitempty" jsonschema:"maxLength=100"`
	// An absolute https URL of the logo shown in the pages' header, unless a logo was uploaded (PUT
	// …/logo).
	LogoURL string `json:"logo_url,omitempty" jsonschema:"maxLength=2048"`
	// Read-only: an uploaded logo is served by onboard at `/branding/logo`
	// (`/o/{org}/branding/logo`). Only PUT and DELETE …/logo change it; the value sent here is
	// ignored.
	LogoUploaded bool `json:"logo_uploaded,omitempty"`
	// Colour of buttons and links, `#rrggbb`. Button text is white or black, whichever contrasts
	// more; links are darkened where needed, so that both keep a contrast of at least 4.5:1.
	AccentColor string `json:"accent_color,omitempty" jsonschema:"pattern=^#[0-9a-fA-F]{6}$"`
}
