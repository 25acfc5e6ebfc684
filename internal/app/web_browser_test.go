package app_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// envRequireChromium, when set, turns a missing Chromium into a failure (CI).
const envRequireChromium = "ONBOARD_REQUIRE_CHROMIUM"

// chromium returns the path of the Chromium binary. Without one, the test is
// skipped, or fails when ONBOARD_REQUIRE_CHROMIUM is set.
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv(envRequireChromium) != "" {
		t.Fatalf("Chromium not found, and %s is set: install the chromium package", envRequireChromium)
	}
	t.Skipf("browser test skipped: Chromium not found (install the chromium package; set %s=1 to fail instead)", envRequireChromium)
	return ""
}

// sharedBrowser is the one headless Chromium of the package's tests,
// started by the first test that asks for a tab and closed by TestMain.
// Starting a browser costs seconds of CPU, more than many of the tests;
// each test still gets a fresh profile of its own (see browser).
var sharedBrowser struct {
	once   sync.Once
	ctx    context.Context // the first tab, which owns the browser
	cancel context.CancelFunc
	dir    string // its profile directory
	err    error
}

// startSharedBrowser starts the shared Chromium at path.
func startSharedBrowser(path string) {
	b := &sharedBrowser
	b.dir, b.err = os.MkdirTemp("", "onboard-chromium-")
	if b.err != nil {
		return
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(b.dir),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	b.ctx = tab
	b.cancel = func() {
		if err := chromedp.Cancel(tab); err != nil {
			cancelTab()
		}
		cancelAlloc()
		os.RemoveAll(b.dir)
	}
	// The first run starts the browser; later contexts open tabs in it.
	if err := chromedp.Do(tab); err != nil {
		b.err = fmt.Errorf("start Chromium: %w", err)
	}
}

// closeSharedBrowser stops the shared Chromium, if a test started it.
func closeSharedBrowser() {
	if sharedBrowser.cancel != nil {
		sharedBrowser.cancel()
	}
}

// TestMain closes the shared Chromium after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	closeSharedBrowser()
	os.Exit(code)
}

// browser returns a tab of the shared headless Chromium in a browser context
// of its own: like a fresh profile, it shares no cookies, storage or cache
// with the tabs of the other tests (which all talk to 127.0.0.1, whose
// cookies do not tell ports apart). The tab closes, and its browser context
// is disposed of, when the test ends; its actions time out after 3 minutes.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	sharedBrowser.once.Do(func() { startSharedBrowser(path) })
	if sharedBrowser.err != nil {
		t.Fatal(sharedBrowser.err)
	}
	tab, cancelTab := chromedp.NewContext(sharedBrowser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(func() {
		if err := chromedp.Cancel(tab); err != nil {
			t.Logf("close tab: %v", err)
		}
		cancelTab()
	})
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestBrowserRegistration registers through the real page in Chromium: the
// link comes from the mail the SMTP server received, a too-short password is
// refused next to its field, and the corrected form creates an account that
// can sign in through the API.
func TestBrowserRegistration(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	tab := browser(t)
	e := start(t, dbtest.SQLite(t))
	const email = "ada@example.com"
	token := e.startSignup(email, "customer_business")
	link := e.base + "/register?token=" + url.QueryEscape(token)

	type2 := func(sel, text string) chromedp.Action[chromedp.Void] {
		return chromedp.SendKeys(chromedp.CSS(sel), text)
	}
	err := chromedp.Do(tab,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#f-customer-name")),
		type2("#f-customer-name", "Analytical Engines Ltd"),
		type2("#f-user-first_name", "Ada"),
		type2("#f-user-last_name", "Lovelace"),
		type2("#f-user-phone", "+44 20 7946 0000"),
		type2("#f-password", "short"),
		chromedp.Click(chromedp.CSS("#f-agreement-0")),
		chromedp.Click(chromedp.CSS("#f-agreement-1")),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-password-error")),
	)
	if err != nil {
		t.Fatalf("first submit: %v", err)
	}
	checkA11y(t, tab, "registration form with an error")
	pwErr, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#f-password-error")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pwErr, "Password must be at least") {
		t.Errorf("password error = %q, want the policy's length rule", pwErr)
	}
	kept, err := chromedp.Run(tab, chromedp.Value(chromedp.CSS("#f-customer-name")))
	if err != nil {
		t.Fatal(err)
	}
	if kept != "Analytical Engines Ltd" {
		t.Errorf("company name after the error = %q, want it kept", kept)
	}
	pw, err := chromedp.Run(tab, chromedp.Value(chromedp.CSS("#f-password")))
	if err != nil {
		t.Fatal(err)
	}
	if pw != "" {
		t.Errorf("password field after the error = %q, want empty", pw)
	}

	err = chromedp.Do(tab,
		type2("#f-password", goodPassword),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("form.logout")),
	)
	if err != nil {
		t.Fatalf("second submit: %v", err)
	}
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != e.base+"/account" {
		t.Errorf("after registration the browser is at %q, want %q (signed in)", loc, e.base+"/account")
	}
	e.login(email, goodPassword)
}
