package app_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Browser tests of the public pages: sign-in, "Create new account", the
// sign-up and the registration from the mailed link, required actions at
// the next sign-in, languages, and another organization's branded pages.
// Every page is checked with axe-core and, with ONBOARD_SCREENSHOTS=1,
// photographed for docs/screenshots.

// location is the address of the page in the tab.
func location(t *testing.T, tab context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// clickTo clicks sel (a link or a button that navigates) and returns the
// HTTP status of the page the browser gets.
func clickTo(t *testing.T, tab context.Context, sel string) int {
	t.Helper()
	res, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	return int(res.Status)
}

// exists reports whether the page has an element matching sel.
func exists(t *testing.T, tab context.Context, sel string) bool {
	t.Helper()
	ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`) !== null`))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// fillRegistration fills the business registration form with the mouse.
func fillRegistration(t *testing.T, tab context.Context, company bool) {
	t.Helper()
	if company {
		typeInto(t, tab, "#f-customer-name", "Analytical Engines Ltd")
	}
	typeInto(t, tab, "#f-user-first_name", "Ada")
	typeInto(t, tab, "#f-user-last_name", "Lovelace")
	typeInto(t, tab, "#f-password", goodPassword)
	for i := 0; exists(t, tab, "#f-agreement-"+string(rune('0'+i))); i++ {
		tick(t, tab, "#f-agreement-"+string(rune('0'+i)))
	}
}

// TestBrowserSignUpJourney is the person's whole path in Chromium: the
// sign-in page offers "Create new account"; the sign-up asks for the
// address and the account type; the link comes in a real mail; the
// registration signs in and lands on the account; a new agreement version
// is accepted on the next sign-in before anything else; and when an admin
// turns self-registration off, the button is gone.
func TestBrowserSignUpJourney(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := startAdmin(t, dsn)
		const email = "ada@example.com"

		expectPage(t, tab, openPage(t, tab, e.base+"/"), http.StatusOK, "Sign in")
		if loc := location(t, tab); loc != e.base+"/login" {
			t.Errorf("/ went to %s, want /login", loc)
		}
		checkPage(t, tab, "login")
		expectPage(t, tab, clickTo(t, tab, "#create-account"), http.StatusOK, "Create new account")
		checkPage(t, tab, "signup")

		// Nothing filled in: the error summary links to each field.
		expectPage(t, tab, submitPage(t, tab), http.StatusUnprocessableEntity, "Create new account")
		if !exists(t, tab, `#errors a[href="#f-email"]`) || !exists(t, tab, `#errors a[href="#f-account_type"]`) {
			t.Errorf("error summary lacks links to the fields: %s", pageText(t, tab, "#errors"))
		}
		checkPage(t, tab, "signup-errors")

		n := e.mails()
		typeInto(t, tab, "#f-email", email)
		tick(t, tab, "#f-account_type") // business, the first choice
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Check your mailbox")
		checkPage(t, tab, "signup-sent")
		link := e.mailedLink(n, email, "/register")

		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Create your account")
		checkPage(t, tab, "register")
		fillRegistration(t, tab, true)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your account")
		if loc := location(t, tab); loc != e.base+"/account" {
			t.Errorf("after registration at %s, want /account", loc)
		}
		if lead := pageText(t, tab, ".lead"); !strings.Contains(lead, "Ada Lovelace") {
			t.Errorf("account page lead = %q, want the name", lead)
		}
		checkPage(t, tab, "account")

		expectPage(t, tab, clickTo(t, tab, "form.logout button"), http.StatusOK, "Sign in")
		expectPage(t, tab, openPage(t, tab, e.base+"/account"), http.StatusOK, "Sign in")

		// A new version of the terms: the next sign-in asks for it first.
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/agreements/terms-of-service/versions"),
			map[string]any{"title": "Terms of Service", "text": "New terms.\n\nSection 2: fair use."}), http.StatusCreated)
		openPage(t, tab, e.base+"/login?next=%2Faccount")
		typeInto(t, tab, "#f-email", email)
		typeInto(t, tab, "#f-password", goodPassword)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Before you continue")
		if got := pageText(t, tab, "#agreements-title ~ form label"); !strings.Contains(got, "version 2") {
			t.Errorf("agreement label = %q, want the new version shown", got)
		}
		checkPage(t, tab, "required-actions")
		expectPage(t, tab, openPage(t, tab, e.base+"/account"), http.StatusOK, "Before you continue")
		// Accepting nothing is refused next to the agreements.
		expectPage(t, tab, submitPage(t, tab), http.StatusUnprocessableEntity, "Before you continue")
		tick(t, tab, "#f-agreement-0")
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your account")

		// Self-registration off: no "Create new account", no sign-up page.
		r := e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil)
		expect(t, r, http.StatusOK)
		o := r.json(t)
		o["self_registration"] = map[string]any{"enabled": false, "account_types": []string{}}
		expect(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), o), http.StatusOK)
		expectPage(t, tab, clickTo(t, tab, "form.logout button"), http.StatusOK, "Sign in")
		if exists(t, tab, "#create-account") {
			t.Error(`"Create new account" is shown while self-registration is off`)
		}
		expectPage(t, tab, openPage(t, tab, e.base+"/signup"), http.StatusNotFound, "Registration is not available")

		// Forgot your password: the same answer for a known and an unknown address.
		expectPage(t, tab, openPage(t, tab, e.base+"/login"), http.StatusOK, "Sign in")
		expectPage(t, tab, clickTo(t, tab, `a[href="/reset-password"]`), http.StatusOK, "Forgot your password?")
		checkPage(t, tab, "forgot-password")
		typeInto(t, tab, "#f-email", "nobody@example.com")
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Check your mailbox")
		unknown := pageText(t, tab, ".lead")
		openPage(t, tab, e.base+"/reset-password")
		typeInto(t, tab, "#f-email", email)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Check your mailbox")
		if known := pageText(t, tab, ".lead"); strings.ReplaceAll(known, email, "X") != strings.ReplaceAll(unknown, "nobody@example.com", "X") {
			t.Errorf("reset answers differ:\n%s\n%s", known, unknown)
		}
	})
}

