package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Helpers of the browser tests: accessibility checks with axe-core and
// screenshots for the documentation.

var (
	axeOnce   sync.Once
	axeSource string
	axeErr    error
)

// axeViolation is one rule axe-core found broken on a page.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkA11y runs axe-core (testdata/axe/axe.min.js) on the page in the tab
// and fails the test on every serious or critical violation of WCAG 2.x A
// and AA rules and best practices. name says which page it was.
func checkA11y(t *testing.T, tab context.Context, name string) {
	t.Helper()
	axeOnce.Do(func() {
		raw, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
		axeSource, axeErr = string(raw), err
	})
	if axeErr != nil {
		t.Fatalf("axe-core: %v", axeErr)
	}
	loaded, err := chromedp.Run(tab, chromedp.Evaluate[bool](`typeof axe !== "undefined"`))
	if err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	if !loaded {
		// Evaluated through the DevTools protocol, not a <script>: the
		// page's CSP (no script at all) does not apply.
		if _, err := chromedp.Run(tab, chromedp.Evaluate[*struct{}](axeSource+";null")); err != nil {
			t.Fatalf("inject axe-core on %s: %v", name, err)
		}
	}
	const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}, resultTypes: ["violations"]}).then(r => r.violations)`
	vs, err := chromedp.Run(tab, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprintf("%v %s", n.Target, n.HTML))
		}
		t.Errorf("accessibility (%s) on %s: %s: %s (%s)\n  %s", v.Impact, name, v.ID, v.Help, v.HelpURL, strings.Join(where, "\n  "))
	}
}

// envScreenshots, when set to 1, makes the browser tests save screenshots
// into docs/screenshots (go test ./internal/app -run Browser).
const envScreenshots = "ONBOARD_SCREENSHOTS"

// screenshotWidths are the widths of the screenshots: a phone and a desktop.
var screenshotWidths = []int64{375, 1280}

// screenshot saves the whole page in the tab as
// docs/screenshots/<name>-<width>.png at each width, when
// ONBOARD_SCREENSHOTS=1. The tab is left at 1280 px wide.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	if os.Getenv(envScreenshots) != "1" {
		return
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, w := range screenshotWidths {
		if err := chromedp.Do(tab, chromedp.EmulateViewport(w, 720)); err != nil {
			t.Fatalf("viewport %d: %v", w, err)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s at %d: %v", name, w, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 720)); err != nil {
		t.Fatal(err)
	}
}

// checkPage runs the accessibility check on the page in the tab and saves
// its screenshots (see checkA11y and screenshot).
//
// The pages are the same whatever the database, so the check runs in the
// SQLite run of a test and not again in its PostgreSQL run.
func checkPage(t *testing.T, tab context.Context, name string) {
	t.Helper()
	if strings.HasSuffix(t.Name(), "/postgres") {
		return
	}
	checkA11y(t, tab, name)
	screenshot(t, tab, name)
}
