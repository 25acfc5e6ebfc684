package domain

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SSO is an organization's sign-in with OpenID Connect: its identity
// providers, and whether an unknown person signing in through one of them
// creates a customer at the first login.
type SSO struct {
	// FirstLoginCreatesCustomer sends an unknown identity to a registration
	// form that creates a customer (of FirstLoginAccountType), its first
	// user and the link; when false the person is told that no account
	// exists.
	FirstLoginCreatesCustomer bool `json:"first_login_creates_customer"`
	// FirstLoginAccountType is customer_personal or customer_business.
	FirstLoginAccountType string        `json:"first_login_account_type,omitempty"`
	Providers             []SSOProvider `json:"providers"`
}

// SSOProvider is one OpenID provider of an organization.
type SSOProvider struct {
	// Name is the provider's part of the paths /auth/oidc/{name} and
	// /auth/oidc/{name}/callback.
	Name string `json:"name"`
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is sealed at rest and never shown by the API; an empty
	// secret on write keeps the stored one.
	ClientSecret string   `json:"client_secret,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	ButtonLabel  string   `json:"button_label,omitempty"`
	// AppRedirectURIs are the redirect URIs of apps that sign in through
	// this provider with the same client and exchange their authorization
	// code through onboard (POST /api/v1/sessions/oidc).
	AppRedirectURIs []string  `json:"app_redirect_uris,omitempty"`
	Claims          SSOClaims `json:"claims"`
}

// SSOClaims name the ID token claims that hold a person's details.
type SSOClaims struct {
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Locale    string `json:"locale,omitempty"`
}

// WithDefaults fills the standard claim names (email, given_name,
// family_name, phone_number, locale) and scopes (openid email profile).
func (p SSOProvider) WithDefaults() SSOProvider {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&p.Claims.Email, "email")
	def(&p.Claims.FirstName, "given_name")
	def(&p.Claims.LastName, "family_name")
	def(&p.Claims.Phone, "phone_number")
	def(&p.Claims.Locale, "locale")
	if len(p.Scopes) == 0 {
		p.Scopes = []string{"openid", "email", "profile"}
	}
	return p
}

// Provider returns the provider named name.
func (s *SSO) Provider(name string) (SSOProvider, bool) {
	if s == nil {
		return SSOProvider{}, false
	}
	for _, p := range s.Providers {
		if p.Name == name {
			return p.WithDefaults(), true
		}
	}
	return SSOProvider{}, false
}

// Kinds of SSO flows.
const (
	SSOFlowAuth         = "auth"
	SSOFlowRegistration = "registration"
	SSOFlowLink         = "link"
)

// SSOFlow is a short-lived, single-use step of a sign-in with OpenID
// Connect (see the migration of sso_flows).
type SSOFlow struct {
	ID          string
	OrgID       string
	Kind        string
	TokenHash   []byte
	BindingHash []byte // nil for apps
	Provider    string
	Identity    ExternalClaims
	UserID      string // link: the user the identity would be linked to
	NextPath    string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      *time.Time
}

// ExternalClaims is what a verified ID token said about a person.
type ExternalClaims struct {
	Issuer        string `json:"iss"`
	Subject       string `json:"sub"`
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	Phone         string `json:"phone,omitempty"`
	Locale        string `json:"locale,omitempty"`
}

// ExternalIdentity links a subject of an OpenID provider to a user.
type ExternalIdentity struct {
	ID          string
	OrgID       string
	UserID      string
	Provider    string
	Issuer      string
	Subject     string
	Email       string
	CreatedAt   time.Time
	LastLoginAt *time.Time
}

// ssoName is what a provider's name may be: it is a path segment.
func ssoNameOK(n string) bool {
	if n == "" || len(n) > 40 {
		return false
	}
	for i, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Validate checks the configuration and returns every problem as a field
// error under "sso."; checkURL judges the issuer URLs onboard will call.
func (s *SSO) Validate(checkURL func(string) error) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "sso." + field, Message: msg}) }
	switch s.FirstLoginAccountType {
	case AccountCustomerPersonal, AccountCustomerBusiness:
	case "":
		if s.FirstLoginCreatesCustomer {
			add("first_login_account_type", "is required when first_login_creates_customer is on: customer_personal or customer_business")
		}
	default:
		add("first_login_account_type", "must be customer_personal or customer_business: partners and organization users are registered beforehand")
	}
	if len(s.Providers) > 10 {
		add("providers", "must list at most 10 providers")
	}
	seen := map[string]bool{}
	for i, p := range s.Providers {
		f := func(name string) string { return "providers[" + itoa(i) + "]." + name }
		switch {
		case !ssoNameOK(p.Name):
			errs = append(errs, FieldError{Field: "sso." + f("name"), Message: "must be 1 to 40 lower-case letters, digits, '-' or '_', starting with a letter or digit"})
		case seen[p.Name]:
			errs = append(errs, FieldError{Field: "sso." + f("name"), Message: "is listed twice"})
		}
		seen[p.Name] = true
		if err := checkURL(p.Issuer); err != nil {
			add(f("issuer"), err.Error())
		} else if strings.ContainsAny(p.Issuer, "?#") {
			add(f("issuer"), "must not have a query or fragment")
		}
		if strings.TrimSpace(p.ClientID) == "" || len(p.ClientID) > 255 || !PlainText(p.ClientID) {
			add(f("client_id"), "is required (at most 255 characters)")
		}
		if len(p.ClientSecret) > 500 {
			add(f("client_secret"), "must be at most 500 characters")
		}
		if len(p.Scopes) > 0 && !slices.Contains(p.Scopes, "openid") {
			add(f("scopes"), "must include openid")
		}
		for _, sc := range p.Scopes {
			if sc == "" || len(sc) > 100 || strings.ContainsFunc(sc, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' }) {
				add(f("scopes"), "must be scope tokens without spaces")
				break
			}
		}
		if utf8.RuneCountInString(p.ButtonLabel) > 60 || !PlainText(p.ButtonLabel) {
			add(f("button_label"), "must be at most 60 characters of plain text")
		}
		for j, u := range p.AppRedirectURIs {
			pu, err := url.Parse(u)
			if err != nil || pu.Scheme == "" || len(u) > 2048 || pu.Fragment != "" || (pu.Scheme == "http" && pu.Hostname() != "127.0.0.1" && pu.Hostname() != "localhost") {
				add(f("app_redirect_uris["+itoa(j)+"]"), "must be an absolute URI without fragment (https, an app scheme, or http on the loopback address)")
			}
		}
		for name, v := range map[string]string{"email": p.Claims.Email, "first_name": p.Claims.FirstName, "last_name": p.Claims.LastName,
			"phone": p.Claims.Phone, "locale": p.Claims.Locale} {
			if len(v) > 100 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' }) {
				add(f("claims."+name), "must be a claim name without spaces (at most 100 characters)")
			}
		}
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs
}

func itoa(i int) string { return strconv.Itoa(i) }
