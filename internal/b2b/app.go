package b2b

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/store"
)

// Link purposes of end users.
const (
	linkVerify = "verify"
	linkReset  = "reset"
)

// ProvisionInput asks for the verification mail of a provisioned end user.
type ProvisionInput struct {
	FirstName, LastName, Email, Labelpartner string
	Imported                                 bool
	ClientIP                                 string
}

func sameName(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)) }

// Provision mails a verification link when the names, address and
// labelpartner match a provisioned end user that has not registered. It
// writes a job and answers the same whether or not anything matches (see
// runProvisionJob).
func (s *Service) Provision(ctx context.Context, in ProvisionInput) error {
	var errs []domain.FieldError
	email, fe := flows.ValidEmail("email_address", in.Email)
	if fe != nil {
		errs = append(errs, *fe)
	}
	for _, f := range []struct{ name, v string }{{"first_name", in.FirstName}, {"last_name", in.LastName}, {"labelpartner", in.Labelpartner}} {
		if _, fe := validName(f.name, f.v); fe != nil {
			errs = append(errs, *fe)
		}
	}
	if !in.Imported {
		errs = append(errs, domain.FieldError{Field: "imported", Message: "must be true"})
	}
	if len(errs) > 0 {
		return domain.Invalid(errs...)
	}
	if err := s.rateLimit(ctx, "b2b:provision:ip:"+in.ClientIP, s.cfg.Limits.SignupPerIP); err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "b2b:provision:email:"+strings.ToLower(email), s.cfg.Limits.SignupPerEmail); err != nil {
		return err
	}
	return s.core.EnqueueJob(ctx, "", jobB2BProvision, email, provisionJob{FirstName: in.FirstName, LastName: in.LastName,
		Email: email, Labelpartner: in.Labelpartner})
}

// provisionJob is a provision request waiting for the job worker.
type provisionJob struct {
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Email        string `json:"email"`
	Labelpartner string `json:"labelpartner"`
}

