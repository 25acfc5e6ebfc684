package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// importFixture opens a migrated store with an organization and a
// labelpartner.
func importFixture(t *testing.T, dsn string) (*Store, domain.Organization, domain.Labelpartner) {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	org := domain.Organization{ID: NewID(), Name: "acme", DisplayName: "Acme", Onboarding: domain.DefaultOnboarding(), CreatedAt: Now()}
	lp := domain.Labelpartner{ID: NewID(), OrgID: org.ID, Name: "lp-" + org.ID[:8], PasswordPolicy: domain.PolicyPincode,
		APIKeyHash: []byte(NewID()), CreatedAt: Now()}
	if err := st.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateLabelpartner(ctx, lp); err != nil {
		t.Fatal(err)
	}
	return st, org, lp
}

func importUser(org domain.Organization, lp domain.Labelpartner, email, ext string) domain.EndUser {
	return domain.EndUser{ID: NewID(), OrgID: org.ID, LabelpartnerID: lp.ID, Email: email, FirstName: "Ada", LastName: "Lovelace",
		ExternalID: ext, Customer: json.RawMessage(`{"n":"` + email + `"}`), State: domain.EndUserProvisioned, CreatedAt: Now()}
}

type importFn = func(context.Context, string, []domain.EndUser, ImportEvent) ([]ImportOutcome, error)

// importEventOf is a test event of an imported end user.
func importEventOf(u domain.EndUser) (StoredEvent, error) {
	return StoredEvent{ID: NewID(), OrgID: u.OrgID, Type: "end_user.provisioned", Subject: u.ID, Body: `{"email":"` + u.Email + `"}`, OccurredAt: u.CreatedAt}, nil
}

