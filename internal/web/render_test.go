package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
)

// testForm is a registration form with a field of every type.
func testForm() flows.SignupForm {
	return flows.SignupForm{
		Signup:       domain.Signup{Email: "ada@example.com", AccountType: domain.AccountCustomerBusiness},
		Organization: domain.Organization{Name: "default", DisplayName: "Example <Cloud>"},
		Fields: []flows.Field{
			{Name: "customer.name", Label: "Company name", Type: "string", Required: true, MaxLength: 200},
			{Name: "customer.billing_email", Label: "Billing email", Type: "email", MaxLength: 200},
			{Name: "customer.country", Label: "Country", Type: "country", Required: true, MaxLength: 2},
			{Name: "customer.size", Label: "Size", Type: "enum", Required: true, Options: []string{"small", "large"}},
			{Name: "customer.founded", Label: "Founded", Type: "date"},
			{Name: "customer.newsletter", Label: "Newsletter", Type: "boolean", Required: true},
			{Name: "user.phone", Label: "Phone", Type: "phone", MaxLength: 32},
			{Name: flows.PartnerCodeField, Label: "Partner code", Type: "string", MaxLength: 64},
		},
		Agreements: []domain.Agreement{
			{ID: "ag-1", Title: "Terms of Service", Version: 3, Body: "Be nice.\nReally.", Required: true},
			{ID: "ag-2", Title: "Marketing", Version: 1, Body: "Mail.", Required: false},
		},
		Policy: auth.PolicyDescription{MinLength: 8, MaxLength: 64, Rules: []string{"not_email", "not_common"}},
	}
}

func renderRegister(t *testing.T, values url.Values, err *domain.Error) string {
	t.Helper()
	p := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{FormKey: []byte("k")})
	rq := &req{Org: testForm().Organization, Lang: "en", cat: p.cat}
	v := p.registerView(rq, testForm(), "link-token", values)
	if err != nil {
		v.Errors = p.applyError(rq, v.Form, err)
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/register", nil)
	r = r.WithContext(context.WithValue(r.Context(), reqKey{}, rq))
	p.render(rec, r, http.StatusOK, "register", v)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestRegisterRendersEveryFieldType(t *testing.T) {
	html := renderRegister(t, nil, nil)
	for _, want := range []string{
		`<label for="f-customer-name">Company name</label>`,
		`<input type="text" id="f-customer-name" name="customer.name" value="" required maxlength="200" autocomplete="organization">`,
		`<input type="email" id="f-customer-billing_email" name="customer.billing_email" value="" maxlength="200" autocomplete="email">`,
		`<label for="f-customer-billing_email">Billing email <span class="optional">(optional)</span></label>`,
		`<input type="text" id="f-customer-country" name="customer.country" value="" required maxlength="2" autocomplete="country" aria-describedby="f-customer-country-hint">`,
		`<select id="f-customer-size" name="customer.size" required>`,
		`<option value="small">small</option>`,
		`<option value="large">large</option>`,
		`<input type="date" id="f-customer-founded" name="customer.founded" value="">`,
		`<input type="checkbox" id="f-customer-newsletter" name="customer.newsletter" value="true">`,
		`<input type="tel" id="f-user-phone" name="user.phone" value="" maxlength="32" autocomplete="tel" aria-describedby="f-user-phone-hint">`,
		`name="partner_code"`,
		`<input type="password" id="f-password" name="password" required maxlength="64" autocomplete="new-password" aria-describedby="f-password-hint">`,
		`Use 8 to 64 characters; not your email address; not a commonly used password.`,
		`<input type="checkbox" id="f-agreement-0" name="agreement" value="ag-1" required>`,
		`I accept the Terms of Service (version 3)</label>`,
		`<summary>Read the Terms of Service, version 3</summary>`,
		"Be nice.\nReally.",
		`<input type="checkbox" id="f-agreement-1" name="agreement" value="ag-2">`,
		`<input type="hidden" name="token" value="link-token">`,
		`You are registering ada@example.com with Example &lt;Cloud&gt; (Business).`,
		`<link rel="stylesheet" href="/static/style.css">`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("page has a script")
	}
}

func TestRegisterKeepsValuesAndShowsErrors(t *testing.T) {
	values := url.Values{
		"customer.name": {`Acme "Q" <Ltd>`}, "customer.size": {"large"}, "customer.newsletter": {"true"},
		"customer.founded": {"2020-02-02"}, "password": {"s3cret-not-shown"}, "agreement": {"ag-2"},
	}
	err := domain.Invalid(
		domain.FieldError{Field: "password", Message: "must be at least 8 characters"},
		domain.FieldError{Field: "customer.country", Message: "is required"},
		domain.FieldError{Field: "accepted_agreements", Message: "Terms of Service (version 3) must be accepted"},
		domain.FieldError{Field: "mystery", Message: "is odd"},
	)
	html := renderRegister(t, values, err)
	for _, want := range []string{
		`value="Acme &#34;Q&#34; &lt;Ltd&gt;"`,
		`<option value="large" selected>large</option>`,
		`name="customer.newsletter" value="true" checked>`,
		`name="customer.founded" value="2020-02-02">`,
		`value="ag-2" checked>`,
		`<ul class="field-errors" id="f-password-error"><li>Password must be at least 8 characters.</li></ul>`,
		`aria-describedby="f-password-hint f-password-error" aria-invalid="true"`,
		`<li>Country is required.</li>`,
		`<ul class="field-errors" id="agreements-error"><li>Terms of Service (version 3) must be accepted.</li></ul>`,
		`<div class="errors" id="errors" role="alert" tabindex="-1" aria-labelledby="errors-title">`,
		`<li>Mystery is odd.</li>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, "s3cret-not-shown") {
		t.Error("page shows the entered password")
	}
}

func TestCompletion(t *testing.T) {
	fields := testForm().Fields
	for _, tc := range []struct {
		name     string
		form     url.Values
		customer map[string]any
		user     map[string]any
		partner  string
	}{
		{"empty", url.Values{}, map[string]any{"newsletter": false}, map[string]any{}, ""},
		{"filled", url.Values{
			"customer.name": {"Acme"}, "customer.newsletter": {"true"}, "user.phone": {"+31 20 1"}, "partner_code": {"P-1"},
			"customer.unknown": {"x"}, "user.admin": {"true"},
		}, map[string]any{"name": "Acme", "newsletter": true}, map[string]any{"phone": "+31 20 1"}, "P-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, u, pc := completion(fields, tc.form)
			if !mapsEqual(c, tc.customer) || !mapsEqual(u, tc.user) || pc != tc.partner {
				t.Errorf("completion = %v %v %q, want %v %v %q", c, u, pc, tc.customer, tc.user, tc.partner)
			}
		})
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestFormToken(t *testing.T) {
	p := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	other := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	base := p.formToken("/register", "abc")
	for _, tc := range []struct {
		name string
		got  string
		same bool
	}{
		{"same page and link", p.formToken("/register", "abc"), true},
		{"other link", p.formToken("/register", "abd"), false},
		{"other page", p.formToken("/invitation", "abc"), false},
		{"no separator ambiguity", p.formToken("/registera", "bc"), false},
		{"other process key", other.formToken("/register", "abc"), false},
	} {
		if (tc.got == base) != tc.same {
			t.Errorf("%s: token equal = %v, want %v", tc.name, tc.got == base, tc.same)
		}
	}
}
