package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// The configuration's default wait of the event dispatcher is the one the
// events package documents and measured.
func TestEventsLingerDefault(t *testing.T) {
	if got := config.Default().EventsLinger; got != events.DefaultDispatchLinger {
		t.Errorf("config.Default().EventsLinger = %v, events.DefaultDispatchLinger = %v", got, events.DefaultDispatchLinger)
	}
}

// hookReceiver is a real HTTP server that verifies the Standard Webhooks
// signature of every request and keeps the events it accepted.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []events.Event
	bad    int
}

func startHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := webhooks.Verify(h.secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"),
			body, time.Now(), 5*time.Minute); err != nil {
			h.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		e, err := events.Parse(body)
		if err != nil {
			h.bad++
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.got = append(h.got, e)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) events() []events.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]events.Event(nil), h.got...)
}

// eventCounts counts the default organization's events by type.
func (e *env) eventCounts() map[string]int {
	e.t.Helper()
	evs, err := e.app.Store().EventsOfOrg(context.Background(), e.orgID("default"))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, ev := range evs {
		out[ev.Type]++
	}
	return out
}

// Every event type of the flows is emitted by its flow, exactly once per
// change, in the change's transaction; the webhook receiver gets each
// one, signed; the feed pages through them in order.
func TestEventsEmittedByFlows(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn, withAdminKey)
		logOnFailure(t, e)
		e.configure(offerAll)
		admin := func(method, path string, body any) response {
			return e.do(method, "/api/v1/admin/organizations/default"+path, body, "Authorization", "Bearer "+testAdminKey)
		}
		rcv := startHookReceiver(t)
		r := admin("POST", "/webhooks", map[string]any{"url": rcv.srv.URL + "/hooks", "description": "all"})
		expect(t, r, http.StatusCreated)
		rcv.secret = r.json(t)["secret"].(string)

		acceptances := func() int { return e.count("agreement_acceptances") }
		before := e.eventCounts()
		step := func(name string, want map[string]int, do func()) {
			t.Helper()
			acc := acceptances()
			do()
			if n := acceptances() - acc; n > 0 {
				want[events.TypeAgreementAccepted] += n
			}
			after := e.eventCounts()
			for _, typ := range events.Types {
				if d := after[typ] - before[typ]; d != want[typ] {
					t.Errorf("%s: %d %s events, want %d", name, d, typ, want[typ])
				}
			}
			before = after
		}

		var ada, bob member
		step("self-registration", map[string]int{events.TypeCustomerCreated: 1, events.TypeUserCreated: 1}, func() {
			ada = e.registerMember("ada@example.com")
		})
		step("invitation", map[string]int{events.TypeUserCreated: 1, events.TypeInvitationAccepted: 1}, func() {
			bob = e.join(ada, "bob@example.com", "customer_user")
		})
		step("user type", map[string]int{events.TypeUserTypeChanged: 1}, func() {
			expect(t, e.as(ada.token, "PATCH", "/api/v1/customers/"+ada.account+"/users/"+bob.id, map[string]any{"user_type": "customer_viewer"}), http.StatusOK)
		})
		step("user removed", map[string]int{events.TypeUserRemoved: 1}, func() {
			expect(t, e.as(ada.token, "DELETE", "/api/v1/customers/"+ada.account+"/users/"+bob.id, nil), http.StatusNoContent)
		})
		step("password changed", map[string]int{events.TypeUserPasswordChanged: 1}, func() {
			expect(t, e.as(ada.token, "PUT", "/api/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": goodPassword + "x"}), http.StatusNoContent)
		})
		step("email changed", map[string]int{events.TypeUserEmailChanged: 1}, func() {
			n := e.mails()
			expect(t, e.as(ada.token, "POST", "/api/v1/me/email", map[string]any{"email": "ada@example.org", "current_password": goodPassword + "x"}), http.StatusAccepted)
			tok := e.linkSince(n, "ada@example.org", "/confirm-email")
			expect(t, e.do("POST", "/api/v1/email-changes/"+tok, nil), http.StatusOK)
		})
		_, code := e.createPartner("Resellers Inc")
		step("partner user", map[string]int{events.TypeUserCreated: 1, events.TypePartnerUserCreated: 1}, func() {
			token := e.startSignup("rep@resellers.example", "channel_partner")
			body := e.completion(token, "channel_partner")
			body["customer"] = map[string]any{}
			body["partner_code"] = code
			expect(t, e.do("POST", "/api/v1/signups/"+token, body), http.StatusCreated)
		})
		var dr1, dr2 string
		step("data recipients", map[string]int{events.TypeDataRecipientPending: 2, events.TypeUserCreated: 2}, func() {
			reg := func(email, name string) string {
				token := e.startSignup(email, "data_recipient")
				body := e.completion(token, "data_recipient")
				body["customer"] = map[string]any{"name": name}
				r := e.do("POST", "/api/v1/signups/"+token, body)
				expect(t, r, http.StatusCreated)
				return r.json(t)["data_recipient"].(map[string]any)["id"].(string)
			}
			dr1, dr2 = reg("dr1@grid.example", "Grid One"), reg("dr2@grid.example", "Grid Two")
		})
		step("approval", map[string]int{events.TypeDataRecipientApproved: 1}, func() {
			expect(t, admin("POST", "/approvals/"+dr1+"/approve", nil), http.StatusOK)
		})
		step("rejection", map[string]int{events.TypeDataRecipientRejected: 1}, func() {
			expect(t, admin("POST", "/approvals/"+dr2+"/reject", map[string]any{"reason": "unknown company"}), http.StatusOK)
		})
		var carl string
		step("back-office customer", map[string]int{events.TypeCustomerCreated: 1, events.TypeUserCreated: 1}, func() {
			n := e.mails()
			expect(t, admin("POST", "/customers", map[string]any{"type": "business", "name": "Carl Ltd",
				"user": map[string]any{"email": "carl@carl.example", "first_name": "Carl", "last_name": "Gauss"}}), http.StatusCreated)
			carl = e.linkSince(n, "carl@carl.example", "/invitation")
		})
		step("back-office invitation accepted", map[string]int{events.TypeInvitationAccepted: 1}, func() {
			expect(t, e.do("POST", "/api/v1/invitations/"+carl, e.invitationBody(carl)), http.StatusCreated)
		})
		step("account deleted", map[string]int{events.TypeAccountDeleted: 1}, func() {
			var name string
			if err := e.app.Store().DB().QueryRow(`SELECT name FROM accounts WHERE id = $1`, ada.account).Scan(&name); err != nil {
				t.Fatal(err)
			}
			expect(t, e.as(ada.token, "DELETE", "/api/v1/customers/"+ada.account, map[string]any{"confirm": name}), http.StatusNoContent)
		})
		// A change that fails leaves no event.
		step("refused change", map[string]int{}, func() {
			expect(t, e.as("", "PUT", "/api/v1/me/password", map[string]any{"current_password": "x", "new_password": "y"}), http.StatusUnauthorized)
		})

		all, err := e.app.Store().EventsOfOrg(context.Background(), e.orgID("default"))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(rcv.events()) < len(all) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		seen := map[string]int{}
		for _, ev := range rcv.events() {
			seen[ev.ID]++
			if ev.Organization != "default" || ev.Subject == "" || ev.OccurredAt.IsZero() || len(ev.Data) < 2 {
				t.Errorf("event %+v", ev)
			}
		}
		for _, ev := range all {
			if seen[ev.ID] != 1 {
				t.Errorf("event %s (%s) delivered %d times", ev.ID, ev.Type, seen[ev.ID])
			}
		}
		if rcv.bad != 0 {
			t.Errorf("%d requests failed the signature check", rcv.bad)
		}

		// The feed, by pages of 4, has every event once, in commit order.
		var feed []string
		after := ""
		for range 100 {
			r := admin("GET", "/events?limit=4&after="+after, nil)
			expect(t, r, http.StatusOK)
			var page struct {
				Events []events.Event `json:"events"`
				Next   string         `json:"next"`
			}
			decodeAs(t, r, &page)
			for _, ev := range page.Events {
				feed = append(feed, ev.ID)
			}
			if len(page.Events) == 0 {
				break
			}
			after = page.Next
		}
		if len(feed) != len(all) {
			t.Fatalf("feed has %d events, want %d", len(feed), len(all))
		}
		r = admin("GET", "/events?types=user.removed,account.deleted", nil)
		expect(t, r, http.StatusOK)
		var typed struct{ Events []events.Event }
		decodeAs(t, r, &typed)
		if len(typed.Events) != 2 || typed.Events[0].Type != events.TypeUserRemoved || typed.Events[1].Type != events.TypeAccountDeleted {
			t.Errorf("typed feed: %s", r.body)
		}
		for _, q := range []string{"?after=x", "?types=nope", "?limit=-1", "?limit=" + strconv.Itoa(events.MaxFeedLimit+1)} {
			expect(t, admin("GET", "/events"+q, nil), http.StatusUnprocessableEntity)
		}
	})
}

