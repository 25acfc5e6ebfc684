package httpapi

import (
	"mime"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// TestAccountViewsMatchSchemas checks the views of account management
// against their schemas in paths-account.json.
func TestAccountViewsMatchSchemas(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	now := time.Date(2026, 3, 2, 9, 15, 4, 123456000, time.UTC)
	later := now.Add(7 * 24 * time.Hour)
	inv := domain.Invitation{ID: "i1", OrgID: "o1", AccountID: "a1", Email: "charles@example.com", UserTypeID: "ut1",
		InvitedBy: "u1", TokenHash: []byte("secret"), State: domain.InvitationPending, CreatedAt: now, ExpiresAt: later}
	accepted := inv
	accepted.State, accepted.AcceptedAt, accepted.AcceptedBy = domain.InvitationAccepted, &now, "u2"
	byBackOffice := inv
	byBackOffice.InvitedBy, byBackOffice.UserID = "", "u3"
	ut := domain.UserType{ID: "ut1", Name: "customer_user", Label: "Customer user", Permissions: []string{domain.PermLocationRead}}
	user := domain.User{ID: "u1", OrgID: "o1", AccountID: "a1", UserTypeID: "ut1", Email: "ada@example.com", FirstName: "Ada",
		LastName: "Lovelace", PasswordHash: "secret", Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now}
	account := domain.Account{ID: "a1", OrgID: "o1", Kind: domain.KindCustomer, Type: domain.CustomerBusiness, Name: "Engines Ltd",
		Status: domain.StatusActive, CreatedAt: now, UpdatedAt: now}
	sess := domain.Session{ID: "s1", OrgID: "o1", UserID: "u1", TokenHash: []byte("secret"), CreatedAt: now, ExpiresAt: later,
		ClientIP: "203.0.113.7", UserAgent: "test"}
	form := flows.InvitationForm{
		Invitation: inv, Organization: domain.Organization{Name: "default"}, Account: account, UserType: ut, InvitedBy: "Ada Lovelace",
		Fields:     []flows.Field{{Name: "user.first_name", Label: "First name", Type: "string", Required: true, MaxLength: 200}},
		Agreements: []domain.Agreement{{ID: "ag1", Name: "terms-of-service", Kind: "terms_of_service", Title: "Terms", Version: 1, Required: true, Body: "…"}},
		Policy:     auth.DefaultPolicy().Describe(),
	}
	export := flows.Export{
		ExportedAt: now, Organization: domain.Organization{Name: "default", DisplayName: "Default"}, User: user, UserType: ut, Account: account,
		Acceptances:         []domain.Acceptance{{ID: "ac1", AgreementID: "ag1", Name: "terms-of-service", Version: 1, AcceptedAt: now}},
		Sessions:            []domain.Session{sess},
		InvitationsSent:     []domain.Invitation{inv, accepted},
		InvitationsReceived: []domain.Invitation{byBackOffice},
		PasswordResets:      []domain.PasswordReset{{ID: "r1", State: domain.LinkUsed, CreatedAt: now, ExpiresAt: later, UsedAt: &now}},
		EmailChanges:        []domain.EmailChange{{ID: "e1", OldEmail: "ada@example.com", NewEmail: "ada@example.org", State: domain.LinkPending, CreatedAt: now, ExpiresAt: later}},
		Audit:               []domain.AuditEntry{{ID: "au1", Actor: "user:u1", Action: "session.created", SubjectID: "u1", CreatedAt: now}},
	}
	for _, tc := range []struct {
		name, schema string
		view         any
	}{
		{"pending invitation", "Invitation", invitationView(flows.InvitationInfo{Invitation: inv, UserType: ut, Status: "pending"})},
		{"accepted invitation", "Invitation", invitationView(flows.InvitationInfo{Invitation: accepted, UserType: ut, Status: "accepted"})},
		{"invitation list", "InvitationList", map[string]any{"invitations": []any{invitationView(flows.InvitationInfo{Invitation: byBackOffice, UserType: ut, Status: "expired"})}}},
		{"invitation form", "InvitationForm", invitationFormView(form)},
		{"invitation form without fields", "InvitationForm", invitationFormView(flows.InvitationForm{Invitation: byBackOffice, Account: account, Existing: true, Policy: form.Policy})},
		{"sessions", "MySessions", map[string]any{"sessions": []any{sessionView(sess, "s1"), sessionView(sess, "other")}}},
		{"export", "MyExport", exportView(export, "s1")},
		{"empty export", "MyExport", exportView(flows.Export{ExportedAt: now, User: user, Account: account}, "s1")},
		{"users", "AccountUsers", map[string]any{"users": []any{userView(user, ut)}}},
	} {
		t.Run(tc.name, func(t *testing.T) { c.checkValue(t, tc.schema, tc.view) })
	}
}

// TestAccountExportHasNoSecrets: password and token hashes stay out of
// the export.
func TestAccountExportHasNoSecrets(t *testing.T) {
	now := time.Now().UTC()
	x := flows.Export{ExportedAt: now,
		User:            domain.User{ID: "u1", PasswordHash: "$argon2id$SECRET-PASSWORD-HASH"},
		Sessions:        []domain.Session{{ID: "s1", TokenHash: []byte("SECRET-SESSION-HASH")}},
		PasswordResets:  []domain.PasswordReset{{ID: "r1", TokenHash: []byte("SECRET-RESET-HASH")}},
		EmailChanges:    []domain.EmailChange{{ID: "e1", TokenHash: []byte("SECRET-CHANGE-HASH")}},
		InvitationsSent: []domain.Invitation{{ID: "i1", TokenHash: []byte("SECRET-INVITATION-HASH")}},
	}
	rec := httptest.NewRecorder()
	encode(rec, 200, exportView(x, "s1"))
	body := rec.Body.String()
	if strings.Contains(body, "SECRET") || strings.Contains(body, "token") || strings.Contains(body, "hash\"") {
		t.Fatalf("export leaks a secret: %s", body)
	}
	if !strings.Contains(body, `"has_password":true`) {
		t.Fatalf("export does not say the user has a password: %s", body)
	}
}

// TestAccountAnswersDocumented sends account requests that are answered
// before any flow runs and checks that each answer is documented.
func TestAccountAnswersDocumented(t *testing.T) {
	s := loadSpec(t)
	c := schemaChecker{s}
	ops := map[string]operation{}
	for _, o := range s.operations(t) {
		ops[o.String()] = o
	}
	tooBig := `{"email":"` + strings.Repeat("a", MaxBody) + `"}`
	for _, tc := range []struct {
		name, method, target, contentType, body string
		want                                    int
	}{
		{"invite without token", "POST", "/api/v1/customers/c1/invitations", "application/json", `{}`, 401},
		{"partner users without token", "GET", "/api/v1/partners/p1/users", "", "", 401},
		{"delete customer without token", "DELETE", "/api/v1/customers/c1", "application/json", `{"confirm":"x"}`, 401},
		{"sessions without token", "GET", "/api/v1/me/sessions", "", "", 401},
		{"export without token", "GET", "/api/v1/me/export", "", "", 401},
		{"malformed invitation token", "GET", "/api/v1/invitations/nonsense", "", "", 404},
		{"acceptance without content type", "POST", "/api/v1/invitations/nonsense", "", `{}`, 415},
		{"acceptance unknown field", "POST", "/api/v1/invitations/nonsense", "application/json", `{"role":"admin"}`, 400},
		{"acceptance wrong type", "POST", "/api/v1/invitations/nonsense", "application/json", `{"password":7}`, 422},
		{"acceptance too large", "POST", "/api/v1/invitations/nonsense", "application/json", tooBig, 413},
		{"malformed invitation token on acceptance", "POST", "/api/v1/invitations/nonsense", "application/json", `{}`, 404},
		{"reset request as text", "POST", "/api/v1/password-resets", "text/plain", `{}`, 415},
		{"reset request not JSON", "POST", "/api/v1/password-resets", "application/json", `{"email":`, 400},
		{"malformed reset token", "GET", "/api/v1/password-resets/nonsense", "", "", 404},
		{"reset with malformed token", "POST", "/api/v1/password-resets/nonsense", "application/json", `{"password":"x"}`, 404},
		{"malformed email-change token", "GET", "/api/v1/email-changes/nonsense", "", "", 404},
		{"confirm malformed email-change token", "POST", "/api/v1/email-changes/nonsense", "", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(pinger{})
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			_, pattern := srv.mux.Handler(req)
			method, path, _ := strings.Cut(pattern, " ")
			o, ok := ops[method+" "+routePath(path)]
			if !ok {
				t.Fatalf("%s %s (route %q) is not documented", tc.method, tc.target, pattern)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.want, rec.Body)
			}
			doc := obj(o.op["responses"])[strconv.Itoa(rec.Code)]
			if doc == nil {
				t.Fatalf("%s does not document status %d", o, rec.Code)
			}
			r, err := s.deref(doc)
			if err != nil {
				t.Fatal(err)
			}
			mt, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type"))
			if err != nil {
				t.Fatal(err)
			}
			media := obj(obj(r["content"])[mt])
			if media == nil {
				t.Fatalf("content type %s is not documented for %d", mt, rec.Code)
			}
			for _, e := range c.check(media["schema"], decodeJSON(t, rec.Body.Bytes()), "body") {
				t.Error(e)
			}
		})
	}
}
