package domain

import (
	"testing"
	"unicode/utf8"
)

func TestInvisible(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want bool
	}{
		{'a', false}, {'Z', false}, {'0', false}, {' ', false}, {'-', false}, {'\'', false}, {'.', false}, {'@', false},
		{'é', false}, {'ß', false}, {'Ü', false}, {'ł', false}, {'я', false}, {'ש', false}, {'ع', false}, {'中', false}, {'한', false},
		{'\u0301', false}, // combining acute accent: visible on its letter
		{'\u00a0', false}, // no-break space: a space (addresses refuse every space separately)
		{'😀', false},
		{'\t', true}, {'\n', true}, {'\r', true}, {0, true}, {0x7f, true}, {0x85, true}, {0x9b, true},
		{'\u00ad', true}, // soft hyphen
		{'\u061c', true}, // Arabic letter mark
		{'\u180e', true}, // Mongolian vowel separator
		{'\u200b', true}, {'\u200c', true}, {'\u200d', true}, {'\u200e', true}, {'\u200f', true},
		{'\u202a', true}, {'\u202e', true}, {'\u2060', true}, {'\u2066', true}, {'\u2069', true},
		{'\ufeff', true}, {'\ufff9', true}, {0xe0001, true}, {0xe0041, true}, // language tag, tag A
		{'\u2028', true}, {'\u2029', true},
		{'\u034f', true}, {'\u115f', true}, {'\u1160', true}, {'\u3164', true}, {'\uffa0', true}, {'\u2800', true},
		{'\ufe0f', true}, {0xe0100, true}, // variation selectors
		{'\ue000', true}, {0xf0000, true}, // private use
		{'\ufdd0', true}, {'\uffff', true}, {0x10fffe, true}, // noncharacters
		{0x0378, true}, // unassigned
		{utf8.RuneError, true},
	} {
		if got := Invisible(tc.r); got != tc.want {
			t.Errorf("Invisible(%U) = %v, want %v", tc.r, got, tc.want)
		}
	}
}

func TestPlainText(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"Ada Lovelace", true}, {"Ünal Öztürk", true}, {"Zoë d'Arc-Smith", true}, {"", true},
		{"Ada\u200bLovelace", false}, {"\u202eecalevoL", false}, {"\ufeffAda", false}, {"Ada\x00", false},
		{"Ada\xff", false}, {"Ada\nLovelace", false},
	} {
		if got := PlainText(tc.s); got != tc.want {
			t.Errorf("PlainText(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// FuzzPlainText checks that PlainText accepts only valid UTF-8 whose every
// rune passes Invisible.
func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"Ada", "a\u200bb", "\xff", "\u202e", "한국"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !PlainText(s) {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8 %q", s)
		}
		for _, r := range s {
			if Invisible(r) {
				t.Fatalf("accepted %q with %U", s, r)
			}
		}
	})
}
