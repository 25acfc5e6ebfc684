package flows

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// partnerCodeAlphabet has no characters that read alike (0/O, 1/I/L, 5/S, 8/B).
const partnerCodeAlphabet = "ACDEFGHJKMNPQRTUVWXYZ2345679"

// partnerCodeLen is the number of code characters: 28^15 ≈ 2^72 codes.
const partnerCodeLen = 15

// NewPartnerCode returns a random partner code such as "K7QW-3MXA-HP2D-9TF",
// grouped in fours for reading aloud.
func NewPartnerCode() (string, error) {
	b := make([]byte, partnerCodeLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("partner code: %w", err)
	}
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(partnerCodeAlphabet[uniform(x)])
	}
	return sb.String(), nil
}

// uniform maps a random byte to an index in the alphabet without modulo bias,
// drawing fresh bytes when x falls in the biased tail.
func uniform(x byte) int {
	n := len(partnerCodeAlphabet)
	limit := 256 - 256%n
	for int(x) >= limit {
		var one [1]byte
		if _, err := rand.Read(one[:]); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		x = one[0]
	}
	return int(x) % n
}

// NormalizePartnerCode puts a code as typed into its stored form: upper case,
// without spaces or dashes, then grouped in fours.
func NormalizePartnerCode(in string) string {
	var raw strings.Builder
	for _, r := range strings.ToUpper(in) {
		if r == '-' || r == ' ' || r == '\t' {
			continue
		}
		raw.WriteRune(r)
	}
	var sb strings.Builder
	n := 0
	for _, r := range raw.String() {
		if n > 0 && n%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteRune(r)
		n++
	}
	return sb.String()
}
