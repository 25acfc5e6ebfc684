package brand

import "testing"

func TestAccentContrast(t *testing.T) {
	for _, accent := range []string{"#000000", "#ffffff", "#ffcc00", "#2457c5", "#00ff00", "#808080", "#777777", "#e30613", "#7fffd4"} {
		l := luminance(parseHex(accent))
		text := onAccent(accent)
		if c := contrast(l, luminance(parseHex(text))); c < 4.5 {
			t.Errorf("text %s on %s: contrast %.2f, want at least 4.5", text, accent, c)
		}
		link := linkColour(accent)
		if c := contrast(luminance(parseHex(link)), 1); c < 4.5 {
			t.Errorf("link %s (from %s) on white: contrast %.2f, want at least 4.5", link, accent, c)
		}
	}
	if got := linkColour("#2457c5"); got != "#2457c5" {
		t.Errorf("linkColour(#2457c5) = %s, want it unchanged (already 4.5:1)", got)
	}
}

func TestValidColour(t *testing.T) {
	for c, want := range map[string]bool{"#a1B2c3": true, "#fff": false, "a1b2c3": false, "#a1b2c3;x": false, "red": false, "": false} {
		if got := ValidColour(c); got != want {
			t.Errorf("ValidColour(%q) = %v, want %v", c, got, want)
		}
	}
	if got := Of("nope"); got.Accent != DefaultAccent {
		t.Errorf("Of(invalid).Accent = %s, want the default", got.Accent)
	}
}
