// Package sso is onboard's sign-in with OpenID Connect: a relying party on
// github.com/coreos/go-oidc and golang.org/x/oauth2 for each identity
// provider an organization configures (onboarding member "sso"), and the
// first-login rules around it.
//
// A browser sign-in is the authorization code flow with PKCE (S256). Begin
// draws a random browser binding, which the pages keep in an HttpOnly
// cookie, and stores only the SHA-256 of the state and of the binding; the
// PKCE verifier and the nonce are derived from the binding and the state
// (HMAC-SHA256), so nothing that could finish the flow is stored. Callback
// accepts a state once, only from the browser that started it, exchanges
// the code and verifies the ID token (signature with the provider's JWKS,
// issuer, audience, expiry, nonce).
//
// A verified identity (issuer + subject) that is linked to a user signs
// in, with the same required actions as a password sign-in. An unknown one
// never merges silently: when a user of the organization has the same
// (provider-verified) email address, the identity is linked only after
// that user's password is given (Link); otherwise, when the organization
// lets the first login create a customer, a registration form prefilled
// from the claims creates the customer, its first user (account
// administrator, no password), the default location and the link in one
// transaction (CompleteRegistration); when it does not, the person is told
// that no account exists. Partner and organization users are never turned
// into customers: only the link to their own user is offered.
//
// Apps sign in with SignInApp: an authorization code with its PKCE
// verifier and the app's registered redirect URI, or an ID token of the
// provider, verified the same way.
//
// Every call to a provider goes through the outbound client (no internal
// addresses, no redirects) with a time limit; discovery documents are
// cached, and keys are fetched again when a token names an unknown key id
// (rotation).
package sso

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

// Config are the settings of the sign-in with OpenID Connect.
type Config struct {
	// PublicURL is the base of the redirect URIs
	// (<public-url>/auth/oidc/{name}/callback).
	PublicURL string
	// Timeout bounds each call to a provider (discovery, token, keys);
	// 0: 10 s.
	Timeout time.Duration
	// StateTTL is how long a started sign-in may take at the provider;
	// 0: 10 minutes.
	StateTTL time.Duration
	// PendingTTL is how long a first-login registration or a link waits
	// for its form; 0: 30 minutes.
	PendingTTL time.Duration
	// DiscoveryTTL is how long a provider's discovery document is cached;
	// 0: 1 hour.
	DiscoveryTTL time.Duration
	// Now is the clock (the application's, see app.WithClock), read as
	// store.Timestamp of it; nil: time.Now.
	Now func() time.Time
}

// Service runs the sign-ins. It is safe for concurrent use.
type Service struct {
	flows *flows.Service
	store *store.Store
	hc    *http.Client
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]cachedProvider
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// New returns a Service; hc is the outbound client's HTTP client.
func New(f *flows.Service, st *store.Store, hc *http.Client, logger *slog.Logger, cfg Config) *Service {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 10 * time.Minute
	}
	if cfg.PendingTTL <= 0 {
		cfg.PendingTTL = 30 * time.Minute
	}
	if cfg.DiscoveryTTL <= 0 {
		cfg.DiscoveryTTL = time.Hour
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	clock := cfg.Now
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{flows: f, store: st, hc: hc, cfg: cfg, log: logger, now: func() time.Time { return store.Timestamp(clock()) }, cache: map[string]cachedProvider{}}
}

// ---- errors (codes mapped to statuses in internal/httpx) ----

