package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// TestB2BViewsMatchSchemas checks the B2B views against their schemas.
func TestB2BViewsMatchSchemas(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	now := time.Date(2026, 3, 2, 9, 15, 4, 123456000, time.UTC)
	later := now.Add(time.Hour)
	lp := domain.Labelpartner{ID: "l1", Name: "ynni", PasswordPolicy: domain.PolicyPincode, IntrospectionURL: "https://idp.example.com/i",
		IntrospectionClientID: "c", IntrospectionClientSecret: "secret", CreatedAt: now}
	created := labelpartnerView(lp)
	created.APIKey = "lpk_x"
	u := domain.EndUser{ID: "u1", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Labelpartner: "ynni", ExternalID: "e1",
		VoucherCode: "V", Details: map[string]any{"customer": map[string]any{"n": 1.0}, "installation": map[string]any{}},
		State: domain.EndUserActive, CreatedAt: now, EmailVerifiedAt: &now, RegisteredAt: &later, ActivatedAt: &later, FirstMeasurementAt: &now}
	for _, tc := range []struct {
		name, schema string
		view         any
	}{
		{"labelpartner", "B2BLabelpartner", labelpartnerView(lp)},
		{"labelpartner without SSO", "B2BLabelpartner", labelpartnerView(domain.Labelpartner{ID: "l", Name: "n", PasswordPolicy: "default", CreatedAt: now})},
		{"created labelpartner", "B2BLabelpartner", created},
		{"end user", "B2BEndUser", endUserView(u)},
		{"provisioned end user", "B2BEndUser", endUserView(domain.EndUser{ID: "u", Email: "a@example.com", State: domain.EndUserProvisioned, CreatedAt: now})},
		{"import line", "B2BImportLine", flows.ImportResult{Line: 3, Status: "rejected", Error: "email: is required"}},
		{"import summary", "B2BImportSummaryLine", map[string]any{"summary": flows.ImportSummary{Created: 1}}},
		{"tokens", "B2BTokenPair", flows.TokenPair{AccessToken: "a", RefreshToken: "r", ExpiresIn: 3600, TokenType: "Bearer"}},
		{"client token", "B2BAccessToken", flows.TokenPair{AccessToken: "a", ExpiresIn: 3600, TokenType: "Bearer"}},
		{"status", "B2BStatusOK", statusOK},
	} {
		t.Run(tc.name, func(t *testing.T) { c.checkValue(t, tc.schema, tc.view) })
	}
	if strings.Contains(string(mustJSON(t, labelpartnerView(lp))), "secret") {
		t.Error("the labelpartner view shows the introspection secret")
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
