package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/app"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// TestNoUsableTokenAtRest runs every flow that mails a link, then reads the
// raw database (the SQLite file with its WAL and shared-memory files, or a
// pg_dump of the test's schema) and looks for every token mailed and every
// stored secret: none may be there, in the clear, queued or delivered.
func TestNoUsableTokenAtRest(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		logOnFailure(t, e)
		secrets := map[string]string{}

		// Stored secrets onboard must use later: the Partner Provider secret
		// and a labelpartner's introspection client secret.
		partnerSecret := "pp-" + randomHex(t)
		r := e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil)
		expect(t, r, http.StatusOK)
		o := r.json(t)
		o["partner_provider"] = map[string]any{"url": "https://partners.example/lookup", "secret": partnerSecret, "name_field": "name"}
		expect(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), o), http.StatusOK)
		secrets["partner provider secret"] = partnerSecret
		introspectionSecret := "is-" + randomHex(t)
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/labelpartners"), map[string]any{"name": "lp-rest", "password_policy": "pincode",
			"introspection": map[string]any{"url": "https://idp.example/introspect", "client_id": "onboard", "client_secret": introspectionSecret}}), http.StatusCreated)
		secrets["introspection client secret"] = introspectionSecret
		// The store reads them back in the clear.
		org, err := e.app.Store().OrganizationByName(context.Background(), "default")
		if err != nil || org.Onboarding.PartnerProvider == nil || org.Onboarding.PartnerProvider.Secret != partnerSecret {
			t.Fatalf("partner provider read back: %+v, %v", org.Onboarding.PartnerProvider, err)
		}
		lp, err := e.app.Store().LabelpartnerByName(context.Background(), "lp-rest")
		if err != nil || lp.IntrospectionClientSecret != introspectionSecret {
			t.Fatalf("introspection secret read back: %q, %v", lp.IntrospectionClientSecret, err)
		}

		// Signup.
		secrets["signup token"] = e.startSignup("signup@example.com", "customer_business")
		// Invitation.
		ada := e.registerMember("ada@example.com")
		_, secrets["invitation token"] = e.invite(ada, "charles@example.com", "customer_user")
		// Password reset.
		n := e.mails()
		expect(t, e.do("POST", "/api/v1/password-resets", map[string]any{"email": "ada@example.com"}), http.StatusAccepted)
		secrets["password reset token"] = e.linkSince(n, "ada@example.com", "/reset-password")
		// Email change.
		n = e.mails()
		expect(t, e.as(ada.token, "POST", "/api/v1/me/email", map[string]any{"email": "ada@example.org", "current_password": goodPassword}), http.StatusAccepted)
		secrets["email change token"] = e.linkSince(n, "ada@example.org", "/confirm-email")
		// B2B verification and reset.
		w := newB2BWorld(t, e, "")
		w.provision(t, endUser("enduser@example.com", "lp-pin"))
		secrets["b2b verification token"] = w.verifyLink(t, "enduser@example.com", "Ada", "Lovelace", "lp-pin")
		okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": secrets["b2b verification token"]}))
		okStatus(t, w.noGateway("enduser@example.com", "493817"))
		n = e.mails()
		okStatus(t, e.do("PUT", "/v2/registration/resetpassword", map[string]any{"email_address": "enduser@example.com"}))
		secrets["b2b reset token"] = e.linkSince(n, "enduser@example.com", "/v2/registration/resetpassword")
		// Back-office customer invitation.
		n = e.mails()
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/customers"), map[string]any{"type": "personal",
			"user": map[string]any{"email": "backoffice@example.com", "first_name": "Back", "last_name": "Office"}}), http.StatusCreated)
		secrets["back-office invitation token"] = e.linkSince(n, "backoffice@example.com", "/invitation")

		for what, s := range secrets {
			if len(s) < 16 {
				t.Fatalf("%s %q: too short to look for", what, s)
			}
		}
		// Delivered mail keeps its recipient, template and Message-ID, not its bodies.
		waitUntil(t, 10*time.Second, func() bool { return e.countWhere("outbox", "state <> 'sent'") == 0 })
		if n := e.countWhere("outbox", "text_body <> '' OR html_body <> ''"); n != 0 {
			t.Errorf("%d delivered mails keep their bodies", n)
		}
		if n := e.countWhere("outbox", "to_addr = '' OR template = '' OR message_id = '' OR sent_at IS NULL"); n != 0 {
			t.Errorf("%d delivered mails lost their recipient, template, Message-ID or time", n)
		}

		dump := rawDatabase(t, dsn)
		for what, s := range secrets {
			if bytes.Contains(dump, []byte(s)) {
				t.Errorf("the %s is stored in the clear", what)
			}
		}
	})
}