var (
	errUnavailable = domain.Errorf(domain.EUnavailable, "sso-provider-unavailable",
		"The sign-in provider does not answer right now. Try again in a few minutes.")
	errStateInvalid = domain.Errorf(domain.EBadRequest, "sso-state-invalid",
		"This sign-in was not started in this browser, or its state does not match. Start the sign-in again.")
	errStateUsed    = domain.Errorf(domain.EGone, "sso-state-used", "This sign-in was already finished. Start the sign-in again.")
	errStateExpired = domain.Errorf(domain.EGone, "sso-state-expired", "This sign-in took too long. Start the sign-in again.")
	errCodeInvalid  = domain.Errorf(domain.EUnauthorized, "sso-code-invalid",
		"The provider did not accept the sign-in code: it was used already or has expired. Start the sign-in again.")
	errDenied          = domain.Errorf(domain.EUnauthorized, "sso-denied", "The sign-in was cancelled or refused at the provider.")
	errPendingNotFound = domain.Errorf(domain.ENotFound, "sso-pending-not-found", "This sign-in form is not valid. Start the sign-in again.")
	errPendingUsed     = domain.Errorf(domain.EGone, "sso-pending-used", "This sign-in form was already used. Sign in again.")
	errPendingExpired  = domain.Errorf(domain.EGone, "sso-pending-expired", "This sign-in form has expired. Start the sign-in again.")
	errEmailUnverified = domain.Errorf(domain.EForbidden, "sso-email-unverified",
		"Your sign-in provider has not confirmed your email address, so it cannot be used here. Confirm it at the provider, then sign in again.")
)

// tokenError is a refused ID token; reason says why, in a few words.
func tokenError(reason string) error {
	return domain.Errorf(domain.EUnauthorized, "sso-token-invalid",
		"The sign-in provider's answer could not be verified (%s). Start the sign-in again.", reason)
}

// NotFoundError is the answer for a provider the organization does not have.
func providerNotFound() error {
	return domain.Errorf(domain.ENotFound, "sso-provider-not-found", "There is no such sign-in provider.")
}

// AccountNotFound is the error of an unknown identity when the first login
// does not create a customer; its detail says whom to ask.
func accountNotFound(org domain.Organization) error {
	return domain.Errorf(domain.EForbidden, "sso-account-not-found",
		"No account exists for this identity at %s. Ask %s to create your account, then sign in again.", orgName(org), orgName(org))
}

func orgName(o domain.Organization) string {
	switch {
	case o.Onboarding.Branding.DisplayName != "":
		return o.Onboarding.Branding.DisplayName
	case o.DisplayName != "":
		return o.DisplayName
	}
	return o.Name
}

// ---- providers ----

// Button is a provider as the sign-in page offers it.
type Button struct {
	Name, Label string
}

// Buttons lists the organization's providers for its sign-in page.
func Buttons(org domain.Organization) []Button {
	if org.Onboarding.SSO == nil {
		return nil
	}
	var out []Button
	for _, p := range org.Onboarding.SSO.Providers {
		label := p.ButtonLabel
		if label == "" {
			label = p.Name
		}
		out = append(out, Button{Name: p.Name, Label: label})
	}
	return out
}

// CallbackURL is the redirect URI to register at the provider.
func (s *Service) CallbackURL(org domain.Organization, name string) string {
	return s.cfg.PublicURL + flows.PagePath(org.Name, "/auth/oidc/"+url.PathEscape(name)+"/callback")
}

func (s *Service) providerConfig(org domain.Organization, name string) (domain.SSOProvider, error) {
	p, ok := org.Onboarding.SSO.Provider(name)
	if !ok {
		return p, providerNotFound()
	}
	return p, nil
}

// clientCtx carries the outbound client to go-oidc and oauth2.
func (s *Service) clientCtx(ctx context.Context) context.Context {
	return context.WithValue(oidc.ClientContext(ctx, s.hc), oauth2.HTTPClient, s.hc)
}

// discover returns the provider's discovery (cached for DiscoveryTTL; a
// failure is not cached).
func (s *Service) discover(ctx context.Context, org domain.Organization, p domain.SSOProvider) (*oidc.Provider, error) {
	key := org.ID + "\x00" + p.Name + "\x00" + p.Issuer
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[key]
	s.mu.Unlock()
	if ok && now.Sub(c.fetched) < s.cfg.DiscoveryTTL {
		return c.p, nil
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	prov, err := oidc.NewProvider(s.clientCtx(dctx), p.Issuer)
	if err != nil {
		s.log.WarnContext(ctx, "oidc discovery failed", "org", org.Name, "provider", p.Name, "err", err)
		return nil, errUnavailable
	}
	s.mu.Lock()
	if len(s.cache) > 1000 {
		clear(s.cache)
	}
	s.cache[key] = cachedProvider{p: prov, fetched: now}
	s.mu.Unlock()
	return prov, nil
}

func oauthConfig(p domain.SSOProvider, prov *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: prov.Endpoint(),
		RedirectURL: redirectURI, Scopes: p.Scopes}
}

