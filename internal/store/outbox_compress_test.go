package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestOutboxBodiesCompressed: a long body is compressed before it is sealed,
// so its row is shorter than the body itself (sealed as it is, it would be a
// third longer); every body, compressed or not, reads back whole. Rows
// written before, with bodies sealed uncompressed or in plaintext, are still
// read and sent.
func TestOutboxBodiesCompressed(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		k := keyring(t, storeKey)
		st := open(t, dsn, store.WithKeyring(k))
		now := store.Now()
		mail := func(text, html string) domain.OutboxMail {
			id := store.NewID()
			return domain.OutboxMail{ID: id, OrgID: "o", MessageID: "<" + id + "@x>", Template: "signup", To: "a@example.com",
				Subject: "s", Text: text, HTML: html}
		}
		var html strings.Builder
		for i := range 40 {
			fmt.Fprintf(&html, "<tr><td style=\"padding:8px;color:#333\">Zeile %d: ?token=secret-%d – à bientôt</td></tr>\n", i, i)
		}
		long := html.String()
		want := map[string]domain.OutboxMail{}
		one := mail("short text ?token=secret", long)
		if err := st.EnqueueMail(ctx, one, now); err != nil {
			t.Fatal(err)
		}
		want[one.ID] = one
		batch := []domain.OutboxMail{mail(long, long), mail("", ""), mail(strings.Repeat("x", 600), "<p>short</p>")}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.EnqueueMails(ctx, batch, now) }); err != nil {
			t.Fatal(err)
		}
		for _, m := range batch {
			want[m.ID] = m
		}
		var stored int
		if err := st.DB().QueryRowContext(ctx, `SELECT length(html_body) FROM outbox WHERE id = $1`, one.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored >= len(long) {
			t.Errorf("a %d-byte HTML body is stored in %d bytes: not compressed", len(long), stored)
		}

		// Rows of an earlier version: sealed as they are, and in plaintext
		// (not yet sealed by SealSecrets).
		sealed, plain := mail("old text ?token=a", long), mail("old plain text", "<p>old plain</p>")
		for _, m := range []domain.OutboxMail{sealed, plain} {
			text, html := m.Text, m.HTML
			if m.ID == sealed.ID {
				text, html = k.Seal(text, "outbox.text_body:"+m.ID), k.Seal(html, "outbox.html_body:"+m.ID)
			}
			if _, err := st.DB().ExecContext(ctx, `INSERT INTO outbox (id, org_id, message_id, template, to_addr, subject, text_body, html_body,
				state, attempts, next_attempt_at, created_at, to_lower) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $9, $10)`,
				m.ID, m.OrgID, m.MessageID, m.Template, m.To, m.Subject, text, html, now, "a@example.com"); err != nil {
				t.Fatal(err)
			}
			want[m.ID] = m
		}

		got, err := st.ClaimMail(ctx, now.Add(time.Second), 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("claimed %d mails, want %d", len(got), len(want))
		}
		var ids []string
		for _, m := range got {
			if w := want[m.ID]; m.Text != w.Text || m.HTML != w.HTML {
				t.Errorf("mail %s read back as text %d bytes, HTML %d bytes; want %d and %d", m.ID, len(m.Text), len(m.HTML), len(w.Text), len(w.HTML))
			}
			ids = append(ids, m.ID)
		}
		if err := st.MarkMailsSent(ctx, ids, now.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if counts, err := st.OutboxCounts(ctx); err != nil || counts[store.OutboxSent] != len(want) {
			t.Fatalf("outbox counts %v, %v; want %d sent", counts, err, len(want))
		}
	})
}
