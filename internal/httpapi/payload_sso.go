package httpapi

import "time"

// Payloads of the sign-in of apps with OpenID Connect (sso.go). The OpenAPI
// document's component schemas are generated from them (openapi_schemas.go).

// OIDCSessionRequest is an app's sign-in through an OpenID provider: `code` with `code_verifier`
// and `redirect_uri`, or `id_token`.
type OIDCSessionRequest struct {
	// The organization's name; the default one when left out.
	Organization string `json:"organization,omitempty"`
	// The provider's name in the organization's `sso.providers`.
	Provider string `json:"provider"`
	// The authorization code.
	Code string `json:"code,omitempty" jsonschema:"maxLength=4096"`
	// The PKCE verifier of the code (S256 challenge).
	CodeVerifier string `json:"code_verifier,omitempty" jsonschema:"minLength=43,maxLength=128"`
	// The redirect URI the app used; one of the provider's `app_redirect_uris`.
	RedirectURI string `json:"redirect_uri,omitempty"`
	// An ID token of the provider, instead of a code.
	IDToken string `json:"id_token,omitempty"`
	// When given, the ID token's nonce must be this.
	Nonce string `json:"nonce,omitempty" jsonschema:"maxLength=255"`
}

// OIDCPending is a pending first-login registration or link.
type OIDCPending struct {
	// Use it with the registration or link calls; shown only here.
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	// The address the provider verified.
	Email string `json:"email" jsonschema:"format=idn-email"`
}

// OIDCSessionAnswer is a session (status signed_in), or the token of the first-login registration
// (registration_required) or of the link to an existing account (link_required).
type OIDCSessionAnswer struct {
	Status string `json:"status" jsonschema:"enum=signed_in,enum=registration_required,enum=link_required"`
	// The bearer token of the session (signed_in).
	Token           string       `json:"token,omitempty"`
	ExpiresAt       *time.Time   `json:"expires_at,omitempty"`
	User            *User        `json:"user,omitempty"`
	RequiredActions []string     `json:"required_actions,omitempty" jsonschema:"enum=accept_agreements,enum=verify_customer"`
	Registration    *OIDCPending `json:"registration,omitempty"`
	Link            *OIDCPending `json:"link,omitempty"`
}

// OIDCRegistrationForm is the first-login registration form.
type OIDCRegistrationForm struct {
	Email        string    `json:"email" jsonschema:"format=idn-email"`
	AccountType  string    `json:"account_type" jsonschema:"enum=customer_personal,enum=customer_business"`
	Organization string    `json:"organization"`
	Provider     string    `json:"provider"`
	ExpiresAt    time.Time `json:"expires_at"`
	Fields       []Field   `json:"fields"`
	// Values the provider's claims gave, by field name.
	Prefilled  map[string]string `json:"prefilled"`
	Agreements []Agreement       `json:"agreements"`
}

// OIDCRegistrationRequest is the completion of a first-login registration: the fields of the form
// (values the claims gave may be left out) and the accepted agreements; there is no password.
type OIDCRegistrationRequest struct {
	// Customer fields, by name without the `customer.` prefix.
	Customer map[string]any `json:"customer,omitempty"`
	// User fields, by name without the `user.` prefix.
	User               map[string]any `json:"user,omitempty"`
	AcceptedAgreements []string       `json:"accepted_agreements,omitempty"`
}

// OIDCRegistered is a completed first-login registration and its session.
type OIDCRegistered struct {
	Status          string    `json:"status" jsonschema:"enum=signed_in"`
	Token           string    `json:"token"`
	ExpiresAt       time.Time `json:"expires_at"`
	User            User      `json:"user"`
	Customer        Customer  `json:"customer"`
	Location        *Location `json:"location" jsonschema:"nullable"`
	RequiredActions []string  `json:"required_actions" jsonschema:"enum=accept_agreements,enum=verify_customer"`
}

// OIDCLinkRequest is the existing user's password, which links the identity to the account.
type OIDCLinkRequest struct {
	Password string `json:"password" jsonschema:"maxLength=1024"`
}