// ---- browser sign-in ----

// derive is a value of the flow derived from the browser binding and the
// state: the PKCE verifier and the nonce are never stored.
func derive(binding, state, purpose string) string {
	m := hmac.New(sha256.New, []byte(binding))
	m.Write([]byte(purpose + "\x00" + state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Begin starts a browser sign-in through the provider name: it returns the
// provider's authorization URL and the browser binding, which the caller
// keeps in an HttpOnly cookie until the callback. next is where the
// browser goes after signing in.
func (s *Service) Begin(ctx context.Context, org domain.Organization, name, next string) (authURL, binding string, err error) {
	p, err := s.providerConfig(org, name)
	if err != nil {
		return "", "", err
	}
	prov, err := s.discover(ctx, org, p)
	if err != nil {
		return "", "", err
	}
	binding, bindingHash, err := auth.NewToken()
	if err != nil {
		return "", "", fmt.Errorf("sso begin: %w", err)
	}
	state, stateHash, err := auth.NewToken()
	if err != nil {
		return "", "", fmt.Errorf("sso begin: %w", err)
	}
	now := s.now()
	if err := s.store.CreateSSOFlow(ctx, domain.SSOFlow{ID: store.NewID(), OrgID: org.ID, Kind: domain.SSOFlowAuth,
		TokenHash: stateHash, BindingHash: bindingHash, Provider: p.Name, NextPath: next, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.StateTTL)}); err != nil {
		return "", "", fmt.Errorf("sso begin: %w", err)
	}
	verifier := derive(binding, state, "pkce")
	authURL = oauthConfig(p, prov, s.CallbackURL(org, p.Name)).AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier), oidc.Nonce(derive(binding, state, "nonce")))
	return authURL, binding, nil
}

// Outcome is where a verified identity leads: a session (Token and
// Principal), or a pending step: the first-login registration form or the
// password of the user the identity would be linked to.
type Outcome struct {
	Token     string
	Principal flows.Principal
	// Pending is set instead of a session.
	Pending *Pending
	// Next is the path the browser asked to go to after signing in.
	Next string
}

// Pending is a first-login registration or a link waiting for its form.
type Pending struct {
	Kind      string // domain.SSOFlowRegistration or domain.SSOFlowLink
	Token     string
	ExpiresAt time.Time
	Provider  string
	Claims    domain.ExternalClaims
}

