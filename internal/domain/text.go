package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Invisible reports whether r shows nothing, or changes how the text around
// it shows, so that it can make one name or address look like another:
//   - control characters (Cc), including tab and line breaks;
//   - format characters (Cf), such as U+200B ZERO WIDTH SPACE, U+200D ZERO
//     WIDTH JOINER, U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT
//     ISOLATE, U+00AD SOFT HYPHEN and U+FEFF ZERO WIDTH NO-BREAK SPACE;
//   - private-use, surrogate and unassigned code points (Co, Cs, Cn);
//   - the line and paragraph separators U+2028 and U+2029;
//   - the other default-ignorable code points: variation selectors,
//     U+034F COMBINING GRAPHEME JOINER, the Hangul fillers (U+115F, U+1160,
//     U+3164, U+FFA0) and the like;
//   - U+2800 BRAILLE PATTERN BLANK and U+FFFD REPLACEMENT CHARACTER, which
//     stands for bytes that were not text.
func Invisible(r rune) bool {
	switch {
	case r == 0x2800 || r == utf8.RuneError:
		return true
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp):
		return true
	case unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector):
		return true
	case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs):
		return true // unassigned, or not a character at all
	}
	return false
}

// PlainText reports whether s is valid UTF-8 without invisible characters
// (see Invisible): what a name, a label or a one-line value may hold.
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, Invisible)
}
