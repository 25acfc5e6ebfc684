package b2b

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

// OAuth 2.0 error codes (RFC 6749 section 5.2). The token flows fail with a
// *domain.Error whose Slug is one of them and whose Code is EBadRequest, or
// EUnauthorized for invalid_client; the API answers such errors in OAuth's
// JSON form instead of as problem details.
const (
	OAuthInvalidRequest       = "invalid_request"
	OAuthInvalidClient        = "invalid_client"
	OAuthInvalidGrant         = "invalid_grant"
	OAuthUnsupportedGrantType = "unsupported_grant_type"
)

// AsOAuthError returns err as an OAuth error of the token flows (a
// *domain.Error with an OAuth error code as slug), and whether it is one.
func AsOAuthError(err error) (*domain.Error, bool) {
	de := domain.AsError(err)
	if de == nil {
		return nil, false
	}
	switch de.Slug {
	case OAuthInvalidRequest, OAuthInvalidClient, OAuthInvalidGrant, OAuthUnsupportedGrantType:
		return de, true
	}
	return nil, false
}

// OAuthErr returns an OAuth error with the domain code its kind takes:
// client authentication failures are EUnauthorized, the rest EBadRequest.
func OAuthErr(slug, detail string) *domain.Error {
	code := domain.EBadRequest
	if slug == OAuthInvalidClient {
		code = domain.EUnauthorized
	}
	return &domain.Error{Code: code, Slug: slug, Detail: detail}
}

// Token kinds.
const (
	tokenClientAccess = "client_access"
	tokenAccess       = "access"
	tokenRefresh      = "refresh"
)

// TokenPair is what /v2/token and the SSO endpoints answer.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

// B2BClient is an authenticated B2B client.
type B2BClient struct {
	ID, OrgID, ClientID, Name string
	LabelpartnerIDs           []string
}

// May reports whether the client may see end users of the labelpartner.
func (c B2BClient) May(labelpartnerID string) bool {
	return containsString(c.LabelpartnerIDs, labelpartnerID)
}

// authenticateClient checks client credentials of an unrevoked client of
// that kind. A revoked client gets the same answer as a wrong secret.
func (s *Service) authenticateClient(ctx context.Context, clientID, secret, kind string) (domain.Client, error) {
	bad := OAuthErr(OAuthInvalidClient, "Client authentication failed.")
	if clientID == "" || secret == "" || len(clientID) > 200 || len(secret) > 200 {
		return domain.Client{}, bad
	}
	c, err := s.store.ClientByClientID(ctx, clientID)
	if store.IsNotFound(err) {
		return domain.Client{}, bad
	}
	if err != nil {
		return domain.Client{}, err
	}
	if !equalSecret(string(auth.HashToken(secret)), string(c.SecretHash)) || c.Kind != kind || c.Revoked() {
		return domain.Client{}, bad
	}
	if err := s.core.EnabledOrganization(ctx, c.OrgID); store.IsNotFound(err) {
		return domain.Client{}, bad // the organization was disabled
	} else if err != nil {
		return domain.Client{}, err
	}
	if now := s.now(); c.LastUsedAt == nil || now.Sub(*c.LastUsedAt) >= time.Minute {
		if err := s.store.TouchClient(ctx, c.ID, now); err != nil {
			s.log.WarnContext(ctx, "touch client", "err", err)
		}
	}
	return c, nil
}

// ClientCredentials is a token request of a B2B client (RFC 6749 4.4).
type ClientCredentials struct {
	GrantType, ClientID, ClientSecret, ClientIP string
}

// ClientToken issues an access token to a B2B client.
func (s *Service) ClientToken(ctx context.Context, in ClientCredentials) (TokenPair, error) {
	if err := s.rateLimit(ctx, "b2b:token:ip:"+in.ClientIP, s.cfg.Limits.LoginPerIP); err != nil {
		return TokenPair{}, err
	}
	c, err := s.authenticateClient(ctx, in.ClientID, in.ClientSecret, domain.ClientB2B)
	if err != nil {
		return TokenPair{}, err
	}
	if in.GrantType != "client_credentials" {
		return TokenPair{}, OAuthErr(OAuthUnsupportedGrantType, "Only grant_type=client_credentials is supported.")
	}
	tok, hash, err := auth.NewToken()
	if err != nil {
		return TokenPair{}, err
	}
	now, ttl := s.now(), s.settings.AccessTTL
	err = s.store.CreateB2BToken(ctx, domain.B2BToken{ID: store.NewID(), OrgID: c.OrgID, Kind: tokenClientAccess, SubjectID: c.ID,
		ClientID: c.ClientID, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(ttl)})
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: tok, ExpiresIn: int(ttl.Seconds()), TokenType: "Bearer"}, nil
}