// Callback finishes a browser sign-in: q is the query of the provider's
// redirect and binding the value of the browser's flow cookie.
func (s *Service) Callback(ctx context.Context, org domain.Organization, name string, q url.Values, binding, clientIP, userAgent string) (Outcome, error) {
	p, err := s.providerConfig(org, name)
	if err != nil {
		return Outcome{}, err
	}
	if err := s.flows.LimitSignIn(ctx, clientIP); err != nil {
		return Outcome{}, err
	}
	state := q.Get("state")
	if !auth.WellFormedToken(state) {
		return Outcome{}, errStateInvalid
	}
	flow, err := s.store.SSOFlowByTokenHash(ctx, auth.HashToken(state))
	switch {
	case store.IsNotFound(err):
		return Outcome{}, errStateInvalid
	case err != nil:
		return Outcome{}, fmt.Errorf("sso callback: %w", err)
	}
	if flow.OrgID != org.ID || flow.Kind != domain.SSOFlowAuth || flow.Provider != p.Name {
		return Outcome{}, errStateInvalid
	}
	switch {
	case flow.UsedAt != nil:
		return Outcome{}, errStateUsed
	case !s.now().Before(flow.ExpiresAt):
		return Outcome{}, errStateExpired
	case binding == "" || subtle.ConstantTimeCompare(flow.BindingHash, auth.HashToken(binding)) != 1:
		return Outcome{}, errStateInvalid
	}
	if ok, err := s.store.UseSSOFlow(ctx, org.ID, flow.ID, s.now()); err != nil {
		return Outcome{}, fmt.Errorf("sso callback: %w", err)
	} else if !ok {
		return Outcome{}, errStateUsed
	}
	if e := q.Get("error"); e != "" {
		s.log.InfoContext(ctx, "oidc sign-in refused at the provider", "org", org.Name, "provider", p.Name, "error", truncate(e, 64))
		return Outcome{}, errDenied
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		return Outcome{}, domain.Errorf(domain.EBadRequest, "sso-code-missing", "The provider's answer has no sign-in code. Start the sign-in again.")
	}
	prov, err := s.discover(ctx, org, p)
	if err != nil {
		return Outcome{}, err
	}
	claims, err := s.exchange(ctx, org, p, prov, code, derive(binding, state, "pkce"), s.CallbackURL(org, p.Name), derive(binding, state, "nonce"))
	if err != nil {
		return Outcome{}, err
	}
	out, err := s.resolve(ctx, org, p, claims, binding, clientIP, userAgent)
	out.Next = flow.NextPath
	return out, err
}

// exchange redeems a code (with its PKCE verifier) and verifies the ID
// token of the answer; nonce, when not empty, must be the token's.
func (s *Service) exchange(ctx context.Context, org domain.Organization, p domain.SSOProvider, prov *oidc.Provider,
	code, verifier, redirectURI, nonce string) (domain.ExternalClaims, error) {
	xctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	tok, err := oauthConfig(p, prov, redirectURI).Exchange(s.clientCtx(xctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
			s.log.InfoContext(ctx, "oidc code refused", "org", org.Name, "provider", p.Name, "error", re.ErrorCode)
			return domain.ExternalClaims{}, errCodeInvalid
		}
		s.log.WarnContext(ctx, "oidc token request failed", "org", org.Name, "provider", p.Name, "err", err)
		return domain.ExternalClaims{}, errUnavailable
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return domain.ExternalClaims{}, tokenError("no ID token")
	}
	return s.verify(ctx, org, p, prov, raw, nonce)
}

// verify checks an ID token: signature (keys from the provider's JWKS,
// fetched again for an unknown key id), issuer, audience, expiry and, when
// nonce is not empty, the nonce.
func (s *Service) verify(ctx context.Context, org domain.Organization, p domain.SSOProvider, prov *oidc.Provider, raw, nonce string) (domain.ExternalClaims, error) {
	vctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	idt, err := prov.Verifier(&oidc.Config{ClientID: p.ClientID, Now: s.now}).Verify(s.clientCtx(vctx), raw)
	if err != nil {
		reason := verifyReason(err)
		s.log.InfoContext(ctx, "oidc ID token refused", "org", org.Name, "provider", p.Name, "reason", reason, "err", err)
		if reason == "" {
			return domain.ExternalClaims{}, errUnavailable
		}
		return domain.ExternalClaims{}, tokenError(reason)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return domain.ExternalClaims{}, tokenError("wrong nonce")
	}
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		return domain.ExternalClaims{}, tokenError("unreadable claims")
	}
	str := func(name string) string {
		v, _ := all[name].(string)
		if len(v) > 254 || !domain.PlainText(v) {
			return ""
		}
		return strings.TrimSpace(v)
	}
	c := domain.ExternalClaims{Issuer: idt.Issuer, Subject: idt.Subject, Email: str(p.Claims.Email),
		FirstName: str(p.Claims.FirstName), LastName: str(p.Claims.LastName), Phone: str(p.Claims.Phone), Locale: str(p.Claims.Locale)}
	switch v := all["email_verified"].(type) {
	case bool:
		c.EmailVerified = v
	case string: // some providers send "true"
		c.EmailVerified = v == "true"
	}
	if c.Subject == "" || len(c.Subject) > 255 {
		return domain.ExternalClaims{}, tokenError("no subject")
	}
	return c, nil
}

