package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Tests of products and things through the running service: the admin API
// registers and imports products, customers activate them through the API
// and the pages.

// firstLocation returns the id of the member's first location.
func (e *env) firstLocation(m member) string {
	e.t.Helper()
	r := e.as(m.token, "GET", "/api/v1/customers/"+m.account+"/locations", nil)
	expect(e.t, r, http.StatusOK)
	var body struct {
		Locations []struct {
			ID string `json:"id"`
		} `json:"locations"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.Locations) == 0 {
		e.t.Fatalf("locations: %v: %s", err, r.body)
	}
	return body.Locations[0].ID
}

// createProduct registers a product through the admin API.
func (e *env) createProduct(serial, token string) {
	e.t.Helper()
	body := map[string]any{"serial_number": serial, "model": "Heat pump X200"}
	if token != "" {
		body["connection_token"] = token
	}
	expect(e.t, e.admin(envAdminKey, "POST", adminPath("default", "/products"), body), http.StatusCreated)
}

func TestThingsAPI(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada.things@example.com")
		bob := e.registerMember("bob.things@example.com")
		adaLoc, bobLoc := e.firstLocation(ada), e.firstLocation(bob)
		e.createProduct("HP-1", "tok-1")
		e.createProduct("HP-2", "")
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/products"), map[string]any{"serial_number": "HP-1", "model": "X"}), http.StatusConflict)
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/products"), map[string]any{"serial_number": "", "model": "X"}), http.StatusUnprocessableEntity)
		expect(t, e.as(ada.token, "GET", adminPath("default", "/products"), nil), http.StatusUnauthorized)

		// Import with bad lines, streamed.
		body := "{\"serial_number\":\"HP-3\",\"model\":\"X\"}\n{\"serial_number\":\"bad serial\",\"model\":\"X\"}\n{\"serial_number\":\"HP-1\",\"model\":\"X\"}\n"
		r := e.do("POST", adminPath("default", "/products/import"), body, "Authorization", "Bearer "+envAdminKey, "Content-Type", "application/x-ndjson")
		expect(t, r, http.StatusOK)
		var statuses []string
		sc := bufio.NewScanner(bytes.NewReader(r.body))
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("import answer line %q: %v", sc.Text(), err)
			}
			if s, ok := line["status"].(string); ok {
				statuses = append(statuses, s)
			}
		}
		if strings.Join(statuses, ",") != "created,rejected,unchanged" || !strings.Contains(string(r.body), `"summary"`) {
			t.Errorf("import answer: %s", r.body)
		}
		if p := e.admin(envAdminKey, "GET", adminPath("default", "/products/HP-3"), nil); p.status != http.StatusOK || p.json(t)["state"] != "UNASSIGNED" {
			t.Errorf("imported product: %d %s", p.status, p.body)
		}

		// Refusals answer alike.
		things := "/api/v1/customers/" + ada.account + "/locations/" + adaLoc + "/things"
		unknown := e.as(ada.token, "POST", things, map[string]any{"serial_number": "HP-404", "connection_token": "x"})
		wrong := e.as(ada.token, "POST", things, map[string]any{"serial_number": "HP-1", "connection_token": "x"})
		if unknown.status != http.StatusNotFound || unknown.status != wrong.status || string(unknown.body) != string(wrong.body) {
			t.Errorf("unknown serial %d %s; wrong token %d %s; want the same 404", unknown.status, unknown.body, wrong.status, wrong.body)
		}

		// Activate, list, rename, move, release.
		r = e.as(ada.token, "POST", things, map[string]any{"serial_number": "HP-1", "connection_token": "tok-1", "name": "Cellar"})
		expect(t, r, http.StatusCreated)
		th := r.json(t)
		if th["state"] != "ACTIVE" || th["location_id"] != adaLoc || th["serial_number"] != "HP-1" || th["id"] == "" {
			t.Errorf("activated thing: %s", r.body)
		}
		thingPath := "/api/v1/customers/" + ada.account + "/things/" + th["id"].(string)
		other := e.as(bob.token, "POST", "/api/v1/customers/"+bob.account+"/locations/"+bobLoc+"/things", map[string]any{"serial_number": "HP-1", "connection_token": "tok-1"})
		if other.status != http.StatusNotFound || string(other.body) != string(unknown.body) {
			t.Errorf("another customer's product: %d %s", other.status, other.body)
		}
		r = e.as(ada.token, "POST", "/api/v1/customers/"+ada.account+"/things", map[string]any{"serial_number": "HP-2", "new_location": "Garage"})
		expect(t, r, http.StatusCreated)
		garage := r.json(t)["location_id"].(string)
		if l := e.as(ada.token, "GET", "/api/v1/customers/"+ada.account+"/things", nil); l.status != 200 || strings.Count(string(l.body), `"serial_number"`) != 2 {
			t.Errorf("list: %d %s", l.status, l.body)
		}
		if l := e.as(ada.token, "GET", "/api/v1/customers/"+ada.account+"/locations/"+garage+"/things", nil); l.status != 200 || !strings.Contains(string(l.body), "HP-2") || strings.Contains(string(l.body), "HP-1") {
			t.Errorf("list per location: %d %s", l.status, l.body)
		}
		expect(t, e.as(bob.token, "GET", "/api/v1/customers/"+ada.account+"/things", nil), http.StatusNotFound)
		r = e.as(ada.token, "PATCH", thingPath, map[string]any{"name": "Boiler", "location_id": garage})
		expect(t, r, http.StatusOK)
		if p := r.json(t); p["name"] != "Boiler" || p["location_id"] != garage {
			t.Errorf("patched: %s", r.body)
		}
		expect(t, e.as(ada.token, "DELETE", "/api/v1/customers/"+ada.account+"/locations/"+garage, nil), http.StatusConflict)
		expect(t, e.as(ada.token, "DELETE", thingPath, nil), http.StatusNoContent)
		expect(t, e.as(ada.token, "GET", thingPath, nil), http.StatusNotFound)

		// Factory reset: the customer loses the thing; its administrator is told.
		n := e.mails()
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/products/HP-2/factory-reset"), nil), http.StatusOK)
		e.mailSince(n, ada.email, "HP-2")
		if l := e.as(ada.token, "GET", "/api/v1/customers/"+ada.account+"/things", nil); strings.Contains(string(l.body), "HP-2") {
			t.Errorf("after the factory reset the customer still has HP-2: %s", l.body)
		}
		if a := e.lastAudit("default", "product.factory_reset", "admin:environment", ""); a.Action == "" {
			t.Error("no audit entry of the factory reset")
		}
	})
}

// TestBrowserThingsActivation: the QR code address of a product, opened
// signed out, leads through sign-in to the activation form with the serial
// number filled in; a wrong connection token is refused on the form; the
// right one activates the thing into a new location; the things page lists
// it and renames it.
func TestBrowserThingsActivation(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		ada := e.registerMember("ada.browser.things@example.com")
		e.createProduct("HP-QR-1", "7Q4M-KX2P")

		// The address of the QR code, signed out: sign in first.
		expectPage(t, tab, openPage(t, tab, e.base+"/activate?serial=HP-QR-1"), http.StatusOK, pageText(t, tab, "h1"))
		typeInto(t, tab, "main #f-email", ada.email)
		typeInto(t, tab, "main #f-password", goodPassword)
		if status := acctSubmit(t, tab, "main form"); status != http.StatusOK {
			t.Fatalf("sign-in answered %d: %s", status, pageText(t, tab, "main"))
		}
		if loc := acctLocation(t, tab); loc != e.base+"/account/things/activate?serial=HP-QR-1" {
			t.Fatalf("after sign-in the browser is at %s", loc)
		}
		expectPage(t, tab, http.StatusOK, http.StatusOK, "Activate a thing")
		if got := pageValue(t, tab, "#f-serial_number"); got != "HP-QR-1" {
			t.Errorf("serial number = %q, want it filled in", got)
		}
		checkPage(t, tab, "things-activate")

		// A wrong token.
		typeInto(t, tab, "main #f-connection_token", "WRONG")
		expectPage(t, tab, acctSubmit(t, tab, "main form"), http.StatusNotFound, "Activate a thing")
		if msg := pageText(t, tab, "main .errors"); !strings.Contains(msg, "can be activated") {
			t.Errorf("error after a wrong token = %q", msg)
		}
		checkPage(t, tab, "things-activate-refused")

		// The right token, into a new location. The refused token is not
		// shown again; the serial number is.
		if got := pageValue(t, tab, "#f-connection_token"); got != "" {
			t.Errorf("token after the refusal = %q, want empty", got)
		}
		if got := pageValue(t, tab, "#f-serial_number"); got != "HP-QR-1" {
			t.Errorf("serial number after the refusal = %q", got)
		}
		typeInto(t, tab, "main #f-connection_token", "7Q4M-KX2P")
		typeInto(t, tab, "main #f-name", "Cellar heat pump")
		tick(t, tab, `main input[name="location_id"][value="new"]`)
		typeInto(t, tab, "main #f-new_location", "Holiday home")
		if status := acctSubmit(t, tab, "main form"); status != http.StatusOK {
			t.Fatalf("activation answered %d: %s", status, pageText(t, tab, "main"))
		}
		if got := acctNotice(t, tab); got != "The thing has been activated." {
			t.Errorf("notice = %q", got)
		}
		if list := pageText(t, tab, "main .cards"); !strings.Contains(list, "Cellar heat pump") || !strings.Contains(list, "Holiday home") || !strings.Contains(list, "HP-QR-1") {
			t.Errorf("things page: %q", list)
		}
		checkPage(t, tab, "things")
		r := e.admin(envAdminKey, "GET", adminPath("default", "/products/HP-QR-1"), nil)
		if p := r.json(t); p["state"] != "ACTIVE" || p["customer_id"] != ada.account {
			t.Errorf("product after activation: %s", r.body)
		}

		// Rename it on the things page.
		thingID := ""
		if l := e.as(ada.token, "GET", "/api/v1/customers/"+ada.account+"/things", nil); l.status == http.StatusOK {
			var body struct {
				Things []struct {
					ID string `json:"id"`
				} `json:"things"`
			}
			if err := json.Unmarshal(l.body, &body); err == nil && len(body.Things) == 1 {
				thingID = body.Things[0].ID
			}
		}
		if thingID == "" {
			t.Fatal("no thing through the API")
		}
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-name-"+thingID), "Boiler")); err != nil {
			t.Fatal(err)
		}
		if status := acctSubmit(t, tab, `form[action$="/things/`+thingID+`/rename"]`); status != http.StatusOK {
			t.Fatalf("rename answered %d: %s", status, pageText(t, tab, "main"))
		}
		if got := acctNotice(t, tab); got != "The thing has been renamed." {
			t.Errorf("notice after renaming = %q", got)
		}
	})
}
