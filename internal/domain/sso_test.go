package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestSSOValidate(t *testing.T) {
	checkURL := func(u string) error {
		if !strings.HasPrefix(u, "https://") {
			return errors.New("must be an https URL")
		}
		return nil
	}
	good := SSOProvider{Name: "corp", Issuer: "https://idp.example", ClientID: "onboard"}
	for _, tc := range []struct {
		name string
		sso  SSO
		want []string // fields with errors
	}{
		{"good", SSO{FirstLoginCreatesCustomer: true, FirstLoginAccountType: AccountCustomerBusiness, Providers: []SSOProvider{good}}, nil},
		{"switch off needs no type", SSO{Providers: []SSOProvider{good}}, nil},
		{"switch on needs a type", SSO{FirstLoginCreatesCustomer: true}, []string{"sso.first_login_account_type"}},
		{"partners are not created", SSO{FirstLoginAccountType: AccountChannelPartner}, []string{"sso.first_login_account_type"}},
		{"bad provider", SSO{Providers: []SSOProvider{{Name: "Corp X", Issuer: "http://idp", Scopes: []string{"email"},
			AppRedirectURIs: []string{"http://evil.example/cb"}, Claims: SSOClaims{Email: "e mail"}}}},
			[]string{"sso.providers[0].app_redirect_uris[0]", "sso.providers[0].claims.email", "sso.providers[0].client_id",
				"sso.providers[0].issuer", "sso.providers[0].name", "sso.providers[0].scopes"}},
		{"twice", SSO{Providers: []SSOProvider{good, good}}, []string{"sso.providers[1].name"}},
		{"app schemes and loopback", SSO{Providers: []SSOProvider{{Name: "a", Issuer: "https://i", ClientID: "c",
			AppRedirectURIs: []string{"com.example.app:/cb", "http://127.0.0.1:8080/cb", "https://app.example/cb"}}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, fe := range tc.sso.Validate(checkURL) {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("errors on %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSSOProviderDefaults(t *testing.T) {
	var none *SSO
	if _, ok := none.Provider("x"); ok {
		t.Fatal("provider of a nil configuration")
	}
	s := &SSO{Providers: []SSOProvider{{Name: "corp", Claims: SSOClaims{Email: "mail"}}}}
	p, ok := s.Provider("corp")
	if !ok || p.Claims.Email != "mail" || p.Claims.FirstName != "given_name" || strings.Join(p.Scopes, " ") != "openid email profile" {
		t.Fatalf("%+v", p)
	}
}