// verifyReason says in a few words why go-oidc refused a token; "" when
// the provider's keys could not be fetched (the provider is down).
func verifyReason(err error) string {
	if _, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
		return "expired"
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "fetching keys"), strings.Contains(msg, "get keys failed"), errors.Is(err, context.DeadlineExceeded):
		return ""
	case strings.Contains(msg, "expected audience"):
		return "wrong audience"
	case strings.Contains(msg, "issued by a different provider"):
		return "wrong issuer"
	case strings.Contains(msg, "unexpected signature algorithm"), strings.Contains(msg, "unsupported signing algorithm"),
		strings.Contains(msg, `"none"`):
		return "unsupported algorithm"
	case strings.Contains(msg, "failed to verify signature"), strings.Contains(msg, "verify signature"):
		return "bad signature"
	case strings.Contains(msg, "malformed"):
		return "malformed token"
	case strings.Contains(msg, "before the nbf"), strings.Contains(msg, "issued in the future"):
		return "not valid yet"
	}
	return "invalid token"
}

// resolve decides where a verified identity leads (see the package
// documentation). binding is the browser's, "" for apps.
func (s *Service) resolve(ctx context.Context, org domain.Organization, p domain.SSOProvider, c domain.ExternalClaims,
	binding, clientIP, userAgent string) (Outcome, error) {
	browser := binding != ""
	ident, err := s.store.ExternalIdentity(ctx, org.ID, c.Issuer, c.Subject)
	switch {
	case err == nil:
		token, pr, err := s.flows.SignInUser(ctx, org.ID, ident.UserID, browser, clientIP, userAgent)
		if err != nil {
			return Outcome{}, err
		}
		if err := s.store.TouchExternalIdentity(ctx, org.ID, ident.ID, s.now()); err != nil {
			s.log.WarnContext(ctx, "touch external identity", "err", err)
		}
		return Outcome{Token: token, Principal: pr}, nil
	case !store.IsNotFound(err):
		return Outcome{}, fmt.Errorf("sso: %w", err)
	}
	if c.Email == "" || !c.EmailVerified {
		return Outcome{}, errEmailUnverified
	}
	user, err := s.store.UserByEmail(ctx, org.ID, c.Email)
	switch {
	case err == nil:
		// Never a silent merge: the user's password first.
		pend, err := s.pending(ctx, org, domain.SSOFlowLink, p, c, user.ID, binding)
		return Outcome{Pending: &pend}, err
	case !store.IsNotFound(err):
		return Outcome{}, fmt.Errorf("sso: %w", err)
	}
	if !createsCustomer(org) {
		return Outcome{}, accountNotFound(org)
	}
	pend, err := s.pending(ctx, org, domain.SSOFlowRegistration, p, c, "", binding)
	return Outcome{Pending: &pend}, err
}

func createsCustomer(org domain.Organization) bool {
	sso := org.Onboarding.SSO
	return sso != nil && sso.FirstLoginCreatesCustomer &&
		(sso.FirstLoginAccountType == domain.AccountCustomerPersonal || sso.FirstLoginAccountType == domain.AccountCustomerBusiness)
}

func (s *Service) pending(ctx context.Context, org domain.Organization, kind string, p domain.SSOProvider, c domain.ExternalClaims,
	userID, binding string) (Pending, error) {
	token, hash, err := auth.NewToken()
	if err != nil {
		return Pending{}, fmt.Errorf("sso: %w", err)
	}
	var bindingHash []byte
	if binding != "" {
		bindingHash = auth.HashToken(binding)
	}
	now := s.now()
	f := domain.SSOFlow{ID: store.NewID(), OrgID: org.ID, Kind: kind, TokenHash: hash, BindingHash: bindingHash, Provider: p.Name,
		Identity: c, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.PendingTTL)}
	if err := s.store.CreateSSOFlow(ctx, f); err != nil {
		return Pending{}, fmt.Errorf("sso: %w", err)
	}
	return Pending{Kind: kind, Token: token, ExpiresAt: f.ExpiresAt, Provider: p.Name, Claims: c}, nil
}