// tabTo presses Tab until the element sel has the focus, and fails after
// 40 presses.
func tabTo(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	for range 40 {
		if err := chromedp.Do(tab, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.activeElement !== null && document.activeElement.matches(`+jsString(sel)+`)`))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
	}
	t.Fatalf("Tab never reached %s", sel)
}

// keys types into the focused element and returns the status of the page
// when they make the browser navigate (Enter on a link or a button).
func keys(t *testing.T, tab context.Context, text string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.KeyEvent(text)); err != nil {
		t.Fatalf("keys %q: %v", text, err)
	}
}

// keysTo presses keys that navigate and returns the new page's status.
func keysTo(t *testing.T, tab context.Context, text string) int {
	t.Helper()
	res, err := chromedp.RunResponse(tab, chromedp.KeyEvent(text))
	if err != nil {
		t.Fatalf("keys %q: %v", text, err)
	}
	return int(res.Status)
}

// TestBrowserKeyboardSignUp does the whole sign-up with the keyboard only:
// Tab, typing, Space and Enter, from the sign-in page to the account.
func TestBrowserKeyboardSignUp(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		const email = "grace@example.com"

		expectPage(t, tab, openPage(t, tab, e.base+"/login"), http.StatusOK, "Sign in")
		tabTo(t, tab, ".skip")
		tabTo(t, tab, "#create-account")
		expectPage(t, tab, keysTo(t, tab, "\r"), http.StatusOK, "Create new account")
		tabTo(t, tab, "#f-email")
		keys(t, tab, email)
		tabTo(t, tab, "#f-account_type") // the radio group
		keys(t, tab, kb.ArrowDown)       // personal, the second choice
		if checked, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("#f-account_type-1").checked`)); !checked {
			t.Fatal("the arrow key did not choose the personal account type")
		}
		n := e.mails()
		tabTo(t, tab, `main button[type="submit"]`)
		expectPage(t, tab, keysTo(t, tab, "\r"), http.StatusOK, "Check your mailbox")
		link := e.mailedLink(n, email, "/register")

		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Create your account")
		tabTo(t, tab, "#f-user-first_name")
		keys(t, tab, "Grace")
		tabTo(t, tab, "#f-user-last_name")
		keys(t, tab, "Hopper")
		tabTo(t, tab, "#f-password")
		keys(t, tab, goodPassword)
		for i := 0; exists(t, tab, "#f-agreement-"+string(rune('0'+i))); i++ {
			tabTo(t, tab, "#f-agreement-"+string(rune('0'+i)))
			keys(t, tab, " ")
		}
		tabTo(t, tab, `main button[type="submit"]`)
		expectPage(t, tab, keysTo(t, tab, "\r"), http.StatusOK, "Your account")
		if lead := pageText(t, tab, ".lead"); !strings.Contains(lead, "Grace Hopper") {
			t.Errorf("account lead = %q", lead)
		}
	})
}

