// Package brand holds what an organization's pages and mails look like:
// its accent colour, checked so that text on it and links in it keep the
// WCAG 2 AA contrast of 4.5:1.
package brand

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
)

// DefaultAccent is the accent colour of organizations that set none.
const DefaultAccent = "#2457c5"

var hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ValidColour reports whether c is a colour written "#rrggbb".
func ValidColour(c string) bool { return hexColour.MatchString(c) }

// Colours are the colours derived from an accent.
type Colours struct {
	Accent   string // background of buttons
	OnAccent string // text on buttons: white or black
	Link     string // links on white
}

// Of derives the colours of accent ("#rrggbb"; anything else gives the
// default accent). Buttons show their text in white or black, whichever
// contrasts more (at least 4.5:1 for any colour), and links use the accent
// darkened until it reaches 4.5:1 on white.
func Of(accent string) Colours {
	if !ValidColour(accent) {
		accent = DefaultAccent
	}
	return Colours{Accent: accent, OnAccent: onAccent(accent), Link: linkColour(accent)}
}

func parseHex(c string) (r, g, b float64) {
	v, _ := strconv.ParseUint(c[1:], 16, 32)
	return float64(v >> 16 & 0xff), float64(v >> 8 & 0xff), float64(v & 0xff)
}

func channel(c float64) float64 {
	c /= 255
	if c <= 0.04045 {
		return c / 12.92
	}
	return math.Pow((c+0.055)/1.055, 2.4)
}

func luminance(r, g, b float64) float64 {
	return 0.2126*channel(r) + 0.7152*channel(g) + 0.0722*channel(b)
}

func contrast(l1, l2 float64) float64 {
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// onAccent is the text colour on the accent: "#ffffff" or "#000000".
func onAccent(accent string) string {
	l := luminance(parseHex(accent))
	if contrast(l, 1) >= contrast(l, 0) {
		return "#ffffff"
	}
	return "#000000"
}

// linkColour is the accent, darkened as little as needed to reach a
// contrast of 4.5:1 on white.
func linkColour(accent string) string {
	r, g, b := parseHex(accent)
	for i := 0; i < 100 && contrast(luminance(r, g, b), 1) < 4.5; i++ {
		r, g, b = r*0.95, g*0.95, b*0.95
	}
	return fmt.Sprintf("#%02x%02x%02x", int(r), int(g), int(b))
}