// ---- apps ----

// AppSignIn is an app's sign-in through a provider: an authorization code
// with its PKCE verifier and the app's redirect URI, or an ID token.
type AppSignIn struct {
	Organization string
	Provider     string
	Code         string
	CodeVerifier string
	RedirectURI  string
	IDToken      string
	// Nonce, when given, must be the ID token's.
	Nonce     string
	ClientIP  string
	UserAgent string
}

// SignInApp signs an app in: an API session, or a pending registration or
// link (whose token the app uses with the registration and link calls).
func (s *Service) SignInApp(ctx context.Context, in AppSignIn) (Outcome, error) {
	var fields []domain.FieldError
	add := func(f, m string) { fields = append(fields, domain.FieldError{Field: f, Message: m}) }
	if in.Provider == "" {
		add("provider", "is required")
	}
	switch {
	case in.IDToken != "" && (in.Code != "" || in.CodeVerifier != "" || in.RedirectURI != ""):
		add("id_token", "give either id_token, or code with code_verifier and redirect_uri")
	case in.IDToken != "":
		if len(in.IDToken) > 16<<10 {
			add("id_token", "is too long")
		}
	default:
		if in.Code == "" {
			add("code", "is required (or give id_token)")
		} else if len(in.Code) > 4096 {
			add("code", "is too long")
		}
		if l := len(in.CodeVerifier); l < 43 || l > 128 {
			add("code_verifier", "must be a PKCE code verifier of 43 to 128 characters")
		}
		if in.RedirectURI == "" {
			add("redirect_uri", "is required")
		}
	}
	if len(in.Nonce) > 255 {
		add("nonce", "is too long")
	}
	if len(fields) > 0 {
		return Outcome{}, domain.Invalid(fields...)
	}
	if err := s.flows.LimitSignIn(ctx, in.ClientIP); err != nil {
		return Outcome{}, err
	}
	org, err := s.flows.Organization(ctx, in.Organization)
	if err != nil {
		if de := domain.AsError(err); de != nil && de.Code == domain.ENotFound {
			return Outcome{}, domain.Invalid(domain.FieldError{Field: "organization", Message: "no such organization"})
		}
		return Outcome{}, err
	}
	p, ok := org.Onboarding.SSO.Provider(in.Provider)
	if !ok {
		return Outcome{}, domain.Invalid(domain.FieldError{Field: "provider", Message: "is not a sign-in provider of this organization"})
	}
	if in.IDToken == "" && !slices.Contains(p.AppRedirectURIs, in.RedirectURI) {
		return Outcome{}, domain.Invalid(domain.FieldError{Field: "redirect_uri", Message: "is not a registered app redirect URI of this provider"})
	}
	prov, err := s.discover(ctx, org, p)
	if err != nil {
		return Outcome{}, err
	}
	var c domain.ExternalClaims
	if in.IDToken != "" {
		c, err = s.verify(ctx, org, p, prov, in.IDToken, in.Nonce)
	} else {
		c, err = s.exchange(ctx, org, p, prov, in.Code, in.CodeVerifier, in.RedirectURI, in.Nonce)
	}
	if err != nil {
		return Outcome{}, err
	}
	return s.resolve(ctx, org, p, c, "", in.ClientIP, in.UserAgent)
}

// ---- pending registrations and links ----

