// Package secretbox encrypts values at rest with AES-256-GCM under a keyring
// of named keys, so that keys can rotate: the first key of the ring seals new
// values, and every key of the ring opens what was sealed under it.
//
// A sealed value is text: "sb1:" KEYID ":" base64url(nonce || ciphertext).
// "sb1" is the format version, KEYID names the key that sealed it. Each value
// is bound to associated data chosen by the caller (for example a table,
// column and row id), so a sealed value copied to another row does not open.
//
// A keyring is written as a comma-separated list of KEYID:BASE64KEY, the
// active key first, e.g. "k2:…,k1:…": a key id is 1 to 32 letters, digits,
// '-' or '_', a key is 32 random bytes in standard or URL-safe base64 (with or
// without padding).
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Prefix starts every sealed value; it names format version 1.
const Prefix = "sb1:"

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// Errors of Open, to test with errors.Is.
var (
	// ErrFormat: the value is not a sealed value of a known version.
	ErrFormat = errors.New("secretbox: not a sealed value")
	// ErrUnknownKey: the value was sealed under a key id the keyring lacks.
	ErrUnknownKey = errors.New("secretbox: key id not in the keyring")
	// ErrAuth: the value does not authenticate under its key: a different
	// key under the same id, tampered data or other associated data.
	ErrAuth = errors.New("secretbox: authentication failed (wrong key, tampered value or value moved from another record)")
)

// Keyring holds the keys that open sealed values; the first seals new ones.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
	ids    []string
}

// Key is one named key.
type Key struct {
	ID     string
	Secret []byte // KeySize bytes
}

// New returns a keyring of keys; keys[0] is the active one.
func New(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secretbox: no key")
	}
	k := &Keyring{active: keys[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, key := range keys {
		if !validID(key.ID) {
			return nil, fmt.Errorf("secretbox: key id %q: 1 to 32 letters, digits, '-' or '_'", key.ID)
		}
		if len(key.Secret) != KeySize {
			return nil, fmt.Errorf("secretbox: key %q: %d bytes, want %d", key.ID, len(key.Secret), KeySize)
		}
		if _, dup := k.aeads[key.ID]; dup {
			return nil, fmt.Errorf("secretbox: key id %q given twice", key.ID)
		}
		block, err := aes.NewCipher(key.Secret)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: %w", key.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: %w", key.ID, err)
		}
		k.aeads[key.ID] = aead
		k.ids = append(k.ids, key.ID)
	}
	return k, nil
}

// Parse reads a keyring written as "KEYID:BASE64KEY,KEYID:BASE64KEY", the
// active key first. Errors never contain key material.
func Parse(s string) (*Keyring, error) {
	var keys []Key
	for i, part := range strings.Split(strings.TrimSpace(s), ",") {
		part = strings.TrimSpace(part)
		id, enc, ok := strings.Cut(part, ":")
		if !ok || id == "" || enc == "" {
			return nil, fmt.Errorf("secretbox: key %d: want KEYID:BASE64KEY", i+1)
		}
		secret, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: not base64", id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return New(keys...)
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Generate returns a keyring text of one new random key whose id is
// "k" and the date, e.g. "k20260102:…".
func Generate(now time.Time) string {
	secret := make([]byte, KeySize)
	rand.Read(secret) // never returns an error
	return "k" + now.UTC().Format("20060102") + ":" + base64.StdEncoding.EncodeToString(secret)
}

// ActiveID is the id of the key that seals new values.
func (k *Keyring) ActiveID() string { return k.active }

// IDs lists the key ids, the active one first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Seal encrypts plaintext under the active key, bound to ad.
func (k *Keyring) Seal(plaintext, ad string) string {
	aead := k.aeads[k.active]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	rand.Read(nonce) // never returns an error
	sealed := aead.Seal(nonce, nonce, []byte(plaintext), k.adFor(k.active, ad))
	// The text is built in one allocation of its final size (mail bodies
	// are sealed on every registration: a base64 string and a
	// concatenation would copy it twice more).
	var b strings.Builder
	b.Grow(len(Prefix) + len(k.active) + 1 + base64.RawURLEncoding.EncodedLen(len(sealed)))
	b.WriteString(Prefix)
	b.WriteString(k.active)
	b.WriteByte(':')
	var chunk [1024]byte // base64 of 768 bytes, a multiple of 3: no padding between chunks
	for len(sealed) > 0 {
		n := min(len(sealed), 768)
		m := base64.RawURLEncoding.EncodedLen(n)
		base64.RawURLEncoding.Encode(chunk[:m], sealed[:n])
		b.Write(chunk[:m])
		sealed = sealed[n:]
	}
	return b.String()
}

// Open decrypts a value that Seal returned with the same ad.
func (k *Keyring) Open(sealed, ad string) (string, error) {
	id, data, err := split(sealed)
	if err != nil {
		return "", err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: %q (the ring has %s)", ErrUnknownKey, id, strings.Join(k.ids, ", "))
	}
	raw, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", ErrFormat
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], k.adFor(id, ad))
	if err != nil {
		return "", fmt.Errorf("%w (key %q)", ErrAuth, id)
	}
	return string(plain), nil
}

// adFor binds the format version and key id into the associated data, so
// that neither can be rewritten.
func (k *Keyring) adFor(id, ad string) []byte {
	return []byte(Prefix + id + ":" + ad)
}

// IsSealed reports whether s has the form of a sealed value (without
// checking that it opens).
func IsSealed(s string) bool {
	_, _, err := split(s)
	return err == nil
}

// KeyID returns the id of the key s was sealed under, or "" when s is not a
// sealed value.
func KeyID(s string) string {
	id, _, err := split(s)
	if err != nil {
		return ""
	}
	return id
}

func split(s string) (id, data string, err error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return "", "", ErrFormat
	}
	id, data, ok = strings.Cut(rest, ":")
	if !ok || !validID(id) || data == "" {
		return "", "", ErrFormat
	}
	return id, data, nil
}

func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
