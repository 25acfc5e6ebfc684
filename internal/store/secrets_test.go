package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/secretbox"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

func keyring(t *testing.T, s string) *secretbox.Keyring {
	t.Helper()
	k, err := secretbox.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const storeKey = "s1:c3RvcmUta2V5LXN0b3JlLWtleS1zdG9yZS1rZXktc3Q="

// TestOutboxBodiesSealedAndErased: bodies are stored sealed and bound to
// their row, read back in the clear, and erased once delivered or abandoned;
// finished rows go after the retention.
func TestOutboxBodiesSealedAndErased(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := open(t, dsn, store.WithKeyring(keyring(t, storeKey)))
		now := store.Now()
		var ids []string
		for i := range 4 {
			id := store.NewID()
			ids = append(ids, id)
			m := domain.OutboxMail{ID: id, OrgID: "o", MessageID: "<" + id + "@x>", Template: "t", To: "a@example.com",
				Subject: "s", Text: "text link ?token=secret-" + id, HTML: "<a href=\"?token=secret-" + id + "\">"}
			if err := st.EnqueueMail(ctx, m, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
		raw := func(id string) (text, html string) {
			t.Helper()
			if err := st.DB().QueryRow(`SELECT text_body, html_body FROM outbox WHERE id = $1`, id).Scan(&text, &html); err != nil {
				t.Fatal(err)
			}
			return text, html
		}
		for _, id := range ids {
			text, html := raw(id)
			if !strings.HasPrefix(text, "sb1:s1:") || !strings.HasPrefix(html, "sb1:s1:") || strings.Contains(text+html, "secret-") {
				t.Fatalf("stored bodies not sealed: %q %q", text, html)
			}
		}
		// A sealed body moved to another row does not open there: that row
		// is abandoned with the reason, the others are delivered.
		text0, _ := raw(ids[0])
		if _, err := st.DB().Exec(`UPDATE outbox SET text_body = $1 WHERE id = $2`, text0, ids[3]); err != nil {
			t.Fatal(err)
		}
		got, err := st.ClaimMail(ctx, now.Add(time.Second), 10, time.Minute)
		if err != nil || len(got) != 3 {
			t.Fatalf("claim = %d, %v; want 3", len(got), err)
		}
		for _, m := range got {
			if m.Text != "text link ?token=secret-"+m.ID || m.HTML != "<a href=\"?token=secret-"+m.ID+"\">" {
				t.Fatalf("claimed bodies %q %q", m.Text, m.HTML)
			}
		}
		var state, lastErr string
		if err := st.DB().QueryRow(`SELECT state, last_error FROM outbox WHERE id = $1`, ids[3]).Scan(&state, &lastErr); err != nil {
			t.Fatal(err)
		}
		if state != store.OutboxAbandoned || !strings.Contains(lastErr, "authentication failed") {
			t.Fatalf("moved body: state %q, last_error %q", state, lastErr)
		}
		if err := st.MarkMailSent(ctx, ids[0], now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkMailFailed(ctx, ids[1], now.Add(time.Second), "550 no such user", true); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkMailFailed(ctx, ids[2], now.Add(time.Minute), "421 try later", false); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{false, false, true, false} {
			text, html := raw(ids[i])
			if has := text != "" && html != ""; has != want {
				t.Errorf("mail %d: bodies kept = %v, want %v", i, has, want)
			}
		}
		// Retention: finished rows older than it go; the queued one stays.
		if n, err := st.DeleteFinishedMail(ctx, now.Add(time.Hour), 2*time.Hour); err != nil || n != 0 {
			t.Fatalf("delete within retention = %d, %v", n, err)
		}
		if n, err := st.DeleteFinishedMail(ctx, now.Add(3*time.Hour), 2*time.Hour); err != nil || n != 3 {
			t.Fatalf("delete after retention = %d, %v; want 3", n, err)
		}
		var left int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&left); err != nil || left != 1 {
			t.Fatalf("%d rows left, %v; want the queued one", left, err)
		}
	})
}