// The B2B end user's states are told as end_user.provisioned, .registered
// and .active, each once, in the transaction of the change.
func TestEventsOfEndUsers(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		w := newB2BWorld(t, e, "")
		before := e.eventCounts()
		id := w.registered(t, "eve@example.com")
		r := e.admin(w.clientA, "POST", "/api/v1/b2b/end-users/"+id+"/activity", map[string]any{"measurement_received_at": time.Now().Add(-time.Minute)})
		if r.status/100 != 2 {
			t.Fatalf("activity: %d %s", r.status, r.body)
		}
		// A second measurement changes nothing.
		e.admin(w.clientA, "POST", "/api/v1/b2b/end-users/"+id+"/activity", map[string]any{"measurement_received_at": time.Now().Add(-time.Minute)})
		after := e.eventCounts()
		for _, typ := range []string{events.TypeEndUserProvisioned, events.TypeEndUserRegistered, events.TypeEndUserActive} {
			if d := after[typ] - before[typ]; d != 1 {
				t.Errorf("%d %s events, want 1", d, typ)
			}
		}
		evs, err := e.app.Store().EventsOfOrg(context.Background(), e.orgID("default"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Subject == id && ev.Type == events.TypeEndUserActive {
				if e, err := events.Parse([]byte(ev.Body)); err != nil || !strings.Contains(string(e.Data), `"labelpartner":"lp-pin"`) || !strings.Contains(string(e.Data), `"state":"active"`) {
					t.Errorf("event %s: %v", ev.Body, err)
				}
			}
		}
	})
}

