package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
)

// TestB2BViewsMatchSchemas checks the B2B views against their schemas.
func TestB2BViewsMatchSchemas(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	now := time.Date(2026, 3, 2, 9, 15, 4, 123456000, time.UTC)
	later := now.Add(time.Hour)
	lp := domain.Labelpartner{ID: "l1", Name: "ynni", PasswordPolicy: domain.PolicyPincode, IntrospectionURL: "https://idp.example.com/i",
		IntrospectionClientID: "c", IntrospectionClientSecret: "secret", CreatedAt: now}
	withLinks := lp
	withLinks.AppLinks = &domain.AppLinks{VerifyURL: "https://app.example/v?token={token}", ResetURL: "https://app.example/r?token={token}",
		IOS:     &domain.IOSApps{AppIDs: []string{"ABCDE12345.com.example.app"}},
		Android: &domain.AndroidApp{PackageName: "com.example.app", SHA256CertFingerprints: []string{strings.TrimSuffix(strings.Repeat("AB:", 32), ":")}}}
	created := labelpartnerView(lp)
	created.APIKey = "lpk_x"
	u := domain.EndUser{ID: "u1", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Labelpartner: "ynni", ExternalID: "e1",
		VoucherCode: "V", Customer: json.RawMessage(`{"n":1}`), Installation: json.RawMessage(`{}`),
		State: domain.EndUserActive, CreatedAt: now, EmailVerifiedAt: &now, RegisteredAt: &later, ActivatedAt: &later, FirstMeasurementAt: &now}
	client := b2b.ClientDetails{Client: domain.Client{ID: "c1", OrgID: "o1", Name: "crm", Kind: domain.ClientB2B, ClientID: "cl_x",
		SecretHash: []byte("secret-hash"), LabelpartnerIDs: []string{"l1"}, CreatedAt: now, LastUsedAt: &later}, Labelpartners: []string{"ynni"}}
	revoked := b2b.ClientDetails{Client: domain.Client{ID: "c2", Name: "app", Kind: domain.ClientApp, ClientID: "cl_y", CreatedAt: now, RevokedAt: &later}}
	for _, tc := range []struct {
		name, schema string
		view         any
	}{
		{"labelpartner", "B2BLabelpartner", labelpartnerView(lp)},
		{"labelpartner with app links", "B2BLabelpartner", labelpartnerView(withLinks)},
		{"labelpartner with a template only", "B2BLabelpartner", labelpartnerView(domain.Labelpartner{ID: "l", Name: "n", PasswordPolicy: "default", CreatedAt: now,
			AppLinks: &domain.AppLinks{ResetURL: "https://app.example/r/{token}"}})},
		{"labelpartner without SSO", "B2BLabelpartner", labelpartnerView(domain.Labelpartner{ID: "l", Name: "n", PasswordPolicy: "default", CreatedAt: now})},
		{"created labelpartner", "B2BLabelpartner", created},
		{"end user", "B2BEndUser", endUserView(u)},
		{"provisioned end user", "B2BEndUser", endUserView(domain.EndUser{ID: "u", Email: "a@example.com", State: domain.EndUserProvisioned, CreatedAt: now})},
		{"import line", "B2BImportLine", b2b.ImportResult{Line: 3, Status: "rejected", Error: "email: is required"}},
		{"import summary", "B2BImportSummaryLine", map[string]any{"summary": b2b.ImportSummary{Created: 1}}},
		{"tokens", "B2BTokenPair", b2b.TokenPair{AccessToken: "a", RefreshToken: "r", ExpiresIn: 3600, TokenType: "Bearer"}},
		{"client token", "B2BAccessToken", b2b.TokenPair{AccessToken: "a", ExpiresIn: 3600, TokenType: "Bearer"}},
		{"status", "B2BStatusOK", statusOK},
		{"client", "B2BClient", ClientView(client)},
		{"revoked client", "B2BClient", ClientView(revoked)},
		{"client never used", "B2BClient", ClientView(b2b.ClientDetails{Client: domain.Client{ID: "c3", ClientID: "cl_z", Name: "n", Kind: domain.ClientB2B, CreatedAt: now}})},
		{"client list", "B2BClientList", map[string]any{"clients": []B2BClient{ClientView(client), ClientView(revoked)}}},
		{"empty client list", "B2BClientList", map[string]any{"clients": []B2BClient{}}},
	} {
		t.Run(tc.name, func(t *testing.T) { c.checkValue(t, tc.schema, tc.view) })
	}
	if strings.Contains(string(mustJSON(t, labelpartnerView(lp))), "secret") {
		t.Error("the labelpartner view shows the introspection secret")
	}
	if b := string(mustJSON(t, ClientView(client))); strings.Contains(b, "secret") || strings.Contains(b, "hash") || strings.Contains(b, "o1") {
		t.Errorf("the client view shows more than it should: %s", b)
	}
	if b := string(mustJSON(t, ClientView(revoked))); !strings.Contains(b, `"labelpartners":[]`) || strings.Contains(b, "last_used_at") {
		t.Errorf("revoked client view %s: want an empty labelpartner list and no last_used_at", b)
	}
}

