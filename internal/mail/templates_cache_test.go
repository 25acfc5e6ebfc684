package mail

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/onboard-dev/onboard/internal/brand"
)

// TestBrandedTemplatesCached checks that a template bound to an
// organization's colours is bound once and reused, that each set of colours
// keeps its own, that the cache stays bounded, and that renders past the
// bound still use their own colours.
func TestBrandedTemplatesCached(t *testing.T) {
	tpl, err := LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	data := SignupData{Link: "https://x.example/register?token=abc", Organization: "Acme", ExpiresIn: "24 hours"}
	render := func(accent string) Rendered {
		t.Helper()
		r, err := tpl.RenderIn("en", brand.Of(accent), TemplateSignup, data)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	loaded := tpl.branded.len()
	first := render("#ffcc00")
	if got := tpl.branded.len(); got != loaded+1 {
		t.Fatalf("after a render with new colours the cache holds %d templates, want %d", got, loaded+1)
	}
	key := brandedKey{set: TemplateSignup, colours: brand.Of("#ffcc00")}
	cached := tpl.branded.m[key]
	if again := render("#ffcc00"); again != first {
		t.Errorf("second render differs from the first:\n%s\n%s", first.HTML, again.HTML)
	}
	if tpl.branded.m[key] != cached || tpl.branded.len() != loaded+1 {
		t.Errorf("second render with the same colours bound the template again")
	}
	other := render("#0055aa")
	if !strings.Contains(other.HTML, "#0055aa") || strings.Contains(other.HTML, "#ffcc00") {
		t.Errorf("render with other colours shows the wrong accent:\n%s", other.HTML)
	}

	var wg sync.WaitGroup
	for i := range 2 * maxBranded {
		wg.Add(1)
		go func() {
			defer wg.Done()
			accent := fmt.Sprintf("#%06x", i*997)
			r, err := tpl.RenderIn("en", brand.Of(accent), TemplateSignup, data)
			if err != nil {
				t.Error(err)
				return
			}
			if !strings.Contains(r.HTML, "background-color:"+accent) {
				t.Errorf("render with accent %s lacks it", accent)
			}
		}()
	}
	wg.Wait()
	if got := tpl.branded.len(); got != maxBranded {
		t.Errorf("cache holds %d templates, want the bound %d", got, maxBranded)
	}
}
