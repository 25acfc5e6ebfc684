package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func TestAdminOrganizations(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		r := e.admin(envAdminKey, "POST", adminPath("", ""), map[string]any{"name": "acme", "display_name": " Acme IoT "})
		expect(t, r, http.StatusCreated)
		org := r.json(t)
		if org["name"] != "acme" || org["display_name"] != "Acme IoT" || org["id"] == "" || org["created_at"] == nil {
			t.Fatalf("created %s", r.body)
		}
		e.lastAudit("acme", "organization.created", "admin:environment", org["id"].(string))

		// Seeded like the default organization.
		r = e.admin(envAdminKey, "GET", adminPath("acme", "/user-types"), nil)
		expect(t, r, http.StatusOK)
		if got := names(r.json(t)["user_types"].([]any)); !hasAll(got, "customer_admin", "customer_user", "partner_admin", "data_recipient_admin") {
			t.Fatalf("user types of a new organization: %v", got)
		}
		r = e.admin(envAdminKey, "GET", adminPath("acme", "/agreements"), nil)
		expect(t, r, http.StatusOK)
		if got := names(r.json(t)["agreements"].([]any)); !slices.Equal(got, []string{"privacy-policy", "terms-of-service"}) {
			t.Fatalf("agreements of a new organization: %v", got)
		}
		r = e.admin(envAdminKey, "GET", adminPath("acme", "/onboarding"), nil)
		expect(t, r, http.StatusOK)
		if field(r.json(t), "self_registration", "enabled") != true {
			t.Fatalf("onboarding of a new organization: %s", r.body)
		}

		r = e.admin(envAdminKey, "POST", adminPath("", ""), map[string]any{"name": "acme", "display_name": "Again"})
		expect(t, r, http.StatusConflict)
		checkProblem(t, r, http.StatusConflict, "name")

		for _, c := range []struct{ name, body, field string }{
			{"upper case", `{"name":"Acme2","display_name":"x"}`, "name"},
			{"one character", `{"name":"a","display_name":"x"}`, "name"},
			{"leading dash", `{"name":"-acme","display_name":"x"}`, "name"},
			{"underscore", `{"name":"ac_me","display_name":"x"}`, "name"},
			{"too long", `{"name":"` + strings.Repeat("a", 64) + `","display_name":"x"}`, "name"},
			{"no name", `{"display_name":"x"}`, "name"},
			{"no display name", `{"name":"acme3"}`, "display_name"},
			{"control character", `{"name":"acme3","display_name":"a\u0000b"}`, "display_name"},
			{"display name too long", `{"name":"acme3","display_name":"` + strings.Repeat("x", 201) + `"}`, "display_name"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				r := e.admin(envAdminKey, "POST", adminPath("", ""), c.body)
				expect(t, r, http.StatusUnprocessableEntity)
				checkProblem(t, r, http.StatusUnprocessableEntity, c.field)
			})
		}
		e.t = t

		// An organization's key sees only its organization and may not create one.
		key, _ := e.orgKey("acme", "ci")
		r = e.admin(key, "POST", adminPath("", ""), map[string]any{"name": "other", "display_name": "Other"})
		expect(t, r, http.StatusForbidden)
		checkProblem(t, r, http.StatusForbidden, "")
		r = e.admin(key, "GET", adminPath("", ""), nil)
		expect(t, r, http.StatusOK)
		if got := names(r.json(t)["organizations"].([]any)); !slices.Equal(got, []string{"acme"}) {
			t.Fatalf("an organization's key lists %v", got)
		}
		r = e.admin(envAdminKey, "GET", adminPath("", ""), nil)
		expect(t, r, http.StatusOK)
		if got := names(r.json(t)["organizations"].([]any)); !slices.Equal(got, []string{"acme", "default"}) {
			t.Fatalf("the full-rights key lists %v", got)
		}
		if n := e.count("organizations"); n != 2 {
			t.Fatalf("%d organizations, want 2: a refused request created one", n)
		}
	})
}

