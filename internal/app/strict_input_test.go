package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestStrictJSONBodies sends bodies that encoding/json would have taken
// loosely: keys in another case, a key twice, invalid UTF-8. Each is a 400
// problem and changes nothing.
func TestStrictJSONBodies(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		ada := e.registerMember("ada@example.com")
		users, endUsers, signups, outbox := e.count("users"), e.count("b2b_end_users"), e.count("signups"), e.count("outbox")
		for _, tc := range []struct {
			name, method, path, body, token string
			slug, field                     string
		}{
			{"upper-case key", "POST", "/api/v1/signups", `{"EMAIL":"eve@example.com","account_type":"customer_personal"}`, "", "unknown-field", "EMAIL"},
			{"title-case key", "POST", "/api/v1/signups", `{"Email":"eve@example.com","account_type":"customer_personal"}`, "", "unknown-field", "Email"},
			{"duplicate key", "POST", "/api/v1/signups", `{"email":"ada@example.com","account_type":"customer_personal","email":"eve@example.com"}`, "", "malformed-json", "email"},
			{"invalid UTF-8", "POST", "/api/v1/signups", "{\"email\":\"\xff\xfe@b.co\",\"account_type\":\"customer_personal\"}", "", "malformed-json", ""},
			{"escaped lone surrogate", "POST", "/api/v1/signups", `{"email":"\udc00@b.co","account_type":"customer_personal"}`, "", "malformed-json", ""},
			{"sign-in with a key in another case", "POST", "/api/v1/sessions", `{"Email":"ada@example.com","password":"` + goodPassword + `"}`, "", "unknown-field", "Email"},
			{"location with a duplicate name", "POST", "/api/v1/customers/" + ada.account + "/locations", `{"name":"A","name":"B"}`, ada.token, "malformed-json", "name"},
			{"v2 provision, key in another case", "POST", "/v2/registration/provision", `{"FIRST_NAME":"Eve","last_name":"X","email_address":"eve@example.com","labelpartner":"lp-pin"}`, "", "unknown-field", "FIRST_NAME"},
			{"v2 provision, duplicate key", "POST", "/v2/registration/provision", `{"first_name":"Eve","last_name":"X","email_address":"eve@example.com","email_address":"mallory@example.com","labelpartner":"lp-pin"}`, "", "malformed-json", "email_address"},
			{"v2 no-gateway, invalid UTF-8", "POST", "/v2/registration/no-gateway", "{\"email_address\":\"e\xc3@example.com\",\"pincode\":\"917364\"}", "", "malformed-json", ""},
			{"b2b end user, nested key in another case", "POST", "/api/v1/b2b/end-users", `{"email":"eve@example.com","first_name":"Eve","last_name":"X","labelpartner":"lp-pin","order":{"Voucher_Code":"V1"}}`, w.clientA, "unknown-field", "order.Voucher_Code"},
			{"b2b end user, duplicate key in a free object", "POST", "/api/v1/b2b/end-users", `{"email":"eve@example.com","first_name":"Eve","last_name":"X","labelpartner":"lp-pin","customer":{"id":1,"id":2}}`, w.clientA, "malformed-json", "customer.id"},
			{"admin API, key in another case", "POST", adminPath("default", "/labelpartners"), `{"Name":"lp-new","password_policy":"pincode"}`, envAdminKey, "unknown-field", "Name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				h := []string{}
				if tc.token != "" {
					h = append(h, "Authorization", "Bearer "+tc.token)
				}
				r := e.do(tc.method, tc.path, tc.body, append(h, "Content-Type", "application/json")...)
				checkProblem(t, r, http.StatusBadRequest, tc.field)
				if got := problemType(t, r); got != tc.slug {
					t.Fatalf("type %s, want %s", got, tc.slug)
				}
			})
		}
		e.t = t
		// Import lines follow the same rules: each such line is rejected.
		lines, sum := w.importNDJSON(t, w.clientA, "", strings.Join([]string{
			`{"EMAIL":"i1@example.com","first_name":"I","last_name":"One","labelpartner":"lp-pin"}`,
			`{"email":"i2@example.com","email":"i3@example.com","first_name":"I","last_name":"Two","labelpartner":"lp-pin"}`,
			"{\"email\":\"i4\xff@example.com\",\"first_name\":\"I\",\"last_name\":\"Four\",\"labelpartner\":\"lp-pin\"}",
			`{"email":"i5@example.com","first_name":"I","last_name":"Fi\u200bve","labelpartner":"lp-pin"}`,
		}, "\n")+"\n")
		if sum["rejected"] != 4 || len(lines) != 4 || !strings.Contains(lines[0].Error, "EMAIL") || !strings.Contains(lines[1].Error, "email") ||
			!strings.Contains(lines[3].Error, "last_name") {
			t.Fatalf("import report %+v %v", lines, sum)
		}
		if e.count("users") != users || e.count("b2b_end_users") != endUsers || e.count("signups") != signups || e.count("b2b_labelpartners") != 5 {
			t.Fatal("a refused body changed something")
		}
		if e.count("outbox") != outbox {
			t.Fatal("a refused body queued a mail")
		}
	})
}

