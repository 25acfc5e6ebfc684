package httpapi

import (
	"encoding/json"
	"time"
)

// Payloads of the b2b part of the API. The OpenAPI document's component
// schemas are generated from them (openapi_schemas.go).

// B2BCreateLabelpartnerRequestIntrospection is a payload of the API.
type B2BCreateLabelpartnerRequestIntrospection struct {
	// RFC 7662 introspection endpoint: an absolute https URL on a public address. Plain http, a user
	// name or password, or a literal loopback, private, link-local, CGNAT, metadata or other internal
	// address is refused (422 on introspection.url; -outbound-allow-private lifts this for
	// development). A host name resolving to an internal address is refused at each call (503);
	// redirects are not followed.
	URL          string `json:"url" jsonschema:"format=uri"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
}

// B2BCreateLabelpartnerRequest is a payload of the API.
type B2BCreateLabelpartnerRequest struct {
	// Unique name (across organizations).
	Name           string                                     `json:"name" jsonschema:"minLength=1,maxLength=100"`
	PasswordPolicy string                                     `json:"password_policy" jsonschema:"enum=pincode,enum=password,enum=default"`
	Introspection  *B2BCreateLabelpartnerRequestIntrospection `json:"introspection,omitempty"`
	AppLinks       *B2BAppLinksRequest                        `json:"app_links,omitempty"`
	// Require a voucher code for every end user: provisions without `order.voucher_code` are refused
	// (422 on that field), and end users without one cannot register with a pincode or password.
	RequireVoucher bool `json:"require_voucher,omitempty" jsonschema:"default=false"`
}

// B2BLabelpartnerIntrospection is a payload of the API.
type B2BLabelpartnerIntrospection struct {
	URL      string `json:"url" jsonschema:"format=uri"`
	ClientID string `json:"client_id"`
}

// B2BLabelpartner is a payload of the API.
type B2BLabelpartner struct {
	ID             string                        `json:"id"`
	Name           string                        `json:"name"`
	PasswordPolicy string                        `json:"password_policy" jsonschema:"enum=pincode,enum=password,enum=default"`
	Introspection  *B2BLabelpartnerIntrospection `json:"introspection,omitempty"`
	AppLinks       *B2BAppLinks                  `json:"app_links,omitempty"`
	// Whether every end user needs a voucher code.
	RequireVoucher bool `json:"require_voucher"`
	// When it was created.
	CreatedAt time.Time `json:"created_at"`
	// The API key for /v2/sso/exchange-token; only in the creation answer.
	APIKey string `json:"api_key,omitempty"`
}

// B2BLabelpartnerList is a payload of the API.
type B2BLabelpartnerList struct {
	Labelpartners []B2BLabelpartner `json:"labelpartners"`
}

// B2BCreateClientRequest is a payload of the API.
type B2BCreateClientRequest struct {
	// Unique among the organization's unrevoked clients.
	Name string `json:"name" jsonschema:"minLength=1,maxLength=100"`
	Kind string `json:"kind" jsonschema:"enum=b2b,enum=app"`
	// Names of the labelpartners whose end users a b2b client provisions and sees.
	Labelpartners []string `json:"labelpartners,omitempty"`
}

// B2BClientCredentials is a payload of the API.
type B2BClientCredentials struct {
	ClientID string `json:"client_id"`
	// Shown only now.
	ClientSecret string `json:"client_secret"`
}

// B2BClient is a payload of the API.
type B2BClient struct {
	// The client's id in the admin API's paths.
	ID string `json:"id"`
	// The public OAuth 2.0 client_id.
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	Kind     string `json:"kind" jsonschema:"enum=b2b,enum=app"`
	// Names of the labelpartners whose end users a b2b client provisions and sees.
	Labelpartners []string `json:"labelpartners"`
	// When it was created.
	CreatedAt time.Time `json:"created_at"`
	// When it last authenticated at a token endpoint (recorded at most once a minute); absent when
	// never.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// When it was revoked; absent while it works.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// B2BClientList is a payload of the API.
type B2BClientList struct {
	Clients []B2BClient `json:"clients"`
}

// B2BPatchClientRequest is at least one of the fields (422 otherwise).
type B2BPatchClientRequest struct {
	// Unique among the organization's unrevoked clients.
	Name *string `json:"name,omitempty" jsonschema:"minLength=1,maxLength=100"`
	// Names of the labelpartners whose end users a b2b client provisions and sees; replaces the list.
	Labelpartners *[]string `json:"labelpartners,omitempty"`
}

// B2BAccessToken is a payload of the API.
type B2BAccessToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type" jsonschema_extras:"const=Bearer"`
	ExpiresIn   int    `json:"expires_in" jsonschema:"minimum=1"`
}