// pendingFlow loads a pending step of kind by its token: for a browser
// (binding set) only one started in that browser, for an app only one
// started by an app.
func (s *Service) pendingFlow(ctx context.Context, kind, token, binding string) (domain.SSOFlow, error) {
	if !auth.WellFormedToken(token) {
		return domain.SSOFlow{}, errPendingNotFound
	}
	f, err := s.store.SSOFlowByTokenHash(ctx, auth.HashToken(token))
	switch {
	case store.IsNotFound(err):
		return f, errPendingNotFound
	case err != nil:
		return f, fmt.Errorf("sso: %w", err)
	}
	bound := binding != "" && subtle.ConstantTimeCompare(f.BindingHash, auth.HashToken(binding)) == 1
	if f.Kind != kind || (binding == "") != (f.BindingHash == nil) || (binding != "" && !bound) {
		return f, errPendingNotFound
	}
	switch {
	case f.UsedAt != nil:
		return f, errPendingUsed
	case !s.now().Before(f.ExpiresAt):
		return f, errPendingExpired
	}
	return f, nil
}

// RegistrationForm is the first-login registration form.
type RegistrationForm struct {
	Organization domain.Organization
	AccountType  string
	Claims       domain.ExternalClaims
	Provider     string
	ExpiresAt    time.Time
	// Fields are every field of the account type; Prefilled are the values
	// the claims gave (the form asks for the others).
	Fields     []flows.Field
	Prefilled  map[string]string
	Agreements []domain.Agreement
}

// Missing lists the fields the claims did not fill.
func (f RegistrationForm) Missing() []flows.Field {
	var out []flows.Field
	for _, fl := range f.Fields {
		if f.Prefilled[fl.Name] == "" {
			out = append(out, fl)
		}
	}
	return out
}

// prefill maps claims to form fields.
func prefill(c domain.ExternalClaims) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"user.first_name": c.FirstName, "user.last_name": c.LastName, "user.phone": c.Phone} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// Registration returns the first-login registration form of a token.
func (s *Service) Registration(ctx context.Context, token, binding string) (RegistrationForm, error) {
	f, err := s.pendingFlow(ctx, domain.SSOFlowRegistration, token, binding)
	if err != nil {
		return RegistrationForm{}, err
	}
	org, err := s.flows.OrganizationByID(ctx, f.OrgID)
	if err != nil {
		return RegistrationForm{}, err
	}
	if !createsCustomer(org) {
		return RegistrationForm{}, accountNotFound(org)
	}
	accountType := org.Onboarding.SSO.FirstLoginAccountType
	form, err := s.flows.RegistrationForm(ctx, org.ID, accountType)
	if err != nil {
		return RegistrationForm{}, err
	}
	return RegistrationForm{Organization: org, AccountType: accountType, Claims: f.Identity, Provider: f.Provider, ExpiresAt: f.ExpiresAt,
		Fields: form.Fields, Prefilled: prefill(f.Identity), Agreements: form.Agreements}, nil
}

// Registered is a completed first-login registration and its session.
type Registered struct {
	Registration flows.Registration
	Token        string
	Principal    flows.Principal
}

// CompleteRegistration creates the customer, its first user, the default
// location and the identity link in one transaction (values the claims
// gave fill the fields the form leaves out), records the funnel's
// registration_completed step, and signs the user in.
func (s *Service) CompleteRegistration(ctx context.Context, token, binding string, in flows.Completion, userAgent string) (Registered, error) {
	form, err := s.Registration(ctx, token, binding)
	if err != nil {
		return Registered{}, err
	}
	f, err := s.pendingFlow(ctx, domain.SSOFlowRegistration, token, binding)
	if err != nil {
		return Registered{}, err
	}
	if in.User == nil {
		in.User = map[string]any{}
	}
	for k, v := range form.Prefilled {
		name := strings.TrimPrefix(k, "user.")
		if cur, ok := in.User[name]; !ok || cur == "" {
			in.User[name] = v
		}
	}
	c := f.Identity
	reg, err := s.flows.RegisterExternal(ctx, flows.ExternalRegistration{
		OrgID: f.OrgID, AccountType: form.AccountType, Email: c.Email, Language: language(c.Locale), Completion: in,
		Consume: func(ctx context.Context, tx *store.Tx, now time.Time) (bool, error) {
			return tx.UseSSOFlow(ctx, f.OrgID, f.ID, now)
		},
		Link: func(ctx context.Context, tx *store.Tx, user domain.User, now time.Time) error {
			if err := tx.CreateExternalIdentity(ctx, domain.ExternalIdentity{ID: store.NewID(), OrgID: f.OrgID, UserID: user.ID,
				Provider: f.Provider, Issuer: c.Issuer, Subject: c.Subject, Email: c.Email, CreatedAt: now, LastLoginAt: &now}); err != nil {
				return err
			}
			// The funnel counts the registration as a link's, from the
			// moment the provider sent the person back.
			return tx.FunnelRegisteredExternal(ctx, f.ID, f.OrgID, form.AccountType, user.ID, f.CreatedAt, now)
		},
		UsedErr: errPendingUsed,
	})
	if err != nil {
		return Registered{}, err
	}
	tok, pr, err := s.flows.SignInUser(ctx, f.OrgID, reg.User.ID, binding != "", in.ClientIP, userAgent)
	if err != nil {
		return Registered{}, err
	}
	return Registered{Registration: reg, Token: tok, Principal: pr}, nil
}