// The webhook endpoints' admin API: statuses, the secret shown only when
// made, refusals on url, and 404 for another organization's endpoint.
func TestWebhookAdminAPI(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		admin := func(method, path string, body any) response {
			return e.do(method, "/api/v1/admin/organizations/default/webhooks"+path, body, "Authorization", "Bearer "+envAdminKey)
		}
		expect(t, e.do("GET", "/api/v1/admin/organizations/default/webhooks", nil), http.StatusUnauthorized)
		for _, u := range []string{"ftp://example.com/", "https://169.254.169.254/latest", "not a url"} {
			checkProblem(t, admin("POST", "", map[string]any{"url": u}), 422, "url")
		}
		checkProblem(t, admin("POST", "", map[string]any{"url": "https://example.com/h", "event_types": []string{"nope"}}), 422, "event_types")
		expect(t, admin("POST", "", map[string]any{"url": "https://example.com/h", "secret": "mine"}), http.StatusBadRequest)

		r := admin("POST", "", map[string]any{"url": "https://example.com/h", "event_types": []string{"user.created"}, "description": "crm"})
		expect(t, r, http.StatusCreated)
		created := r.json(t)
		id, secret := created["id"].(string), created["secret"].(string)
		if !strings.HasPrefix(secret, "whsec_") || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("create: %s", r.body)
		}
		r = admin("GET", "/"+id, nil)
		expect(t, r, http.StatusOK)
		if strings.Contains(string(r.body), "whsec_") {
			t.Fatalf("secret shown again: %s", r.body)
		}
		r = admin("GET", "", nil)
		expect(t, r, http.StatusOK)
		if n := len(r.json(t)["webhooks"].([]any)); n != 1 || strings.Contains(string(r.body), "whsec_") {
			t.Fatalf("list: %s", r.body)
		}
		r = admin("PATCH", "/"+id, map[string]any{"description": "crm 2", "enabled": false})
		expect(t, r, http.StatusOK)
		if got := r.json(t); got["description"] != "crm 2" || got["enabled"] != false {
			t.Fatalf("patch: %s", r.body)
		}
		checkProblem(t, admin("PATCH", "/"+id, map[string]any{"url": "https://169.254.169.254/"}), 422, "url")
		r = admin("POST", "/"+id+"/secret", nil)
		expect(t, r, http.StatusOK)
		if got := r.json(t); got["secret"] == secret || got["previous_secret_expires_at"] == nil {
			t.Fatalf("rotate: %s", r.body)
		}
		expect(t, admin("GET", "/"+id+"/deliveries", nil), http.StatusOK)
		checkProblem(t, admin("GET", "/"+id+"/deliveries?limit=9999", nil), 422, "limit")
		checkProblem(t, admin("POST", "/"+id+"/replay", map[string]any{}), 422, "from")
		r = admin("POST", "/"+id+"/replay", map[string]any{"from": time.Now().Add(-time.Hour), "to": time.Now()})
		expect(t, r, http.StatusAccepted)

		e.createOrg("acme")
		r = e.do("GET", "/api/v1/admin/organizations/acme/webhooks/"+id, nil, "Authorization", "Bearer "+envAdminKey)
		checkProblem(t, r, 404, "")
		expect(t, admin("DELETE", "/"+id, nil), http.StatusNoContent)
		checkProblem(t, admin("GET", "/"+id, nil), 404, "")
		// Every change is audited with the key that made it.
		for _, action := range []string{"webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.replayed", "webhook.deleted"} {
			if n := e.countWhere("audit_log", "action = $1 AND subject_id = $2 AND actor = 'admin:environment'", action, id); n != 1 {
				t.Errorf("%d %s audit entries by admin:environment, want 1", n, action)
			}
		}
	})
}