// TestInvisibleCharactersInAddressesAndNames sends addresses and names with
// format characters (zero-width space, right-to-left override, byte-order
// mark …) through every way in: each is a 422 on its field, nothing stored.
func TestInvisibleCharactersInAddressesAndNames(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		ada := e.registerMember("ada@example.com")
		token := e.startSignup("eve@example.com", "customer_business")
		completion := func(mutate func(map[string]any)) map[string]any {
			b := e.completion(token, "customer_business")
			mutate(b)
			return b
		}
		users, endUsers, signups, locations, accounts := e.count("users"), e.count("b2b_end_users"), e.count("signups"), e.count("locations"), e.count("accounts")
		for _, tc := range []struct {
			name, method, path string
			body               any
			token, field       string
		}{
			{"signup, zero-width space in the address", "POST", "/api/v1/signups", map[string]any{"email": "ada\u200b@example.com", "account_type": "customer_personal"}, "", "email"},
			{"signup, right-to-left override in the address", "POST", "/api/v1/signups", map[string]any{"email": "\u202emoc.elpmaxe@ada", "account_type": "customer_personal"}, "", "email"},
			{"signup, byte-order mark in the domain", "POST", "/api/v1/signups", map[string]any{"email": "ada@exa\ufeffmple.com", "account_type": "customer_personal"}, "", "email"},
			{"signup, replacement characters", "POST", "/api/v1/signups", map[string]any{"email": "\ufffd\ufffd@b.co", "account_type": "customer_personal"}, "", "email"},
			{"password reset, zero-width joiner", "POST", "/api/v1/password-resets", map[string]any{"email": "ada\u200d@example.com"}, "", "email"},
			{"completion, first name with an override", "POST", "/api/v1/signups/" + token, completion(func(b map[string]any) { b["user"].(map[string]any)["first_name"] = "\u202eAda" }), "", "user.first_name"},
			{"completion, last name with a zero-width space", "POST", "/api/v1/signups/" + token, completion(func(b map[string]any) { b["user"].(map[string]any)["last_name"] = "Love\u200blace" }), "", "user.last_name"},
			{"completion, company name with a byte-order mark", "POST", "/api/v1/signups/" + token, completion(func(b map[string]any) { b["customer"].(map[string]any)["name"] = "\ufeffAnalytical Engines" }), "", "customer.name"},
			{"location name with a word joiner", "POST", "/api/v1/customers/" + ada.account + "/locations", map[string]any{"name": "Home\u2060 2"}, ada.token, "name"},
			{"invitation address with a zero-width space", "POST", "/api/v1/customers/" + ada.account + "/invitations", map[string]any{"email": "bob\u200b@example.com", "user_type": "customer_admin"}, ada.token, "email"},
			{"b2b end user, first name with an isolate", "POST", "/api/v1/b2b/end-users", endUser("eve@example.com", "lp-pin", "first_name", "Eve\u2066"), w.clientA, "first_name"},
			{"b2b end user, address with a soft hyphen", "POST", "/api/v1/b2b/end-users", endUser("e\u00adve@example.com", "lp-pin"), w.clientA, "email"},
			{"v2 provision, address with an override", "POST", "/v2/registration/provision", map[string]any{"first_name": "Eve", "last_name": "X", "email_address": "eve\u202e@example.com", "labelpartner": "lp-pin"}, "", "email_address"},
			{"v2 provision, last name with a Hangul filler", "POST", "/v2/registration/provision", map[string]any{"first_name": "Eve", "last_name": "\u3164", "email_address": "eve@example.com", "labelpartner": "lp-pin"}, "", "last_name"},
			{"admin, labelpartner name with a zero-width space", "POST", adminPath("default", "/labelpartners"), map[string]any{"name": "lp\u200bpin", "password_policy": "pincode"}, envAdminKey, "name"},
			{"admin, partner name with an override", "POST", adminPath("default", "/partners"), map[string]any{"name": "\u202eReseller"}, envAdminKey, "name"},
			{"admin, user type label with a zero-width space", "POST", adminPath("default", "/user-types"), map[string]any{"name": "viewer", "label": "Vie\u200bwer", "permissions": []string{}}, envAdminKey, "label"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				var r response
				if tc.token != "" {
					r = e.as(tc.token, tc.method, tc.path, tc.body)
				} else {
					r = e.do(tc.method, tc.path, tc.body)
				}
				checkProblem(t, r, http.StatusUnprocessableEntity, tc.field)
			})
		}
		e.t = t
		if e.count("users") != users || e.count("b2b_end_users") != endUsers || e.count("signups") != signups || e.count("locations") != locations ||
			e.count("b2b_labelpartners") != 5 || e.count("accounts") != accounts || e.countWhere("user_types", "name = $1", "viewer") != 0 {
			t.Fatal("a refused name or address was stored")
		}
		// The same names without the invisible characters are taken.
		expect(t, e.do("POST", "/api/v1/signups/"+token, completion(func(map[string]any) {})), http.StatusCreated)
	})
}
