// Package hydratest runs Ory Hydra, a certified OpenID provider, for tests:
// on a fresh PostgreSQL database, on random loopback ports, with a small
// login and consent app that accepts every challenge for the person the
// test chose (Provider.SetUser) through Hydra's admin API.
//
// The binary comes from ONBOARD_HYDRA_BIN, else from the cache directory
// (<GOCACHE>/../onboard-hydra/hydra-v2.3.0), where it is built once from
// the tools module tools/hydra. Without PostgreSQL
// (ONBOARD_TEST_POSTGRES_URL) or a binary the test is skipped, saying why,
// unless ONBOARD_REQUIRE_HYDRA=1, which fails it instead.
package hydratest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// Version is the Hydra release the tools module pins.
const Version = "v2.3.0"

// User is the person the login and consent app signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	Locale        string
	// AccessTokenClaims go into the access token's session (they appear
	// under "ext" in introspection answers).
	AccessTokenClaims map[string]any
}

// Provider is a running Hydra.
type Provider struct {
	// Issuer is the issuer URL (public port); Admin the admin API's base.
	Issuer, Admin string

	mu   sync.Mutex
	user User
}

// SetUser chooses who the next logins are.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

func (p *Provider) current() User {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.user
}

func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("ONBOARD_REQUIRE_HYDRA") == "1" {
		t.Fatalf("Hydra required (ONBOARD_REQUIRE_HYDRA=1): "+format, args...)
	}
	t.Skipf("Hydra tests skipped: "+format, args...)
}

var buildMu sync.Mutex

