package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/flows"
)

// Helpers of the admin API tests.

// envAdminKey is the full-rights key the admin tests configure.
const envAdminKey = "env-admin-key-for-tests-0123456789"

// startAdmin runs onboard with the full-rights admin key configured.
func startAdmin(t *testing.T, dsn string, mutate ...func(*config.Config)) *env {
	t.Helper()
	return start(t, dsn, append([]func(*config.Config){func(c *config.Config) { c.AdminKey = envAdminKey }}, mutate...)...)
}

// adminPath is the admin API path of an organization ("" for the list).
func adminPath(org, rest string) string {
	if org == "" {
		return "/api/v1/admin/organizations" + rest
	}
	return "/api/v1/admin/organizations/" + org + rest
}

// admin sends an admin API request with key.
func (e *env) admin(key, method, path string, body any) response {
	e.t.Helper()
	return e.do(method, path, body, "Authorization", "Bearer "+key)
}

// orgKey issues an admin key for the organization, as the CLI does.
func (e *env) orgKey(org, name string) (key, id string) {
	e.t.Helper()
	key, k, err := flows.CreateAdminKey(context.Background(), e.app.Store(), org, name)
	if err != nil {
		e.t.Fatalf("create admin key: %v", err)
	}
	return key, k.ID
}

// createOrg creates an organization with the full-rights key.
func (e *env) createOrg(name string) {
	e.t.Helper()
	r := e.admin(envAdminKey, "POST", adminPath("", ""), map[string]any{"name": name, "display_name": strings.ToUpper(name)})
	expect(e.t, r, http.StatusCreated)
}

// decodeAs decodes a response body into v.
func decodeAs(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.body)
	}
}

// auditEntry is an entry of the audit log as the API shows it.
type auditEntry struct {
	ID        string         `json:"id"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	SubjectID string         `json:"subject_id"`
	Data      map[string]any `json:"data"`
	CreatedAt time.Time      `json:"created_at"`
}

// audit reads the organization's audit log for an action prefix.
func (e *env) audit(org, action string) []auditEntry {
	e.t.Helper()
	r := e.admin(envAdminKey, "GET", adminPath(org, "/audit?limit=500&action="+action), nil)
	expect(e.t, r, http.StatusOK)
	var out struct{ Entries []auditEntry }
	decodeAs(e.t, r, &out)
	return out.Entries
}

// lastAudit returns the newest entry of exactly action, checking who made it
// and that it is recent.
func (e *env) lastAudit(org, action, actor, subject string) auditEntry {
	e.t.Helper()
	for _, a := range e.audit(org, action) {
		if a.Action != action || (subject != "" && a.SubjectID != subject) {
			continue
		}
		if a.Actor != actor {
			e.t.Fatalf("audit %s by %q, want %q", action, a.Actor, actor)
		}
		if age := time.Since(a.CreatedAt); age < -time.Minute || age > time.Minute {
			e.t.Fatalf("audit %s at %v, not now", action, a.CreatedAt)
		}
		return a
	}
	e.t.Fatalf("no audit entry %s of %q", action, subject)
	return auditEntry{}
}

// field returns data[path…] of a decoded JSON object, "" when missing.
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// names returns the "name" member of each object of a JSON list.
func names(list []any) []string {
	var out []string
	for _, x := range list {
		out = append(out, fmt.Sprint(x.(map[string]any)["name"]))
	}
	return out
}

// hasAll reports whether got holds every want.
func hasAll(got []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}
