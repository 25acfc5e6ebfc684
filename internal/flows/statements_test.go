package flows

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/domain"
	obmail "github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// statementCounter counts the statements (BEGIN and COMMIT included) sent
// to PostgreSQL, a batch of statements sent together as one; orgReads
// counts, among them, the reads of an organization, which the services make
// when their cache of it has expired (orgCacheTTL), more often the slower
// the run.
type statementCounter struct{ n, orgReads atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	if strings.Contains(d.SQL, "FROM organizations WHERE id = $1") {
		c.orgReads.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart counts a batch of statements sent together (pgx.Batch)
// once: it is one round trip.
func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *statementCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// countedService is a Service on a new PostgreSQL database whose
// statements count counts, with the default organization, the signup limits
// counted in the database (perIP per address, 5 an hour per email) and a
// cheap hash.
func countedService(t *testing.T, perIP ratelimit.Rule) (*Service, *store.Store, *statementCounter) {
	t.Helper()
	count := new(statementCounter)
	st := openStore(t, dbtest.Postgres(t), store.WithQueryTracer(count))
	if _, err := EnsureOrganization(context.Background(), st, DefaultOrganization, "Example"); err != nil {
		t.Fatal(err)
	}
	templates, err := obmail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{PublicURL: "http://127.0.0.1:8080", MailFrom: "Example <no-reply@example.com>"}
	cfg.Limits.SignupPerIP = perIP
	cfg.Limits.SignupPerEmail = ratelimit.Rule{Limit: 5, Window: time.Hour}
	svc := New(Deps{Store: st, Hasher: auth.NewHasher(auth.Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1),
		Policy: auth.DefaultPolicy(), Mail: templates, Limiter: ratelimit.NewSQL(st.DB(), nil)}, cfg)
	return svc, st, count
}

// TestStatementsPerSignupStart counts the round trips to PostgreSQL of a
// signup start with shared rate limits (both limits counted in the
// database) and of the job that creates its signup and mail: every
// statement is a round trip, and on PostgreSQL their number, not the Go
// code, is most of what a start costs.
func TestStatementsPerSignupStart(t *testing.T) {
	ctx := context.Background()
	svc, _, count := countedService(t, ratelimit.Rule{Limit: 1_000_000, Window: time.Minute})
	start := func(i int) {
		t.Helper()
		err := svc.StartSignup(ctx, StartSignup{Organization: DefaultOrganization, Email: fmt.Sprintf("start-%d@example.com", i),
			AccountType: "customer_personal", ClientIP: "203.0.113.7"})
		if err != nil {
			t.Fatal(err)
		}
	}
	start(-1) // caches the organization
	if _, err := svc.RunDueJobs(ctx, 1000); err != nil {
		t.Fatal(err)
	}

	const n = 128
	count.n.Store(0)
	for i := range n {
		start(i)
	}
	perStart := float64(count.n.Load()) / n
	count.n.Store(0)
	count.orgReads.Store(0)
	done, err := svc.RunDueJobs(ctx, 1000)
	if err != nil || done != n {
		t.Fatalf("RunDueJobs = %d, %v; want %d", done, err, n)
	}
	// A read of the organization when its cache expired during a slow run
	// is the cache's, not the batch's.
	orgReads := int(count.orgReads.Load())
	jobStatements := int(count.n.Load()) - orgReads
	perJob := float64(jobStatements) / n
	t.Logf("PostgreSQL statements: %.2f per signup start, %.2f per signup job (%d in all, and %d reads of the organization)",
		perStart, perJob, jobStatements, orgReads)
	// Two per start (read and count both limits in one statement, write
	// the job), and now and then a read of the organization when its cache
	// expires.
	if perStart > 2.5 {
		t.Errorf("%.2f statements per signup start, want at most 2.5", perStart)
	}
	// A batch of up to 64 signup jobs takes nine statements (BEGIN, the
	// claim, which deletes the jobs, the registered addresses, the
	// superseding, the signups, the funnel's subjects and counters, the
	// mails, COMMIT), and the last batch, which finds no job, three: 21
	// for 128 jobs, 0.16 per job. Ten per batch when the jobs were read
	// first and deleted at the end; six per job when each job ran its own
	// statements, nine with a transaction per job.
	batches := (n + jobBatchPostgres - 1) / jobBatchPostgres
	if want := 9*batches + 3; jobStatements > want {
		t.Errorf("%d statements for %d signup jobs, want at most %d (9 per batch of %d, 3 for the last, empty one)",
			jobStatements, n, want, jobBatchPostgres)
	}
}

// TestStatementsPerSignupStartConcurrent counts the statements of signup
// starts made by 16 clients at once, with shared rate limits, every start
// from one address (one hot rate-limit row): the starts that arrive while
// others are in flight share their rate-limit read, upsert and job insert
// (group commit), so a start costs well under the two statements of one
// alone. Every limit still holds: the per-address limit lets exactly its
// number of starts through.
func TestStatementsPerSignupStartConcurrent(t *testing.T) {
	ctx := context.Background()
	const clients, perClient, limit = 16, 40, 600
	svc, st, count := countedService(t, ratelimit.Rule{Limit: limit, Window: time.Hour})
	start := func(i int) error {
		return svc.StartSignup(ctx, StartSignup{Organization: DefaultOrganization, Email: fmt.Sprintf("conc-%d@example.com", i),
			AccountType: "customer_personal", ClientIP: "203.0.113.9"})
	}
	if err := start(-1); err != nil { // caches the organization
		t.Fatal(err)
	}

	count.n.Store(0)
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range perClient {
				switch err := start(c*perClient + i); {
				case err == nil:
					allowed.Add(1)
				case domain.ErrorCode(err) == domain.ERateLimited:
					refused.Add(1)
				default:
					t.Errorf("start: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	n := clients * perClient
	perStart := float64(count.n.Load()) / float64(n)
	t.Logf("PostgreSQL statements: %.2f per signup start with %d clients (%d allowed, %d refused)", perStart, clients, allowed.Load(), refused.Load())
	if got := allowed.Load(); got != limit-1 { // the first start took one
		t.Errorf("%d starts allowed, want %d (the limit less the first start)", got, limit-1)
	}
	var jobs int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE email_lower LIKE 'conc-%'`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != limit {
		t.Errorf("%d jobs written, want %d (one per allowed start)", jobs, limit)
	}
	for {
		done, err := svc.RunDueJobs(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if done == 0 {
			break
		}
	}
	var signups int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM signups WHERE email LIKE 'conc-%'`).Scan(&signups); err != nil {
		t.Fatal(err)
	}
	if signups != limit {
		t.Errorf("%d signups after the jobs ran, want %d", signups, limit)
	}
	if perStart > 1.5 {
		t.Errorf("%.2f statements per signup start with %d clients, want at most 1.5 (2 alone)", perStart, clients)
	}
}