// language is the page language of a locale claim ("it-IT" → "it").
func language(locale string) string {
	l, _, _ := strings.Cut(strings.ToLower(locale), "-")
	l, _, _ = strings.Cut(l, "_")
	if slices.Contains(flows.Languages, l) {
		return l
	}
	return ""
}

// LinkForm is a pending link: the identity and the (masked) address of the
// user it would be linked to.
type LinkForm struct {
	Organization domain.Organization
	Provider     string
	Claims       domain.ExternalClaims
	ExpiresAt    time.Time
}

// Link returns the pending link of a token.
func (s *Service) Link(ctx context.Context, token, binding string) (LinkForm, error) {
	f, err := s.pendingFlow(ctx, domain.SSOFlowLink, token, binding)
	if err != nil {
		return LinkForm{}, err
	}
	org, err := s.flows.OrganizationByID(ctx, f.OrgID)
	if err != nil {
		return LinkForm{}, err
	}
	return LinkForm{Organization: org, Provider: f.Provider, Claims: f.Identity, ExpiresAt: f.ExpiresAt}, nil
}

// CompleteLink links the identity to the existing user after checking the
// user's password, and signs the user in.
func (s *Service) CompleteLink(ctx context.Context, token, binding, password, clientIP, userAgent string) (string, flows.Principal, error) {
	f, err := s.pendingFlow(ctx, domain.SSOFlowLink, token, binding)
	if err != nil {
		return "", flows.Principal{}, err
	}
	if err := s.flows.CheckPassword(ctx, f.OrgID, f.UserID, password); err != nil {
		return "", flows.Principal{}, err
	}
	c := f.Identity
	used := errors.New("used")
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		ok, err := tx.UseSSOFlow(ctx, f.OrgID, f.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return used
		}
		if err := tx.CreateExternalIdentity(ctx, domain.ExternalIdentity{ID: store.NewID(), OrgID: f.OrgID, UserID: f.UserID,
			Provider: f.Provider, Issuer: c.Issuer, Subject: c.Subject, Email: c.Email, CreatedAt: now, LastLoginAt: &now}); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: f.OrgID, Actor: "user:" + f.UserID, Action: "sso.identity_linked",
			SubjectID: f.UserID, Data: map[string]any{"provider": f.Provider, "issuer": c.Issuer}, CreatedAt: now})
	})
	switch {
	case errors.Is(err, used):
		return "", flows.Principal{}, errPendingUsed
	case store.IsDuplicate(err):
		return "", flows.Principal{}, domain.Errorf(domain.EConflict, "sso-identity-linked", "This identity was linked to an account meanwhile. Sign in again.")
	case err != nil:
		return "", flows.Principal{}, fmt.Errorf("sso link: %w", err)
	}
	return s.flows.SignInUser(ctx, f.OrgID, f.UserID, binding != "", clientIP, userAgent)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
