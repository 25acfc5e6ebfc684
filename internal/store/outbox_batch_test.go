package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// Mails queued together and marked sent together: each row is written
// whole, and marking erases the bodies of exactly the messages named.
func TestEnqueueMailsAndMarkMailsSent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		st := open(t, dsn)
		ctx := context.Background()
		now := store.Now()
		var ms []domain.OutboxMail
		for i := range 70 { // more than one statement's worth on SQLite
			id := store.NewID()
			ms = append(ms, domain.OutboxMail{ID: id, OrgID: "o", MessageID: "<" + id + "@x>", Template: "signup",
				To: "Someone@Example.com", Subject: "s", Text: strings.Repeat("t", i), HTML: strings.Repeat("<p>h</p>", 400)})
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.EnqueueMails(ctx, ms, now) }); err != nil {
			t.Fatal(err)
		}
		got, err := st.ClaimMail(ctx, now.Add(time.Second), 100, time.Minute)
		if err != nil || len(got) != len(ms) {
			t.Fatalf("claim = %d, %v; want %d", len(got), err, len(ms))
		}
		byID := map[string]domain.OutboxMail{}
		for _, m := range got {
			byID[m.ID] = m.OutboxMail
		}
		for _, m := range ms {
			if c := byID[m.ID]; c.Text != m.Text || c.HTML != m.HTML || c.To != m.To || c.MessageID != m.MessageID || c.Template != m.Template {
				t.Fatalf("mail %s read back as %+v", m.ID, c)
			}
		}
		var ids []string
		for _, m := range ms[:67] {
			ids = append(ids, m.ID)
		}
		if err := st.MarkMailsSent(ctx, ids, now.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		counts, err := st.OutboxCounts(ctx)
		if err != nil || counts[store.OutboxSent] != 67 || counts[store.OutboxProcessing] != 3 {
			t.Fatalf("outbox counts %v, %v; want 67 sent and 3 processing", counts, err)
		}
		var kept int
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE html_body <> '' OR text_body <> ''`).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if kept != 3 {
			t.Fatalf("%d rows keep their bodies, want the 3 unsent", kept)
		}
	})
}

// On PostgreSQL the outbox keeps its (sealed, incompressible) bodies in the
// row, uncompressed, up to a page's worth (migration 0023).
func TestOutboxBodiesStoredInline(t *testing.T) {
	st := open(t, dbtest.Postgres(t))
	ctx := context.Background()
	var options string
	if err := st.DB().QueryRowContext(ctx, `SELECT COALESCE(array_to_string(reloptions, ','), '') FROM pg_class
		WHERE oid = 'outbox'::regclass`).Scan(&options); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(options, "toast_tuple_target=8160") {
		t.Errorf("outbox options %q, want toast_tuple_target=8160", options)
	}
	var storage string
	if err := st.DB().QueryRowContext(ctx, `SELECT string_agg(attname || '=' || attstorage::text, ',' ORDER BY attname) FROM pg_attribute
		WHERE attrelid = 'outbox'::regclass AND attname IN ('html_body', 'text_body')`).Scan(&storage); err != nil {
		t.Fatal(err)
	}
	if storage != "html_body=e,text_body=e" {
		t.Errorf("outbox body storage %q, want both external (e)", storage)
	}
	now := store.Now()
	id := store.NewID()
	m := domain.OutboxMail{ID: id, OrgID: "o", MessageID: "<" + id + "@x>", Template: "signup", To: "a@example.com",
		Subject: "s", Text: strings.Repeat("text ", 100), HTML: strings.Repeat("<p>html</p>", 200)}
	if err := st.EnqueueMail(ctx, m, now); err != nil {
		t.Fatal(err)
	}
	var toast string
	if err := st.DB().QueryRowContext(ctx, `SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'outbox'::regclass`).Scan(&toast); err != nil {
		t.Fatal(err)
	}
	var chunks, compressed int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+toast).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE pg_column_compression(html_body) IS NOT NULL
		OR pg_column_compression(text_body) IS NOT NULL`).Scan(&compressed); err != nil {
		t.Fatal(err)
	}
	if chunks != 0 || compressed != 0 {
		t.Errorf("a mail of %d bytes left %d TOAST chunks and %d compressed bodies, want none", len(m.Text)+len(m.HTML), chunks, compressed)
	}
}
