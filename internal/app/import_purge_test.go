package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// TestJanitorPurgesOldImportRuns: the janitor deletes a B2B import run that
// finished more than the retention (30 days by default) ago with its
// rejected lines, and keeps a younger one and a live one. The clock moves;
// nothing sleeps the retention away.
func TestJanitorPurgesOldImportRuns(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		ctx := context.Background()
		st := e.app.Store()
		orgID := e.orgID("default")
		// run adds a run with two rejected lines, finished now unless live.
		run := func(live bool) string {
			t.Helper()
			now := e.clock.Now()
			r := domain.ImportRun{ID: store.NewID(), OrgID: orgID, Actor: "backoffice:x", File: "users.csv", Format: "csv", State: domain.ImportQueued,
				CreatedAt: now, UpdatedAt: now, LeaseUntil: now.Add(time.Hour)}
			if err := st.CreateImportRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			p := store.ImportProgress{State: domain.ImportRunning, RowsDone: 3, Rejected: 2, Now: now, LeaseUntil: now.Add(100 * 24 * time.Hour),
				Rejections: []domain.ImportRejection{{Line: 1, Error: "email: is required"}, {Line: 3, Error: "email: is taken"}}}
			if ok, err := st.RecordImportProgress(ctx, r.ID, p); err != nil || !ok {
				t.Fatalf("progress: %v %v", ok, err)
			}
			if !live {
				if ok, err := st.FinishImportRun(ctx, r.ID, domain.ImportDone, "", p); err != nil || !ok {
					t.Fatalf("finish: %v %v", ok, err)
				}
			}
			return r.ID
		}
		old, live := run(false), run(true)
		e.advance(29 * 24 * time.Hour)
		young := run(false)
		e.advance(2 * 24 * time.Hour) // old finished 31 days ago, young 2
		// The janitor works at start, then every ten minutes.
		e.stop()
		e.boot()
		deadline := time.Now().Add(15 * time.Second)
		for e.countWhere("b2b_import_runs", "id = $1", old) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the janitor did not delete the run that finished 31 days ago")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n := e.countWhere("b2b_import_rejections", "run_id = $1", old); n != 0 {
			t.Errorf("%d rejected lines of the deleted run remain", n)
		}
		for name, id := range map[string]string{"young": young, "live": live} {
			if e.countWhere("b2b_import_runs", "id = $1", id) != 1 || e.countWhere("b2b_import_rejections", "run_id = $1", id) != 2 {
				t.Errorf("the %s run or its rejected lines are gone", name)
			}
		}
	})
}
