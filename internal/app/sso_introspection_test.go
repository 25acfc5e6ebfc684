package app_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/hydratest"
)

// TestSSOB2BIntrospectionHydra registers a provisioned SSO end user with an
// access token of Ory Hydra, checked at Hydra's own RFC 7662 introspection
// endpoint; a revoked-looking (unknown) token is refused.
func TestSSOB2BIntrospectionHydra(t *testing.T) {
	t.Parallel()
	hy := hydratest.Start(t)
	e := startAdmin(t, dbtest.SQLite(t))
	client := hy.CreateClient(t, appRedirect)
	w := newB2BWorld(t, e, hy.IntrospectionURL())
	id := w.provision(t, endUser("hydra-sso@example.com", "lp-sso", "external_authentication_provider_id", "ext-hydra-1"))

	hy.SetUser(hydratest.User{Subject: "sub-b2b", Email: "hydra-sso@example.com", EmailVerified: true,
		AccessTokenClaims: map[string]any{"external_authentication_provider_id": "ext-hydra-1"}})
	code, verifier, _ := appCode(t, hy.Issuer+"/oauth2/auth", client.ID, appRedirect)
	cfg := oauth2.Config{ClientID: client.ID, ClientSecret: client.Secret, RedirectURL: appRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: hy.Issuer + "/oauth2/auth", TokenURL: hy.Issuer + "/oauth2/token"}}
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("token from Hydra: %v", err)
	}
	sso := func(token string) response {
		return e.do("POST", "/v2/registration/introspection/sso-user", map[string]any{"external_provider_access_token": token, "labelpartner": "lp-sso"})
	}
	checkProblem(t, sso("ory_at_not-a-token-of-hydra"), 401, "")
	if st, _ := w.state(t, id); st != "provisioned" {
		t.Fatalf("state %s after a refused token", st)
	}
	tokens(t, sso(tok.AccessToken))
	if st, hist := w.state(t, id); st != "registered" || strings.Join(hist, ",") != "provisioned,registered" {
		t.Fatalf("state %s %v", st, hist)
	}
}
