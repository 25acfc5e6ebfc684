package secretbox

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func key(b byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), KeySize)))
}

func mustParse(t *testing.T, s string) *Keyring {
	t.Helper()
	k, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := mustParse(t, "k1:"+key('a'))
	sealed := k.Seal("https://example.com/reset?token=secret", "outbox.text_body:1")
	if !strings.HasPrefix(sealed, "sb1:k1:") || strings.Contains(sealed, "secret") {
		t.Fatalf("sealed = %q", sealed)
	}
	if sealed == k.Seal("https://example.com/reset?token=secret", "outbox.text_body:1") {
		t.Fatal("two seals of one value are equal: nonce not random")
	}
	got, err := k.Open(sealed, "outbox.text_body:1")
	if err != nil || got != "https://example.com/reset?token=secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if !IsSealed(sealed) || IsSealed("plain text") || KeyID(sealed) != "k1" {
		t.Fatal("IsSealed/KeyID wrong")
	}
}

func TestRotation(t *testing.T) {
	old := mustParse(t, "k1:"+key('a'))
	sealed := old.Seal("introspection secret", "labelpartners:lp1")
	rotated := mustParse(t, "k2:"+key('b')+", k1:"+key('a'))
	if rotated.ActiveID() != "k2" {
		t.Fatalf("active = %q", rotated.ActiveID())
	}
	got, err := rotated.Open(sealed, "labelpartners:lp1")
	if err != nil || got != "introspection secret" {
		t.Fatalf("old value under rotated ring: %q, %v", got, err)
	}
	if id := KeyID(rotated.Seal("x", "ad")); id != "k2" {
		t.Fatalf("new value sealed under %q, want k2", id)
	}
	// Once the old key is dropped, its values no longer open, with a clear error.
	_, err = mustParse(t, "k2:"+key('b')).Open(sealed, "labelpartners:lp1")
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("dropped key: err = %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	k := mustParse(t, "k1:"+key('a'))
	sealed := k.Seal("value", "ad")
	data := sealed[len("sb1:k1:"):]
	raw, _ := base64.RawURLEncoding.DecodeString(data)
	raw[len(raw)-1] ^= 1
	tampered := "sb1:k1:" + base64.RawURLEncoding.EncodeToString(raw)
	for _, tc := range []struct {
		name, value, ad string
		ring            *Keyring
		want            error
	}{
		{"wrong key under the same id", sealed, "ad", mustParse(t, "k1:"+key('z')), ErrAuth},
		{"tampered", tampered, "ad", k, ErrAuth},
		{"other record", sealed, "ad2", k, ErrAuth},
		{"key id rewritten", "sb1:k0:" + data, "ad", mustParse(t, "k1:"+key('a')+",k0:"+key('a')), ErrAuth},
		{"unknown key", sealed, "ad", mustParse(t, "k9:"+key('a')), ErrUnknownKey},
		{"plain text", "value", "ad", k, ErrFormat},
		{"other version", "sb2:k1:" + data, "ad", k, ErrFormat},
		{"truncated", "sb1:k1:AAAA", "ad", k, ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ring.Open(tc.value, tc.ad)
			if !errors.Is(err, tc.want) || got != "" {
				t.Fatalf("Open = %q, %v; want %v", got, err, tc.want)
			}
			if strings.Contains(err.Error(), key('a')) {
				t.Fatal("error shows key material")
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{
		"", "k1", ":" + key('a'), "k1:" + key('a')[:20], "k 1:" + key('a'), "k1:***",
		"k1:" + key('a') + ",k1:" + key('b'), strings.Repeat("k", 33) + ":" + key('a'),
	} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		} else if strings.Contains(err.Error(), key('a')) || strings.Contains(err.Error(), key('b')) {
			t.Errorf("Parse(%q) error shows key material: %v", s, err)
		}
	}
	// URL-safe and unpadded base64 are accepted.
	raw := []byte(strings.Repeat("\xfb", KeySize))
	for _, enc := range []string{base64.RawURLEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw)} {
		if _, err := Parse("k1:" + enc); err != nil {
			t.Errorf("Parse(k1:%s): %v", enc, err)
		}
	}
}

func TestLoadOrCreateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "onboard.db.key")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	k, created, err := LoadOrCreateFile(path, now)
	if err != nil || !created || k.ActiveID() != "k20260102" {
		t.Fatalf("first: %v, created=%v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	sealed := k.Seal("v", "ad")
	k2, created, err := LoadOrCreateFile(path, now.Add(48*time.Hour))
	if err != nil || created {
		t.Fatalf("second: %v, created=%v", err, created)
	}
	if got, err := k2.Open(sealed, "ad"); err != nil || got != "v" {
		t.Fatalf("reopened key: %q, %v", got, err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateFile(path, now); err == nil {
		t.Fatal("a bad key file was accepted")
	}
}

// TestSealAllocations: sealing a value allocates its plaintext's copy, the
// ciphertext and the text once each (and the associated data), not
// further copies of the text.
func TestSealAllocations(t *testing.T) {
	k := mustParse(t, "k1:"+key('a'))
	plain := strings.Repeat("a registration mail body ", 100)
	var out string
	bytes := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out = k.Seal(plain, "outbox:text_body:1")
		}
	}).AllocedBytesPerOp()
	if got, err := k.Open(out, "outbox:text_body:1"); err != nil || got != plain {
		t.Fatalf("Open(Seal(x)) = %q, %v", got, err)
	}
	// The text is written in chunks: values around the chunk size open.
	for _, n := range []int{1, 739, 740, 741, 767, 768, 769, 1508, 1509, 1510, 5000} {
		v := strings.Repeat("x", n)
		if got, err := k.Open(k.Seal(v, "ad"), "ad"); err != nil || got != v {
			t.Fatalf("Open(Seal(%d bytes)) = %d bytes, %v", n, len(got), err)
		}
	}
	// plaintext copy + ciphertext + text ≈ 1 + 1 + 4/3 of the plaintext.
	if limit := int64(4 * len(plain)); bytes > limit {
		t.Errorf("Seal allocates %d bytes for %d of plaintext, want at most %d", bytes, len(plain), limit)
	}
}