// runProvisionJob creates, in tx, a verification link and queues its mail when
// the request matches a provisioned end user; otherwise it does nothing.
func (s *Service) runProvisionJob(ctx context.Context, tx *store.Tx, p provisionJob, now time.Time) (bool, error) {
	lp, err := tx.LabelpartnerByName(ctx, strings.TrimSpace(p.Labelpartner))
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ok, err := s.orgEnabled(ctx, lp.OrgID); !ok {
		return false, err // a disabled organization's labelpartner is an unknown one
	}
	u, err := tx.EndUserByOrgEmail(ctx, lp.OrgID, p.Email)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if u.LabelpartnerID != lp.ID || u.State != domain.EndUserProvisioned || !sameName(u.FirstName, p.FirstName) || !sameName(u.LastName, p.LastName) {
		return false, nil
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return false, err
	}
	ttl := s.cfg.SignupTTL
	m, err := s.core.QueueMail(domain.Organization{ID: u.OrgID}, "", obmail.TemplateB2BVerify, u.Email, obmail.B2BVerifyData{
		Link: s.endUserLink(verifyTemplate(lp), "/v2/registration/verify", token), Labelpartner: lp.Name, FirstName: u.FirstName, ExpiresIn: flows.HumanDuration(ttl)})
	if err != nil {
		return false, err
	}
	if err := tx.CreateB2BLink(ctx, domain.B2BLink{ID: store.NewID(), OrgID: u.OrgID, EndUserID: u.ID, Purpose: linkVerify,
		TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return false, err
	}
	return true, tx.EnqueueMail(ctx, m, now)
}

func linkNotFound() error {
	return domain.Errorf(domain.ENotFound, "link-not-found", "This link is not valid.")
}

// verifyLink returns the unexpired verification link a token names: 404
// when unknown, 410 when expired.
func (s *Service) verifyLink(ctx context.Context, token string) (domain.B2BLink, error) {
	if !auth.WellFormedToken(token) {
		return domain.B2BLink{}, linkNotFound()
	}
	l, err := s.store.B2BLinkByHash(ctx, linkVerify, auth.HashToken(token))
	if store.IsNotFound(err) {
		return l, linkNotFound()
	}
	if err != nil {
		return l, err
	}
	if ok, err := s.orgEnabled(ctx, l.OrgID); err != nil {
		return l, err
	} else if !ok {
		return l, linkNotFound()
	}
	if !l.ExpiresAt.After(s.now()) {
		return l, domain.Errorf(domain.EGone, "link-expired", "This link has expired. Ask for a new one in the app.")
	}
	return l, nil
}

// CheckVerifyLink tells whether a verification link can be used, without
// using it: opening the mailed link must not verify (mail scanners open
// links too).
func (s *Service) CheckVerifyLink(ctx context.Context, token string) error {
	_, err := s.verifyLink(ctx, token)
	return err
}

// VerifyEmail verifies the address of the end user a verification link was
// mailed to. Using a link again within its lifetime is harmless.
func (s *Service) VerifyEmail(ctx context.Context, token string) error {
	l, err := s.verifyLink(ctx, token)
	if err != nil {
		return err
	}
	return s.store.MarkEndUserVerified(ctx, l.EndUserID, s.now())
}

// NoGatewayInput sets the pincode of a provisioned end user.
type NoGatewayInput struct {
	Email, Pincode, VoucherCode, ClientIP string
}

func registrationRefused() error {
	return domain.Errorf(domain.EInvalid, "registration-refused",
		"The registration could not be completed. Check the address, verify it first if asked to, and check the voucher code.")
}

// RegisterNoGateway sets the credential of a provisioned end user and makes
// it registered. A pincode that no labelpartner policy accepts is a 422
// password-policy for every address, before the address is looked at. Every
// refusal about the address is one and the same 422, counted against a rate
// limit. Only then, for the end user the request names, a pincode that breaks
// its labelpartner's own policy is a 422 password-policy naming the rule.
func (s *Service) RegisterNoGateway(ctx context.Context, in NoGatewayInput) error {
	var errs []domain.FieldError
	email, fe := flows.ValidEmail("email_address", in.Email)
	if fe != nil {
		errs = append(errs, *fe)
	}
	if in.Pincode == "" {
		errs = append(errs, domain.FieldError{Field: "pincode", Message: "is required"})
	} else if len(in.Pincode) > 256 {
		errs = append(errs, domain.FieldError{Field: "pincode", Message: "must be at most 256 bytes"})
	}
	if len(errs) > 0 {
		return domain.Invalid(errs...)
	}
	// The pincode is checked before anything about the address is read, so
	// that this answer is the same for every address.
	if v := checkAnyEndUserPassword(s.policy, in.Pincode, email); len(v) > 0 {
		return policyError(v)
	}
	if err := s.rateLimit(ctx, "b2b:register:ip:"+in.ClientIP, s.cfg.Limits.LoginPerIP); err != nil {
		return err
	}
	failKey := "b2b:register:fail:" + strings.ToLower(email)
	rule := s.cfg.Limits.LoginFailuresPerEmail
	d, err := s.limiter.Peek(ctx, failKey, rule)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return flows.RateLimited(d.RetryAfter)
	}
	refuse := func() error {
		if _, err := s.limiter.Allow(ctx, failKey, rule); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		return registrationRefused()
	}
	all, err := s.store.EndUsersByEmail(ctx, email)
	if err != nil {
		return err
	}
	var cands []domain.EndUser
	for _, u := range all {
		if ok, err := s.orgEnabled(ctx, u.OrgID); err != nil {
			return err
		} else if !ok {
			continue // as if it did not exist
		}
		switch u.State {
		case domain.EndUserProvisioned:
			cands = append(cands, u)
		default:
			return refuse() // an activated account exists for the address
		}
	}
	if len(cands) != 1 {
		return refuse()
	}
	u := cands[0]
	if !u.Verified() {
		return refuse()
	}
	if u.VoucherCode != "" && !equalSecret(strings.TrimSpace(in.VoucherCode), u.VoucherCode) {
		return refuse()
	}
	lp, err := s.store.LabelpartnerByID(ctx, u.LabelpartnerID)
	if err != nil {
		return err
	}
	if lp.RequireVoucher && u.VoucherCode == "" {
		return refuse() // provisioned before the labelpartner required vouchers
	}
	if v := CheckEndUserPassword(lp.PasswordPolicy, s.policy, in.Pincode, u.Email); len(v) > 0 {
		return policyError(v)
	}
	hash, err := s.hasher.Hash(ctx, in.Pincode)
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	now := s.now()
	refused := false
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.RegisterEndUser(ctx, u.ID, hash, now)
		if err != nil {
			return err
		}
		if !ok {
			refused = true
			return registrationRefused()
		}
		if err := emitEndUser(ctx, tx, u, domain.EndUserRegistered, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: "end_user:" + u.ID, Action: "end_user.registered",
			SubjectID: u.ID, Data: map[string]any{"method": "password"}, CreatedAt: now})
	})
	if refused {
		return refuse()
	}
	return err
}