// End users created by the bulk import are told as end_user.provisioned,
// once each; unchanged and rejected lines, and a re-run, emit nothing.
func TestEventsOfImportedEndUsers(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		w := newB2BWorld(t, e, "")
		existing := w.provision(t, endUser("existing@example.com", "lp-pin"))
		in := `{"email":"a@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin"}
{"email":"EXISTING@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin"}
{"email":"broken@example.com",
{"email":"b@example.com","first_name":"A","last_name":"B","labelpartner":"lp-other"}
{"email":"a@example.com","first_name":"A","last_name":"B","labelpartner":"lp-pin"}
{"email":"c@example.com","first_name":"C","last_name":"D","labelpartner":"lp-pw"}
`
		provisioned := func() map[string]events.Event {
			t.Helper()
			evs, err := e.app.Store().EventsOfOrg(context.Background(), e.orgID("default"))
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]events.Event{}
			for _, ev := range evs {
				if ev.Type != events.TypeEndUserProvisioned {
					continue
				}
				if _, dup := out[ev.Subject]; dup {
					t.Errorf("two end_user.provisioned events about %s", ev.Subject)
				}
				pe, err := events.Parse([]byte(ev.Body))
				if err != nil {
					t.Fatal(err)
				}
				out[ev.Subject] = pe
			}
			return out
		}
		lines, sum := w.importNDJSON(t, w.clientA, "", in)
		if sum["created"] != 2 || sum["unchanged"] != 2 || sum["rejected"] != 2 {
			t.Fatalf("summary %v", sum)
		}
		created := map[string]string{} // id → email
		for _, l := range lines {
			if l.Status == "created" {
				created[l.ID] = map[int]string{1: "a@example.com", 6: "c@example.com"}[l.Line]
			}
		}
		check := func() {
			t.Helper()
			got := provisioned()
			if _, ok := got[existing]; !ok {
				t.Errorf("no event for the end user provisioned one by one")
			}
			delete(got, existing)
			if len(got) != len(created) {
				t.Fatalf("%d end_user.provisioned events for imported end users, want %d", len(got), len(created))
			}
			for id, email := range created {
				ev, ok := got[id]
				if !ok {
					t.Fatalf("no event for created end user %s", id)
				}
				if ev.Organization != "default" || !strings.Contains(string(ev.Data), `"email":"`+email+`"`) ||
					!strings.Contains(string(ev.Data), `"state":"provisioned"`) || !strings.Contains(string(ev.Data), `"end_user_id":"`+id+`"`) {
					t.Errorf("event %+v (data %s)", ev, ev.Data)
				}
			}
		}
		check()
		// A re-run creates nothing and emits nothing.
		if _, sum := w.importNDJSON(t, w.clientA, "", in); sum["created"] != 0 {
			t.Fatalf("re-run summary %v", sum)
		}
		check()
	})
}