// importEventSubjects lists the subjects of the organization's events in
// id order.
func importEventSubjects(t *testing.T, st *Store, orgID string) []string {
	t.Helper()
	rows, err := st.DB().QueryContext(context.Background(), `SELECT subject FROM events WHERE org_id = $1 ORDER BY id`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportOutcomes runs one batch with every kind of clash through each
// import path and checks the outcomes and the rows written: all paths must
// behave as INSERT … ON CONFLICT DO NOTHING in input order.
func TestImportOutcomes(t *testing.T) {
	type path struct {
		name string
		fn   func(s *Store) importFn
	}
	engines := []struct {
		name  string
		dsn   func(testing.TB) string
		paths []path
	}{
		{"sqlite", dbtest.SQLite, []path{{"batch insert", func(s *Store) importFn {
			return s.importSQLite
		}}}},
		{"postgres", dbtest.Postgres, []path{
			{"direct copy", func(s *Store) importFn {
				return s.importPostgresDirect
			}},
			{"staged", func(s *Store) importFn {
				return s.importPostgresStaged
			}},
			{"chosen", func(s *Store) importFn {
				return s.ImportEndUsersWithEvents
			}},
		}},
	}
	for _, eng := range engines {
		for _, p := range eng.paths {
			t.Run(eng.name+"/"+p.name, func(t *testing.T) {
				ctx := context.Background()
				st, org, lp := importFixture(t, eng.dsn(t))
				held := importUser(org, lp, "held@example.com", "")
				sso := importUser(org, lp, "sso@example.com", "ext-1")
				for _, u := range []domain.EndUser{held, sso} {
					if err := st.CreateEndUser(ctx, u); err != nil {
						t.Fatal(err)
					}
				}
				batch := []domain.EndUser{
					importUser(org, lp, "new@example.com", ""),          // 0 created
					importUser(org, lp, " HELD@example.com", ""),        // 1 address in the database
					importUser(org, lp, "new@example.com", ""),          // 2 address of row 0
					importUser(org, lp, "clash@example.com", "ext-1"),   // 3 external id in the database
					importUser(org, lp, "d@example.com", "ext-2"),       // 4 created
					importUser(org, lp, "e@example.com", "ext-2"),       // 5 external id of row 4
					importUser(org, lp, "clash@example.com", ""),        // 6 created: row 3 was not
					importUser(org, lp, "sso@example.com", "ext-other"), // 7 address in the database
					importUser(org, lp, "e@example.com", "ext-3"),       // 8 created: row 5 was not
					importUser(org, lp, "f@example.com", "ext-1"),       // 9 external id in the database
				}
				want := []ImportOutcome{
					{Created: true, ID: batch[0].ID, LabelpartnerID: lp.ID},
					{ID: held.ID, LabelpartnerID: lp.ID},
					{ID: batch[0].ID, LabelpartnerID: lp.ID},
					{ID: batch[6].ID, LabelpartnerID: lp.ID}, // its address is row 6's
					{Created: true, ID: batch[4].ID, LabelpartnerID: lp.ID},
					{ID: batch[8].ID, LabelpartnerID: lp.ID}, // its address is row 8's
					{Created: true, ID: batch[6].ID, LabelpartnerID: lp.ID},
					{ID: sso.ID, LabelpartnerID: lp.ID},
					{Created: true, ID: batch[8].ID, LabelpartnerID: lp.ID},
					{}, // rejected: nobody has its address
				}
				got, err := p.fn(st)(ctx, org.ID, batch, importEventOf)
				if err != nil {
					t.Fatal(err)
				}
				checkOutcomes(t, got, want)
				// One event per created end user, in input order, in the
				// batch's transaction; none for the others.
				wantSubjects := []string{batch[0].ID, batch[4].ID, batch[6].ID, batch[8].ID}
				if got := importEventSubjects(t, st, org.ID); !slices.Equal(got, wantSubjects) {
					t.Errorf("event subjects %v, want %v", got, wantSubjects)
				}
				for i, u := range batch {
					stored, err := st.EndUserByID(ctx, org.ID, u.ID)
					switch {
					case want[i].Created && err != nil:
						t.Errorf("row %d: not stored: %v", i, err)
					case want[i].Created && (stored.Email != u.Email || stored.ExternalID != u.ExternalID || string(stored.Customer) != string(u.Customer) || stored.Installation != nil):
						t.Errorf("row %d: stored %+v", i, stored)
					case !want[i].Created && !errors.Is(err, domain.ErrNotFound):
						t.Errorf("row %d: stored although not created (err %v)", i, err)
					}
				}

				// A re-run with fresh ids creates nothing and names the holders.
				rerun := make([]domain.EndUser, len(batch))
				for i, u := range batch {
					rerun[i] = importUser(org, lp, u.Email, u.ExternalID)
				}
				got, err = p.fn(st)(ctx, org.ID, rerun, importEventOf)
				if err != nil {
					t.Fatal(err)
				}
				if got := importEventSubjects(t, st, org.ID); !slices.Equal(got, wantSubjects) {
					t.Errorf("after a re-run: event subjects %v, want %v", got, wantSubjects)
				}
				again := []ImportOutcome{
					{ID: batch[0].ID, LabelpartnerID: lp.ID}, {ID: held.ID, LabelpartnerID: lp.ID}, {ID: batch[0].ID, LabelpartnerID: lp.ID},
					{ID: batch[6].ID, LabelpartnerID: lp.ID}, {ID: batch[4].ID, LabelpartnerID: lp.ID}, {ID: batch[8].ID, LabelpartnerID: lp.ID},
					{ID: batch[6].ID, LabelpartnerID: lp.ID}, {ID: sso.ID, LabelpartnerID: lp.ID}, {ID: batch[8].ID, LabelpartnerID: lp.ID},
					{},
				}
				checkOutcomes(t, got, again)
				var n int
				if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM b2b_end_users WHERE org_id = $1`, org.ID).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 6 {
					t.Errorf("%d end users stored, want 6", n)
				}
			})
		}
	}
}

func checkOutcomes(t *testing.T, got, want []ImportOutcome) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outcomes, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestImportPostgresConcurrentWriter takes an address in another
// transaction after the import looked it up: the COPY waits on the unique
// index, fails when that transaction commits, and the batch is redone
// through the staging path, reporting the other writer's end user.
func TestImportPostgresConcurrentWriter(t *testing.T) {
	ctx := context.Background()
	st, org, lp := importFixture(t, dbtest.Postgres(t))
	other := importUser(org, lp, "race@example.com", "")
	args, err := endUserArgs(other)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := st.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // committed below
	if _, err := tx.Exec(ctx, `INSERT INTO b2b_end_users (`+endUserInsertColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...); err != nil {
		t.Fatal(err)
	}
	batch := []domain.EndUser{importUser(org, lp, "first@example.com", ""), importUser(org, lp, "race@example.com", "")}
	type result struct {
		out []ImportOutcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := st.ImportEndUsers(ctx, org.ID, batch)
		done <- result{out, err}
	}()
	// Wait until the import waits on the other transaction's row.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := st.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query ILIKE 'copy%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the import never waited on the concurrent row")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("import: %v", r.err)
	}
	checkOutcomes(t, r.out, []ImportOutcome{
		{Created: true, ID: batch[0].ID, LabelpartnerID: lp.ID},
		{ID: other.ID, LabelpartnerID: lp.ID},
	})
	var n int
	if err := st.pool.QueryRow(ctx, `SELECT count(*) FROM b2b_end_users WHERE org_id = $1`, org.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d end users stored, want 2", n)
	}
}

// TestEndUserLabelpartnerReference: on both engines an end user must name
// an existing labelpartner (however it is inserted), and deleting a
// labelpartner, or its organization, deletes its end users.
func TestEndUserLabelpartnerReference(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, org, lp := importFixture(t, dsn)
		ghost := domain.Labelpartner{ID: NewID(), OrgID: org.ID}
		if err := st.CreateEndUser(ctx, importUser(org, ghost, "ghost@example.com", "")); err == nil {
			t.Error("an end user of a missing labelpartner was inserted")
		}
		if _, err := st.ImportEndUsers(ctx, org.ID, []domain.EndUser{importUser(org, lp, "ok@example.com", ""),
			importUser(org, ghost, "ghost@example.com", "")}); err == nil {
			t.Error("an import naming a missing labelpartner was stored")
		}
		count := func() int {
			t.Helper()
			var n int
			if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM b2b_end_users WHERE org_id = $1`, org.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(); n != 0 {
			t.Fatalf("%d end users stored after refused inserts, want 0", n)
		}
		if _, err := st.DB().ExecContext(ctx, `UPDATE b2b_end_users SET labelpartner_id = $1`, ghost.ID); err != nil {
			t.Fatalf("an update of no rows: %v", err)
		}
		u := importUser(org, lp, "kept@example.com", "")
		if _, err := st.ImportEndUsers(ctx, org.ID, []domain.EndUser{u, importUser(org, lp, "other@example.com", "")}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().ExecContext(ctx, `UPDATE b2b_end_users SET labelpartner_id = $1 WHERE id = $2`, ghost.ID, u.ID); err == nil {
			t.Error("an end user was moved to a missing labelpartner")
		}
		if _, err := st.DB().ExecContext(ctx, `DELETE FROM b2b_labelpartners WHERE id = $1`, lp.ID); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d end users left after their labelpartner was deleted, want 0", n)
		}

		// Through the organization.
		lp2 := domain.Labelpartner{ID: NewID(), OrgID: org.ID, Name: "lp2-" + org.ID[:8], PasswordPolicy: domain.PolicyPincode,
			APIKeyHash: []byte(NewID()), CreatedAt: Now()}
		if err := st.CreateLabelpartner(ctx, lp2); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ImportEndUsers(ctx, org.ID, []domain.EndUser{importUser(org, lp2, "a@example.com", "")}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().ExecContext(ctx, `DELETE FROM organizations WHERE id = $1`, org.ID); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d end users left after their organization was deleted, want 0", n)
		}
	})
}