// TestB2BClientSchemaRejects shows the client schemas can fail: a secret or
// an unknown field in a client, a wrong kind, an unknown field in a patch.
func TestB2BClientSchemaRejects(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	const client = `"id":"c","client_id":"cl_x","name":"n","labelpartners":[],"created_at":"2026-01-01T00:00:00Z"`
	for _, tc := range []struct{ schema, value, want string }{
		{"B2BClient", `{` + client + `,"kind":"b2b","client_secret":"s"}`, "not allowed"},
		{"B2BClient", `{` + client + `,"kind":"robot"}`, "value must be"},
		{"B2BClient", `{"id":"c","client_id":"cl_x","name":"n","kind":"b2b","created_at":"2026-01-01T00:00:00Z"}`, "missing property 'labelpartners'"},
		{"B2BPatchClientRequest", `{"kind":"app"}`, "not allowed"},
		{"B2BAppLinksRequest", `{"ios":{"app_ids":["abc.app"]}}`, "does not match"},
		{"B2BAppLinksRequest", `{"android":{"package_name":"com.a","sha256_cert_fingerprints":["ab:cd"]}}`, "does not match"},
		{"B2BAppLinksRequest", `{"android":{"package_name":"com.a","sha256_cert_fingerprints":[]}}`, "minItems"},
		{"B2BAppLinksRequest", `{"verify_url":"https://a.example/verify"}`, "does not match"},
		{"B2BAppLinksRequest", `{"ios":{"app_ids":["ABCDE12345.a"],"extra":1}}`, "not allowed"},
		{"AppleAppSiteAssociation", `{"applinks":{"details":[{"appIDs":[],"components":[]}]}}`, "minItems"},
		{"AndroidAssetLinks", `[{"relation":["x"],"target":{"namespace":"android_app","package_name":"com.a","sha256_cert_fingerprints":["AB"]}}]`, "value must be"},
	} {
		errs := c.check(map[string]any{"$ref": "#/components/schemas/" + tc.schema}, decodeJSON(t, []byte(tc.value)), tc.schema)
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }) {
			t.Errorf("%s %s: errors %q, want one containing %q", tc.schema, tc.value, errs, tc.want)
		}
	}
}

// TestB2BAnswersWithoutFlows checks answers given before any flow runs.
func TestB2BAnswersWithoutFlows(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	srv := newTestServer(pinger{})
	for _, tc := range []struct{ method, target, ct, body string }{
		{"POST", "/api/v1/b2b/token", "", ""},
		{"POST", "/v2/token", "application/json", "{}"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		if tc.ct != "" {
			req.Header.Set("Content-Type", tc.ct)
		}
		srv.ServeHTTP(rec, req)
		if rec.Code != 400 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", tc.target, rec.Code, rec.Body)
		}
		for _, e := range c.check(map[string]any{"$ref": "#/components/schemas/B2BOAuthError"}, decodeJSON(t, rec.Body.Bytes()), "body") {
			t.Error(e)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
