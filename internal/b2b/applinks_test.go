package b2b

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/domain"
)

const testFingerprint = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"

func TestValidLinkTemplate(t *testing.T) {
	for _, tc := range []struct {
		tpl  string
		want string // part of the message; "" when valid
	}{
		{"https://app.sunco.example/verify?token={token}", ""},
		{"https://app.sunco.example/verify/{token}", ""},
		{"https://app.sunco.example/#/verify?t={token}", ""},
		{"HTTPS://app.sunco.example:8443/v?token={token}&lang=en", ""},
		{"https://app.sunco.example/verify", "exactly once"},
		{"https://app.sunco.example/verify?a={token}&b={token}", "exactly once"},
		{"http://app.sunco.example/verify?token={token}", "https"},
		{"sunco://verify?token={token}", "https"},
		{"/verify?token={token}", "https"},
		{"https:///verify?token={token}", "https"},
		{"https:{token}", "https"},
		{"https://{token}.sunco.example/verify", "not in the host"},
		{"https://app.sunco.example/verify?token={token}&email={email}", "no placeholder other"},
		{"https://app.sunco.example/verify?token={Token}", "exactly once"},
		{"https://user:pw@app.sunco.example/?t={token}", "user information"},
		{"https://app.sunco.example/ verify?t={token}", "spaces"},
		{"https://app.sunco.example/verify?t={token}\n", "spaces"},
		{"https://app.sunco.example/" + strings.Repeat("a", 2000) + "?t={token}", "at most 2000"},
	} {
		fe := validLinkTemplate("app_links.verify_url", tc.tpl)
		switch {
		case tc.want == "" && fe != nil:
			t.Errorf("%q: %v, want valid", tc.tpl, fe.Message)
		case tc.want != "" && fe == nil:
			t.Errorf("%q: valid, want an error containing %q", tc.tpl, tc.want)
		case tc.want != "" && (!strings.Contains(fe.Message, tc.want) || fe.Field != "app_links.verify_url"):
			t.Errorf("%q: %s: %s, want field app_links.verify_url and a message containing %q", tc.tpl, fe.Field, fe.Message, tc.want)
		}
	}
}

func TestValidAppLinks(t *testing.T) {
	ios := func(ids ...string) *domain.IOSApps { return &domain.IOSApps{AppIDs: ids} }
	android := func(pkg string, fps ...string) *domain.AndroidApp {
		return &domain.AndroidApp{PackageName: pkg, SHA256CertFingerprints: fps}
	}
	for _, tc := range []struct {
		name   string
		in     *domain.AppLinks
		want   *domain.AppLinks
		fields []string // the fields of the errors, in order
	}{
		{name: "none", in: nil, want: nil},
		{name: "empty object is none", in: &domain.AppLinks{}, want: nil},
		{name: "full",
			in: &domain.AppLinks{VerifyURL: "https://a.example/v?t={token}", ResetURL: "https://a.example/r/{token}",
				IOS: ios("ABCDE12345.com.sunco.app", "ABCDE12345.com.sunco.app", "Z9Y8X7W6V5.com.sunco-beta"), Android: android("com.sunco.app", testFingerprint, testFingerprint)},
			want: &domain.AppLinks{VerifyURL: "https://a.example/v?t={token}", ResetURL: "https://a.example/r/{token}",
				IOS: ios("ABCDE12345.com.sunco.app", "Z9Y8X7W6V5.com.sunco-beta"), Android: android("com.sunco.app", testFingerprint)}},
		{name: "apps without templates", in: &domain.AppLinks{IOS: ios("ABCDE12345.app")}, want: &domain.AppLinks{IOS: ios("ABCDE12345.app")}},
		{name: "template errors", in: &domain.AppLinks{VerifyURL: "https://a.example/v", ResetURL: "http://a.example/r?t={token}"},
			fields: []string{"app_links.verify_url", "app_links.reset_url"}},
		{name: "bad app ids", in: &domain.AppLinks{IOS: ios("abcde12345.com.app", "ABCDE1234.com.app", "ABCDE12345", "ABCDE12345.com..app", "ABCDE12345.com.app")},
			fields: []string{"app_links.ios.app_ids[0]", "app_links.ios.app_ids[1]", "app_links.ios.app_ids[2]", "app_links.ios.app_ids[3]"}},
		{name: "no app ids", in: &domain.AppLinks{IOS: ios()}, fields: []string{"app_links.ios.app_ids"}},
		{name: "android missing", in: &domain.AppLinks{Android: android("")},
			fields: []string{"app_links.android.package_name", "app_links.android.sha256_cert_fingerprints"}},
		{name: "android bad", in: &domain.AppLinks{Android: android("sunco", strings.ToLower(testFingerprint), testFingerprint[:len(testFingerprint)-3], strings.ReplaceAll(testFingerprint, ":", ""), testFingerprint)},
			fields: []string{"app_links.android.package_name", "app_links.android.sha256_cert_fingerprints[0]",
				"app_links.android.sha256_cert_fingerprints[1]", "app_links.android.sha256_cert_fingerprints[2]"}},
		{name: "package starting with a digit", in: &domain.AppLinks{Android: android("com.1sunco", testFingerprint)}, fields: []string{"app_links.android.package_name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := validAppLinks(tc.in)
			var fields []string
			for _, e := range errs {
				fields = append(fields, e.Field)
				if e.Message == "" {
					t.Errorf("%s has no message", e.Field)
				}
			}
			if !reflect.DeepEqual(fields, tc.fields) {
				t.Fatalf("error fields %q, want %q (%v)", fields, tc.fields, errs)
			}
			if len(errs) == 0 && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEndUserLink(t *testing.T) {
	s := &Service{}
	s.cfg.PublicURL = "https://onboard.example"
	const token = "mXo2rUeB6cQ3nX7Vd0JYtq5sH9aPz1kLwE4fG8bN2cA"
	if got := s.endUserLink("", "/v2/registration/verify", token); got != "https://onboard.example/v2/registration/verify?token="+token {
		t.Errorf("without template: %s", got)
	}
	if got := s.endUserLink("https://app.example/v?token={token}&x=1", "/v2/registration/verify", token); got != "https://app.example/v?token="+token+"&x=1" {
		t.Errorf("with template: %s", got)
	}
	// The token is inserted query-escaped.
	odd := "a b&c=d/+?"
	got := s.endUserLink("https://app.example/v?token={token}", "/v2/registration/verify", odd)
	u, err := url.Parse(got)
	if err != nil || u.Query().Get("token") != odd || u.RawQuery != "token="+url.QueryEscape(odd) {
		t.Errorf("escaped link %s: token %q, %v", got, u.Query().Get("token"), err)
	}
}

// FuzzValidLinkTemplate: a template that passes is an https URL with a
// host, and the link made from it carries the token.
func FuzzValidLinkTemplate(f *testing.F) {
	for _, s := range []string{"https://a.example/v?t={token}", "https://{token}/", "http://a/{token}", "https://a.example/#{token}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tpl string) {
		if validLinkTemplate("f", tpl) != nil {
			return
		}
		const token = "mXo2rUeB6cQ3nX7Vd0JYtq5sH9aPz1kLwE4fG8bN2cA"
		link := (&Service{}).endUserLink(tpl, "/", token)
		u, err := url.Parse(link)
		if err != nil || u.Scheme != "https" || u.Host == "" || strings.Contains(u.Host, token) || !strings.Contains(link, token) {
			t.Fatalf("template %q passed, link %q (%v)", tpl, link, err)
		}
	})
}
