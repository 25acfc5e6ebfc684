package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	const n = 2000
	seen := make(map[string]bool, n)
	seenHash := make(map[string]bool, n)
	for range n {
		token, hash, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(token) != TokenLen {
			t.Fatalf("token %q has %d chars, want %d", token, len(token), TokenLen)
		}
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q decodes to %d bytes (err %v), want 32", token, len(raw), err)
		}
		if !WellFormedToken(token) {
			t.Fatalf("WellFormedToken(%q) = false for a fresh token", token)
		}
		want := sha256.Sum256([]byte(token))
		if !bytes.Equal(hash, want[:]) {
			t.Fatalf("hash of %q = %x, want %x", token, hash, want)
		}
		if !bytes.Equal(HashToken(token), hash) {
			t.Fatalf("HashToken(%q) differs from the hash NewToken returned", token)
		}
		if seen[token] || seenHash[string(hash)] {
			t.Fatalf("token %q repeated", token)
		}
		seen[token] = true
		seenHash[string(hash)] = true
	}
}

func TestHashToken(t *testing.T) {
	tests := []struct {
		token, want string
	}{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(HashToken(tt.token)); got != tt.want {
			t.Errorf("HashToken(%q) = %s, want %s", tt.token, got, tt.want)
		}
	}
	a, b := HashToken("token-a"), HashToken("token-b")
	if bytes.Equal(a, b) {
		t.Fatal("different tokens hash alike")
	}
}

func TestWellFormedToken(t *testing.T) {
	valid, _, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	a42 := strings.Repeat("A", 42)
	tests := []struct {
		name  string
		token string
		want  bool
	}{
		{"fresh token", valid, true},
		{"all A", a42 + "A", true},
		{"url alphabet", strings.Repeat("-_09azAZ", 5) + "xyE", true},
		{"last char with zero low bits", a42 + "E", true},
		{"last char with low bits set", a42 + "B", false},
		{"last char dash has low bits set", a42 + "-", false},
		{"empty", "", false},
		{"one short", valid[:42], false},
		{"one long", valid + "A", false},
		{"padded", valid + "=", false},
		{"std alphabet plus", "+" + valid[1:], false},
		{"std alphabet slash", "/" + valid[1:], false},
		{"space", " " + valid[1:], false},
		{"line break", a42[:20] + "\n" + a42[20:], false},
		{"percent-encoded", "%2D" + a42[:40], false},
		{"non-ASCII", "é" + a42[:41], false},
		{"NUL", "\x00" + a42, false},
		{"hex sha256", strings.Repeat("ab", 21) + "c", true}, // same shape; a lookup decides
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WellFormedToken(tt.token); got != tt.want {
				t.Fatalf("WellFormedToken(%q) = %v, want %v", tt.token, got, tt.want)
			}
		})
	}
}

// FuzzWellFormedToken checks WellFormedToken against the standard library:
// s is well formed exactly when it is the canonical unpadded base64url
// encoding of 32 bytes.
func FuzzWellFormedToken(f *testing.F) {
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("A", 42) + "B")
	f.Add(strings.Repeat("A", 20) + "\n" + strings.Repeat("A", 22))
	f.Add(strings.Repeat("A", 43) + "=")
	f.Add("")
	strict := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := strict.DecodeString(s)
		want := err == nil && len(raw) == 32 && strict.EncodeToString(raw) == s
		if got := WellFormedToken(s); got != want {
			t.Fatalf("WellFormedToken(%q) = %v, want %v", s, got, want)
		}
	})
}
