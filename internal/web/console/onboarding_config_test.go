package console

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
)

func TestParseSSO(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
		want *domain.SSO
	}{
		{"empty section is no SSO", url.Values{"sso.providers[0].name": {""}, "sso.providers[0].scopes": {" "}}, nil},
		{"blank and removed rows left out", url.Values{
			"sso.first_login_creates_customer": {"true"}, "sso.first_login_account_type": {"customer_personal"},
			"sso.providers[0].name": {"old"}, "sso.providers[0].remove": {"true"},
			"sso.providers[1].name": {" corp "}, "sso.providers[1].issuer": {"https://id.example"}, "sso.providers[1].client_id": {"c"},
			"sso.providers[1].scopes": {"openid  email"}, "sso.providers[1].app_redirect_uris": {"app:/cb\r\n\r\nhttp://127.0.0.1/cb"},
			"sso.providers[1].claims.email": {"mail"},
			"sso.providers[2].name":         {""},
		}, &domain.SSO{FirstLoginCreatesCustomer: true, FirstLoginAccountType: "customer_personal", Providers: []domain.SSOProvider{{
			Name: "corp", Issuer: "https://id.example", ClientID: "c", Scopes: []string{"openid", "email"},
			AppRedirectURIs: []string{"app:/cb", "http://127.0.0.1/cb"}, Claims: domain.SSOClaims{Email: "mail"}}}}},
		{"rows in their numeric order", url.Values{"sso.providers[10].name": {"b"}, "sso.providers[2].name": {"a"}},
			&domain.SSO{Providers: []domain.SSOProvider{{Name: "a"}, {Name: "b"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseSSO(tt.form); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseDeviceSetup(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		platforms  []string
		wantFields []string
	}{
		{"blank and removed rows left out", url.Values{
			"device_setup.device_templates[0].platform": {"ios"}, "device_setup.device_templates[0].remove": {"true"},
			"device_setup.device_templates[1].platform": {"linux"}, "device_setup.device_templates[1].instructions.en": {"Run it"},
			"device_setup.device_templates[2].platform": {""}, "device_setup.device_templates[2].instructions.en": {" "},
		}, []string{"linux"}, nil},
		{"a platform twice and a bad settings line", url.Values{
			"device_setup.device_templates[0].platform": {"linux"}, "device_setup.device_templates[0].instructions.en": {"a"},
			"device_setup.device_templates[1].platform": {"linux"}, "device_setup.device_templates[1].instructions.en": {"b"},
			"device_setup.account_template.settings": {"plan=basic\nnot a setting"},
		}, []string{"linux"}, []string{"device_setup.account_template.settings", "device_setup.device_templates.linux"}},
		{"a row without platform is kept for its error", url.Values{
			"device_setup.device_templates[0].instructions.en": {"a"},
		}, []string{""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs []domain.FieldError
			d := parseDeviceSetup(tt.form, &errs)
			if got := d.Platforms(); !reflect.DeepEqual(got, tt.platforms) {
				t.Fatalf("platforms %q, want %q", got, tt.platforms)
			}
			var fields []string
			for _, fe := range errs {
				fields = append(fields, fe.Field)
			}
			if !reflect.DeepEqual(fields, tt.wantFields) {
				t.Fatalf("errors on %q, want %q", fields, tt.wantFields)
			}
		})
	}
}

func TestRowErrors(t *testing.T) {
	d := domain.DeviceSetup{DeviceTemplates: map[string]domain.DeviceTemplate{"": {}, "mac": {}, "mac.os": {}, "linux": {}}}
	de := domain.Invalid(
		domain.FieldError{Field: "device_setup.device_templates.linux.instructions.en"},
		domain.FieldError{Field: "device_setup.device_templates.mac.os"},
		domain.FieldError{Field: "device_setup.device_templates.mac.settings"},
		domain.FieldError{Field: "device_setup.device_templates."},
		domain.FieldError{Field: "device_setup.email_requirement"},
	)
	rowErrors(de, d)
	want := []string{"device_setup.device_templates[1].instructions.en", "device_setup.device_templates[3].platform",
		"device_setup.device_templates[2].settings", "device_setup.device_templates[0].platform", "device_setup.email_requirement"}
	for i, fe := range de.Fields {
		if fe.Field != want[i] {
			t.Errorf("field %d: %q, want %q", i, fe.Field, want[i])
		}
	}
}

func TestFieldFor(t *testing.T) {
	byName := map[string]*field{"a.list": {Name: "a.list"}, "sso.providers[0].app_redirect_uris": {Name: "sso.providers[0].app_redirect_uris"}}
	tests := []struct{ name, want string }{
		{"a.list[3]", "a.list"},
		{"sso.providers[0].app_redirect_uris[2]", "sso.providers[0].app_redirect_uris"},
		{"sso.providers[1].name", ""},
	}
	for _, tt := range tests {
		got := ""
		if f := fieldFor(byName, tt.name); f != nil {
			got = f.Name
		}
		if got != tt.want {
			t.Errorf("fieldFor(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