func TestAdminProperties(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		key, keyID := e.orgKey("default", "props")
		actor := "admin:" + keyID + ":props"
		path := adminPath("default", "/properties")
		vat := map[string]any{"scope": "customer", "name": "vat_number", "label": "VAT number", "type": "string", "required": true,
			"account_types": []string{"customer_business", "channel_partner"}, "pattern": "[A-Z]{2}[0-9A-Z]{2,12}", "max_length": 14, "position": 10}
		r := e.admin(key, "POST", path, vat)
		expect(t, r, http.StatusCreated)
		p := r.json(t)
		id, _ := p["id"].(string)
		if id == "" || p["max_length"] != float64(14) || p["pattern"] != vat["pattern"] || p["required"] != true || p["scope"] != "customer" {
			t.Fatalf("created %s", r.body)
		}
		created := e.lastAudit("default", "property.created", actor, id)
		if field(created.Data, "after", "name") != "vat_number" {
			t.Fatalf("audit data %v", created.Data)
		}

		// Defaults, an enum, and the same name in the other scope.
		r = e.admin(key, "POST", path, map[string]any{"scope": "user", "name": "vat_number", "label": "Personal VAT", "type": "enum",
			"account_types": []string{"customer_personal"}, "options": []string{"yes", "no"}})
		expect(t, r, http.StatusCreated)
		if q := r.json(t); q["max_length"] != float64(200) || q["position"] != float64(0) || q["required"] != false {
			t.Fatalf("defaults: %s", r.body)
		}
		r = e.admin(key, "POST", path, vat)
		expect(t, r, http.StatusConflict)
		checkProblem(t, r, http.StatusConflict, "name")

		valid := func(change map[string]any) map[string]any {
			b := map[string]any{"scope": "customer", "name": "region", "label": "Region", "type": "string", "account_types": []string{"customer_business"}}
			for k, v := range change {
				if v == nil {
					delete(b, k)
				} else {
					b[k] = v
				}
			}
			return b
		}
		for _, c := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no scope", valid(map[string]any{"scope": nil}), "scope"},
			{"unknown scope", valid(map[string]any{"scope": "account"}), "scope"},
			{"no name", valid(map[string]any{"name": nil}), "name"},
			{"name with capitals", valid(map[string]any{"name": "Region"}), "name"},
			{"name starting with a digit", valid(map[string]any{"name": "1region"}), "name"},
			{"name too long", valid(map[string]any{"name": "r" + strings.Repeat("x", 63)}), "name"},
			{"built-in name", valid(map[string]any{"name": "email"}), "name"},
			{"built-in first name", valid(map[string]any{"name": "first_name"}), "name"},
			{"no label", valid(map[string]any{"label": "  "}), "label"},
			{"label too long", valid(map[string]any{"label": strings.Repeat("x", 201)}), "label"},
			{"unknown type", valid(map[string]any{"type": "number"}), "type"},
			{"no type", valid(map[string]any{"type": nil}), "type"},
			{"no account types", valid(map[string]any{"account_types": []string{}}), "account_types"},
			{"unknown account type", valid(map[string]any{"account_types": []string{"customer_business", "alien"}}), "account_types[1]"},
			{"account type twice", valid(map[string]any{"account_types": []string{"customer_business", "customer_business"}}), "account_types[1]"},
			{"enum without options", valid(map[string]any{"type": "enum"}), "options"},
			{"enum option twice", valid(map[string]any{"type": "enum", "options": []string{"a", "a"}}), "options[1]"},
			{"options of a string", valid(map[string]any{"options": []string{"a"}}), "options"},
			{"pattern does not compile", valid(map[string]any{"pattern": "[A-Z"}), "pattern"},
			{"pattern on a boolean", valid(map[string]any{"type": "boolean", "pattern": "true"}), "pattern"},
			{"max length zero", valid(map[string]any{"max_length": 0}), "max_length"},
			{"max length too big", valid(map[string]any{"max_length": 1001}), "max_length"},
			{"negative position", valid(map[string]any{"position": -1}), "position"},
			{"required as a string", valid(map[string]any{"required": "yes"}), "required"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				r := e.admin(key, "POST", path, c.body)
				expect(t, r, http.StatusUnprocessableEntity)
				checkProblem(t, r, http.StatusUnprocessableEntity, c.field)
			})
		}
		e.t = t
		r = e.admin(key, "POST", path, `{"scope":"customer","nickname":"x"}`)
		expect(t, r, http.StatusBadRequest)
		checkProblem(t, r, http.StatusBadRequest, "nickname")

		// Update: everything but scope and name.
		upd := map[string]any{"label": "VAT identification number", "type": "string", "required": false,
			"account_types": []string{"customer_business"}, "max_length": 20, "position": 1}
		r = e.admin(key, "PUT", path+"/"+id, upd)
		expect(t, r, http.StatusOK)
		if q := r.json(t); q["label"] != "VAT identification number" || q["name"] != "vat_number" || q["pattern"] != "" || q["max_length"] != float64(20) {
			t.Fatalf("updated %s", r.body)
		}
		updated := e.lastAudit("default", "property.updated", actor, id)
		if field(updated.Data, "before", "label") != "VAT number" || field(updated.Data, "after", "label") != "VAT identification number" ||
			field(updated.Data, "before", "max_length") != float64(14) {
			t.Fatalf("update audit %v", updated.Data)
		}
		upd["name"], upd["scope"] = "vat", "user"
		r = e.admin(key, "PUT", path+"/"+id, upd)
		expect(t, r, http.StatusUnprocessableEntity)
		checkProblem(t, r, http.StatusUnprocessableEntity, "name")
		checkProblem(t, r, http.StatusUnprocessableEntity, "scope")
		upd["name"], upd["scope"], upd["label"] = "vat_number", "customer", ""
		r = e.admin(key, "PUT", path+"/"+id, upd)
		checkProblem(t, r, http.StatusUnprocessableEntity, "label")
		expect(t, e.admin(key, "PUT", path+"/0196f1c4-0000-7000-8000-000000000000", valid(nil)), http.StatusNotFound)
		expect(t, e.admin(key, "PUT", path+"/%00", valid(nil)), http.StatusNotFound)

		r = e.admin(key, "GET", path, nil)
		expect(t, r, http.StatusOK)
		list := r.json(t)["properties"].([]any)
		if len(list) != 2 || field(list[0].(map[string]any), "scope") != "customer" || field(list[0].(map[string]any), "label") != "VAT identification number" {
			t.Fatalf("list %s", r.body)
		}

		r = e.admin(key, "DELETE", path+"/"+id, nil)
		expect(t, r, http.StatusNoContent)
		deleted := e.lastAudit("default", "property.deleted", actor, id)
		if field(deleted.Data, "before", "name") != "vat_number" {
			t.Fatalf("delete audit %v", deleted.Data)
		}
		r = e.admin(key, "DELETE", path+"/"+id, nil)
		expect(t, r, http.StatusNotFound)
		checkProblem(t, r, http.StatusNotFound, "")
		if n := e.count("property_definitions"); n != 1 {
			t.Fatalf("%d property definitions, want 1", n)
		}
	})
}