// ResetEndUserPassword mails a reset link to each registered end user with the
// address; it writes a job and answers the same whether or not there is one
// (see runB2BResetJob).
func (s *Service) ResetEndUserPassword(ctx context.Context, rawEmail, clientIP string) error {
	email, fe := flows.ValidEmail("email_address", rawEmail)
	if fe != nil {
		return domain.Invalid(*fe)
	}
	if err := s.rateLimit(ctx, "b2b:reset:ip:"+clientIP, s.cfg.Limits.SignupPerIP); err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "b2b:reset:email:"+strings.ToLower(email), s.cfg.Limits.SignupPerEmail); err != nil {
		return err
	}
	return s.core.EnqueueJob(ctx, "", jobB2BReset, email, b2bResetJob{Email: email})
}

// b2bResetJob is an end user's reset request waiting for the job worker.
type b2bResetJob struct {
	Email string `json:"email"`
}

// runB2BResetJob creates, in tx, a reset link for each registered end user
// with the address and queues its mail.
func (s *Service) runB2BResetJob(ctx context.Context, tx *store.Tx, p b2bResetJob, now time.Time) (bool, error) {
	users, err := tx.EndUsersByEmail(ctx, p.Email)
	if err != nil {
		return false, err
	}
	ttl := s.settings.ResetTTL
	queued := false
	for _, u := range users {
		if u.PasswordHash == "" || (u.State != domain.EndUserRegistered && u.State != domain.EndUserActive) {
			continue
		}
		if ok, err := s.orgEnabled(ctx, u.OrgID); err != nil {
			return false, err
		} else if !ok {
			continue
		}
		lp, err := tx.LabelpartnerByID(ctx, u.LabelpartnerID)
		if err != nil {
			return false, err
		}
		token, hash, err := auth.NewToken()
		if err != nil {
			return false, err
		}
		m, err := s.core.QueueMail(domain.Organization{ID: u.OrgID}, "", obmail.TemplateB2BReset, u.Email, obmail.B2BResetData{
			Link: s.endUserLink(resetTemplate(lp), "/v2/registration/resetpassword", token), Labelpartner: u.Labelpartner, ExpiresIn: flows.HumanDuration(ttl)})
		if err != nil {
			return false, err
		}
		if err := tx.CreateB2BLink(ctx, domain.B2BLink{ID: store.NewID(), OrgID: u.OrgID, EndUserID: u.ID, Purpose: linkReset,
			TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
			return false, err
		}
		if err := tx.EnqueueMail(ctx, m, now); err != nil {
			return false, err
		}
		queued = true
	}
	return queued, nil
}

// ConfirmEndUserReset sets a new password or pincode with a reset link's token and
// ends the end user's token families.
func (s *Service) ConfirmEndUserReset(ctx context.Context, token, pincode string) error {
	if !auth.WellFormedToken(token) {
		return linkNotFound()
	}
	l, err := s.store.B2BLinkByHash(ctx, linkReset, auth.HashToken(token))
	if store.IsNotFound(err) {
		return linkNotFound()
	}
	if err != nil {
		return err
	}
	if ok, err := s.orgEnabled(ctx, l.OrgID); err != nil {
		return err
	} else if !ok {
		return linkNotFound()
	}
	now := s.now()
	gone := domain.Errorf(domain.EGone, "link-used", "This link has expired or was used. Ask for a new one in the app.")
	if l.UsedAt != nil || !l.ExpiresAt.After(now) {
		return gone
	}
	u, err := s.store.EndUserByID(ctx, l.OrgID, l.EndUserID)
	if err != nil {
		return err
	}
	lp, err := s.store.LabelpartnerByID(ctx, u.LabelpartnerID)
	if err != nil {
		return err
	}
	if v := CheckEndUserPassword(lp.PasswordPolicy, s.policy, pincode, u.Email); len(v) > 0 {
		return policyError(v)
	}
	hash, err := s.hasher.Hash(ctx, pincode)
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.UseB2BLink(ctx, l.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return gone
		}
		if ok, err := tx.SetEndUserPassword(ctx, u.ID, hash); err != nil || !ok {
			if err == nil {
				err = gone
			}
			return err
		}
		return tx.RevokeB2BSubjectTokens(ctx, u.ID, now)
	})
}