// AuthenticateB2B checks a B2B client's access token.
func (s *Service) AuthenticateB2B(ctx context.Context, token string) (B2BClient, error) {
	unauth := domain.Errorf(domain.EUnauthorized, "unauthenticated", "A valid B2B access token is required.")
	if !auth.WellFormedToken(token) {
		return B2BClient{}, unauth
	}
	t, err := s.store.B2BTokenByHash(ctx, tokenClientAccess, auth.HashToken(token))
	if store.IsNotFound(err) {
		return B2BClient{}, unauth
	}
	if err != nil {
		return B2BClient{}, err
	}
	if t.RevokedAt != nil || !t.ExpiresAt.After(s.now()) {
		return B2BClient{}, unauth
	}
	// The client's own state counts too: a token issued while the client
	// was being revoked would have escaped the revocation of its tokens.
	c, err := s.store.ClientByID(ctx, t.SubjectID)
	if store.IsNotFound(err) || (err == nil && (c.Kind != domain.ClientB2B || c.Revoked())) {
		return B2BClient{}, unauth
	}
	if err != nil {
		return B2BClient{}, err
	}
	if err := s.core.EnabledOrganization(ctx, c.OrgID); store.IsNotFound(err) {
		return B2BClient{}, unauth // the organization was disabled
	} else if err != nil {
		return B2BClient{}, err
	}
	return B2BClient{ID: c.ID, OrgID: c.OrgID, ClientID: c.ClientID, Name: c.Name, LabelpartnerIDs: c.LabelpartnerIDs}, nil
}

// issueTokens stores a new access and refresh token of an end user in the
// family (a new family when familyID is "").
func (s *Service) issueTokens(ctx context.Context, q store.Queries, u domain.EndUser, clientID, familyID string) (TokenPair, error) {
	cfg := s.settings
	access, ah, err := auth.NewToken()
	if err != nil {
		return TokenPair{}, err
	}
	refresh, rh, err := auth.NewToken()
	if err != nil {
		return TokenPair{}, err
	}
	if familyID == "" {
		familyID = store.NewID()
	}
	now := s.now()
	if err := q.CreateB2BToken(ctx, domain.B2BToken{ID: store.NewID(), OrgID: u.OrgID, Kind: tokenAccess, SubjectID: u.ID, ClientID: clientID,
		FamilyID: familyID, TokenHash: ah, CreatedAt: now, ExpiresAt: now.Add(cfg.AccessTTL)}); err != nil {
		return TokenPair{}, err
	}
	if err := q.CreateB2BToken(ctx, domain.B2BToken{ID: store.NewID(), OrgID: u.OrgID, Kind: tokenRefresh, SubjectID: u.ID, ClientID: clientID,
		FamilyID: familyID, TokenHash: rh, CreatedAt: now, ExpiresAt: now.Add(cfg.RefreshTTL)}); err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, RefreshToken: refresh, ExpiresIn: int(cfg.AccessTTL.Seconds()), TokenType: "Bearer"}, nil
}

// TokenRequest is a /v2/token request of an app client.
type TokenRequest struct {
	GrantType, Username, Password, RefreshToken string
	ClientID, ClientSecret, ClientIP            string
}

// Token runs the password and refresh_token grants for end users.
func (s *Service) Token(ctx context.Context, in TokenRequest) (TokenPair, error) {
	if err := s.rateLimit(ctx, "b2b:token:ip:"+in.ClientIP, s.cfg.Limits.LoginPerIP); err != nil {
		return TokenPair{}, err
	}
	c, err := s.authenticateClient(ctx, in.ClientID, in.ClientSecret, domain.ClientApp)
	if err != nil {
		return TokenPair{}, err
	}
	switch in.GrantType {
	case "password":
		return s.passwordGrant(ctx, c, in)
	case "refresh_token":
		return s.refreshGrant(ctx, c, in.RefreshToken)
	case "":
		return TokenPair{}, OAuthErr(OAuthInvalidRequest, "grant_type is required.")
	}
	return TokenPair{}, OAuthErr(OAuthUnsupportedGrantType, "grant_type must be password or refresh_token.")
}