func TestAdminUserTypes(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		path := adminPath("default", "/user-types")
		r := e.admin(envAdminKey, "POST", path, map[string]any{"name": "installer", "label": "Installer", "permissions": []string{"location.read", "things.write"}})
		expect(t, r, http.StatusCreated)
		if ut := r.json(t); ut["name"] != "installer" || fmt.Sprint(ut["permissions"]) != "[location.read things.write]" {
			t.Fatalf("created %s", r.body)
		}
		e.lastAudit("default", "user_type.created", "admin:environment", "")
		r = e.admin(envAdminKey, "POST", path, map[string]any{"name": "installer", "label": "Again", "permissions": []string{}})
		expect(t, r, http.StatusConflict)
		checkProblem(t, r, http.StatusConflict, "name")

		for _, c := range []struct{ name, body, field string }{
			{"unknown permission", `{"name":"x1","label":"X","permissions":["things.read","root"]}`, "permissions[1]"},
			{"permission twice", `{"name":"x1","label":"X","permissions":["things.read","things.read"]}`, "permissions[1]"},
			{"no permissions", `{"name":"x1","label":"X"}`, "permissions"},
			{"bad name", `{"name":"X 1","label":"X","permissions":[]}`, "name"},
			{"no name", `{"label":"X","permissions":[]}`, "name"},
			{"no label", `{"name":"x1","permissions":[]}`, "label"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				r := e.admin(envAdminKey, "POST", path, c.body)
				expect(t, r, http.StatusUnprocessableEntity)
				checkProblem(t, r, http.StatusUnprocessableEntity, c.field)
			})
		}
		e.t = t

		r = e.admin(envAdminKey, "PATCH", path+"/installer", map[string]any{"label": "Field installer"})
		expect(t, r, http.StatusOK)
		if ut := r.json(t); ut["label"] != "Field installer" || fmt.Sprint(ut["permissions"]) != "[location.read things.write]" {
			t.Fatalf("label patch %s", r.body)
		}
		r = e.admin(envAdminKey, "PATCH", path+"/installer", map[string]any{"permissions": []string{"things.read"}})
		expect(t, r, http.StatusOK)
		if ut := r.json(t); ut["label"] != "Field installer" || fmt.Sprint(ut["permissions"]) != "[things.read]" {
			t.Fatalf("permissions patch %s", r.body)
		}
		a := e.lastAudit("default", "user_type.updated", "admin:environment", "")
		if fmt.Sprint(field(a.Data, "before", "permissions")) != "[location.read things.write]" || fmt.Sprint(field(a.Data, "after", "permissions")) != "[things.read]" {
			t.Fatalf("update audit %v", a.Data)
		}
		checkProblem(t, e.admin(envAdminKey, "PATCH", path+"/installer", map[string]any{}), http.StatusUnprocessableEntity, "label")
		checkProblem(t, e.admin(envAdminKey, "PATCH", path+"/installer", map[string]any{"permissions": []string{"sudo"}}), http.StatusUnprocessableEntity, "permissions[0]")
		checkProblem(t, e.admin(envAdminKey, "PATCH", path+"/installer", map[string]any{"label": ""}), http.StatusUnprocessableEntity, "label")
		checkProblem(t, e.admin(envAdminKey, "PATCH", path+"/nobody", map[string]any{"label": "x"}), http.StatusNotFound, "")

		// The customers' default user type keeps customer.account_admin.
		strip := map[string]any{"permissions": []string{"location.read", "things.read"}}
		r = e.admin(envAdminKey, "PATCH", path+"/customer_admin", strip)
		expect(t, r, http.StatusConflict)
		checkProblem(t, r, http.StatusConflict, "permissions")
		r = e.admin(envAdminKey, "GET", path, nil)
		expect(t, r, http.StatusOK)
		for _, ut := range r.json(t)["user_types"].([]any) {
			if m := ut.(map[string]any); m["name"] == "customer_admin" && !strings.Contains(fmt.Sprint(m["permissions"]), "customer.account_admin") {
				t.Fatalf("the refused change was saved: %v", m)
			}
		}
		// Make another type the default of both customer types; then
		// customer_admin may lose it, and the new default may not.
		expect(t, e.admin(envAdminKey, "POST", path, map[string]any{"name": "owner", "label": "Owner", "permissions": []string{"customer.account_admin"}}), http.StatusCreated)
		r = e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil)
		expect(t, r, http.StatusOK)
		cfg := r.json(t)
		cfg["default_user_types"] = map[string]any{"customer_business": "owner", "customer_personal": "customer_admin"}
		expect(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), cfg), http.StatusOK)
		checkProblem(t, e.admin(envAdminKey, "PATCH", path+"/customer_admin", strip), http.StatusConflict, "permissions")
		cfg["default_user_types"] = map[string]any{"customer_business": "owner", "customer_personal": "owner"}
		expect(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), cfg), http.StatusOK)
		expect(t, e.admin(envAdminKey, "PATCH", path+"/customer_admin", strip), http.StatusOK)
		checkProblem(t, e.admin(envAdminKey, "PATCH", path+"/owner", map[string]any{"permissions": []string{}}), http.StatusConflict, "permissions")
		// Other permissions of the default may change.
		expect(t, e.admin(envAdminKey, "PATCH", path+"/owner", map[string]any{"permissions": []string{"customer.account_admin", "things.read"}}), http.StatusOK)
		// And the onboarding configuration cannot point customers at a type without it.
		cfg["default_user_types"] = map[string]any{"customer_personal": "customer_admin"}
		checkProblem(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), cfg), http.StatusUnprocessableEntity, "default_user_types.customer_personal")

		// The onboarding change is in the audit log, with before and after.
		a = e.lastAudit("default", "onboarding.updated", "admin:environment", "")
		if field(a.Data, "before", "default_user_types", "customer_personal") != "customer_admin" ||
			field(a.Data, "after", "default_user_types", "customer_personal") != "owner" {
			t.Fatalf("onboarding audit %v", a.Data)
		}
	})
}