// TestQueuedMailSealed: a mail waiting in the outbox holds its bodies only
// sealed, so a token read from the database is no token; after a restart
// the mail is delivered with its link intact.
func TestQueuedMailSealed(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		logOnFailure(t, e)
		e.smtp.Stop()
		expect(t, e.do("POST", "/api/v1/signups", map[string]any{"email": "queued@example.com", "account_type": "customer_business"}), http.StatusAccepted)
		waitOutbox(t, e, "queued@example.com")
		var text, html string
		if err := e.app.Store().DB().QueryRow(`SELECT text_body, html_body FROM outbox WHERE to_addr = 'queued@example.com'`).Scan(&text, &html); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{text, html} {
			if !strings.HasPrefix(body, "sb1:") || strings.Contains(body, "token=") || strings.Contains(body, "/register") {
				t.Fatalf("queued body is not sealed: %.80q", body)
			}
		}
		e.stop()
		e.smtp.Restart(t)
		e.boot()
		// The link names the address the first run listened on.
		msg := e.smtp.WaitFor(t, 15*time.Second, smtptest.SentTo("queued@example.com"))
		_, tok, ok := strings.Cut(msg.Text, "/register?token=")
		if !ok || len(tok) < 43 {
			t.Fatalf("no link in the delivered mail:\n%s", msg.Text)
		}
		expect(t, e.do("GET", "/api/v1/signups/"+tok[:43], nil), http.StatusOK)
	})
}

// TestLegacyPlaintextSealedAtStart: rows an older version wrote in
// plaintext are sealed when the service starts; a rotated key re-seals
// everything under the new key; a key that opens nothing stops the start.
func TestLegacyPlaintextSealedAtStart(t *testing.T) {
	t.Parallel()
	const k1 = "k1:MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="
	const k2 = "k2:MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjI="
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn, func(c *config.Config) { c.SecretKey = k1 })
		logOnFailure(t, e)
		e.smtp.Stop()
		r := e.admin(envAdminKey, "GET", adminPath("default", "/onboarding"), nil)
		o := r.json(t)
		o["partner_provider"] = map[string]any{"url": "https://partners.example/lookup", "secret": "placeholder-secret-0000", "name_field": "name"}
		expect(t, e.admin(envAdminKey, "PUT", adminPath("default", "/onboarding"), o), http.StatusOK)
		expect(t, e.admin(envAdminKey, "POST", adminPath("default", "/labelpartners"), map[string]any{"name": "lp-old", "password_policy": "pincode",
			"introspection": map[string]any{"url": "https://idp.example/introspect", "client_id": "onboard", "client_secret": "placeholder"}}), http.StatusCreated)
		expect(t, e.do("POST", "/api/v1/signups", map[string]any{"email": "old@example.com", "account_type": "customer_business"}), http.StatusAccepted)
		waitOutbox(t, e, "old@example.com")

		// What an older version wrote: everything in plaintext.
		e.exec(`UPDATE outbox SET text_body = 'legacy link https://x.example/register?token=legacy-token-in-the-clear', html_body = '<p>legacy</p>'`)
		var raw string
		if err := e.app.Store().DB().QueryRow(`SELECT onboarding FROM organizations WHERE name = 'default'`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		pp := strings.Index(raw, `"secret":"`)
		end := strings.Index(raw[pp+len(`"secret":"`):], `"`)
		raw = raw[:pp] + `"secret":"legacy-partner-secret-0123"` + raw[pp+len(`"secret":"`)+end+1:]
		e.exec(`UPDATE organizations SET onboarding = $1 WHERE name = 'default'`, raw)
		e.exec(`UPDATE b2b_labelpartners SET introspection_client_secret = 'legacy-introspection-secret' WHERE name = 'lp-old'`)

		// Restart: sealed under k1.
		e.stop()
		e.boot()
		checkSealed := func(keyID string) {
			t.Helper()
			var text, html, onboarding, lpSecret string
			db := e.app.Store().DB()
			if err := db.QueryRow(`SELECT text_body, html_body FROM outbox WHERE to_addr = 'old@example.com'`).Scan(&text, &html); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`SELECT onboarding FROM organizations WHERE name = 'default'`).Scan(&onboarding); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`SELECT introspection_client_secret FROM b2b_labelpartners WHERE name = 'lp-old'`).Scan(&lpSecret); err != nil {
				t.Fatal(err)
			}
			for what, v := range map[string]string{"text body": text, "html body": html, "introspection secret": lpSecret} {
				if !strings.HasPrefix(v, "sb1:"+keyID+":") {
					t.Errorf("%s not sealed under %s: %.60q", what, keyID, v)
				}
			}
			if !strings.Contains(onboarding, `"secret":"sb1:`+keyID+`:`) || strings.Contains(onboarding, "legacy") {
				t.Errorf("partner provider secret not sealed under %s: %s", keyID, onboarding)
			}
			ctx := context.Background()
			org, err := e.app.Store().OrganizationByName(ctx, "default")
			if err != nil || org.Onboarding.PartnerProvider.Secret != "legacy-partner-secret-0123" {
				t.Errorf("partner secret reads %+v, %v", org.Onboarding.PartnerProvider, err)
			}
			lp, err := e.app.Store().LabelpartnerByName(ctx, "lp-old")
			if err != nil || lp.IntrospectionClientSecret != "legacy-introspection-secret" {
				t.Errorf("introspection secret reads %q, %v", lp.IntrospectionClientSecret, err)
			}
		}
		checkSealed("k1")

		// Rotation: k2 active, k1 still known; everything moves to k2.
		e.stop()
		e.cfg.SecretKey = k2 + "," + k1
		e.boot()
		checkSealed("k2")

		// Without the key the values were sealed under, the service does not start.
		e.stop()
		cfg := e.cfg
		cfg.SecretKey = "k3:MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM="
		cfg.PublicURL = "http://127.0.0.1:1"
		a, err := app.New(context.Background(), cfg, discardLogger())
		if err == nil {
			a.Close()
			t.Fatal("started with a key that opens none of the stored secrets")
		}
		if !strings.Contains(err.Error(), `"k2"`) {
			t.Fatalf("error does not name the missing key: %v", err)
		}

		// With the key, the mail goes out with its (legacy) content.
		e.smtp.Restart(t)
		e.boot()
		msg := e.smtp.WaitFor(t, 15*time.Second, smtptest.SentTo("old@example.com"))
		if !strings.Contains(msg.Text, "legacy-token-in-the-clear") {
			t.Fatalf("delivered text:\n%s", msg.Text)
		}
	})
}

