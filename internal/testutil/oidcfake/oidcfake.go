// Package oidcfake is a small OpenID provider for the tests of the cases a
// real provider does not produce: ID tokens signed with "alg: none", with a
// tampered payload, for another audience, with a key id the provider's key
// set does not have, or already expired; and a provider that answers too
// slowly. Tokens are signed with github.com/go-jose/go-jose/v4.
package oidcfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Modes of the ID tokens the provider issues.
const (
	Good       = "good"
	AlgNone    = "alg-none"
	Tampered   = "tampered"
	WrongAud   = "wrong-audience"
	UnknownKid = "unknown-kid"
	Expired    = "expired"
	// SlowToken makes the token endpoint answer after Delay.
	SlowToken = "slow-token"
)

// Claims are the person's claims in the tokens.
type Claims struct {
	Subject, Email, GivenName, FamilyName string
	EmailVerified                         bool
}

// Provider is the fake provider.
type Provider struct {
	URL      string
	ClientID string
	Delay    time.Duration

	key, other *rsa.PrivateKey
	kid        string
	mu         sync.Mutex
	mode       string
	claims     Claims
	nonces     map[string]string // code → nonce
}

// Start runs a provider for clientID until the test ends.
func Start(t testing.TB, clientID string) *Provider {
	t.Helper()
	p := &Provider{ClientID: clientID, mode: Good, nonces: map[string]string{}, Delay: 3 * time.Second, kid: "k1"}
	var err error
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.handler())
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Rotate replaces the signing key with a new one under a new key id; the
// key set then publishes only the new key.
func (p *Provider) Rotate(t testing.TB) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.key, p.kid = k, p.kid+"r"
}

// Set chooses the mode and the claims of the next tokens.
func (p *Provider) Set(mode string, c Claims) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.claims = mode, c
}

func (p *Provider) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
			"jwks_uri": p.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		key, kid := p.key, p.kid
		p.mu.Unlock()
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}})
	})
	// The authorization endpoint signs the person in at once.
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := rand.Text()
		p.mu.Lock()
		p.nonces[code] = q.Get("nonce")
		p.mu.Unlock()
		u, _ := url.Parse(q.Get("redirect_uri"))
		v := u.Query()
		v.Set("code", code)
		v.Set("state", q.Get("state"))
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		nonce, ok := p.nonces[r.PostForm.Get("code")]
		delete(p.nonces, r.PostForm.Get("code"))
		mode := p.mode
		p.mu.Unlock()
		if mode == SlowToken {
			select {
			case <-time.After(p.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		writeJSON(w, map[string]any{"access_token": "at-" + rand.Text(), "token_type": "Bearer", "expires_in": 300,
			"id_token": p.IDToken(mode, nonce)})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// IDToken issues an ID token in mode for the current claims.
func (p *Provider) IDToken(mode, nonce string) string {
	p.mu.Lock()
	c, key, kid := p.claims, p.key, p.kid
	p.mu.Unlock()
	now := time.Now()
	claims := map[string]any{"iss": p.URL, "sub": c.Subject, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"email": c.Email, "email_verified": c.EmailVerified, "given_name": c.GivenName, "family_name": c.FamilyName}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	switch mode {
	case WrongAud:
		claims["aud"] = "someone-else"
	case Expired:
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	case UnknownKid:
		key, kid = p.other, "k-unknown"
	}
	payload, _ := json.Marshal(claims)
	if mode == AlgNone {
		head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		return head + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	tok, _ := jws.CompactSerialize()
	if mode == Tampered {
		parts := strings.Split(tok, ".")
		claims["sub"] = "someone-else"
		forged, _ := json.Marshal(claims)
		parts[1] = base64.RawURLEncoding.EncodeToString(forged)
		tok = strings.Join(parts, ".")
	}
	return tok
}