func TestAdminAuditLog(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		for i := range 3 {
			body := map[string]any{"name": fmt.Sprintf("t%d", i), "label": "T", "permissions": []string{}}
			expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/user-types"), body), http.StatusCreated)
		}
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/properties"), map[string]any{"scope": "user", "name": "nick",
			"label": "Nick", "type": "string", "account_types": []string{"customer_personal"}}), http.StatusCreated)

		all := e.audit("default", "")
		if len(all) < 4 || all[0].Action != "property.created" || all[1].Action != "user_type.created" {
			t.Fatalf("newest first: %+v", all)
		}
		for i := 1; i < len(all); i++ {
			if all[i].CreatedAt.After(all[i-1].CreatedAt) {
				t.Fatalf("entry %d is newer than entry %d", i, i-1)
			}
		}
		// The prefix is literal: "_" is not a wildcard.
		if got := e.audit("default", "user_type."); len(got) != 3 {
			t.Fatalf("user_type. entries: %+v", got)
		}
		if got := e.audit("default", "propert_"); len(got) != 0 {
			t.Fatalf("propert_ matched %+v", got)
		}
		if got := e.audit("default", "propert"); len(got) != 1 {
			t.Fatalf("propert matched %d entries, want 1", len(got))
		}
		if got := e.audit("default", "user_typ"); len(got) != 3 {
			t.Fatalf("user_typ prefix: %d entries", len(got))
		}
		r := e.admin(envAdminKey, "GET", adminPath("default", "/audit?limit=2"), nil)
		expect(t, r, http.StatusOK)
		if n := len(r.json(t)["entries"].([]any)); n != 2 {
			t.Fatalf("limit=2 gave %d entries", n)
		}
		r = e.admin(envAdminKey, "GET", adminPath("default", "/audit"), nil)
		expect(t, r, http.StatusOK)
		if n := len(r.json(t)["entries"].([]any)); n != len(all) {
			t.Fatalf("default limit gave %d entries, want %d", n, len(all))
		}
		for _, c := range []struct{ query, field string }{
			{"limit=0", "limit"}, {"limit=501", "limit"}, {"limit=ten", "limit"}, {"limit=-1", "limit"},
			{"action=%25", "action"}, {"action=User", "action"}, {"action=" + strings.Repeat("a", 101), "action"},
		} {
			r := e.admin(envAdminKey, "GET", adminPath("default", "/audit?"+c.query), nil)
			expect(t, r, http.StatusUnprocessableEntity)
			checkProblem(t, r, http.StatusUnprocessableEntity, c.field)
		}
	})
}

