package importrun_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/b2b/importrun"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

type fixture struct {
	st  *store.Store
	svc *b2b.Service
	org domain.Organization
	lp  domain.Labelpartner
}

func setup(t *testing.T, dsn string, name ...string) fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	n := strings.Join(name, "")
	org, err := flows.EnsureOrganization(ctx, st, "acme"+n, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	svc := b2b.New(flows.New(flows.Deps{Store: st}, flows.Config{}), b2b.Config{})
	lp, _, err := svc.CreateLabelpartner(ctx, flows.Admin{BackOfficeUserID: "u1"}, org, b2b.LabelpartnerInput{Name: "Brand" + n, PasswordPolicy: domain.PolicyPassword})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{st: st, svc: svc, org: org, lp: lp}
}

// file is an import file of n rows of which the rows in bad are rejected
// (each a different fault) and the row 1 repeats an address of the
// database (unchanged).
func file(format string, n int, bad map[int]bool) string {
	var b strings.Builder
	if format == b2b.ImportCSV {
		b.WriteString("email,first_name,last_name\n")
	}
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("user%d@example.com", i)
		if i == 1 {
			email = "known@example.com"
		}
		if bad[i] {
			email = "not an address"
		}
		if format == b2b.ImportCSV {
			fmt.Fprintf(&b, "%s,Ada,Lovelace %d\n", email, i)
		} else {
			fmt.Fprintf(&b, `{"email":%q,"first_name":"Ada","last_name":"Lovelace %d"}`+"\n", email, i)
		}
		if i == 10 {
			b.WriteString("\n") // blank lines are no rows
		}
	}
	return b.String()
}