// An endpoint disabled by a 410 Gone mails every active org_admin of its
// organization, in their language, through the outbox and the real SMTP
// server; supervisors, disabled admins and another organization's admins
// get nothing.
func TestWebhookDisabledMailsAdmins(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		ctx := context.Background()
		st := e.app.Store()
		e.createOrg("acme")
		e.createBackOfficeUser("default", "admin-en@example.com", "org_admin")
		e.createBackOfficeUser("default", "admin-it@example.com", "org_admin")
		e.createBackOfficeUser("default", "admin-off@example.com", "org_admin")
		e.createBackOfficeUser("default", "super@example.com", "supervisor")
		e.createBackOfficeUser("acme", "acme-admin@example.com", "org_admin")
		it, err := st.BackOfficeUserByEmail(ctx, "admin-it@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetBackOfficeLanguage(ctx, it.ID, "it", time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().ExecContext(ctx, `UPDATE backoffice_users SET disabled_at = created_at WHERE email = 'admin-off@example.com'`); err != nil {
			t.Fatal(err)
		}

		var calls sync.WaitGroup
		calls.Add(1)
		var once sync.Once
		gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			once.Do(calls.Done)
			w.WriteHeader(http.StatusGone)
		}))
		t.Cleanup(gone.Close)
		hooks := "/api/v1/admin/organizations/default/webhooks"
		r := e.do("POST", hooks, map[string]any{"url": gone.URL + "/h", "description": "crm"}, "Authorization", "Bearer "+envAdminKey)
		expect(t, r, http.StatusCreated)
		id := r.json(t)["id"].(string)
		w := newB2BWorld(t, e, "")
		w.provision(t, endUser("eve@example.com", "lp-pin")) // an event for the endpoint
		calls.Wait()

		en := e.smtp.WaitFor(t, 15*time.Second, func(m smtptest.Message) bool {
			return smtptest.SentTo("admin-en@example.com")(m) && strings.Contains(m.Subject, "webhook endpoint")
		})
		if !strings.Contains(en.Subject, "was disabled") || !strings.Contains(string(en.Raw), gone.URL+"/h") || !strings.Contains(string(en.Raw), "410 Gone") {
			t.Errorf("English mail: %s\n%s", en.Subject, en.Raw)
		}
		itm := e.smtp.WaitFor(t, 15*time.Second, func(m smtptest.Message) bool {
			return smtptest.SentTo("admin-it@example.com")(m) && strings.Contains(m.Subject, "webhook")
		})
		if !strings.Contains(itm.Subject, "disattivato") {
			t.Errorf("Italian mail: %s", itm.Subject)
		}
		r = e.do("GET", hooks+"/"+id, nil, "Authorization", "Bearer "+envAdminKey)
		expect(t, r, http.StatusOK)
		if r.json(t)["enabled"] != false {
			t.Fatalf("endpoint not disabled: %s", r.body)
		}
		// Exactly the two active org_admins of the organization, once each.
		if n := e.countWhere("outbox", "template = 'webhook_disabled'"); n != 2 {
			t.Errorf("%d webhook_disabled mails queued, want 2", n)
		}
		for _, to := range []string{"admin-off@example.com", "super@example.com", "acme-admin@example.com"} {
			if n := e.countWhere("outbox", "template = 'webhook_disabled' AND to_lower = $1", to); n != 0 {
				t.Errorf("%s was mailed", to)
			}
		}
		if n := e.countWhere("audit_log", "action = 'webhook.disabled' AND subject_id = $1", id); n != 1 {
			t.Errorf("%d webhook.disabled audit entries, want 1", n)
		}
	})
}
