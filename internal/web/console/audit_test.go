package console

import (
	"io"
	"log/slog"
	"testing"

	"github.com/onboard-dev/onboard/internal/store"
)

// TestActorName: a named actor reads by kind and name (and its detail) in
// each language, a bus message by its subject, an actor of its own by its
// text, any other (one no longer stored) as its id alone.
func TestActorName(t *testing.T) {
	c := testConsole(t)
	names := map[string]store.ActorName{
		"backoffice:b1":        {Kind: store.ActorBackOffice, Name: "sup@onboard.test"},
		"admin:k1:old":         {Kind: store.ActorAdminKey, Name: "CI deploys"},
		"client:cl_1":          {Kind: store.ActorClient, Name: "Shop app"},
		"user:u2":              {Kind: store.ActorUser, Name: "Ann Lee", Detail: "ann@example.com"},
		"user:u3":              {Kind: store.ActorUser, Detail: "anon@example.com"},
		"end_user:e1":          {Kind: store.ActorEndUser, Name: "ada@example.com"},
		"installation_code:c1": {Kind: store.ActorInstallationCode, Name: "ios", Detail: "Ann's home"},
		"installation_code:c2": {Kind: store.ActorInstallationCode, Name: "android"},
	}
	for _, tc := range []struct{ lang, actor, want string }{
		{"en", "backoffice:b1", "Back-office user sup@onboard.test"},
		{"it", "backoffice:b1", "Utente del back office sup@onboard.test"},
		{"en", "admin:k1:old", "Admin API key “CI deploys”"},
		{"it", "admin:k1:old", "Chiave API di amministrazione «CI deploys»"},
		{"en", "client:cl_1", "B2B API client “Shop app”"},
		{"en", "admin:environment", "The installation's admin key"},
		{"it", "system", "Onboard stesso"},
		{"en", "user:u2", "User Ann Lee (ann@example.com)"},
		{"it", "user:u2", "Utente Ann Lee (ann@example.com)"},
		{"en", "user:u3", "User anon@example.com"},
		{"en", "end_user:e1", "B2B end user ada@example.com"},
		{"it", "end_user:e1", "Utente finale B2B ada@example.com"},
		{"en", "installation_code:c1", "Installation code for ios (Ann's home)"},
		{"it", "installation_code:c2", "Codice di installazione per android"},
		{"en", "nats:b2b.activity", "The message bus (b2b.activity)"},
		{"it", "nats:b2b.activity", "Il bus dei messaggi (b2b.activity)"},
		{"en", "admin", "An admin API key"},
		{"en", "nats:", ""},
		{"en", "user:u1", ""},
		{"en", "end_user:gone", ""},
		{"en", "backoffice:unknown", ""},
	} {
		if got := c.actorName(&req{Lang: tc.lang, tr: c.tr}, tc.actor, names); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.lang, tc.actor, got, tc.want)
		}
	}
}

// testConsole is a console without services, for what needs only its
// templates and catalogue.
func testConsole(t *testing.T) *Console {
	t.Helper()
	c, err := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