func waitFinished(t *testing.T, r *importrun.Runner, org domain.Organization, id string) domain.ImportRun {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		run, err := r.Run(context.Background(), org, id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Finished() {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run is still %s after 60 s: %+v", run.State, run)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestImportRunInBackground: an uploaded file is imported after the
// request that started it is gone, its figures and rejected lines are in
// the database, and both the start and the import are audited with the
// back-office user as actor.
func TestImportRunInBackground(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		for _, format := range []string{b2b.ImportNDJSON, b2b.ImportCSV} {
			t.Run(format, func(t *testing.T) {
				f := setup(t, dsn, format)
				ctx := context.Background()
				r := importrun.New(f.svc, f.st, nil, nil, importrun.Config{Dir: t.TempDir(), Flush: 20 * time.Millisecond})
				defer r.Close()
				// One address exists already: unchanged.
				if _, err := f.svc.ImportEndUsers(ctx, b2b.ImportScope{OrgID: f.org.ID, DefaultLabelpartner: f.lp.Name, Actor: "test"},
					strings.NewReader(`{"email":"known@example.com","first_name":"K","last_name":"N"}`), b2b.ImportNDJSON,
					func(b2b.ImportResult) error { return nil }); err != nil {
					t.Fatal(err)
				}
				const rows = 1200
				bad := map[int]bool{2: true, 500: true, 1199: true}
				reqCtx, cancelReq := context.WithCancel(ctx)
				run, err := r.Start(reqCtx, f.org, importrun.Upload{Actor: "backoffice:u1", FileName: "users." + format, Format: format,
					Labelpartner: f.lp, Body: strings.NewReader(file(format, rows, bad))})
				cancelReq() // the request is over; the import goes on
				if err != nil {
					t.Fatal(err)
				}
				if run.State != domain.ImportQueued || run.RowsTotal != rows {
					t.Fatalf("started run %+v, want queued with %d rows", run, rows)
				}
				run = waitFinished(t, r, f.org, run.ID)
				want := domain.ImportRun{State: domain.ImportDone, RowsTotal: rows, RowsDone: rows, Created: rows - 1 - 3, Unchanged: 1, Rejected: 3}
				if run.State != want.State || run.RowsTotal != want.RowsTotal || run.RowsDone != want.RowsDone || run.Created != want.Created ||
					run.Unchanged != want.Unchanged || run.Rejected != want.Rejected || run.Error != "" || run.Percent() != 100 {
					t.Fatalf("finished run %+v, want %+v", run, want)
				}
				if run.StartedAt == nil || run.FinishedAt == nil || run.Rate <= 0 {
					t.Fatalf("run times and rate: %+v", run)
				}
				var lines []int64
				if err := r.Rejections(ctx, run, func(rj domain.ImportRejection) error {
					if !strings.Contains(rj.Error, "email") {
						t.Errorf("line %d: error %q does not name the email", rj.Line, rj.Error)
					}
					lines = append(lines, rj.Line)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				// File lines: the CSV header is line 1, a blank line follows row 10.
				off := int64(0)
				if format == b2b.ImportCSV {
					off = 1
				}
				if want := []int64{2 + off, 500 + off + 1, 1199 + off + 1}; fmt.Sprint(lines) != fmt.Sprint(want) {
					t.Fatalf("rejected lines %v, want %v", lines, want)
				}
				var audited int
				if err := f.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE org_id = $1 AND actor = 'backoffice:u1'
					AND action IN ('end_users.import_started', 'end_users.imported')`, f.org.ID).Scan(&audited); err != nil {
					t.Fatal(err)
				}
				if audited != 2 {
					t.Fatalf("%d audit entries of the import by the back-office user, want 2", audited)
				}
				runs, err := r.Runs(ctx, f.org, "", 10)
				if err != nil || len(runs) != 1 || runs[0].ID != run.ID {
					t.Fatalf("runs %+v %v", runs, err)
				}
			})
		}
	})
}

// TestImportRunLeaseExpired: a run whose node died (its lease ran out)
// is failed when runs are looked at, and a node that stops fails its
// unfinished runs rather than leaving them running.
func TestImportRunLeaseExpired(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		f := setup(t, dsn)
		ctx := context.Background()
		past := store.Now().Add(-time.Hour)
		dead := domain.ImportRun{ID: store.NewID(), OrgID: f.org.ID, Actor: "backoffice:u1", Format: b2b.ImportNDJSON,
			State: domain.ImportRunning, RowsTotal: 10, CreatedAt: past, UpdatedAt: past, LeaseUntil: past.Add(time.Minute)}
		if err := f.st.CreateImportRun(ctx, dead); err != nil {
			t.Fatal(err)
		}
		r := importrun.New(f.svc, f.st, nil, nil, importrun.Config{Dir: t.TempDir(), Concurrency: 1})
		runs, err := r.Runs(ctx, f.org, "", 10)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs %+v %v", runs, err)
		}
		if runs[0].State != domain.ImportFailed || runs[0].Error != importrun.ErrLeaseExpired || runs[0].FinishedAt == nil {
			t.Fatalf("run of a dead node: %+v", runs[0])
		}
		// Two runs on a node running one at a time, stopped at once.
		for range 2 {
			if _, err := r.Start(ctx, f.org, importrun.Upload{Actor: "backoffice:u1", Format: b2b.ImportNDJSON, Labelpartner: f.lp,
				Body: strings.NewReader(file(b2b.ImportNDJSON, 5000, nil))}); err != nil {
				t.Fatal(err)
			}
		}
		r.Close()
		runs, err = f.st.ImportRuns(ctx, f.org.ID, "", 10)
		if err != nil || len(runs) != 3 {
			t.Fatalf("runs %+v %v", runs, err)
		}
		stopped := 0
		for _, run := range runs {
			if !run.Finished() {
				t.Errorf("run %s is still %s after the node stopped", run.ID, run.State)
			}
			if run.Error == importrun.ErrStopped {
				stopped++
			}
		}
		if stopped == 0 {
			t.Error("no run was stopped by the shutdown")
		}
	})
}

// TestImportRunRefusesEmptyFiles: nothing is recorded for a file without
// rows.
func TestImportRunRefusesEmptyFiles(t *testing.T) {
	f := setup(t, dbtest.SQLite(t))
	r := importrun.New(f.svc, f.st, nil, nil, importrun.Config{Dir: t.TempDir()})
	defer r.Close()
	for _, c := range []struct{ format, body string }{{b2b.ImportNDJSON, ""}, {b2b.ImportNDJSON, "\n \n"}, {b2b.ImportCSV, "email\n"}, {"xml", "<a/>"}} {
		_, err := r.Start(context.Background(), f.org, importrun.Upload{Format: c.format, Body: strings.NewReader(c.body)})
		if de := domain.AsError(err); de == nil || de.Code != domain.EInvalid {
			t.Errorf("%s %q: %v, want invalid", c.format, c.body, err)
		}
	}
	if runs, _ := f.st.ImportRuns(context.Background(), f.org.ID, "", 10); len(runs) != 0 {
		t.Fatalf("%d runs recorded", len(runs))
	}
}