// Binary returns the path of the Hydra binary, building it once into the
// cache directory when needed.
func Binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("ONBOARD_HYDRA_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			skip(t, "ONBOARD_HYDRA_BIN=%s: %v", b, err)
		}
		return b
	}
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		skip(t, "go env GOCACHE: %v", err)
	}
	dir := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "onboard-hydra")
	bin := filepath.Join(dir, "hydra-"+Version)
	buildMu.Lock()
	defer buildMu.Unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	_, file, _, _ := runtime.Caller(0)
	tools := filepath.Join(filepath.Dir(file), "..", "..", "..", "tools", "hydra")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		skip(t, "cache directory: %v", err)
	}
	tmp := bin + ".tmp" + fmt.Sprint(os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "github.com/ory/hydra/v2")
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	t.Logf("building Hydra %s into %s (once)", Version, bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		skip(t, "build Hydra: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		skip(t, "build Hydra: %v", err)
	}
	return bin
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs Hydra until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	base := os.Getenv("ONBOARD_TEST_POSTGRES_URL")
	if base == "" {
		skip(t, "Hydra needs PostgreSQL: set ONBOARD_TEST_POSTGRES_URL")
	}
	bin := Binary(t)
	dsn := database(t, base)
	p := &Provider{}
	app := httptest.NewServer(p.loginConsent(t))
	t.Cleanup(app.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := append(os.Environ(), "DSN="+dsn, "LOG_LEVEL=warn")
	mig := exec.CommandContext(ctx, bin, "migrate", "sql", "up", "-e", "--yes")
	mig.Env = env
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("hydra migrate: %v\n%s", err, out)
	}
	pub, adm := freePort(t), freePort(t)
	p.Issuer = fmt.Sprintf("http://127.0.0.1:%d", pub)
	p.Admin = fmt.Sprintf("http://127.0.0.1:%d", adm)
	var secret [24]byte
	rand.Read(secret[:])
	srv := exec.Command(bin, "serve", "all", "--dev")
	srv.Env = append(env, "URLS_SELF_ISSUER="+p.Issuer, "URLS_LOGIN="+app.URL+"/login", "URLS_CONSENT="+app.URL+"/consent",
		fmt.Sprintf("SERVE_PUBLIC_PORT=%d", pub), fmt.Sprintf("SERVE_ADMIN_PORT=%d", adm),
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_ADMIN_HOST=127.0.0.1", "SECRETS_SYSTEM="+hex.EncodeToString(secret[:]),
		"TTL_ID_TOKEN=5m", "TTL_AUTH_CODE=5m")
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatalf("hydra serve: %v", err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
		if t.Failed() {
			t.Logf("hydra log (tail):\n%s", tail(logs.String(), 4000))
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hydra did not start: %v\n%s", err, tail(logs.String(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// database creates a database of its own for Hydra, dropped at the end.
func database(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "hydra_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		skip(t, "create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Client is an OAuth 2.0 client registered at Hydra.
type Client struct {
	ID, Secret string
}

// CreateClient registers a confidential client with redirect URIs.
func (p *Provider) CreateClient(t testing.TB, redirectURIs ...string) Client {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	c := Client{ID: "onboard-" + hex.EncodeToString(b[:]), Secret: "secret-" + hex.EncodeToString(b[:]) + "-0123456789"}
	body := map[string]any{"client_id": c.ID, "client_secret": c.Secret, "redirect_uris": redirectURIs,
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code", "id_token"},
		"scope": "openid email profile offline_access", "token_endpoint_auth_method": "client_secret_basic"}
	var out map[string]any
	if status := p.adminCall(t, "POST", "/admin/clients", body, &out); status != http.StatusCreated {
		t.Fatalf("create client: %d %v", status, out)
	}
	return c
}

func (p *Provider) adminCall(t testing.TB, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, p.Admin+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("hydra admin %s %s: %v", method, path, err)
		return 0
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		json.Unmarshal(raw, out)
	}
	return res.StatusCode
}

// loginConsent accepts every login challenge for the current user and
// every consent challenge with the requested scopes and the user's claims.
func (p *Provider) loginConsent(t testing.TB) http.Handler {
	mux := http.NewServeMux()
	accept := func(w http.ResponseWriter, path string, body any) {
		var out struct {
			RedirectTo string `json:"redirect_to"`
		}
		if status := p.adminCall(t, "PUT", path, body, &out); status != http.StatusOK || out.RedirectTo == "" {
			http.Error(w, fmt.Sprintf("hydra refused %s: %d", path, status), http.StatusBadGateway)
			return
		}
		w.Header().Set("Location", out.RedirectTo)
		w.WriteHeader(http.StatusFound)
	}
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		ch := url.QueryEscape(r.URL.Query().Get("login_challenge"))
		accept(w, "/admin/oauth2/auth/requests/login/accept?login_challenge="+ch,
			map[string]any{"subject": p.current().Subject, "remember": false})
	})
	mux.HandleFunc("GET /consent", func(w http.ResponseWriter, r *http.Request) {
		ch := url.QueryEscape(r.URL.Query().Get("consent_challenge"))
		var req struct {
			RequestedScope    []string `json:"requested_scope"`
			RequestedAudience []string `json:"requested_access_token_audience"`
		}
		p.adminCall(t, "GET", "/admin/oauth2/auth/requests/consent?consent_challenge="+ch, nil, &req)
		u := p.current()
		id := map[string]any{"email": u.Email, "email_verified": u.EmailVerified}
		for k, v := range map[string]string{"given_name": u.GivenName, "family_name": u.FamilyName, "locale": u.Locale} {
			if v != "" {
				id[k] = v
			}
		}
		at := u.AccessTokenClaims
		if at == nil {
			at = map[string]any{}
		}
		accept(w, "/admin/oauth2/auth/requests/consent/accept?consent_challenge="+ch, map[string]any{
			"grant_scope": req.RequestedScope, "grant_access_token_audience": req.RequestedAudience, "remember": false,
			"session": map[string]any{"id_token": id, "access_token": at},
		})
	})
	return mux
}

// IntrospectionURL is Hydra's RFC 7662 endpoint.
func (p *Provider) IntrospectionURL() string { return p.Admin + "/admin/oauth2/introspect" }