func TestAdminAgreements(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		path := adminPath("default", "/agreements")
		r := e.admin(envAdminKey, "GET", path, nil)
		expect(t, r, http.StatusOK)
		current := r.json(t)["agreements"].([]any)
		if len(current) != 2 || field(current[1].(map[string]any), "version") != float64(1) {
			t.Fatalf("seeded agreements %s", r.body)
		}
		tos := current[1].(map[string]any)

		r = e.admin(envAdminKey, "POST", path+"/terms-of-service/versions", map[string]any{"title": "Terms of Service 2026", "text": "New terms.\n\nSection 2."})
		expect(t, r, http.StatusCreated)
		v2 := r.json(t)
		if v2["version"] != float64(2) || v2["kind"] != tos["kind"] || v2["required"] != tos["required"] ||
			fmt.Sprint(v2["account_types"]) != fmt.Sprint(tos["account_types"]) || v2["text"] != "New terms.\n\nSection 2." || v2["id"] == tos["id"] {
			t.Fatalf("version 2 %s, version 1 %v", r.body, tos)
		}
		a := e.lastAudit("default", "agreement.version_published", "admin:environment", v2["id"].(string))
		if field(a.Data, "before", "version") != float64(1) || field(a.Data, "after", "version") != float64(2) {
			t.Fatalf("publish audit %v", a.Data)
		}
		expect(t, e.admin(envAdminKey, "POST", path+"/terms-of-service/versions", map[string]any{"title": "v3", "text": "Third."}), http.StatusCreated)
		r = e.admin(envAdminKey, "GET", path+"/terms-of-service/versions", nil)
		expect(t, r, http.StatusOK)
		var versions []float64
		for _, v := range r.json(t)["versions"].([]any) {
			versions = append(versions, v.(map[string]any)["version"].(float64))
		}
		if !slices.Equal(versions, []float64{3, 2, 1}) {
			t.Fatalf("versions %v", versions)
		}
		r = e.admin(envAdminKey, "GET", path, nil)
		expect(t, r, http.StatusOK)
		if v := field(r.json(t)["agreements"].([]any)[1].(map[string]any), "version"); v != float64(3) {
			t.Fatalf("current terms version %v", v)
		}
		// Registration shows the newest version.
		token := e.startSignup("reader@example.com", "customer_personal")
		r = e.do("GET", "/api/v1/signups/"+token, nil)
		expect(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), `"title":"v3"`) {
			t.Fatalf("the form does not show version 3: %s", r.body)
		}

		checkProblem(t, e.admin(envAdminKey, "POST", path+"/nope/versions", map[string]any{"title": "x", "text": "y"}), http.StatusNotFound, "")
		checkProblem(t, e.admin(envAdminKey, "GET", path+"/nope/versions", nil), http.StatusNotFound, "")
		checkProblem(t, e.admin(envAdminKey, "POST", path+"/terms-of-service/versions", map[string]any{"title": "x"}), http.StatusUnprocessableEntity, "text")
		checkProblem(t, e.admin(envAdminKey, "POST", path+"/terms-of-service/versions", map[string]any{"text": "x", "title": strings.Repeat("t", 201)}), http.StatusUnprocessableEntity, "title")

		dpa := map[string]any{"name": "data-processing", "kind": "other", "title": "Data Processing", "text": "Only as agreed.",
			"account_types": []string{"data_recipient"}, "required": true}
		r = e.admin(envAdminKey, "POST", path, dpa)
		expect(t, r, http.StatusCreated)
		if g := r.json(t); g["version"] != float64(1) || g["name"] != "data-processing" {
			t.Fatalf("created %s", r.body)
		}
		e.lastAudit("default", "agreement.created", "admin:environment", "")
		checkProblem(t, e.admin(envAdminKey, "POST", path, dpa), http.StatusConflict, "name")
		checkProblem(t, e.admin(envAdminKey, "POST", path, map[string]any{"name": "terms-of-service", "kind": "other", "title": "T", "text": "x",
			"account_types": []string{"data_recipient"}, "required": false}), http.StatusConflict, "name")

		valid := func(k string, v any) map[string]any {
			b := map[string]any{"name": "cookies", "kind": "other", "title": "Cookies", "text": "We use cookies.",
				"account_types": []string{"customer_personal"}, "required": false}
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
			return b
		}
		for _, c := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"bad name", valid("name", "Cookies!"), "name"},
			{"unknown kind", valid("kind", "eula"), "kind"},
			{"no title", valid("title", nil), "title"},
			{"no text", valid("text", " "), "text"},
			{"no account types", valid("account_types", []string{}), "account_types"},
			{"unknown account type", valid("account_types", []string{"robot"}), "account_types[0]"},
			{"required missing", valid("required", nil), "required"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				r := e.admin(envAdminKey, "POST", path, c.body)
				expect(t, r, http.StatusUnprocessableEntity)
				checkProblem(t, r, http.StatusUnprocessableEntity, c.field)
			})
		}
		e.t = t
		if n := e.count("agreements"); n != 5 {
			t.Fatalf("%d agreement versions, want 5", n)
		}
	})
}

