package app_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Tests of the management of API clients: list, get, change, revoke and
// rotate the secret.

// adminClient is a client as the admin API lists it.
type adminClient struct {
	ID            string     `json:"id"`
	ClientID      string     `json:"client_id"`
	Name          string     `json:"name"`
	Kind          string     `json:"kind"`
	Labelpartners []string   `json:"labelpartners"`
	CreatedAt     time.Time  `json:"created_at"`
	LastUsedAt    *time.Time `json:"last_used_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
}

// clients lists the organization's clients with the full-rights key.
func (e *env) clients(org string) ([]adminClient, response) {
	e.t.Helper()
	r := e.admin(envAdminKey, "GET", adminPath(org, "/clients"), nil)
	expect(e.t, r, http.StatusOK)
	var out struct{ Clients []adminClient }
	decodeAs(e.t, r, &out)
	return out.Clients, r
}

// clientRow returns the listed client with that client_id.
func (e *env) clientRow(org, clientID string) adminClient {
	e.t.Helper()
	cs, _ := e.clients(org)
	i := slices.IndexFunc(cs, func(c adminClient) bool { return c.ClientID == clientID })
	if i < 0 {
		e.t.Fatalf("client %s is not listed in %s", clientID, org)
	}
	return cs[i]
}

// expectProblem checks a problem answer's status and type slug.
func expectProblem(t *testing.T, r response, status int, slug string) {
	t.Helper()
	checkProblem(t, r, status, "")
	if got := problemType(t, r); got != slug {
		t.Fatalf("problem type %q, want %q: %s", got, slug, r.body)
	}
}

// clientToken asks /api/v1/b2b/token with client credentials in the form.
func (e *env) clientToken(id, secret string) response {
	e.t.Helper()
	return e.form("/api/v1/b2b/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
}

// lateClientToken stores a live access token of the client, as if issued
// after the client's tokens were revoked, and returns it.
func (e *env) lateClientToken(id, clientID string) string {
	e.t.Helper()
	ctx := context.Background()
	org, err := e.app.Store().OrganizationByName(ctx, "default")
	if err != nil {
		e.t.Fatal(err)
	}
	tok, hash, err := auth.NewToken()
	if err != nil {
		e.t.Fatal(err)
	}
	now := store.Now()
	if err := e.app.Store().CreateB2BToken(ctx, domain.B2BToken{ID: store.NewID(), OrgID: org.ID, Kind: "client_access", SubjectID: id,
		ClientID: clientID, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func TestB2BClientListAndGet(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")

		cs, r := e.clients("default")
		if got := []string{cs[0].Name, cs[1].Name, cs[2].Name}; len(cs) != 3 || !slices.Equal(got, []string{"crm-a", "crm-b", "app"}) {
			t.Fatalf("clients %s, want crm-a, crm-b, app oldest first", r.body)
		}
		for _, secret := range []string{w.b2bSecret, w.appSecret} {
			if strings.Contains(string(r.body), secret) {
				t.Fatal("the list shows a client secret")
			}
		}
		for _, word := range []string{"secret", "hash"} {
			if strings.Contains(string(r.body), word) {
				t.Fatalf("the list mentions %q: %s", word, r.body)
			}
		}
		crm := e.clientRow("default", w.b2bID)
		if crm.Kind != "b2b" || !slices.Equal(crm.Labelpartners, []string{"lp-pin", "lp-pw", "lp-def", "lp-sso"}) || crm.ID == "" ||
			crm.CreatedAt.IsZero() || crm.RevokedAt != nil {
			t.Fatalf("crm-a listed as %+v", crm)
		}
		// crm-a obtained a token while the world was set up; the app did not.
		if crm.LastUsedAt == nil || time.Since(*crm.LastUsedAt) > time.Minute {
			t.Errorf("crm-a last used %v, want just now", crm.LastUsedAt)
		}
		app := e.clientRow("default", w.appID)
		if app.LastUsedAt != nil || app.Kind != "app" || app.Labelpartners == nil || len(app.Labelpartners) != 0 {
			t.Errorf("app listed as %+v, want never used and no labelpartners", app)
		}

		r = e.admin(envAdminKey, "GET", adminPath("default", "/clients/"+crm.ID), nil)
		expect(t, r, http.StatusOK)
		var got adminClient
		decodeAs(t, r, &got)
		if got.ClientID != w.b2bID || got.Name != "crm-a" || strings.Contains(string(r.body), w.b2bSecret) || strings.Contains(string(r.body), "secret") {
			t.Fatalf("get %s", r.body)
		}

		// An organization without clients lists none ([] rather than null).
		e.createOrg("empty")
		r = e.admin(envAdminKey, "GET", adminPath("empty", "/clients"), nil)
		expect(t, r, http.StatusOK)
		if strings.TrimSpace(string(r.body)) != `{"clients":[]}` {
			t.Errorf("empty list %s", r.body)
		}
	})
}

// TestB2BClientNotFound: every client endpoint answers 404 for unknown and
// malformed ids, for another organization's client, and for an organization
// the key may not see; nothing changes.
func TestB2BClientNotFound(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		e.createOrg("acme")
		r := e.admin(envAdminKey, "POST", adminPath("acme", "/clients"), map[string]any{"name": "acme-crm", "kind": "b2b"})
		expect(t, r, http.StatusCreated)
		acmeID, acmeSecret := r.json(t)["client_id"].(string), r.json(t)["client_secret"].(string)
		acme := e.clientRow("acme", acmeID)
		own := e.clientRow("default", w.b2bID)
		defaultKey, _ := e.orgKey("default", "ops")
		acmeKey, _ := e.orgKey("acme", "ops")

		for _, tc := range []struct {
			name, key, org, id, slug string
		}{
			{"unknown id", envAdminKey, "default", "0196f1c4-0000-7000-8000-000000000000", "client-not-found"},
			{"malformed id", envAdminKey, "default", "no%20such!", "client-not-found"},
			{"another organization's client", envAdminKey, "default", acme.ID, "client-not-found"},
			{"another organization's client, organization key", defaultKey, "default", acme.ID, "client-not-found"},
			{"organization of another tenant", defaultKey, "acme", acme.ID, "organization-not-found"},
			{"own client through another tenant's key", acmeKey, "default", own.ID, "organization-not-found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				base := adminPath(tc.org, "/clients/"+tc.id)
				for _, req := range []struct {
					method, path string
					body         any
				}{
					{"GET", base, nil},
					{"PATCH", base, map[string]any{"name": "taken-over"}},
					{"DELETE", base, nil},
					{"POST", base + "/secret", nil},
				} {
					expectProblem(t, e.admin(tc.key, req.method, req.path, req.body), http.StatusNotFound, tc.slug)
				}
			})
		}
		// Nothing changed: both clients still work under their names.
		expect(t, e.clientToken(acmeID, acmeSecret), http.StatusOK)
		expect(t, e.clientToken(w.b2bID, w.b2bSecret), http.StatusOK)
		if c := e.clientRow("acme", acmeID); c.Name != "acme-crm" || c.RevokedAt != nil {
			t.Fatalf("acme's client changed: %+v", c)
		}
		if n := len(e.audit("acme", "client.")); n != 1 {
			t.Errorf("acme has %d client audit entries, want only client.created", n)
		}
		// An organization key sees its own clients.
		expect(t, e.admin(defaultKey, "GET", adminPath("default", "/clients/"+own.ID), nil), http.StatusOK)
		expect(t, e.do("GET", adminPath("default", "/clients/"+own.ID), nil), http.StatusUnauthorized)
	})
}

func TestB2BClientRevoke(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		key, keyID := e.orgKey("default", "ops")
		actor := "admin:" + keyID + ":ops"

		// A b2b client: its token works, then revocation ends it at once.
		endUserID := w.provision(t, endUser("ada@example.com", "lp-pin", "create_verified_user", true))
		expect(t, e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusOK)
		wrong := e.clientToken(w.b2bID, "wrong-secret")
		oauthError(t, wrong, http.StatusUnauthorized, "invalid_client")
		crm := e.clientRow("default", w.b2bID)
		// (A token stored like lateClientToken's works while the client does.)
		expect(t, e.admin(e.lateClientToken(crm.ID, w.b2bID), "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusOK)
		r := e.admin(key, "DELETE", adminPath("default", "/clients/"+crm.ID), nil)
		expect(t, r, http.StatusNoContent)
		if len(r.body) != 0 {
			t.Errorf("204 with a body: %s", r.body)
		}
		checkProblem(t, e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusUnauthorized, "")
		refused := e.clientToken(w.b2bID, w.b2bSecret)
		oauthError(t, refused, http.StatusUnauthorized, "invalid_client")
		if string(refused.body) != string(wrong.body) || refused.header.Get("WWW-Authenticate") != wrong.header.Get("WWW-Authenticate") {
			t.Errorf("a revoked client is told apart from a wrong secret:\n%s\n%s", refused.body, wrong.body)
		}
		// A token issued while the client was being revoked (it escaped the
		// revocation of the client's tokens) does not work either.
		late := e.lateClientToken(crm.ID, w.b2bID)
		checkProblem(t, e.admin(late, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusUnauthorized, "")
		// The row stays, revoked.
		got := e.clientRow("default", w.b2bID)
		if got.RevokedAt == nil || time.Since(*got.RevokedAt) > time.Minute || got.Name != "crm-a" {
			t.Fatalf("revoked client listed as %+v", got)
		}
		// Revoking again is harmless: 204, no second audit entry.
		expect(t, e.admin(key, "DELETE", adminPath("default", "/clients/"+crm.ID), nil), http.StatusNoContent)
		if again := e.clientRow("default", w.b2bID); !again.RevokedAt.Equal(*got.RevokedAt) {
			t.Errorf("second revocation moved revoked_at from %v to %v", got.RevokedAt, again.RevokedAt)
		}
		var entries []auditEntry
		for _, a := range e.audit("default", "client.revoked") {
			if a.SubjectID == crm.ID {
				entries = append(entries, a)
			}
		}
		if len(entries) != 1 {
			t.Fatalf("%d client.revoked entries, want 1", len(entries))
		}
		a := e.lastAudit("default", "client.revoked", actor, crm.ID)
		if field(a.Data, "before", "revoked_at") != nil || field(a.Data, "after", "revoked_at") == nil ||
			field(a.Data, "before", "client_id") != w.b2bID || a.Data["tokens_revoked"] != float64(2) {
			t.Errorf("audit %+v", a.Data)
		}
		// A revoked client cannot be changed; its name may be reused.
		expectProblem(t, e.admin(key, "PATCH", adminPath("default", "/clients/"+crm.ID), map[string]any{"name": "zombie"}), http.StatusConflict, "client-revoked")
		expectProblem(t, e.admin(key, "POST", adminPath("default", "/clients/"+crm.ID+"/secret"), nil), http.StatusConflict, "client-revoked")
		newID, newSecret := w.client(t, "crm-a", "b2b", "lp-pin")
		newToken := w.token(t, newID, newSecret)
		expect(t, e.admin(newToken, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusOK)
		oauthError(t, e.clientToken(w.b2bID, w.b2bSecret), http.StatusUnauthorized, "invalid_client")
		// crm-b is untouched.
		checkProblem(t, e.admin(w.clientB, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusNotFound, "")

		// An app client: its end users' tokens go with it.
		okStatus(t, w.noGateway("ada@example.com", "493817"))
		access, refresh := tokens(t, w.password("ada@example.com", "493817"))
		otherID, otherSecret := w.client(t, "app-2", "app")
		_, otherRefresh := tokens(t, e.form("/v2/token", url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {"493817"},
			"client_id": {otherID}, "client_secret": {otherSecret}}))
		if n := e.countWhere("b2b_tokens", "client_id = $1 AND revoked_at IS NULL", w.appID); n != 2 {
			t.Fatalf("%d live tokens of the app client before revocation, want 2", n)
		}
		app := e.clientRow("default", w.appID)
		expect(t, e.admin(key, "DELETE", adminPath("default", "/clients/"+app.ID), nil), http.StatusNoContent)
		if n := e.countWhere("b2b_tokens", "client_id = $1 AND revoked_at IS NULL", w.appID); n != 0 {
			t.Errorf("%d tokens issued through the revoked app client are still live", n)
		}
		if n := e.countWhere("b2b_tokens", "token_hash = $1 AND revoked_at IS NOT NULL", auth.HashToken(access)); n != 1 {
			t.Error("the end user's access token from the revoked app client is not revoked")
		}
		oauthError(t, w.refresh(refresh), http.StatusUnauthorized, "invalid_client")
		oauthError(t, w.password("ada@example.com", "493817"), http.StatusUnauthorized, "invalid_client")
		// Another app client cannot refresh it either; its own tokens stay.
		oauthError(t, e.form("/v2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
			"client_id": {otherID}, "client_secret": {otherSecret}}), http.StatusBadRequest, "invalid_grant")
		tokens(t, e.form("/v2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {otherRefresh},
			"client_id": {otherID}, "client_secret": {otherSecret}}))
		a = e.lastAudit("default", "client.revoked", actor, app.ID)
		if a.Data["tokens_revoked"] != float64(2) || field(a.Data, "after", "kind") != "app" {
			t.Errorf("app audit %+v", a.Data)
		}
	})
}

func TestB2BClientRotateSecret(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		crm := e.clientRow("default", w.b2bID)
		endUserID := w.provision(t, endUser("ada@example.com", "lp-pin", "create_verified_user", true))

		r := e.admin(envAdminKey, "POST", adminPath("default", "/clients/"+crm.ID+"/secret"), nil)
		expect(t, r, http.StatusOK)
		var creds struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		decodeAs(t, r, &creds)
		if creds.ClientID != w.b2bID || creds.ClientSecret == "" || creds.ClientSecret == w.b2bSecret || len(r.json(t)) != 2 {
			t.Fatalf("rotation answer %s", r.body)
		}
		oauthError(t, e.clientToken(w.b2bID, w.b2bSecret), http.StatusUnauthorized, "invalid_client")
		// The access token obtained with the old secret ends with it.
		checkProblem(t, e.admin(w.clientA, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusUnauthorized, "")
		tok := w.token(t, creds.ClientID, creds.ClientSecret)
		expect(t, e.admin(tok, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusOK)
		// crm-b's token is untouched.
		checkProblem(t, e.admin(w.clientB, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusNotFound, "")

		a := e.lastAudit("default", "client.secret_rotated", "admin:environment", crm.ID)
		before, _ := field(a.Data, "before", "secret").(string)
		after, _ := field(a.Data, "after", "secret").(string)
		if !strings.HasPrefix(before, "sha256:") || !strings.HasPrefix(after, "sha256:") || before == after || a.Data["tokens_revoked"] != float64(1) {
			t.Errorf("audit %+v", a.Data)
		}
		r = e.admin(envAdminKey, "GET", adminPath("default", "/audit?limit=500"), nil)
		if strings.Contains(string(r.body), creds.ClientSecret) || strings.Contains(string(r.body), w.b2bSecret) {
			t.Error("the audit log holds a client secret")
		}

		// An app client: the old secret stops, its end users' tokens stay
		// and are refreshed with the new secret.
		okStatus(t, w.noGateway("ada@example.com", "493817"))
		_, refresh := tokens(t, w.password("ada@example.com", "493817"))
		app := e.clientRow("default", w.appID)
		r = e.admin(envAdminKey, "POST", adminPath("default", "/clients/"+app.ID+"/secret"), nil)
		expect(t, r, http.StatusOK)
		newSecret := r.json(t)["client_secret"].(string)
		oauthError(t, w.refresh(refresh), http.StatusUnauthorized, "invalid_client")
		w.appSecret = newSecret
		tokens(t, w.refresh(refresh))
		tokens(t, w.password("ada@example.com", "493817"))
	})
}

func TestB2BClientPatch(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := startAdmin(t, dsn)
		w := newB2BWorld(t, e, "")
		cs, _ := e.clients("default")
		b := cs[slices.IndexFunc(cs, func(c adminClient) bool { return c.Name == "crm-b" })]
		path := adminPath("default", "/clients/"+b.ID)
		endUserID := w.provision(t, endUser("ada@example.com", "lp-pin"))
		checkProblem(t, e.admin(w.clientB, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusNotFound, "")

		for _, tc := range []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"nothing to change", map[string]any{}, 422, "name"},
			{"blank name", map[string]any{"name": "  "}, 422, "name"},
			{"unknown labelpartner", map[string]any{"name": "fine", "labelpartners": []string{"lp-other", "nope"}}, 422, "labelpartners[1]"},
			{"another organization's labelpartner", map[string]any{"labelpartners": []string{"acme-lp"}}, 422, "labelpartners[0]"},
			{"kind cannot change", map[string]any{"kind": "app"}, 400, "kind"},
			{"name of another client", map[string]any{"name": "app"}, 409, ""},
			{"not JSON", "{", 400, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.name == "another organization's labelpartner" {
					e.createOrg("acme")
					expect(t, e.admin(envAdminKey, "POST", adminPath("acme", "/labelpartners"), map[string]any{"name": "acme-lp", "password_policy": "pincode"}), http.StatusCreated)
				}
				checkProblem(t, e.admin(envAdminKey, "PATCH", path, tc.body), tc.status, tc.field)
			})
		}
		// Nothing of the refused changes was written.
		if got := e.clientRow("default", b.ClientID); got.Name != "crm-b" || !slices.Equal(got.Labelpartners, []string{"lp-other"}) {
			t.Fatalf("after refused changes: %+v", got)
		}
		if n := len(e.audit("default", "client.updated")); n != 0 {
			t.Fatalf("%d client.updated entries after refused changes", n)
		}

		// Rename and widen: crm-b's existing token sees lp-pin at once.
		r := e.admin(envAdminKey, "PATCH", path, map[string]any{"name": " crm-b2 ", "labelpartners": []string{"lp-other", "lp-pin", "lp-pin"}})
		expect(t, r, http.StatusOK)
		var got adminClient
		decodeAs(t, r, &got)
		if got.Name != "crm-b2" || !slices.Equal(got.Labelpartners, []string{"lp-other", "lp-pin"}) || got.ID != b.ID || got.ClientID != b.ClientID {
			t.Fatalf("patched %s", r.body)
		}
		expect(t, e.admin(w.clientB, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusOK)
		a := e.lastAudit("default", "client.updated", "admin:environment", b.ID)
		if field(a.Data, "before", "name") != "crm-b" || field(a.Data, "after", "name") != "crm-b2" ||
			len(field(a.Data, "after", "labelpartners").([]any)) != 2 {
			t.Errorf("audit %+v", a.Data)
		}
		// Labelpartners alone; then narrowing takes lp-pin away at once.
		r = e.admin(envAdminKey, "PATCH", path, map[string]any{"labelpartners": []string{"lp-other"}})
		expect(t, r, http.StatusOK)
		if r.json(t)["name"] != "crm-b2" {
			t.Errorf("a change of labelpartners renamed the client: %s", r.body)
		}
		checkProblem(t, e.admin(w.clientB, "GET", "/api/v1/b2b/end-users/"+endUserID, nil), http.StatusNotFound, "")
		// The old name is free again.
		w.client(t, "crm-b", "b2b")
	})
}