// B2BTokenPair is a payload of the API.
type B2BTokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in" jsonschema:"minimum=1"`
	TokenType    string `json:"token_type" jsonschema_extras:"const=Bearer"`
}

// B2BOAuthError is a payload of the API.
type B2BOAuthError struct {
	Error            string `json:"error" jsonschema:"enum=invalid_request,enum=invalid_client,enum=invalid_grant,enum=unauthorized_client,enum=unsupported_grant_type"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// B2BCreateEndUserRequestOrder is a payload of the API.
type B2BCreateEndUserRequestOrder struct {
	// Code the end user must present when setting a password.
	VoucherCode string `json:"voucher_code,omitempty" jsonschema:"maxLength=100"`
}

// B2BCreateEndUserRequest is a payload of the API.
type B2BCreateEndUserRequest struct {
	// Email address.
	Email string `json:"email" jsonschema:"format=idn-email"`
	// First name.
	FirstName string `json:"first_name" jsonschema:"maxLength=100"`
	// Last name.
	LastName string `json:"last_name" jsonschema:"maxLength=100"`
	// Labelpartner name.
	Labelpartner string `json:"labelpartner"`
	// Trust the address without verification (default false).
	CreateVerifiedUser bool `json:"create_verified_user,omitempty"`
	// Id at the labelpartner's identity provider (SSO users).
	ExternalAuthenticationProviderID string                        `json:"external_authentication_provider_id,omitempty" jsonschema:"maxLength=255"`
	Order                            *B2BCreateEndUserRequestOrder `json:"order,omitempty"`
	// Customer details, free properties.
	Customer json.RawMessage `json:"customer,omitempty" jsonschema:"type=object"`
	// Installation details, free properties.
	Installation json.RawMessage `json:"installation,omitempty" jsonschema:"type=object"`
}

// B2BEndUserOrder is a payload of the API.
type B2BEndUserOrder struct {
	VoucherCode string `json:"voucher_code"`
}

// B2BEndUserHistoryItem is a payload of the API.
type B2BEndUserHistoryItem struct {
	State string `json:"state" jsonschema:"enum=provisioned,enum=registered,enum=active"`
	// When.
	At time.Time `json:"at"`
}

// B2BEndUser is a payload of the API.
type B2BEndUser struct {
	ID                 string `json:"id"`
	Email              string `json:"email"`
	FirstName          string `json:"first_name"`
	LastName           string `json:"last_name"`
	Labelpartner       string `json:"labelpartner"`
	State              string `json:"state" jsonschema:"enum=provisioned,enum=registered,enum=active"`
	CreateVerifiedUser bool   `json:"create_verified_user"`
	// Verified by mail, or provisioned as verified.
	EmailVerified bool `json:"email_verified"`
	// When the address was verified by mail.
	EmailVerifiedAt                  *time.Time       `json:"email_verified_at,omitempty"`
	ExternalAuthenticationProviderID string           `json:"external_authentication_provider_id,omitempty"`
	Order                            *B2BEndUserOrder `json:"order,omitempty"`
	// Customer details.
	Customer json.RawMessage `json:"customer,omitempty" jsonschema:"type=object"`
	// Installation details.
	Installation json.RawMessage `json:"installation,omitempty" jsonschema:"type=object"`
	// When the first measurement was received.
	FirstMeasurementAt *time.Time `json:"first_measurement_at,omitempty"`
	// Each state change with its time, oldest first.
	History []B2BEndUserHistoryItem `json:"history"`
	// When it was provisioned.
	CreatedAt time.Time `json:"created_at"`
}

// B2BActivityRequest is a payload of the API.
type B2BActivityRequest struct {
	// When the first measurement was received.
	MeasurementReceivedAt *time.Time `json:"measurement_received_at"`
}

// B2BImportLine is a payload of the API.
type B2BImportLine struct {
	Line   int    `json:"line" jsonschema:"minimum=1"`
	Status string `json:"status" jsonschema:"enum=created,enum=unchanged,enum=rejected"`
	ID     string `json:"id,omitempty"`
	Error  string `json:"error,omitempty"`
}

// B2BImportSummary is a payload of the API.
type B2BImportSummary struct {
	Created   int `json:"created" jsonschema:"minimum=0"`
	Unchanged int `json:"unchanged" jsonschema:"minimum=0"`
	Rejected  int `json:"rejected" jsonschema:"minimum=0"`
}

// B2BImportSummaryLine is a payload of the API.
type B2BImportSummaryLine struct {
	Summary B2BImportSummary `json:"summary"`
}

// B2BImportReport is a payload of the API.
type B2BImportReport struct {
	Summary B2BImportSummary `json:"summary"`
	// The first 100 rejected lines.
	Rejected []B2BImportLine `json:"rejected"`
}

// B2BStatusOK is a payload of the API.
type B2BStatusOK struct {
	// Message comes first on the wire, as the apps have always received it.
	Message string `json:"message" jsonschema_extras:"const=ok"`
	Status  string `json:"status" jsonschema_extras:"const=ok"`
}

// B2BProvisionRequest is a payload of the API.
type B2BProvisionRequest struct {
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	EmailAddress string `json:"email_address"`
	Labelpartner string `json:"labelpartner"`
	// true, as a boolean or the string "true".
	Imported flexBool `json:"imported"`
}

// B2BVerifyRequest is a payload of the API.
type B2BVerifyRequest struct {
	Token string `json:"token"`
}

// B2BNoGatewayRequest is a payload of the API.
type B2BNoGatewayRequest struct {
	EmailAddress string `json:"email_address"`
	// The pincode or password.
	Pincode     string `json:"pincode"`
	VoucherCode string `json:"voucher_code,omitempty"`
}

// B2BResetPasswordRequest is a payload of the API.
type B2BResetPasswordRequest struct {
	EmailAddress string `json:"email_address"`
}

// B2BResetConfirmRequest is a payload of the API.
type B2BResetConfirmRequest struct {
	Token   string `json:"token"`
	Pincode string `json:"pincode"`
}

// B2BSSOUserRequest is a payload of the API.
type B2BSSOUserRequest struct {
	ExternalProviderAccessToken string `json:"external_provider_access_token"`
	Labelpartner                string `json:"labelpartner"`
}

// B2BExchangeTokenRequest is a payload of the API.
type B2BExchangeTokenRequest struct {
	ExternalProviderAccessToken string `json:"external_provider_access_token"`
}

// B2BAppLinksRequestIOS is the labelpartner's iOS apps.
type B2BAppLinksRequestIOS struct {
	// Application identifiers, `TEAMID.bundle.id` (a 10-character team id of A-Z and 0-9). Repeats
	// are dropped.
	AppIds []string `json:"app_ids" jsonschema:"minItems=1,maxItems=20,maxLength=255,pattern=^[A-Z0-9]{10}\\.[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$"`
}

// B2BAppLinksRequestAndroid is the labelpartner's Android app.
type B2BAppLinksRequestAndroid struct {
	// Package name, such as `com.sunco.app`.
	PackageName string `json:"package_name" jsonschema:"maxLength=255,pattern=^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)+$"`
	// SHA-256 fingerprints of the app's signing certificates: 32 upper-case hex bytes separated by
	// colons. Repeats are dropped.
	Sha256CertFingerprints []string `json:"sha256_cert_fingerprints" jsonschema:"minItems=1,maxItems=20,pattern=^[0-9A-F]{2}(:[0-9A-F]{2}){31}$"`
}

// B2BAppLinksRequest is the labelpartner's apps, which open the links of its mails, and the URL
// templates of those links. Every member is optional; an empty object is the same as none. Its
// apps are listed in `/.well-known/apple-app-site-association` and `/.well-known/assetlinks.json`.
type B2BAppLinksRequest struct {
	// URL template of the verification link: an absolute `https` URL holding `{token}` exactly once,
	// in its path, query or fragment (never in the host), and no other placeholder, space or user
	// information. The mailed token (base64url) replaces `{token}`, query-escaped. Without it, the
	// mail links to onboard's own page `GET /v2/registration/verify`.
	VerifyURL string `json:"verify_url,omitempty" jsonschema:"maxLength=2000,pattern=\\{token\\}"`
	// URL template of the password-reset link: an absolute `https` URL holding `{token}` exactly
	// once, in its path, query or fragment (never in the host), and no other placeholder, space or
	// user information. The mailed token (base64url) replaces `{token}`, query-escaped. Without it,
	// the mail links to onboard's own link `/v2/registration/resetpassword?token=…`.
	ResetURL string `json:"reset_url,omitempty" jsonschema:"maxLength=2000,pattern=\\{token\\}"`
	// The labelpartner's iOS apps.
	IOS *B2BAppLinksRequestIOS `json:"ios,omitempty"`
	// The labelpartner's Android app.
	Android *B2BAppLinksRequestAndroid `json:"android,omitempty"`
}

// B2BAppLinksIOS is the labelpartner's iOS apps.
type B2BAppLinksIOS struct {
	// Application identifiers, `TEAMID.bundle.id` (a 10-character team id of A-Z and 0-9). Repeats
	// are dropped.
	AppIds []string `json:"app_ids" jsonschema:"minItems=1,maxItems=20,maxLength=255,pattern=^[A-Z0-9]{10}\\.[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$"`
}

// B2BAppLinksAndroid is the labelpartner's Android app.
type B2BAppLinksAndroid struct {
	// Package name, such as `com.sunco.app`.
	PackageName string `json:"package_name" jsonschema:"maxLength=255,pattern=^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)+$"`
	// SHA-256 fingerprints of the app's signing certificates: 32 upper-case hex bytes separated by
	// colons. Repeats are dropped.
	Sha256CertFingerprints []string `json:"sha256_cert_fingerprints" jsonschema:"minItems=1,maxItems=20,pattern=^[0-9A-F]{2}(:[0-9A-F]{2}){31}$"`
}

// B2BAppLinks is the labelpartner's apps, which open the links of its mails, and the URL templates
// of those links. Every member is optional; an empty object is the same as none. Its apps are
// listed in `/.well-known/apple-app-site-association` and `/.well-known/assetlinks.json`.
type B2BAppLinks struct {
	// URL template of the verification link: an absolute `https` URL holding `{token}` exactly once,
	// in its path, query or fragment (never in the host), and no other placeholder, space or user
	// information. The mailed token (base64url) replaces `{token}`, query-escaped. Without it, the
	// mail links to onboard's own page `GET /v2/registration/verify`.
	VerifyURL string `json:"verify_url,omitempty" jsonschema:"maxLength=2000,pattern=\\{token\\}"`
	// URL template of the password-reset link: an absolute `https` URL holding `{token}` exactly
	// once, in its path, query or fragment (never in the host), and no other placeholder, space or
	// user information. The mailed token (base64url) replaces `{token}`, query-escaped. Without it,
	// the mail links to onboard's own link `/v2/registration/resetpassword?token=…`.
	ResetURL string `json:"reset_url,omitempty" jsonschema:"maxLength=2000,pattern=\\{token\\}"`
	// The labelpartner's iOS apps.
	IOS *B2BAppLinksIOS `json:"ios,omitempty"`
	// The labelpartner's Android app.
	Android *B2BAppLinksAndroid `json:"android,omitempty"`
}

// B2BPatchLabelpartnerRequest is a payload of the API.
type B2BPatchLabelpartnerRequest struct {
	// Replaces the app links; `null` removes them.
	AppLinks *B2BAppLinksRequest `json:"app_links" jsonschema:"nullable"`
}