// TestAdminOnboardingDurations: a duration that does not parse is a field
// error naming its path (422), like every other rule of the document; only
// broken JSON is a 400. Nothing is stored either way.
func TestAdminOnboardingDurations(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		path := adminPath("default", "/onboarding")
		r := e.admin(envAdminKey, "GET", path, nil)
		expect(t, r, http.StatusOK)
		stored := string(r.body)
		with := func(change map[string]any) map[string]any {
			o := r.json(t)
			for k, v := range change {
				o[k] = v
			}
			return o
		}
		provider := func(timeout any) map[string]any {
			return map[string]any{"url": "https://crm.example.com/partners", "secret": "a-long-random-shared-secret",
				"name_field": "company.name", "timeout": timeout}
		}
		for _, c := range []struct {
			name   string
			body   any
			status int
			fields []string // field errors, each "must be a duration like 24h"
		}{
			{"words", with(map[string]any{"signup_link_ttl": "two days"}), 422, []string{"signup_link_ttl"}},
			{"no unit", with(map[string]any{"signup_link_ttl": "48"}), 422, []string{"signup_link_ttl"}},
			{"number", with(map[string]any{"signup_link_ttl": 86400}), 422, []string{"signup_link_ttl"}},
			{"provider timeout", with(map[string]any{"partner_provider": provider("soon")}), 422, []string{"partner_provider.timeout"}},
			{"both", with(map[string]any{"signup_link_ttl": "1 day", "partner_provider": provider(false)}), 422,
				[]string{"signup_link_ttl", "partner_provider.timeout"}},
			{"broken JSON", `{"signup_link_ttl": "48h"`, 400, nil},
			{"unknown field next to a bad duration", with(map[string]any{"signup_link_ttl": "x", "bogus": 1}), 400, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				r := e.admin(envAdminKey, "PUT", path, c.body)
				expect(t, r, c.status)
				checkProblem(t, r, c.status, "")
				if c.status == 400 {
					return
				}
				var p struct {
					Errors []struct{ Field, Message string }
				}
				decodeAs(t, r, &p)
				var got []string
				for _, fe := range p.Errors {
					got = append(got, fe.Field)
					if fe.Message != "must be a duration like 24h" {
						t.Errorf("%s: %q", fe.Field, fe.Message)
					}
				}
				if !slices.Equal(got, c.fields) {
					t.Fatalf("field errors %q, want %q: %s", got, c.fields, r.body)
				}
			})
		}
		e.t = t
		r = e.admin(envAdminKey, "GET", path, nil)
		expect(t, r, http.StatusOK)
		if string(r.body) != stored {
			t.Fatalf("a refused document changed the configuration:\n%s\nwas\n%s", r.body, stored)
		}
		if n := e.countWhere("audit_log", "action = 'onboarding.updated'"); n != 0 {
			t.Fatalf("%d refused documents audited", n)
		}
		// A valid duration is still taken.
		r = e.admin(envAdminKey, "PUT", path, with(map[string]any{"signup_link_ttl": "48h"}))
		expect(t, r, http.StatusOK)
		if got := r.json(t)["signup_link_ttl"]; got != "48h0m0s" {
			t.Fatalf("signup_link_ttl = %v", got)
		}
	})
}

