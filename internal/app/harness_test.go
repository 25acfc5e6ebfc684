package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/app"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/httpapi"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// env is a running onboard with a real SMTP server, driven over HTTP.
type env struct {
	t      *testing.T
	dsn    string
	cfg    config.Config
	smtp   *smtptest.Server
	app    *app.App
	base   string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
	clock  *testClock
}

// testClock is the app's clock in the tests: real time moved forward by
// what the test advanced, so that expiry, lockouts and rate windows are
// tested without waiting, while workers and retries keep running.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the test's time.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// advance moves the clock forward by d.
func (e *env) advance(d time.Duration) {
	e.clock.mu.Lock()
	defer e.clock.mu.Unlock()
	e.clock.offset += d
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testSecretKey is the keyring of the tests on PostgreSQL.
const testSecretKey = "test1:dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="

// testConfig is the default configuration with cheap hashing and fast retries.
func testConfig(dsn string) config.Config {
	cfg := config.Default()
	cfg.DB = dsn
	cfg.Addr = "127.0.0.1:0"
	cfg.Argon2Memory, cfg.Argon2Time = 64, 1
	cfg.MailRetryBase, cfg.MailRetryMax = 50*time.Millisecond, 400*time.Millisecond
	if store.IsPostgresDSN(dsn) {
		// PostgreSQL needs a configured key; SQLite makes its own key file.
		cfg.SecretKey = testSecretKey
	}
	// Plugins and identity providers of the tests are httptest servers on
	// 127.0.0.1; the tests of the outbound rules turn this off.
	cfg.OutboundAllowPrivate = true
	return cfg
}

// start runs onboard on dsn with a new SMTP server; mutate may change the config.
func start(t *testing.T, dsn string, mutate ...func(*config.Config)) *env {
	t.Helper()
	e := &env{t: t, dsn: dsn, smtp: smtptest.Start(t), clock: &testClock{}}
	e.cfg = testConfig(dsn)
	e.cfg.SMTPURL = e.smtp.URL()
	for _, m := range mutate {
		m(&e.cfg)
	}
	e.boot()
	return e
}

// boot starts the app on a fresh port.
func (e *env) boot() {
	t := e.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	cfg := e.cfg
	cfg.PublicURL = e.base
	logs := &syncBuffer{}
	e.logs = logs
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), cfg, logger, app.WithClock(e.clock.Now))
	if err != nil {
		ln.Close()
		t.Fatalf("app.New: %v", err)
	}
	e.app = a
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- a.Run(ctx, ln) }()
	t.Cleanup(e.stop)
}

// stop shuts the app down gracefully (idempotent).
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		e.t.Error("app did not stop within 20s")
	}
	e.app.Close()
	e.cancel = nil
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request; body is JSON-encoded unless it is a string or []byte.
func (e *env) do(method, path string, body any, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := contractClient(e.t).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// expect fails the test unless the response has the status.
func expect(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.body)
	}
}

// startSignup asks for a registration link and returns its token, read from
// the delivered mail.
func (e *env) startSignup(email, accountType string) string {
	e.t.Helper()
	before := len(e.smtp.Messages())
	r := e.do("POST", "/api/v1/signups", map[string]any{"email": email, "account_type": accountType})
	expect(e.t, r, http.StatusAccepted)
	msg := e.smtp.WaitFor(e.t, 10*time.Second, func(m smtptest.Message) bool {
		return len(m.To) == 1 && strings.EqualFold(m.To[0], email) && strings.Contains(m.Text, "/register?token=") &&
			!containsMessage(e.smtp.Messages()[:before], m.MessageID)
	})
	link := msg.Link(e.base + "/register?token=")
	if link == "" {
		e.t.Fatalf("no registration link in mail:\n%s", msg.Text)
	}
	u, err := url.Parse(link)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Query().Get("token")
}

func containsMessage(ms []smtptest.Message, id string) bool {
	for _, m := range ms {
		if m.MessageID == id {
			return true
		}
	}
	return false
}

// form fetches the registration form and returns the ids of its agreements.
func (e *env) agreementIDs(token string) []string {
	e.t.Helper()
	r := e.do("GET", "/api/v1/signups/"+token, nil)
	expect(e.t, r, http.StatusOK)
	var form struct {
		Agreements []struct{ ID string } `json:"agreements"`
	}
	if err := json.Unmarshal(r.body, &form); err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, a := range form.Agreements {
		ids = append(ids, a.ID)
	}
	return ids
}

const goodPassword = "correct horse battery staple 42"

// completion is a valid completion body for the account type.
func (e *env) completion(token, accountType string) map[string]any {
	body := map[string]any{
		"user":                map[string]any{"first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0000"},
		"password":            goodPassword,
		"accepted_agreements": e.agreementIDs(token),
		"customer":            map[string]any{},
	}
	if accountType == "customer_business" {
		body["customer"] = map[string]any{"name": "Analytical Engines Ltd"}
	}
	return body
}

// register runs the whole flow for email and returns the completion answer.
func (e *env) register(email, accountType string) map[string]any {
	e.t.Helper()
	token := e.startSignup(email, accountType)
	r := e.do("POST", "/api/v1/signups/"+token, e.completion(token, accountType))
	expect(e.t, r, http.StatusCreated)
	return r.json(e.t)
}

// login signs in and returns the session token.
func (e *env) login(email, password string) string {
	e.t.Helper()
	r := e.do("POST", "/api/v1/sessions", map[string]any{"email": email, "password": password})
	expect(e.t, r, http.StatusCreated)
	tok := payloadOf[httpapi.Session](e.t, r).Token
	if tok == "" {
		e.t.Fatalf("no token in %s", r.body)
	}
	return tok
}

// count returns the number of rows of a table.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func readResponse(t *testing.T, res *http.Response) response {
	t.Helper()
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}