// TestDatabaseFilesPrivate: the SQLite database, its WAL and shared-memory
// files and the generated key file are readable by the owner only.
func TestDatabaseFilesPrivate(t *testing.T) {
	t.Parallel()
	dsn := dbtest.SQLite(t)
	e := start(t, dsn)
	e.register("files@example.com", "customer_business")
	for _, p := range []string{dsn, dsn + "-wal", dsn + "-shm", dsn + ".key"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p[strings.LastIndex(p, "/")+1:], fi.Mode().Perm())
		}
	}
	if !strings.Contains(e.logs.String(), "created the secret key file") {
		t.Error("the creation of the key file was not logged")
	}
	e.stop()
	e.boot()
	if strings.Contains(e.logs.String(), "created the secret key file") {
		t.Error("the key file was created again")
	}
}

// TestPostgresNeedsSecretKey: on PostgreSQL no key is made up.
func TestPostgresNeedsSecretKey(t *testing.T) {
	t.Parallel()
	cfg := testConfig(dbtest.Postgres(t))
	cfg.SecretKey = ""
	a, err := app.New(context.Background(), cfg, discardLogger())
	if err == nil {
		a.Close()
		t.Fatal("started on PostgreSQL without a secret key")
	}
	if !strings.Contains(err.Error(), "ONBOARD_SECRET_KEY") {
		t.Fatalf("error does not say what to set: %v", err)
	}
}

// rawDatabase returns every byte of the database as stored: the SQLite
// files, or a pg_dump of the PostgreSQL schema.
func rawDatabase(t *testing.T, dsn string) []byte {
	t.Helper()
	if !store.IsPostgresDSN(dsn) {
		var all []byte
		for _, p := range []string{dsn, dsn + "-wal", dsn + "-shm"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if len(all) == 0 {
			t.Fatal("no database files")
		}
		return all
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	q.Del("search_path")
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "pg_dump", "--schema="+schema, u.String()).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(out, []byte("outbox")) {
		t.Fatalf("pg_dump has no outbox table:\n%.500s", out)
	}
	return out
}

func randomHex(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitOutbox waits until the job worker has queued a mail to addr: requests
// that name an address are done by the worker after the answer.
func waitOutbox(t *testing.T, e *env, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := e.app.Store().DB().QueryRow(`SELECT count(*) FROM outbox WHERE to_addr = $1`, addr).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s queued within 10s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