// TestBrowserItalian switches the pages to Italian with the header's
// switch: the choice is remembered, and a sign-up started in Italian gets
// its mail in Italian.
func TestBrowserItalian(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn)
		const email = "dante@example.com"

		expectPage(t, tab, openPage(t, tab, e.base+"/login"), http.StatusOK, "Sign in")
		expectPage(t, tab, clickTo(t, tab, `form.lang button[value="it"]`), http.StatusOK, "Accedi")
		if lang, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "it" {
			t.Errorf(`html lang = %q, want "it"`, lang)
		}
		checkPage(t, tab, "login-it")
		expectPage(t, tab, clickTo(t, tab, "#create-account"), http.StatusOK, "Crea un nuovo account")
		checkPage(t, tab, "signup-it")
		n := e.mails()
		typeInto(t, tab, "#f-email", email)
		tick(t, tab, "#f-account_type-1")
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Controlla la tua casella di posta")
		msg := e.mailSince(n, email, "/register?token=")
		if !strings.Contains(msg.Subject, "Completa la creazione") {
			t.Errorf("subject of the mail of an Italian sign-up = %q, want Italian", msg.Subject)
		}
		link := msg.Link(e.base + "/register?token=")
		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Crea il tuo account")
		checkPage(t, tab, "register-it")
		fillRegistration(t, tab, false)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Il tuo account")
		// The new user's language is Italian: the welcome mail is too.
		welcome := e.mailSince(n+1, email, "")
		if !strings.Contains(welcome.Subject, "Benvenuto") {
			t.Errorf("welcome subject = %q, want Italian", welcome.Subject)
		}
	})
}

