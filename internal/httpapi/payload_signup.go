package httpapi

import (
	"time"

	"github.com/invopop/jsonschema"
)

// Payloads of the signup part of the API. The OpenAPI document's component
// schemas are generated from them (openapi_schemas.go).

// StartSignupRequest is the first step of self-registration: the address to send the registration
// link to.
type StartSignupRequest struct {
	// The address to register. One plain address (no display name), surrounding spaces trimmed.
	Email string `json:"email" jsonschema:"format=idn-email,maxLength=254,example=ada@example.com"`
	// The account type to register; the organization's onboarding configuration says which are
	// offered (422 otherwise).
	AccountType string `json:"account_type" jsonschema:"enum=customer_business,enum=customer_personal,enum=channel_partner,enum=data_recipient"`
	// The name (slug) of the organization to register with. Omitted or empty means `default`.
	Organization string `json:"organization,omitempty" jsonschema:"default=default,example=default"`
}

// SignupStatus is the answer to a started signup. It is the same whether a link or an "already
// registered" notice was mailed.
type SignupStatus struct {
	Status string `json:"status" jsonschema_extras:"const=email_sent"`
}

// Field is one input the registration form asks for. `name` is `customer.<key>` or `user.<key>`:
// send its value as `<key>` inside the `customer` or `user` object of the completion.
type Field struct {
	// Dotted field name.
	Name string `json:"name" jsonschema:"example=user.first_name"`
	// English label to show.
	Label string `json:"label" jsonschema:"example=First name"`
	// How the value is checked: country is an ISO 3166-1 alpha-2 code, date is YYYY-MM-DD, boolean is
	// true or false.
	Type string `json:"type" jsonschema:"enum=string,enum=email,enum=phone,enum=country,enum=enum,enum=boolean,enum=date"`
	// Whether the completion must give a non-blank value.
	Required bool `json:"required"`
	// The greatest number of characters, when limited.
	MaxLength int `json:"max_length,omitempty" jsonschema:"minimum=1,example=200"`
	// The allowed values of an `enum` field.
	Options []string `json:"options,omitempty"`
}

// Agreement is the current version of a legal text that applies to the account type.
type Agreement struct {
	// The id of this version of the agreement; send it in `accepted_agreements`. An opaque string; do
	// not parse it.
	ID string `json:"id" jsonschema:"example=0196f1c4-6a2e-7c1d-9b7e-3f5a2d8c4e10"`
	// Stable name of the agreement across versions.
	Name string `json:"name" jsonschema:"example=terms-of-service"`
	// `terms_of_service`, `privacy_policy` or `other`.
	Kind    string `json:"kind" jsonschema:"example=terms_of_service"`
	Title   string `json:"title" jsonschema:"example=Terms of Service"`
	Version int    `json:"version" jsonschema:"minimum=1,example=1"`
	// Whether registration requires accepting it.
	Required bool `json:"required"`
	// The full text to show.
	Text string `json:"text"`
}

// PasswordPolicy is the password rules, to show next to the password field before anything is
// submitted. Lengths count Unicode characters (code points), not bytes. Besides the listed rules,
// a password must be valid UTF-8 and contain no control characters such as tabs or line breaks.
type PasswordPolicy struct {
	MinLength int `json:"min_length" jsonschema:"minimum=0,example=8"`
	MaxLength int `json:"max_length" jsonschema:"minimum=0,example=64"`
	// Further rules: `not_email` — not the email address nor its part before the @, ignoring case;
	// `not_common` — not in a list of about 49,000 common passwords, ignoring case.
	Rules []string `json:"rules" jsonschema:"example=not_email,example=not_common"`
}

// SignupForm is what a registration link leads to: who registers, and what the form must ask.
type SignupForm struct {
	// The address being registered (fixed by the link).
	Email string `json:"email" jsonschema:"format=idn-email,example=ada@example.com"`
	// What to register: a business customer (a company, with a company name), a personal customer
	// (a private person), a channel partner or a data recipient.
	AccountType string `json:"account_type" jsonschema:"enum=customer_business,enum=customer_personal,enum=channel_partner,enum=data_recipient"`
	// Name (slug) of the organization.
	Organization string `json:"organization" jsonschema:"example=default"`
	// When the link stops working.
	ExpiresAt time.Time `json:"expires_at"`
	// The inputs to ask, in display order.
	Fields []Field `json:"fields"`
	// The agreements to show; those with `required: true` must be accepted.
	Agreements     []Agreement    `json:"agreements"`
	PasswordPolicy PasswordPolicy `json:"password_policy"`
}

