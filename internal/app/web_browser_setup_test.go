package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestBrowserDeviceSetup is a device owner's whole path in Chromium: /setup
// goes to the default organization's setup; the owner gives an address,
// registers through the mailed link and lands on their devices; adds a
// Linux device and gets its instructions, link and QR code; the link's page
// provisions the device; and a second device added later is provisioned
// too. Every page is checked with axe-core; the Italian setup page is
// served by Accept-Language.
func TestBrowserDeviceSetup(t *testing.T) {
	t.Parallel() // each has its own app, mail server, database and Chromium
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		tab := browser(t)
		e := startDevices(t, dsn)
		logOnFailure(t, e)
		const email = "owner@example.com"

		it := e.do("GET", "/setup/default", nil, "Accept-Language", "it-IT,it;q=0.9")
		expect(t, it, http.StatusOK)
		if !strings.Contains(string(it.body), "Configura il tuo dispositivo") {
			t.Errorf("Italian setup page: %s", it.body)
		}

		expectPage(t, tab, openPage(t, tab, e.base+"/setup"), http.StatusOK, "Set up your device")
		if loc := location(t, tab); loc != e.base+"/setup/default" {
			t.Errorf("/setup went to %s", loc)
		}
		checkPage(t, tab, "setup")
		expectPage(t, tab, submitPage(t, tab), http.StatusUnprocessableEntity, "Set up your device")
		checkPage(t, tab, "setup-errors")
		n := e.mails()
		typeInto(t, tab, "#f-email", email)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Check your mailbox")
		checkPage(t, tab, "setup-sent")

		// The mailed link: basic details and a password, then the devices.
		expectPage(t, tab, openPage(t, tab, e.mailedLink(n, email, "/register")), http.StatusOK, "Create your account")
		fillRegistration(t, tab, false)
		expectPage(t, tab, submitPage(t, tab), http.StatusOK, "Your devices")
		if loc := location(t, tab); loc != e.base+"/setup/devices" {
			t.Errorf("after registration the browser is at %s, want /setup/devices", loc)
		}
		checkPage(t, tab, "setup-devices-empty")

		// A Linux device (android, linux, windows: the second choice).
		addDevice := func(radio, name string) (link string) {
			t.Helper()
			tick(t, tab, radio)
			typeInto(t, tab, "#f-name", name)
			expectPage(t, tab, clickTo(t, tab, `section[aria-labelledby="add-title"] button[type="submit"]`), http.StatusCreated, name+" is ready to connect")
			href, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('#provisioning-link').href`))
			if err != nil || !strings.HasPrefix(href, e.base+"/provision/") {
				t.Fatalf("provisioning link %q, %v", href, err)
			}
			code := pageText(t, tab, "#installation-code")
			instr := pageText(t, tab, ".instructions")
			if !strings.HasSuffix(href, "/"+code) || (!strings.Contains(instr, href) && !strings.Contains(instr, "Enter code "+code)) {
				t.Fatalf("code %q, link %q, instructions %q", code, href, instr)
			}
			loaded, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('img.qr').complete && document.querySelector('img.qr').naturalWidth > 0`))
			if err != nil || !loaded {
				t.Fatalf("QR image not shown: %v", err)
			}
			return href
		}
		link := addDevice("#f-platform-1", "Home server")
		checkPage(t, tab, "setup-device-added")
		qr := e.do("GET", strings.TrimPrefix(link, e.base)+"/qr.svg", nil)
		expect(t, qr, http.StatusOK)
		if qr.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(qr.body), "<svg") {
			t.Fatalf("QR: %s %.100s", qr.header.Get("Content-Type"), qr.body)
		}

		// The installer opens the link on the device.
		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Connect this device")
		checkPage(t, tab, "setup-provision")
		typeInto(t, tab, "#f-serial", "SN-0042")
		typeInto(t, tab, "#f-os", "Debian 13")
		expectPage(t, tab, submitPage(t, tab), http.StatusCreated, "Home server is connected")
		if s := pageText(t, tab, "#device-secret"); len(s) < 40 {
			t.Errorf("device secret %q", s)
		}
		checkPage(t, tab, "setup-provisioned")
		// Used: the same link does not work again.
		expectPage(t, tab, openPage(t, tab, link), http.StatusOK, "Connect this device")
		expectPage(t, tab, submitPage(t, tab), http.StatusGone, "This code cannot be used")

		// The owner sees it connected, and adds a second device later.
		expectPage(t, tab, openPage(t, tab, e.base+"/setup/devices"), http.StatusOK, "Your devices")
		if txt := deviceList(t, tab); !strings.Contains(txt, "Home server") || !strings.Contains(txt, "Connected") || !strings.Contains(txt, "SN-0042") {
			t.Errorf("devices: %s", txt)
		}
		link2 := addDevice("#f-platform-2", "Laptop")
		code2 := link2[strings.LastIndex(link2, "/")+1:]
		expect(t, e.provision(code2, map[string]any{"serial": "SN-0043"}), http.StatusCreated)
		expectPage(t, tab, openPage(t, tab, e.base+"/setup/devices"), http.StatusOK, "Your devices")
		if txt := deviceList(t, tab); strings.Count(txt, "Connected\n") != 2 || !strings.Contains(txt, "Laptop") {
			t.Errorf("devices after the second: %s\nmain: %s", txt, pageText(t, tab, "main"))
		}
		checkPage(t, tab, "setup-devices")

		// Rename one with the keyboard-reachable row form.
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS(`#devices li:first-child input[name="name"]`), "Server")); err != nil {
			t.Fatal(err)
		}
		expectPage(t, tab, clickTo(t, tab, `#devices li:first-child form button[type="submit"]`), http.StatusOK, "Your devices")
		if txt := deviceList(t, tab); !strings.Contains(txt, "Server") || strings.Contains(txt, "Home server") {
			t.Errorf("devices after the rename: %s", txt)
		}
	})
}

// deviceList is the text of the owner's device list.
func deviceList(t *testing.T, tab context.Context) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('#devices') ? document.querySelector('#devices').innerText : ''`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
