package app_test

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

const (
	fpSunco = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
	fpAcme  = "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9"
)

var (
	appIDFormat       = regexp.MustCompile(`^[A-Z0-9]{10}\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)
	packageFormat     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
	fingerprintFormat = regexp.MustCompile(`^[0-9A-F]{2}(:[0-9A-F]{2}){31}$`)
)

// aasaDoc is Apple's apple-app-site-association document, as much of it as
// onboard may serve.
type aasaDoc struct {
	AppLinks *struct {
		Details []struct {
			AppIDs     []string `json:"appIDs"`
			Components []struct {
				Path string `json:"/"`
			} `json:"components"`
		} `json:"details"`
	} `json:"applinks"`
}

// assetLinks is Google's Digital Asset Links document.
type assetLinks []struct {
	Relation []string `json:"relation"`
	Target   *struct {
		Namespace              string   `json:"namespace"`
		PackageName            string   `json:"package_name"`
		SHA256CertFingerprints []string `json:"sha256_cert_fingerprints"`
	} `json:"target"`
}

// wellKnown fetches a well-known document without following redirects and
// decodes it strictly into v.
func (e *env) wellKnown(t *testing.T, path string, v any) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(e.base + path)
	if err != nil {
		t.Fatal(err)
	}
	r := readResponse(t, res)
	if r.status != http.StatusOK {
		t.Fatalf("%s: status %d (no redirect allowed): %s", path, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", path, ct)
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") || strings.Contains(cc, "no-store") {
		t.Errorf("%s: Cache-Control %q, want a max-age", path, cc)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		t.Fatalf("%s does not decode strictly: %v: %s", path, err, r.body)
	}
}

// iosApps fetches the association document, checks its structure and
// formats, and returns its app ids.
func (e *env) iosApps(t *testing.T) []string {
	t.Helper()
	var doc aasaDoc
	e.wellKnown(t, "/.well-known/apple-app-site-association", &doc)
	if doc.AppLinks == nil || doc.AppLinks.Details == nil {
		t.Fatal("apple-app-site-association has no applinks.details list")
	}
	var ids []string
	for _, d := range doc.AppLinks.Details {
		if len(d.AppIDs) == 0 {
			t.Error("a details entry has no appIDs")
		}
		var paths []string
		for _, c := range d.Components {
			paths = append(paths, c.Path)
		}
		if !slices.Equal(paths, []string{"/v2/registration/verify", "/v2/registration/resetpassword"}) {
			t.Errorf("components %q, want the verification and reset paths", paths)
		}
		for _, id := range d.AppIDs {
			if !appIDFormat.MatchString(id) {
				t.Errorf("app id %q is not TEAMID.bundle.id", id)
			}
		}
		ids = append(ids, d.AppIDs...)
	}
	slices.Sort(ids)
	return ids
}

// androidApps fetches the asset links, checks their structure and formats,
// and returns "package=fingerprint,fingerprint" per statement.
func (e *env) androidApps(t *testing.T) []string {
	t.Helper()
	var doc assetLinks
	e.wellKnown(t, "/.well-known/assetlinks.json", &doc)
	if doc == nil {
		t.Fatal("assetlinks.json is not a list")
	}
	var out []string
	for _, s := range doc {
		if !slices.Equal(s.Relation, []string{"delegate_permission/common.handle_all_urls"}) || s.Target == nil || s.Target.Namespace != "android_app" {
			t.Fatalf("statement %+v", s)
		}
		if !packageFormat.MatchString(s.Target.PackageName) || len(s.Target.SHA256CertFingerprints) == 0 {
			t.Errorf("target %+v", *s.Target)
		}
		for _, fp := range s.Target.SHA256CertFingerprints {
			if !fingerprintFormat.MatchString(fp) {
				t.Errorf("fingerprint %q", fp)
			}
		}
		out = append(out, s.Target.PackageName+"="+strings.Join(s.Target.SHA256CertFingerprints, ","))
	}
	return out
}

func TestB2BAppLinks(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")

		// No labelpartner has apps yet: both documents are valid and empty.
		if ids := e.iosApps(t); len(ids) != 0 {
			t.Fatalf("iOS apps %q before any were configured", ids)
		}
		if apps := e.androidApps(t); len(apps) != 0 {
			t.Fatalf("Android apps %q before any were configured", apps)
		}

		// Invalid app links are a 422 on their field, and nothing is created.
		lps := e.count("b2b_labelpartners")
		for _, tc := range []struct {
			links map[string]any
			field string
		}{
			{map[string]any{"verify_url": "https://app.sunco.example/verify"}, "app_links.verify_url"},
			{map[string]any{"verify_url": "http://app.sunco.example/verify?token={token}"}, "app_links.verify_url"},
			{map[string]any{"reset_url": "https://app.sunco.example/reset"}, "app_links.reset_url"},
			{map[string]any{"reset_url": "sunco://reset?token={token}"}, "app_links.reset_url"},
			{map[string]any{"ios": map[string]any{"app_ids": []string{"com.sunco.app"}}}, "app_links.ios.app_ids[0]"},
			{map[string]any{"ios": map[string]any{"app_ids": []string{}}}, "app_links.ios.app_ids"},
			{map[string]any{"android": map[string]any{"package_name": "sunco", "sha256_cert_fingerprints": []string{fpSunco}}}, "app_links.android.package_name"},
			{map[string]any{"android": map[string]any{"package_name": "com.sunco.app", "sha256_cert_fingerprints": []string{strings.ToLower(fpSunco)}}}, "app_links.android.sha256_cert_fingerprints[0]"},
		} {
			r := e.admin(envAdminKey, "POST", adminPath("default", "/labelpartners"), map[string]any{"name": "sunco", "password_policy": "pincode", "app_links": tc.links})
			checkProblem(t, r, 422, tc.field)
		}
		checkProblem(t, e.admin(envAdminKey, "POST", adminPath("default", "/labelpartners"),
			map[string]any{"name": "sunco", "password_policy": "pincode", "app_links": map[string]any{"ios": map[string]any{"app_ids": []string{"ABCDE12345.a"}, "bundle": "x"}}}), 400, "app_links.ios.bundle")
		if e.count("b2b_labelpartners") != lps {
			t.Fatal("a refused labelpartner was stored")
		}

		// sunco: both templates and both apps; acme (another organization): apps only.
		links := map[string]any{
			"verify_url": "https://app.sunco.example/verify?lang=en&token={token}",
			"reset_url":  "https://app.sunco.example/reset/{token}",
			"ios":        map[string]any{"app_ids": []string{"ABCDE12345.com.sunco.app", "ABCDE12345.com.sunco.app.beta"}},
			"android":    map[string]any{"package_name": "com.sunco.app", "sha256_cert_fingerprints": []string{fpSunco}},
		}
		r := e.admin(envAdminKey, "POST", adminPath("default", "/labelpartners"), map[string]any{"name": "sunco", "password_policy": "pincode", "app_links": links})
		expect(t, r, http.StatusCreated)
		var sunco struct {
			ID       string         `json:"id"`
			AppLinks map[string]any `json:"app_links"`
		}
		decodeAs(t, r, &sunco)
		if want, _ := json.Marshal(links); string(mustMarshal(t, sunco.AppLinks)) != string(want) {
			t.Fatalf("created app links %s, want %s", mustMarshal(t, sunco.AppLinks), want)
		}
		e.createOrg("acme")
		r = e.admin(envAdminKey, "POST", adminPath("acme", "/labelpartners"), map[string]any{"name": "acme-lp", "password_policy": "pincode",
			"app_links": map[string]any{"ios": map[string]any{"app_ids": []string{"Z9Y8X7W6V5.com.acme.energy"}},
				"android": map[string]any{"package_name": "com.acme.energy", "sha256_cert_fingerprints": []string{fpAcme, fpSunco}}}})
		expect(t, r, http.StatusCreated)
		acmeID := r.json(t)["id"].(string)

		// The documents list exactly the configured apps.
		if ids, want := e.iosApps(t), []string{"ABCDE12345.com.sunco.app", "ABCDE12345.com.sunco.app.beta", "Z9Y8X7W6V5.com.acme.energy"}; !slices.Equal(ids, want) {
			t.Fatalf("iOS apps %q, want %q", ids, want)
		}
		if apps, want := e.androidApps(t), []string{"com.acme.energy=" + fpAcme + "," + fpSunco, "com.sunco.app=" + fpSunco}; !slices.Equal(apps, want) {
			t.Fatalf("Android apps %q, want %q", apps, want)
		}

		// The verification mail of a sunco end user carries sunco's link; its token works with POST /v2/registration/verify.
		id, secret := w.client(t, "crm-sunco", "b2b", "sunco")
		crm := w.token(t, id, secret)
		expect(t, e.admin(crm, "POST", "/api/v1/b2b/end-users", endUser("grace@example.com", "sunco")), http.StatusCreated)
		n := e.mails()
		okStatus(t, e.do("POST", "/v2/registration/provision", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email_address": "grace@example.com", "labelpartner": "sunco", "imported": "true"}))
		const verifyPrefix = "https://app.sunco.example/verify?lang=en&token="
		msg := e.mailSince(n, "grace@example.com", verifyPrefix)
		link := msg.Link(verifyPrefix)
		token := strings.TrimPrefix(link, verifyPrefix)
		if !auth.WellFormedToken(token) {
			t.Fatalf("no token in the link %q of:\n%s", link, msg.Text)
		}
		if strings.Contains(msg.Text, e.base) || !strings.Contains(msg.HTML, `href="`+html.EscapeString(link)+`"`) {
			t.Fatalf("the mail also links onboard's page, or the HTML part lacks the link:\n%s\n%s", msg.Text, msg.HTML)
		}
		okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": token}))
		okStatus(t, w.noGateway("grace@example.com", "493817"))

		// The reset mail carries sunco's reset link; its token sets a new pincode.
		n = e.mails()
		okStatus(t, e.do("PUT", "/v2/registration/resetpassword", map[string]any{"email_address": "grace@example.com"}))
		const resetPrefix = "https://app.sunco.example/reset/"
		msg = e.mailSince(n, "grace@example.com", resetPrefix)
		reset := strings.TrimPrefix(msg.Link(resetPrefix), resetPrefix)
		if !auth.WellFormedToken(reset) || strings.Contains(msg.Text, e.base) {
			t.Fatalf("reset mail:\n%s", msg.Text)
		}
		okStatus(t, e.do("POST", "/v2/registration/resetpassword/confirm", map[string]any{"token": reset, "pincode": "246810"}))
		tokens(t, w.password("grace@example.com", "246810"))

		// A labelpartner without app links keeps onboard's pages.
		w.provision(t, endUser("plain@example.com", "lp-pin"))
		plain := w.verifyLink(t, "plain@example.com", "Ada", "Lovelace", "lp-pin")
		okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": plain}))

		// PATCH: validation, other organizations' labelpartners, then removal.
		path := adminPath("default", "/labelpartners/"+sunco.ID)
		checkProblem(t, e.admin(envAdminKey, "PATCH", path, map[string]any{"app_links": map[string]any{"verify_url": "https://app.sunco.example/verify"}}), 422, "app_links.verify_url")
		checkProblem(t, e.admin(envAdminKey, "PATCH", path, map[string]any{"app_links": map[string]any{"reset_url": "http://app.sunco.example/r/{token}"}}), 422, "app_links.reset_url")
		checkProblem(t, e.admin(envAdminKey, "PATCH", path, map[string]any{}), 422, "app_links")
		checkProblem(t, e.admin(envAdminKey, "PATCH", path, map[string]any{"name": "x"}), 400, "name")
		checkProblem(t, e.admin(envAdminKey, "PATCH", adminPath("default", "/labelpartners/"+acmeID), map[string]any{"app_links": nil}), 404, "")
		checkProblem(t, e.admin(envAdminKey, "PATCH", adminPath("default", "/labelpartners/nope"), map[string]any{"app_links": nil}), 404, "")
		if ids := e.iosApps(t); len(ids) != 3 {
			t.Fatalf("refused changes changed the documents: %q", ids)
		}
		r = e.admin(envAdminKey, "PATCH", path, map[string]any{"app_links": nil})
		expect(t, r, http.StatusOK)
		if _, has := r.json(t)["app_links"]; has {
			t.Fatalf("app links left after removal: %s", r.body)
		}
		if ids, want := e.iosApps(t), []string{"Z9Y8X7W6V5.com.acme.energy"}; !slices.Equal(ids, want) {
			t.Fatalf("iOS apps after removal %q, want %q", ids, want)
		}
		if apps, want := e.androidApps(t), []string{"com.acme.energy=" + fpAcme + "," + fpSunco}; !slices.Equal(apps, want) {
			t.Fatalf("Android apps after removal %q, want %q", apps, want)
		}
		if entries := e.audit("default", "labelpartner.updated"); len(entries) != 1 || entries[0].SubjectID != sunco.ID ||
			field(entries[0].Data, "before", "app_links", "verify_url") != links["verify_url"] || field(entries[0].Data, "after", "app_links") != nil {
			t.Fatalf("audit %+v", entries)
		}
		// sunco's mails link onboard's own page again.
		expect(t, e.admin(crm, "POST", "/api/v1/b2b/end-users", endUser("alan@example.com", "sunco")), http.StatusCreated)
		again := w.verifyLink(t, "alan@example.com", "Ada", "Lovelace", "sunco")
		okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": again}))

		// Set again, with a template only: no apps are listed for it.
		r = e.admin(envAdminKey, "PATCH", path, map[string]any{"app_links": map[string]any{"verify_url": "https://app.sunco.example/v/{token}"}})
		expect(t, r, http.StatusOK)
		if got := field(r.json(t), "app_links", "verify_url"); got != "https://app.sunco.example/v/{token}" {
			t.Fatalf("patched %s", r.body)
		}
		if ids := e.iosApps(t); len(ids) != 1 {
			t.Fatalf("iOS apps %q, want acme's only", ids)
		}
		r = e.admin(envAdminKey, "GET", adminPath("default", "/labelpartners"), nil)
		expect(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), `"verify_url":"https://app.sunco.example/v/{token}"`) {
			t.Fatalf("list %s", r.body)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