// CompleteSignupRequest is the filled-in registration form. The keys of `customer` and `user` are
// the `fields` of the form without their `customer.`/`user.` prefix; values are strings, trimmed
// of surrounding spaces (a null counts as absent).
type CompleteSignupRequest struct {
	// Account-level fields (`customer.<name>` in the form), whatever the account kind: `name` for a
	// business, a data recipient or a partner registering without a code, and the organization's
	// properties of scope customer. Values are strings (booleans may be JSON booleans).
	Customer FormValues `json:"customer,omitempty"`
	// Fields of the first user, who becomes the customer's account administrator.
	User FormValues `json:"user"`
	// The new password; see the form's `password_policy`.
	Password string `json:"password" jsonschema:"example=correct horse battery staple"`
	// Ids of the agreements the user accepts. Every required agreement of the form must be listed,
	// and only agreements of the form may be.
	AcceptedAgreements []string `json:"accepted_agreements,omitempty"`
	// Channel partners joining a partner: the partner's code (case, spaces and dashes do not matter).
	// A wrong code is a 422 on `partner_code`; repeated wrong codes are rate limited; when the
	// organization's Partner Provider cannot be reached the answer is 503 and nothing is created.
	PartnerCode string `json:"partner_code,omitempty" jsonschema:"maxLength=64,example=K7QW-3MXA-HP2D-9TF"`
}

// UserType is the user's role: a named set of permissions.
type UserType struct {
	Name        string   `json:"name" jsonschema:"example=customer_admin"`
	Permissions []string `json:"permissions"`
}

// Customer is an account: a customer (business or personal), a channel partner or a data
// recipient.
type Customer struct {
	// The customer's id. An opaque string; do not parse it.
	ID string `json:"id" jsonschema:"example=0196f1c4-6a2e-7c1d-9b7e-3f5a2d8c4e10"`
	// business or personal for customers, channel for partners, data_recipient for data recipients.
	Type string `json:"type" jsonschema:"enum=business,enum=personal,enum=channel,enum=data_recipient"`
	// The company name of a business customer, the person's full name of a personal one.
	Name string `json:"name" jsonschema:"example=Analytical Engines Ltd"`
	// Account status, e.g. `active`.
	Status string `json:"status" jsonschema:"example=active"`
	// Further attributes set by the organization; empty after self-registration.
	Properties map[string]string `json:"properties"`
	CreatedAt  time.Time         `json:"created_at"`
	// What the account is.
	Kind string `json:"kind" jsonschema:"enum=customer,enum=partner,enum=data_recipient"`
}

// User is a person who signs in; belongs to one customer.
type User struct {
	// The user's id. An opaque string; do not parse it.
	ID        string `json:"id" jsonschema:"example=0196f1c4-6a2e-7c1d-9b7e-3f5a2d8c4e10"`
	Email     string `json:"email" jsonschema:"format=idn-email,example=ada@example.com"`
	FirstName string `json:"first_name" jsonschema:"example=Ada"`
	LastName  string `json:"last_name" jsonschema:"example=Lovelace"`
	// Empty when none was given.
	Phone string `json:"phone" jsonschema:"example=+44 20 7946 0000"`
	// User status, e.g. `active`. Only active users can sign in.
	Status   string   `json:"status" jsonschema:"example=active"`
	UserType UserType `json:"user_type"`
	// The id of the user's customer. An opaque string; do not parse it.
	CustomerID string    `json:"customer_id" jsonschema:"example=0196f1c4-6a2e-7c1d-9b7e-3f5a2d8c4e10"`
	CreatedAt  time.Time `json:"created_at"`
}

// Location is a place of a customer.
type Location struct {
	// The location's id. An opaque string; do not parse it.
	ID        string    `json:"id" jsonschema:"example=0196f1c4-6a2e-7c1d-9b7e-3f5a2d8c4e10"`
	Name      string    `json:"name" jsonschema:"example=Home"`
	CreatedAt time.Time `json:"created_at"`
}

// Registration is what a completed registration created. The account is named under its kind:
// `customer`, `partner` or `data_recipient` (exactly one of them is present).
type Registration struct {
	Customer Customer `json:"customer,omitzero"`
	User     User     `json:"user"`
	// The default location (`Location` for a business, `Home` for a person), or null when the
	// organization creates none.
	Location *Location `json:"location" jsonschema:"nullable"`
	// `active`: the user can sign in now. `pending_approval`: a data recipient, which can sign in
	// once the organization approves it.
	Status string `json:"status" jsonschema:"enum=active,enum=pending_approval"`
	// The partner the user joined or created (channel_partner).
	Partner Customer `json:"partner,omitzero"`
	// The data recipient created (data_recipient); it awaits approval.
	DataRecipient Customer `json:"data_recipient,omitzero"`
}

// CreateSessionRequest is sign-in credentials.
type CreateSessionRequest struct {
	Email string `json:"email" jsonschema:"format=idn-email,maxLength=254,example=ada@example.com"`
	// At most 1024 bytes.
	Password string `json:"password" jsonschema:"minLength=1,example=correct horse battery staple"`
	// The name (slug) of the organization. Omitted or empty means `default`.
	Organization string `json:"organization,omitempty" jsonschema:"default=default,example=default"`
}

