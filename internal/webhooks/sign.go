package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Signatures follow the Standard Webhooks specification: a secret is
// "whsec_" and the base64 of its key bytes; a message is signed with
// HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>", and the
// webhook-signature header holds "v1,<base64 signature>", space-separated
// when several secrets sign (during a rotation).

// SecretPrefix starts every secret.
const SecretPrefix = "whsec_"

// secretBytes is the length of a new secret's key.
const secretBytes = 32

// NewSecret returns a new random secret.
func NewSecret() string {
	b := make([]byte, secretBytes)
	rand.Read(b) // never returns an error
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the key bytes of a secret.
func secretKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("webhooks: secret without the whsec_ prefix")
	}
	return base64.StdEncoding.DecodeString(raw)
}

// Sign returns the v1 signature ("v1,<base64>") of a message under secret.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Verify checks a received message's headers against secret as the
// specification describes, with a tolerance for the timestamp. Receivers
// written in Go may use it; it is also what the tests use.
func Verify(secret, id, timestamp, signatures string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhooks: bad webhook-timestamp")
	}
	ts := time.Unix(sec, 0)
	if now.Sub(ts) > tolerance || ts.Sub(now) > tolerance {
		return errors.New("webhooks: webhook-timestamp out of tolerance")
	}
	want, err := Sign(secret, id, ts, body)
	if err != nil {
		return err
	}
	for _, s := range strings.Fields(signatures) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhooks: no matching signature")
}
