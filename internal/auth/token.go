package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// TokenLen is the length of a token made by [NewToken]: 32 random bytes in
// unpadded base64url.
const TokenLen = 43

const tokenBytes = 32

// NewToken returns a 256-bit random token, base64url without padding (43
// chars), and its SHA-256 hash. Send the token to the user; store only the
// hash.
func NewToken() (token string, hash []byte, err error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("auth: generate token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 of a presented token (what is stored and
// looked up). Tokens carry 256 bits of entropy, so a fast unsalted hash is
// enough.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// WellFormedToken reports whether s looks like a token NewToken makes (43
// base64url chars), so garbage is rejected before any lookup. It also
// requires the unused low bits of the last character to be zero, as they are
// in every token NewToken makes, so each token has exactly one spelling.
func WellFormedToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		v := base64URLValue(s[i])
		if v < 0 {
			return false
		}
		// 43 chars carry 258 bits for 256 bits of data: the last char's
		// two low bits are padding.
		if i == len(s)-1 && v&0b11 != 0 {
			return false
		}
	}
	return true
}

// base64URLValue returns the 6-bit value of c in the base64url alphabet, or
// -1 if c is not in it.
func base64URLValue(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}