// Session is a new session.
type Session struct {
	// The bearer token: send it as `Authorization: Bearer <token>`. It is shown only here; keep it
	// secret.
	Token string `json:"token" jsonschema:"example=q3dXc1m0w8o2yY7nB4vKp9sT6eR5aJ1hL0zC8fG2iN4"`
	// When the session ends.
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
	// What the user must do before the session may do anything else: `accept_agreements` (GET/POST
	// /api/v1/me/agreements) and `verify_customer` (PUT /api/v1/me/customer). Until then only
	// /api/v1/me, these endpoints and sign-out are allowed; others answer 403 `required-actions-
	// pending`.
	RequiredActions []string `json:"required_actions" jsonschema:"enum=accept_agreements,enum=verify_customer"`
}

// Me is the signed-in user, their customer and its locations.
type Me struct {
	User      User       `json:"user"`
	Customer  Customer   `json:"customer,omitzero"`
	Locations []Location `json:"locations"`
	// What the user must do before the session may do anything else: `accept_agreements` (GET/POST
	// /api/v1/me/agreements) and `verify_customer` (PUT /api/v1/me/customer). Until then only
	// /api/v1/me, these endpoints and sign-out are allowed; others answer 403 `required-actions-
	// pending`.
	RequiredActions []string `json:"required_actions" jsonschema:"enum=accept_agreements,enum=verify_customer"`
	// The user's account when it is a partner.
	Partner Customer `json:"partner,omitzero"`
	// The user's account when it is a data recipient.
	DataRecipient Customer `json:"data_recipient,omitzero"`
}

// Health is a payload of the API.
type Health struct {
	// `ok` from /healthz, `ready` from /readyz.
	Status string `json:"status" jsonschema:"enum=ok,enum=ready"`
}

// AgreementStatus is a current agreement of the user's account type and whether the user accepted
// this version.
type AgreementStatus struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind" jsonschema:"enum=terms_of_service,enum=privacy_policy,enum=other"`
	Title      string     `json:"title"`
	Version    int        `json:"version"`
	Required   bool       `json:"required"`
	Text       string     `json:"text"`
	Accepted   bool       `json:"accepted"`
	AcceptedAt *time.Time `json:"accepted_at" jsonschema:"nullable"`
}

// MyAgreements is a payload of the API.
type MyAgreements struct {
	Agreements []AgreementStatus `json:"agreements"`
	// What the user must do before the session may do anything else: `accept_agreements` (GET/POST
	// /api/v1/me/agreements) and `verify_customer` (PUT /api/v1/me/customer). Until then only
	// /api/v1/me, these endpoints and sign-out are allowed; others answer 403 `required-actions-
	// pending`.
	RequiredActions []string `json:"required_actions,omitempty" jsonschema:"enum=accept_agreements,enum=verify_customer"`
}

// AgreementsAccepted answers the acceptance of agreements: the agreements
// and what the session must still do (always present; empty when nothing).
type AgreementsAccepted struct {
	Agreements []AgreementStatus `json:"agreements"`
	// What the user must do before the session may do anything else: `accept_agreements` (GET/POST
	// /api/v1/me/agreements) and `verify_customer` (PUT /api/v1/me/customer). Until then only
	// /api/v1/me, these endpoints and sign-out are allowed; others answer 403 `required-actions-
	// pending`.
	RequiredActions []string `json:"required_actions" jsonschema:"enum=accept_agreements,enum=verify_customer"`
}

// AcceptAgreementsRequest is a payload of the API.
type AcceptAgreementsRequest struct {
	// Ids of current agreements to accept.
	Accepted []string `json:"accepted"`
}

// VerifyCustomerRequest is a payload of the API.
type VerifyCustomerRequest struct {
	Phone   string `json:"phone" jsonschema:"maxLength=32"`
	Address string `json:"address" jsonschema:"maxLength=500"`
}

// VerifiedCustomer is a payload of the API.
type VerifiedCustomer struct {
	Customer Customer `json:"customer"`
	// What the user must do before the session may do anything else: `accept_agreements` (GET/POST
	// /api/v1/me/agreements) and `verify_customer` (PUT /api/v1/me/customer). Until then only
	// /api/v1/me, these endpoints and sign-out are allowed; others answer 403 `required-actions-
	// pending`.
	RequiredActions []string `json:"required_actions" jsonschema:"enum=accept_agreements,enum=verify_customer"`
}

// FormValues are the fields of a form by name: strings, or JSON booleans for
// boolean fields.
type FormValues map[string]any

// JSONSchema describes FormValues in the OpenAPI document.
func (FormValues) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:                 "object",
		AdditionalProperties: &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "boolean"}}},
	}
}

// PropertyValues are values of an organization's properties by name:
// strings, JSON booleans for boolean properties, or null (left out).
type PropertyValues map[string]any

// JSONSchema describes PropertyValues in the OpenAPI document.
func (PropertyValues) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:                 "object",
		AdditionalProperties: &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "boolean"}, {Type: "null"}}},
	}
}