// ---- SSO ----

func providerTokenRefused() error {
	return domain.Errorf(domain.EUnauthorized, "invalid-provider-token",
		"The identity provider does not vouch for this token, or it names no registered end user.")
}

func providerUnavailable() error {
	return domain.Errorf(domain.EUnavailable, "identity-provider-unavailable", "The identity provider did not answer in time. Try again later.")
}

// introspect asks the labelpartner's identity provider about a token (RFC
// 7662) and returns the external_authentication_provider_id it names.
func (s *Service) introspect(ctx context.Context, lp domain.Labelpartner, token string) (string, error) {
	if token == "" || len(token) > 8192 {
		return "", providerTokenRefused()
	}
	ctx, cancel := context.WithTimeout(ctx, s.settings.IntrospectionTimeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"},
		"client_id": {lp.IntrospectionClientID}, "client_secret": {lp.IntrospectionClientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lp.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := s.http.Do(req)
	if err != nil {
		s.log.WarnContext(ctx, "introspection failed", "labelpartner", lp.Name, "err", err)
		return "", providerUnavailable()
	}
	body := res.Body
	if res.StatusCode != http.StatusOK {
		s.log.WarnContext(ctx, "introspection failed", "labelpartner", lp.Name, "status", res.StatusCode)
		return "", providerUnavailable()
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		s.log.WarnContext(ctx, "introspection answer is not a JSON object", "labelpartner", lp.Name)
		return "", providerUnavailable()
	}
	if active, _ := doc["active"].(bool); !active {
		return "", providerTokenRefused()
	}
	id, ok := findExternalID(doc, 0)
	if !ok || id == "" {
		return "", providerTokenRefused()
	}
	// The id is checked like the one a client provisions: an id no end
	// user can have is an answer the provider should not give.
	if fe := validExternalID(id); fe != nil {
		s.log.WarnContext(ctx, "introspection answer has an invalid external_authentication_provider_id", "labelpartner", lp.Name, "problem", fe.Message)
		return "", providerUnavailable()
	}
	return id, nil
}

// findExternalID looks for external_authentication_provider_id at any depth.
func findExternalID(v any, depth int) (string, bool) {
	if depth > 32 {
		return "", false
	}
	switch n := v.(type) {
	case map[string]any:
		if x, ok := n["external_authentication_provider_id"]; ok {
			switch id := x.(type) {
			case string:
				return strings.TrimSpace(id), true
			case float64:
				return strconv.FormatFloat(id, 'f', -1, 64), true
			}
		}
		for _, c := range n {
			if id, ok := findExternalID(c, depth+1); ok {
				return id, true
			}
		}
	case []any:
		for _, c := range n {
			if id, ok := findExternalID(c, depth+1); ok {
				return id, true
			}
		}
	}
	return "", false
}

// RegisterSSO registers a provisioned SSO end user with a token of the
// labelpartner's identity provider and signs it in.
func (s *Service) RegisterSSO(ctx context.Context, providerToken, labelpartner, clientIP string) (TokenPair, error) {
	if _, fe := validName("labelpartner", labelpartner); fe != nil {
		return TokenPair{}, domain.Invalid(*fe)
	}
	if strings.TrimSpace(providerToken) == "" {
		return TokenPair{}, domain.Invalid(domain.FieldError{Field: "external_provider_access_token", Message: "is required"})
	}
	if err := s.rateLimit(ctx, "b2b:sso:ip:"+clientIP, s.cfg.Limits.LoginPerIP); err != nil {
		return TokenPair{}, err
	}
	lp, err := s.store.LabelpartnerByName(ctx, strings.TrimSpace(labelpartner))
	if err == nil {
		var ok bool
		if ok, err = s.orgEnabled(ctx, lp.OrgID); err == nil && !ok {
			err = domain.ErrNotFound // a disabled organization's labelpartner is an unknown one
		}
	}
	if store.IsNotFound(err) || (err == nil && lp.IntrospectionURL == "") {
		return TokenPair{}, domain.Invalid(domain.FieldError{Field: "labelpartner", Message: "is not a labelpartner with single sign-on"})
	}
	if err != nil {
		return TokenPair{}, err
	}
	return s.ssoSignIn(ctx, lp, providerToken, true)
}

func (s *Service) ssoSignIn(ctx context.Context, lp domain.Labelpartner, providerToken string, register bool) (TokenPair, error) {
	ext, err := s.introspect(ctx, lp, providerToken)
	if err != nil {
		return TokenPair{}, err
	}
	u, err := s.store.EndUserByExternalID(ctx, lp.OrgID, ext)
	if store.IsNotFound(err) || (err == nil && u.LabelpartnerID != lp.ID) {
		return TokenPair{}, providerTokenRefused()
	}
	if err != nil {
		return TokenPair{}, err
	}
	if u.State == domain.EndUserProvisioned && !register {
		return TokenPair{}, providerTokenRefused()
	}
	now := s.now()
	var pair TokenPair
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if u.State == domain.EndUserProvisioned {
			ok, err := tx.RegisterEndUser(ctx, u.ID, "", now)
			if err != nil {
				return err
			}
			if !ok {
				return domain.Errorf(domain.EConflict, "end-user-state-changed", "The end user's state changed; try again.")
			}
			if err := emitEndUser(ctx, tx, u, domain.EndUserRegistered, now); err != nil {
				return err
			}
			if err := tx.AddAudit(ctx, domain.AuditEntry{OrgID: u.OrgID, Actor: "end_user:" + u.ID, Action: "end_user.registered",
				SubjectID: u.ID, Data: map[string]any{"method": "sso"}, CreatedAt: now}); err != nil {
				return err
			}
		}
		var err error
		pair, err = s.issueTokens(ctx, tx.Queries, u, "", "")
		return err
	})
	return pair, err
}

