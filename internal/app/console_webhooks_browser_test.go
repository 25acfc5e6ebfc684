package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// setSecret tells the receiver the secret to verify signatures with.
func (h *hookReceiver) setSecret(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret = s
}

// TestBrowserConsoleWebhooks drives the console's webhooks page: an
// internal address refused next to the URL, an endpoint created for a real
// receiver (the test config allows private addresses) with its secret shown
// once, a registration's events delivered and listed with status, latency
// and answer, one replayed, the secret rotated, the endpoint changed and
// deleted; every change audited with the back-office user as its author.
func TestBrowserConsoleWebhooks(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		rcv := startHookReceiver(t)
		const email, password = "hooks@onboard.test", "webhooks in the console"
		n := e.mails()
		e.createBackOfficeUser("default", email, domain.RoleOrgAdmin)
		openPage(t, tab, e.mailedLink(n, email, "/admin/set-password"))
		typeInto(t, tab, "#f-password", password)
		submitPage(t, tab)
		consoleSignIn(t, tab, e.base, email, password)

		list := e.base + "/admin/o/default/webhooks"
		expectPage(t, tab, openPage(t, tab, list), http.StatusOK, "Webhooks")
		checkPage(t, tab, "console-webhooks")
		create := `form[action="/admin/o/default/webhooks"] button`
		typeInto(t, tab, "#f-new-url", "https://169.254.169.254/latest")
		if st := clickTo(t, tab, create); st != http.StatusUnprocessableEntity {
			t.Fatalf("metadata address: %d, want 422", st)
		}
		if got := pageText(t, tab, "#f-new-url-error"); !strings.Contains(got, "address") {
			t.Fatalf("url error %q", got)
		}
		checkPage(t, tab, "console-webhooks-errors")
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-new-url"), rcv.srv.URL+"/hooks")); err != nil {
			t.Fatal(err)
		}
		typeInto(t, tab, "#f-new-description", "platform")
		if st := clickTo(t, tab, create); st != http.StatusCreated {
			t.Fatalf("create: %d", st)
		}
		secret := pageText(t, tab, "#webhook-secret")
		if !strings.HasPrefix(secret, webhooks.SecretPrefix) {
			t.Fatalf("secret %q", secret)
		}
		rcv.setSecret(secret)
		checkPage(t, tab, "console-webhooks-created")
		openPage(t, tab, list)
		if exists(t, tab, "#webhook-secret") || strings.Contains(pageText(t, tab, "main"), secret) {
			t.Fatal("the secret is shown again")
		}

		// A registration's events reach the receiver and are listed.
		e.register("ada@example.com", "customer_business")
		consoleHookWait(t, "the registration's events", func() bool { return len(rcv.events()) >= 2 })
		if st := clickTo(t, tab, "table a"); st != http.StatusOK {
			t.Fatalf("endpoint page: %d", st)
		}
		page := location(t, tab)
		consoleHookWait(t, "deliveries listed as delivered", func() bool {
			openPage(t, tab, page)
			return exists(t, tab, "table.deliveries td.state-delivered") && !exists(t, tab, "table.deliveries td.state-pending, table.deliveries td.state-processing")
		})
		if got := pageText(t, tab, "table.deliveries tbody tr:first-child td.state-delivered"); !strings.Contains(got, "HTTP 204") {
			t.Fatalf("delivery status %q", got)
		}
		checkPage(t, tab, "console-webhook")

		// Replay of one event: delivered again with the same webhook-id.
		replayed := pageText(t, tab, "table.deliveries tbody tr:first-child code")
		got := len(rcv.events())
		if st := clickTo(t, tab, "table.deliveries tbody tr:first-child button"); st != http.StatusOK {
			t.Fatalf("replay: %d", st)
		}
		if lead := pageText(t, tab, "p.lead"); !strings.Contains(lead, "1") {
			t.Fatalf("after replay %q", lead)
		}
		consoleHookWait(t, "the replayed event", func() bool {
			evs := rcv.events()
			return len(evs) > got && evs[len(evs)-1].ID == replayed
		})

		// Rotation shows the new secret once; the receiver verifies with it.
		if st := clickTo(t, tab, `form[action$="/secret"] button`); st != http.StatusOK {
			t.Fatalf("rotate: %d", st)
		}
		rotated := pageText(t, tab, "#webhook-secret")
		if rotated == secret || !strings.HasPrefix(rotated, webhooks.SecretPrefix) {
			t.Fatalf("rotated secret %q", rotated)
		}
		rcv.setSecret(rotated)
		// A change with a refused URL keeps the page, the error next to url.
		path := strings.TrimPrefix(page, e.base)
		edit := `form[action="` + path + `"] button`
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-ep-url"), "https://169.254.169.254/hook")); err != nil {
			t.Fatal(err)
		}
		if st := clickTo(t, tab, edit); st != http.StatusUnprocessableEntity || !exists(t, tab, "#f-ep-url-error") {
			t.Fatalf("change to the metadata address: %d", st)
		}
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-ep-url"), rcv.srv.URL+"/hooks2")); err != nil {
			t.Fatal(err)
		}
		if st := clickTo(t, tab, edit); st != http.StatusOK || !strings.Contains(pageText(t, tab, "dd.url"), "/hooks2") {
			t.Fatalf("change: %d", st)
		}
		got = len(rcv.events())
		e.register("bob@example.com", "customer_personal")
		consoleHookWait(t, "events signed with the rotated secret", func() bool { return len(rcv.events()) >= got+2 })

		if st := clickTo(t, tab, `form[action$="/delete"] button`); st != http.StatusOK {
			t.Fatalf("delete: %d", st)
		}
		expectPage(t, tab, http.StatusOK, http.StatusOK, "Webhooks")
		if exists(t, tab, "table a") {
			t.Fatal("the deleted endpoint is still listed")
		}
		rcv.mu.Lock()
		bad := rcv.bad
		rcv.mu.Unlock()
		if bad != 0 {
			t.Fatalf("%d requests failed the signature check", bad)
		}
		var audited int
		if err := e.app.Store().DB().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_log
			WHERE action LIKE 'webhook.%' AND actor LIKE 'backoffice:%'`).Scan(&audited); err != nil {
			t.Fatal(err)
		}
		if audited != 5 { // created, replayed, secret_rotated, updated, deleted
			t.Fatalf("%d webhook changes by the back-office user in the audit log, want 5", audited)
		}
	})
}

// consoleHookWait polls cond for up to 20 s.
func consoleHookWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
	}
}
