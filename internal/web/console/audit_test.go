package console

import (
	"io"
	"log/slog"
	"testing"

	"github.com/onboard-dev/onboard/internal/store"
)

// TestActorName: a named actor reads by kind and name in each language,
// an actor of its own by its text, any other as its id alone.
func TestActorName(t *testing.T) {
	c, err := New(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]store.ActorName{
		"backoffice:b1": {Kind: store.ActorBackOffice, Name: "sup@onboard.test"},
		"admin:k1:old":  {Kind: store.ActorAdminKey, Name: "CI deploys"},
		"client:cl_1":   {Kind: store.ActorClient, Name: "Shop app"},
	}
	for _, tc := range []struct{ lang, actor, want string }{
		{"en", "backoffice:b1", "Back-office user sup@onboard.test"},
		{"it", "backoffice:b1", "Utente del back office sup@onboard.test"},
		{"en", "admin:k1:old", "Admin API key “CI deploys”"},
		{"it", "admin:k1:old", "Chiave API di amministrazione «CI deploys»"},
		{"en", "client:cl_1", "B2B API client “Shop app”"},
		{"en", "admin:environment", "The installation's admin key"},
		{"it", "system", "Onboard stesso"},
		{"en", "user:u1", ""},
		{"en", "backoffice:unknown", ""},
	} {
		if got := c.actorName(&req{Lang: tc.lang, tr: c.tr}, tc.actor, names); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.lang, tc.actor, got, tc.want)
		}
	}
}