// orgEnabled reports whether the organization exists and is not disabled:
// every /v2 endpoint answers for a disabled organization's labelpartners,
// end users and links as for unknown ones.
func (s *Service) orgEnabled(ctx context.Context, orgID string) (bool, error) {
	err := s.core.EnabledOrganization(ctx, orgID)
	if store.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// AuthenticateLabelpartner checks a labelpartner API key.
func (s *Service) AuthenticateLabelpartner(ctx context.Context, key string) (domain.Labelpartner, error) {
	unauth := domain.Errorf(domain.EUnauthorized, "unauthenticated", "A valid labelpartner API key is required.")
	if !strings.HasPrefix(key, LabelpartnerKeyPrefix) || !auth.WellFormedToken(strings.TrimPrefix(key, LabelpartnerKeyPrefix)) {
		return domain.Labelpartner{}, unauth
	}
	lp, err := s.store.LabelpartnerByKeyHash(ctx, auth.HashToken(key))
	if store.IsNotFound(err) {
		return domain.Labelpartner{}, unauth
	}
	if err != nil {
		return lp, err
	}
	if err := s.core.EnabledOrganization(ctx, lp.OrgID); store.IsNotFound(err) {
		return domain.Labelpartner{}, unauth // the organization was disabled
	} else if err != nil {
		return domain.Labelpartner{}, err
	}
	return lp, nil
}

// ExchangeToken exchanges an identity provider token of a registered SSO
// end user of the labelpartner for tokens.
func (s *Service) ExchangeToken(ctx context.Context, lp domain.Labelpartner, providerToken string) (TokenPair, error) {
	if strings.TrimSpace(providerToken) == "" {
		return TokenPair{}, domain.Invalid(domain.FieldError{Field: "external_provider_access_token", Message: "is required"})
	}
	if lp.IntrospectionURL == "" {
		return TokenPair{}, domain.Errorf(domain.EForbidden, "sso-not-configured", "This labelpartner has no identity provider.")
	}
	return s.ssoSignIn(ctx, lp, providerToken, false)
}