// TestAdminOnboardingChecksUserTypesInItsTransaction: while another
// transaction takes customer.account_admin away from a user type (not yet
// committed), a configuration making it the customers' default user type
// must wait for it and be refused, not be checked against the old
// permissions and stored.
func TestAdminOnboardingChecksUserTypesInItsTransaction(t *testing.T) {
	// Not parallel: it waits for a lock (pg_stat_activity, or a pause on SQLite).
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/user-types"),
			map[string]any{"name": "owner", "label": "Owner", "permissions": []string{"customer.account_admin"}}), http.StatusCreated)
		path := adminPath("default", "/onboarding")
		r := e.admin(envAdminKey, "GET", path, nil)
		expect(t, r, http.StatusOK)
		cfg := r.json(t)
		cfg["default_user_types"] = map[string]any{"customer_business": "owner"}
		body, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}

		ctx := context.Background()
		db := e.app.Store().DB()
		tx, err := db.BeginTx(ctx, nil) // on SQLite: BEGIN IMMEDIATE, the write lock
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck
		if _, err := tx.Exec(`UPDATE user_types SET permissions = $1 WHERE org_id = $2 AND name = $3`,
			`["things.read"]`, e.defaultOrg().ID, "owner"); err != nil {
			t.Fatal(err)
		}

		type result struct {
			response
			err error
		}
		done := make(chan result, 1)
		go func() {
			req, err := http.NewRequest("PUT", e.base+path, bytes.NewReader(body))
			if err != nil {
				done <- result{err: err}
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+envAdminKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- result{err: err}
				return
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			done <- result{response{status: res.StatusCode, header: res.Header, body: b}, err}
		}()

		// Wait until the PUT waits for the uncommitted change (PostgreSQL
		// shows it in pg_stat_activity; on SQLite, give it time to reach
		// the write lock). A PUT that answers meanwhile did not wait.
		began := time.Now()
		for waiting := false; !waiting; {
			select {
			case r := <-done:
				t.Fatalf("the PUT answered %d %s while the change of its user type was uncommitted: its check did not wait for it", r.status, r.body)
			case <-time.After(50 * time.Millisecond):
			}
			if e.app.Store().Engine() == store.Postgres {
				var n int
				if err := db.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM user_types%FOR SHARE%'`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				waiting = n > 0
			} else {
				waiting = time.Since(began) > 300*time.Millisecond
			}
			if time.Since(began) > 10*time.Second {
				t.Fatal("the PUT neither answered nor waited for the uncommitted change")
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var res result
		select {
		case res = <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("the PUT did not answer after the change was committed")
		}
		if res.err != nil {
			t.Fatal(res.err)
		}
		expect(t, res.response, http.StatusUnprocessableEntity)
		checkProblem(t, res.response, http.StatusUnprocessableEntity, "default_user_types.customer_business")
		r = e.admin(envAdminKey, "GET", path, nil)
		expect(t, r, http.StatusOK)
		if got := field(r.json(t), "default_user_types", "customer_business"); got != "customer_admin" {
			t.Fatalf("customers' default user type is %v: the configuration was stored against the old permissions", got)
		}
		if n := e.countWhere("audit_log", "action = 'onboarding.updated'"); n != 0 {
			t.Fatalf("%d onboarding changes audited", n)
		}
	})
}