func (s *Service) passwordGrant(ctx context.Context, c domain.Client, in TokenRequest) (TokenPair, error) {
	if in.Username == "" || in.Password == "" {
		return TokenPair{}, OAuthErr(OAuthInvalidRequest, "username and password are required.")
	}
	email := strings.ToLower(strings.TrimSpace(in.Username))
	failKey := "b2b:login:fail:" + c.OrgID + ":" + email
	d, err := s.limiter.Peek(ctx, failKey, s.cfg.Limits.LoginFailuresPerEmail)
	if err != nil {
		return TokenPair{}, fmt.Errorf("rate limit: %w", err)
	}
	if !d.Allowed {
		return TokenPair{}, flows.RateLimited(d.RetryAfter)
	}
	bad := OAuthErr(OAuthInvalidGrant, "The username or password is wrong.")
	u, err := s.store.EndUserByOrgEmail(ctx, c.OrgID, email)
	if err != nil && !store.IsNotFound(err) {
		return TokenPair{}, err
	}
	ok := false
	if err == nil && u.PasswordHash != "" && (u.State == domain.EndUserRegistered || u.State == domain.EndUserActive) {
		if ok, err = s.hasher.Verify(ctx, in.Password, u.PasswordHash); err != nil {
			return TokenPair{}, fmt.Errorf("verify password: %w", err)
		}
	} else {
		s.hasher.VerifyDummy(ctx, in.Password)
	}
	if !ok {
		if _, err := s.limiter.Allow(ctx, failKey, s.cfg.Limits.LoginFailuresPerEmail); err != nil {
			return TokenPair{}, fmt.Errorf("rate limit: %w", err)
		}
		return TokenPair{}, bad
	}
	return s.issueTokens(ctx, s.store.Queries, u, c.ClientID, "")
}

func (s *Service) refreshGrant(ctx context.Context, c domain.Client, refresh string) (TokenPair, error) {
	bad := OAuthErr(OAuthInvalidGrant, "The refresh token is invalid, expired or revoked.")
	if refresh == "" {
		return TokenPair{}, OAuthErr(OAuthInvalidRequest, "refresh_token is required.")
	}
	if !auth.WellFormedToken(refresh) {
		return TokenPair{}, bad
	}
	t, err := s.store.B2BTokenByHash(ctx, tokenRefresh, auth.HashToken(refresh))
	if store.IsNotFound(err) {
		return TokenPair{}, bad
	}
	if err != nil {
		return TokenPair{}, err
	}
	// Tokens from SSO sign-in have no client; any app client of the
	// organization may refresh them.
	if t.OrgID != c.OrgID || (t.ClientID != "" && t.ClientID != c.ClientID) {
		return TokenPair{}, bad
	}
	now := s.now()
	var pair TokenPair
	reused := false
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.UseB2BToken(ctx, t.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			// Neither revoked nor expired: it was used before (rotated).
			reused = t.RevokedAt == nil && t.ExpiresAt.After(now)
			return bad
		}
		u, err := tx.EndUserByID(ctx, t.OrgID, t.SubjectID)
		if store.IsNotFound(err) || (err == nil && u.State != domain.EndUserRegistered && u.State != domain.EndUserActive) {
			return bad
		}
		if err != nil {
			return err
		}
		pair, err = s.issueTokens(ctx, tx.Queries, u, t.ClientID, t.FamilyID)
		return err
	})
	if reused {
		// A rotated token came back: it may have been stolen. End the family.
		if rerr := s.store.RevokeB2BTokenFamily(ctx, t.FamilyID, now); rerr != nil {
			return TokenPair{}, rerr
		}
		s.log.WarnContext(ctx, "refresh token reused; family revoked", "family", t.FamilyID)
	}
	if err != nil {
		return TokenPair{}, err
	}
	return pair, nil
}