// logoPNG is a small PNG image.
func logoPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for x := range 64 {
		for y := range 32 {
			img.Set(x, y, color.RGBA{R: 0xe3, G: 0x06, B: 0x13, A: 0xff})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBrowserBrandedOrganization serves another organization's pages under
// /o/acme/ with its name, uploaded logo and accent colour; its mail links
// to its own pages; and a data recipient who registers there waits for
// approval.
func TestBrowserBrandedOrganization(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := startAdmin(t, dsn)
		e.createOrg("acme")
		r := e.admin(envAdminKey, "GET", adminPath("acme", "/onboarding"), nil)
		expect(t, r, http.StatusOK)
		o := r.json(t)
		o["self_registration"] = map[string]any{"enabled": true, "account_types": []string{"customer_business", "data_recipient"}}
		o["branding"] = map[string]any{"display_name": "Acme Energy", "accent_color": "#ffcc00"}
		expect(t, e.admin(envAdminKey, "PUT", adminPath("acme", "/onboarding"), o), http.StatusOK)
		o["branding"] = map[string]any{"accent_color": "yellow", "logo_url": "http://insecure.example/logo.png"}
		bad := e.admin(envAdminKey, "PUT", adminPath("acme", "/onboarding"), o)
		expect(t, bad, http.StatusUnprocessableEntity)
		if s := string(bad.body); !strings.Contains(s, "branding.accent_color") || !strings.Contains(s, "branding.logo_url") {
			t.Errorf("bad branding answer: %s", s)
		}

		// The logo: PNG or JPEG only, never SVG.
		svg := e.do("PUT", adminPath("acme", "/logo"), `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`,
			"Authorization", "Bearer "+envAdminKey, "Content-Type", "image/svg+xml")
		expect(t, svg, http.StatusUnsupportedMediaType)
		expectProblem(t, e.do("PUT", adminPath("acme", "/logo"), logoPNG(t), "Content-Type", "image/png"), http.StatusUnauthorized, "unauthenticated")
		expectProblem(t, e.do("PUT", adminPath("nope", "/logo"), logoPNG(t), "Authorization", "Bearer "+envAdminKey, "Content-Type", "image/png"),
			http.StatusNotFound, "organization-not-found")
		fake := e.do("PUT", adminPath("acme", "/logo"), "<html>not a png</html>", "Authorization", "Bearer "+envAdminKey, "Content-Type", "image/png")
		expect(t, fake, http.StatusUnprocessableEntity)
		expect(t, e.do("PUT", adminPath("acme", "/logo"), logoPNG(t), "Authorization", "Bearer "+envAdminKey, "Content-Type", "image/png"),
			http.StatusNoContent)
		logo := e.do("GET", "/o/acme/branding/logo", nil)
		expect(t, logo, http.StatusOK)
		if ct, csp := logo.header.Get("Content-Type"), logo.header.Get("Content-Security-Policy"); ct != "image/png" || !strings.Contains(csp, "sandbox") {
			t.Errorf("logo served as %q with CSP %q", ct, csp)
		}
		css := e.do("GET", "/o/acme/branding/style.css", nil)
		if !strings.Contains(string(css.body), "--accent: #ffcc00; --on-accent: #000000") {
			t.Errorf("brand stylesheet = %s", css.body)
		}
		expect(t, e.do("GET", "/o/nope/login", nil), http.StatusNotFound)

		expectPage(t, tab, openPage(t, tab, e.base+"/o/acme/"), http.StatusOK, "Sign in")
		if loc := location(t, tab); loc != e.base+"/o/acme/login" {
			t.Errorf("/o/acme/ went to %s", loc)
		}
		if brand := pageText(t, tab, ".brand"); brand != "Acme Energy" {
			t.Errorf("header = %q, want the display name", brand)
		}
		if src, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector(".brand img").getAttribute("src")`)); src != "/o/acme/branding/logo" {
			t.Errorf("logo src = %q", src)
		}
		if w, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelector(".brand img").naturalWidth`)); w != 64 {
			t.Errorf("logo not loaded: natural width %d", w)
		}
		if bg, _ := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('main button[type="submit"]')).backgroundColor`)); bg != "rgb(255, 204, 0)" {
			t.Errorf("button colour = %q, want the accent", bg)
		}
		checkPage(t, tab, "login-branded")

		const email = "data@example.org"
		n := e.mails()
		expectPage(t, tab, clickTo(t, tab, "#create-account"), http.StatusOK, "Create new account")
		typeInto(t, tab, "#f-email", email)
		tick(t, tab, "#f-account_type-1") // data recipient
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Check your mailbox")
		link := e.mailedLink(n, email, "/o/acme/register")
		msg := e.mailSince(n, email, "/o/acme/register?token=")
		if !strings.Contains(msg.HTML, "#ffcc00") || !strings.Contains(msg.Text, "Acme Energy") {
			t.Errorf("mail lacks the branding:\n%s", msg.Text)
		}
		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Create your account")
		typeInto(t, tab, "#f-customer-name", "Data Corp")
		typeInto(t, tab, "#f-user-first_name", "Dana")
		typeInto(t, tab, "#f-user-last_name", "Scully")
		typeInto(t, tab, "#f-password", goodPassword)
		for i := 0; exists(t, tab, "#f-agreement-"+string(rune('0'+i))); i++ {
			tick(t, tab, "#f-agreement-"+string(rune('0'+i)))
		}
		status := submitPage(t, tab)
		if status != http.StatusCreated {
			t.Fatalf("data recipient registration: %d %s", status, pageText(t, tab, "main"))
		}
		expectPage(t, tab, http.StatusCreated, http.StatusCreated, "Your registration is waiting for approval")
		checkPage(t, tab, "register-pending")
	})
}

// backOfficeUser creates a customer as the back office does, with an
// administrator who has never signed in (and so has accepted nothing).
func (e *env) backOfficeUser(email string) {
	e.t.Helper()
	ctx := context.Background()
	org := e.defaultOrg()
	st := e.app.Store()
	ut, err := st.UserTypeByName(ctx, org.ID, "customer_admin")
	if err != nil {
		e.t.Fatal(err)
	}
	hash, err := auth.NewHasher(auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1).Hash(ctx, goodPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	now := store.Now()
	acct := domain.Account{ID: store.NewID(), OrgID: org.ID, Kind: "customer", Type: "business", Name: "Back Office BV",
		Status: "active", Origin: domain.OriginBackOffice, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateAccount(ctx, acct); err != nil {
		e.t.Fatal(err)
	}
	if err := st.CreateUser(ctx, domain.User{ID: store.NewID(), OrgID: org.ID, AccountID: acct.ID, UserTypeID: ut.ID,
		Email: email, FirstName: "Bo", LastName: "Ffice", PasswordHash: hash, Status: "active", CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
}

// TestBrowserRequiredActions signs in a back-office customer's user while
// the organization asks for customer verification: the customer details
// and the agreements are asked first, a bad phone number is refused next to
// its field, and nothing else opens until both are done.
func TestBrowserRequiredActions(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := start(t, dsn, withAdminKey)
		e.configure(func(o map[string]any) { o["customer_verification"] = true })
		const email = "bo@example.com"
		e.backOfficeUser(email)

		openPage(t, tab, e.base+"/login")
		typeInto(t, tab, "#f-email", email)
		typeInto(t, tab, "#f-password", goodPassword)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Before you continue")
		if !exists(t, tab, "#customer-title") || !exists(t, tab, "#agreements-title") {
			t.Fatalf("required actions page lacks a section: %s", pageText(t, tab, "main"))
		}
		checkPage(t, tab, "required-actions-customer")

		typeInto(t, tab, "#f-phone", "not a phone")
		typeInto(t, tab, "#f-address", "Dam 1, Amsterdam")
		expectPage(t, tab, clickTo(t, tab, `section[aria-labelledby="customer-title"] button[type="submit"]`),
			http.StatusUnprocessableEntity, "Before you continue")
		if !exists(t, tab, "#f-phone-error") || !exists(t, tab, `#errors a[href="#f-phone"]`) {
			t.Errorf("no phone error: %s", pageText(t, tab, "main"))
		}
		checkA11y(t, tab, "required actions with an error")
		expectPage(t, tab, openPage(t, tab, e.base+"/account"), http.StatusOK, "Before you continue")

		openPage(t, tab, e.base+"/required-actions")
		typeInto(t, tab, "#f-phone", "+31 20 555 0100")
		typeInto(t, tab, "#f-address", "Dam 1, Amsterdam")
		expectPage(t, tab, clickTo(t, tab, `section[aria-labelledby="customer-title"] button[type="submit"]`), http.StatusOK, "Before you continue")
		if exists(t, tab, "#customer-title") {
			t.Error("customer details are still asked after confirming them")
		}
		for i := 0; exists(t, tab, "#f-agreement-"+string(rune('0'+i))); i++ {
			tick(t, tab, "#f-agreement-"+string(rune('0'+i)))
		}
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your account")
		got, err := e.app.Store().UserByEmail(context.Background(), e.defaultOrg().ID, email)
		if err != nil {
			t.Fatal(err)
		}
		acct, err := e.app.Store().AccountByID(context.Background(), got.OrgID, got.AccountID)
		if err != nil || acct.VerifiedAt == nil || acct.Properties["phone"] != "+31 20 555 0100" {
			t.Errorf("customer after the page: %+v, %v", acct, err)
		}
	})
}