// TestAdminOrganizationAuditFailure: the organization and its audit entry are
// written together, so an organization whose entry cannot be written is not
// created (and its name stays free).
func TestAdminOrganizationAuditFailure(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		if e.app.Store().Engine() == store.Postgres {
			e.exec(`CREATE FUNCTION refuse_org_audit() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF NEW.action = 'organization.created' THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$`)
			e.exec(`CREATE TRIGGER refuse_org_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_org_audit()`)
		} else {
			e.exec(`CREATE TRIGGER refuse_org_audit BEFORE INSERT ON audit_log WHEN NEW.action = 'organization.created'
				BEGIN SELECT RAISE(ABORT, 'audit refused'); END`)
		}
		body := map[string]any{"name": "acme", "display_name": "Acme IoT"}
		r := e.admin(envAdminKey, "POST", adminPath("", ""), body)
		expect(t, r, http.StatusInternalServerError)
		if n := e.count("organizations"); n != 1 {
			t.Fatalf("%d organizations after a failed creation, want 1 (default)", n)
		}
		if n := e.countWhere("user_types", "org_id <> $1", e.defaultOrg().ID); n != 0 {
			t.Fatalf("%d user types of the organization that was not created", n)
		}

		if e.app.Store().Engine() == store.Postgres {
			e.exec(`DROP TRIGGER refuse_org_audit ON audit_log`)
		} else {
			e.exec(`DROP TRIGGER refuse_org_audit`)
		}
		r = e.admin(envAdminKey, "POST", adminPath("", ""), body)
		expect(t, r, http.StatusCreated)
		e.lastAudit("acme", "organization.created", "admin:environment", r.json(t)["id"].(string))
	})
}

// TestDefaultOrganizationDisplayName: the default organization takes the
// configured display name at start, also when it exists already with another
// one (an older release seeded "Default"), and mail subjects carry it.
func TestDefaultOrganizationDisplayName(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		ctx := context.Background()
		st := e.app.Store()
		const name = "Example Corp"
		before := e.defaultOrg().DisplayName
		if before == name {
			t.Fatalf("the default organization is called %q already", name)
		}
		for _, bad := range []string{"", "  ", "a\nb", strings.Repeat("x", 201)} {
			if _, err := flows.EnsureDefaultOrganization(ctx, st, bad); err == nil {
				t.Errorf("display name %q accepted", bad)
			}
		}
		org, err := flows.EnsureDefaultOrganization(ctx, st, flows.DefaultDisplayName(name, e.cfg.MailFrom, e.base))
		if err != nil {
			t.Fatal(err)
		}
		if org.DisplayName != name || e.defaultOrg().DisplayName != name {
			t.Fatalf("display name %q (stored %q), want %q", org.DisplayName, e.defaultOrg().DisplayName, name)
		}
		// Again with the same name: nothing to change, nothing audited.
		if _, err := flows.EnsureDefaultOrganization(ctx, st, name); err != nil {
			t.Fatal(err)
		}
		a := e.lastAudit("default", "organization.updated", "configuration", org.ID)
		if field(a.Data, "before", "display_name") != before || field(a.Data, "after", "display_name") != name {
			t.Fatalf("audit data %v", a.Data)
		}
		if n := len(e.audit("default", "organization.updated")); n != 1 {
			t.Fatalf("%d organization.updated entries, want 1", n)
		}

		n := e.mails()
		token := e.startSignup("ada@example.com", "customer_personal")
		if m := e.mailSince(n, "ada@example.com", "/register?token="); m.Subject != "Finish creating your "+name+" account" {
			t.Errorf("signup subject %q", m.Subject)
		}
		n = e.mails()
		expect(t, e.do("POST", "/api/v1/signups/"+token, e.completion(token, "customer_personal")), http.StatusCreated)
		if m := e.mailSince(n, "ada@example.com", "/login"); m.Subject != "Welcome to "+name {
			t.Errorf("welcome subject %q", m.Subject)
		}
	})
}

// TestOrgNameConfig: -org-name names the default organization at start;
// without it the name comes from -mail-from.
func TestOrgNameConfig(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn, func(c *config.Config) { c.OrgName = "Config Corp" })
		logOnFailure(t, e)
		if got := e.defaultOrg().DisplayName; got != "Config Corp" {
			t.Fatalf("display name %q, want Config Corp", got)
		}
	})
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn, func(c *config.Config) { c.MailFrom = "Acme Energy <no-reply@acme.example>" })
		logOnFailure(t, e)
		if got := e.defaultOrg().DisplayName; got != "Acme Energy" {
			t.Fatalf("display name %q, want the name of -mail-from", got)
		}
	})
}
