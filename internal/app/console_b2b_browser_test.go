package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// importFile writes an NDJSON file of end users user<from>…user<to>
// @b2b.example, with a bad address on the lines in bad, and returns its path.
func importFile(t *testing.T, name string, from, to int, bad map[int]bool) string {
	t.Helper()
	var b strings.Builder
	for i := from; i <= to; i++ {
		email := fmt.Sprintf("user%d@b2b.example", i)
		if bad[i] {
			email = "no address " + strconv.Itoa(i)
		}
		fmt.Fprintf(&b, `{"email":%q,"first_name":"Grace","last_name":"Hopper %d"}`+"\n", email, i)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// uploadImport uploads the file on the imports page and returns the status
// of the page the browser lands on (the run's page).
func uploadImport(t *testing.T, tab context.Context, base, file string) int {
	t.Helper()
	openPage(t, tab, base+"/admin/o/default/b2b/imports")
	if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#f-import-labelpartner"), labelpartnerValue(t, tab))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.SetUploadFiles(chromedp.CSS("#f-import-file"), []string{file})); err != nil {
		t.Fatalf("choose %s: %v", file, err)
	}
	return submitPage(t, tab)
}

// labelpartnerValue is the value of the first labelpartner of the upload form.
func labelpartnerValue(t *testing.T, tab context.Context) string {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#f-import-labelpartner option:nth-child(2)").value`))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitImportDone waits until the run's page, following its progress with
// its script, shows the run finished (the script reloads the page then).
func waitImportDone(t *testing.T, tab context.Context) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		state, err := chromedp.Run(tab, chromedp.Evaluate[string](`(document.querySelector("#import-state") || {dataset: {}}).dataset.state || ""`))
		if err != nil && time.Now().After(deadline) {
			t.Fatal(err) // else the page is being reloaded: ask again
		}
		if state == domain.ImportDone && exists(t, tab, "#import-report, main > p > a") {
			return
		}
		if state == domain.ImportFailed || time.Now().After(deadline) {
			t.Fatalf("import %q; page: %s", state, pageText(t, tab, "main"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserConsoleB2B: an org_admin creates a labelpartner (its API key
// shown once) and an API client (its secret shown once), imports a small
// file, then a file of 6,000 rows with bad lines in the background: the
// page is left and opened again from the list of imports, its progress bar
// reaches 100 % with the right counts, and the report of the rejected
// lines is downloaded. End users are searched and shown with their history.
func TestBrowserConsoleB2B(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		logOnFailure(t, e)
		n := e.mails()
		e.createBackOfficeUser("default", "ann@onboard.test", domain.RoleOrgAdmin)
		openPage(t, tab, e.mailedLink(n, "ann@onboard.test", "/admin/set-password"))
		typeInto(t, tab, "#f-password", "administering b2b")
		submitPage(t, tab)
		expectPage(t, tab, consoleSignIn(t, tab, e.base, "ann@onboard.test", "administering b2b"), http.StatusOK, "onboard")

		// Labelpartners: an error next to the name, then the key once.
		if st := clickTo(t, tab, `nav.console-nav a[href$="/b2b/labelpartners"]`); st != http.StatusOK {
			t.Fatalf("labelpartners page: %d", st)
		}
		if st := clickTo(t, tab, `form[action$="/b2b/labelpartners"] button`); st != http.StatusUnprocessableEntity {
			t.Fatalf("labelpartner without a name: %d", st)
		}
		if !exists(t, tab, "#f-lp-name-error") {
			t.Fatal("no error next to the labelpartner's name")
		}
		typeInto(t, tab, "#f-lp-name", "Brand")
		if st := clickTo(t, tab, `form[action$="/b2b/labelpartners"] button`); st != http.StatusCreated {
			t.Fatalf("create labelpartner: %d", st)
		}
		if key := pageText(t, tab, "#api-key"); !strings.HasPrefix(key, "lpk_") {
			t.Fatalf("API key %q", key)
		}
		checkPage(t, tab, "console-b2b-labelpartners")

		// Clients: the secret once.
		openPage(t, tab, e.base+"/admin/o/default/b2b/clients")
		typeInto(t, tab, "#f-client-name", "Provisioning")
		tick(t, tab, "#f-client-labelpartners-0")
		if st := clickTo(t, tab, `form[action$="/b2b/clients"] button`); st != http.StatusCreated {
			t.Fatalf("create client: %d", st)
		}
		clientID, secret := pageText(t, tab, "#client-id"), pageText(t, tab, "#client-secret")
		if len(secret) < 40 {
			t.Fatalf("client secret %q", secret)
		}
		checkPage(t, tab, "console-b2b-clients")
		openPage(t, tab, e.base+"/admin/o/default/b2b/clients")
		if exists(t, tab, "#client-secret") {
			t.Fatal("the secret is shown again")
		}

		// A first small import, so that the big one has unchanged rows.
		if st := uploadImport(t, tab, e.base, importFile(t, "first.ndjson", 1, 100, nil)); st != http.StatusOK {
			t.Fatalf("first upload: %d", st)
		}
		waitImportDone(t, tab)

		// 6,000 rows, 25 of them bad, 100 known: more than one batch on
		// either engine (1,000 rows on SQLite, 5,000 on PostgreSQL). The
		// throughput of big files is the import's own tests' and the
		// benchmarks' business; this test is about the pages.
		const rows = 6000
		bad := map[int]bool{}
		for i := range 25 {
			bad[150+i*240] = true
		}
		if st := uploadImport(t, tab, e.base, importFile(t, "end-users.ndjson", 1, rows, bad)); st != http.StatusOK {
			t.Fatalf("upload: %d", st)
		}
		run := location(t, tab)
		if !exists(t, tab, "progress#import-progress") {
			t.Fatal("no progress bar")
		}
		// Leave the page, and come back to it from the list of imports.
		openPage(t, tab, e.base+"/admin/o/default/b2b/imports")
		checkPage(t, tab, "console-b2b-imports")
		if st := clickTo(t, tab, `main table tbody tr:first-child a`); st != http.StatusOK || location(t, tab) != run {
			t.Fatalf("back to the run: %d %s, want %s", st, location(t, tab), run)
		}
		waitImportDone(t, tab)
		bar, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`(p => [p.value, p.max])(document.querySelector("#import-progress"))`))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(bar, " ", pageText(t, tab, "#import-percent"), " ", pageText(t, tab, "#import-created"), " ",
			pageText(t, tab, "#import-unchanged"), " ", pageText(t, tab, "#import-rejected"))
		if want := fmt.Sprint([]float64{rows, rows}, " 100 ", rows-100-25, " 100 25"); got != want {
			t.Fatalf("progress %s, want %s", got, want)
		}
		checkPage(t, tab, "console-b2b-import")

		// The report of the rejected lines.
		report, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(document.querySelector("#import-report").href).then(r => r.text())`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(report), "\n")
		if len(lines) != 26 || lines[0] != "line,error" || !strings.HasPrefix(lines[1], "150,") || !strings.Contains(lines[1], "email") {
			t.Fatalf("report of %d lines:\n%s", len(lines), report)
		}

		// End users: search, state, history.
		openPage(t, tab, e.base+"/admin/o/default/b2b/end-users")
		typeInto(t, tab, "#f-eu-q", "user1999@")
		if st := submitPage(t, tab); st != http.StatusOK {
			t.Fatalf("search: %d", st)
		}
		if got := pageText(t, tab, "main table tbody"); !strings.Contains(got, "user1999@b2b.example") || strings.Count(got, "@") != 1 {
			t.Fatalf("search result %q", got)
		}
		checkPage(t, tab, "console-b2b-end-users")
		if st := clickTo(t, tab, "main table tbody a"); st != http.StatusOK {
			t.Fatalf("end user: %d", st)
		}
		if got := pageText(t, tab, "#eu-state"); got != "Provisioned" {
			t.Fatalf("state %q", got)
		}
		// An end user with a history: provisioned by the client through
		// the API, then verified and registered by itself. Its history
		// names both actors, with their ids below.
		w := &b2bWorld{e: e}
		w.clientA = w.token(t, clientID, secret)
		grace := w.provision(t, endUser("grace@b2b.example", "Brand"))
		okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": w.verifyLink(t, "grace@b2b.example", "Ada", "Lovelace", "Brand")}))
		okStatus(t, w.noGateway("grace@b2b.example", "Analytical9"))
		openPage(t, tab, e.base+"/admin/o/default/b2b/end-users/"+grace)
		if got := pageText(t, tab, "#eu-state"); got != "Registered" {
			t.Fatalf("state %q", got)
		}
		history := pageText(t, tab, "main table tbody")
		for _, want := range []string{"B2B API client “Provisioning”", "client:" + clientID, "B2B end user grace@b2b.example", "end_user:" + grace} {
			if !strings.Contains(history, want) {
				t.Fatalf("history without %q:\n%s", want, history)
			}
		}
		checkPage(t, tab, "console-b2b-end-user")
		// Keyset paging: the second page starts after the first.
		openPage(t, tab, e.base+"/admin/o/default/b2b/end-users")
		first := pageText(t, tab, "main table tbody tr:last-child td")
		if st := clickTo(t, tab, "a.next"); st != http.StatusOK {
			t.Fatalf("next page: %d", st)
		}
		if next := pageText(t, tab, "main table tbody tr:first-child td"); next == first || next == "" {
			t.Fatalf("the next page starts with %q after %q", next, first)
		}

		// Every change is the back-office user's in the audit log.
		var audited int
		if err := e.app.Store().DB().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_log WHERE actor LIKE 'backoffice:%'
			AND action IN ('labelpartner.created', 'client.created', 'end_users.import_started', 'end_users.imported')`).Scan(&audited); err != nil {
			t.Fatal(err)
		}
		if audited != 6 {
			t.Fatalf("%d B2B changes by the back-office user in the audit log, want 6", audited)
		}
	})
}
