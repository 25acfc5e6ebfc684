package ratelimit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// postgresEnv names the environment variable holding the PostgreSQL URL the
// SQL tests run against.
const postgresEnv = "ONBOARD_TEST_POSTGRES_URL"

// createTable is the DDL the service's migrations use.
const createTable = `CREATE TABLE rate_limits (
    key          TEXT    NOT NULL,
    window_start BIGINT  NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
)`

// baseTime is the fake clocks' starting time: a whole day, so it is aligned
// to every window length used in the tests.
func baseTime() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: baseTime()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newLimiterFunc makes a fresh, empty Limiter reading the time from now.
type newLimiterFunc func(t *testing.T, now func() time.Time) Limiter

// mustAllow calls l.Allow and fails the test on error.
func mustAllow(t *testing.T, l Limiter, key string, r Rule) Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), key, r)
	if err != nil {
		t.Fatalf("Allow(%q, %+v): %v", key, r, err)
	}
	return d
}

// exhaust makes r.Limit allowed calls for key, failing if one is refused.
func exhaust(t *testing.T, l Limiter, key string, r Rule) {
	t.Helper()
	for i := range r.Limit {
		if d := mustAllow(t, l, key, r); !d.Allowed {
			t.Fatalf("call %d of %d refused: %+v", i+1, r.Limit, d)
		}
	}
}

// countAllowed makes n calls and returns how many were allowed.
func countAllowed(t *testing.T, l Limiter, key string, r Rule, n int) int {
	t.Helper()
	allowed := 0
	for range n {
		if mustAllow(t, l, key, r).Allowed {
			allowed++
		}
	}
	return allowed
}

// testLimiter is the behavioural suite every Limiter must pass.
func testLimiter(t *testing.T, newLimiter newLimiterFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, l Limiter, clk *fakeClock)
	}{
		{
			name: "under limit allowed with remaining decreasing",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				r := Rule{Limit: 5, Window: time.Minute}
				for i := range r.Limit {
					d := mustAllow(t, l, "k", r)
					want := Decision{Allowed: true, Remaining: r.Limit - 1 - i}
					if d != want {
						t.Fatalf("call %d: got %+v, want %+v", i+1, d, want)
					}
				}
			},
		},
		{
			name: "peek tells without counting",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				ctx := context.Background()
				r := Rule{Limit: 2, Window: time.Minute}
				for range 5 {
					d, err := l.Peek(ctx, "p", r)
					if err != nil || d != (Decision{Allowed: true, Remaining: 2}) {
						t.Fatalf("peek on fresh key = %+v, %v; want allowed with 2 remaining", d, err)
					}
				}
				mustAllow(t, l, "p", r)
				if d, _ := l.Peek(ctx, "p", r); !d.Allowed || d.Remaining != 1 {
					t.Fatalf("peek after one event = %+v, want 1 remaining", d)
				}
				mustAllow(t, l, "p", r)
				d, err := l.Peek(ctx, "p", r)
				if err != nil || d.Allowed || d.RetryAfter <= 0 {
					t.Fatalf("peek on spent key = %+v, %v; want refused with RetryAfter", d, err)
				}
				clk.Advance(2 * r.Window)
				if d, _ := l.Peek(ctx, "p", r); !d.Allowed {
					t.Fatalf("peek after the window passed = %+v, want allowed", d)
				}
			},
		},
		{
			name: "over limit refused with retry-after within the window",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				r := Rule{Limit: 3, Window: time.Minute}
				for _, tc := range []struct {
					offset time.Duration
					want   time.Duration
				}{
					{0, time.Minute},
					{3300 * time.Millisecond, 57 * time.Second},
					{59900 * time.Millisecond, time.Second},
				} {
					clk.Set(baseTime().Add(tc.offset))
					key := "k" + tc.offset.String()
					exhaust(t, l, key, r)
					d := mustAllow(t, l, key, r)
					if d.Allowed || d.Remaining != 0 {
						t.Fatalf("offset %v: over-limit call got %+v, want refused with 0 remaining", tc.offset, d)
					}
					if d.RetryAfter <= 0 || d.RetryAfter > r.Window || d.RetryAfter%time.Second != 0 {
						t.Fatalf("offset %v: RetryAfter %v not whole seconds in (0, %v]", tc.offset, d.RetryAfter, r.Window)
					}
					if d.RetryAfter != tc.want {
						t.Fatalf("offset %v: RetryAfter %v, want %v", tc.offset, d.RetryAfter, tc.want)
					}
				}
			},
		},
		{
			name: "retry-after is honoured",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				r := Rule{Limit: 3, Window: 10 * time.Second}
				clk.Set(baseTime().Add(2500 * time.Millisecond))
				exhaust(t, l, "k", r)
				d := mustAllow(t, l, "k", r)
				if d.Allowed || d.RetryAfter != 8*time.Second {
					t.Fatalf("got %+v, want refused with RetryAfter 8s", d)
				}
				clk.Advance(d.RetryAfter - time.Second)
				if d := mustAllow(t, l, "k", r); d.Allowed {
					t.Fatalf("allowed a second before RetryAfter: %+v", d)
				}
				clk.Advance(time.Second)
				if d := mustAllow(t, l, "k", r); !d.Allowed {
					t.Fatalf("refused once RetryAfter passed: %+v", d)
				}
			},
		},
		{
			name: "refused events do not count",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				r := Rule{Limit: 10, Window: 10 * time.Second}
				exhaust(t, l, "k", r)
				var last Decision
				for range 200 {
					last = mustAllow(t, l, "k", r)
					if last.Allowed {
						t.Fatalf("allowed over the limit: %+v", last)
					}
				}
				// Had the 200 refusals counted, the previous window would
				// hold 210 events and keep refusing for the whole window.
				clk.Advance(last.RetryAfter)
				if d := mustAllow(t, l, "k", r); !d.Allowed {
					t.Fatalf("refused after RetryAfter %v: %+v", last.RetryAfter, d)
				}
				clk.Advance(5 * time.Second)
				// Halfway: floor(10 × (5s-1ns)/10s) = 4 → 6 per window, 1 used.
				if got := countAllowed(t, l, "k", r, 20); got != 5 {
					t.Fatalf("allowed %d of 20 halfway through the next window, want 5", got)
				}
			},
		},
		{
			name: "previous window is weighted by its overlap",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				r := Rule{Limit: 10, Window: 10 * time.Second}
				exhaust(t, l, "k", r)
				clk.Advance(15 * time.Second)
				if got := countAllowed(t, l, "k", r, 6); got != 6 {
					t.Fatalf("allowed %d of 6 halfway through the next window, want 6", got)
				}
				d := mustAllow(t, l, "k", r)
				if d.Allowed || d.RetryAfter != time.Second {
					t.Fatalf("7th call got %+v, want refused with RetryAfter 1s", d)
				}
				clk.Advance(d.RetryAfter)
				if d := mustAllow(t, l, "k", r); !d.Allowed {
					t.Fatalf("refused after RetryAfter: %+v", d)
				}
			},
		},
		{
			name: "allowed again after the window passes",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				r := Rule{Limit: 2, Window: time.Minute}
				exhaust(t, l, "k", r)
				if d := mustAllow(t, l, "k", r); d.Allowed {
					t.Fatalf("allowed over the limit: %+v", d)
				}
				clk.Advance(2 * r.Window)
				d := mustAllow(t, l, "k", r)
				if want := (Decision{Allowed: true, Remaining: r.Limit - 1}); d != want {
					t.Fatalf("after two windows got %+v, want %+v", d, want)
				}
			},
		},
		{
			name: "different keys are independent",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				r := Rule{Limit: 1, Window: time.Minute}
				steps := []struct {
					key  string
					want bool
				}{
					{"a", true}, {"a", false}, {"b", true}, {"b", false}, {"a", false}, {"c", true},
				}
				for i, s := range steps {
					if d := mustAllow(t, l, s.key, r); d.Allowed != s.want {
						t.Fatalf("step %d (%s): Allowed = %v, want %v", i, s.key, d.Allowed, s.want)
					}
				}
			},
		},
		{
			name: "limit zero or less is unlimited",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				for _, r := range []Rule{{Limit: 0, Window: time.Minute}, {Limit: -1, Window: time.Minute}, {Limit: 0}} {
					for range 1000 {
						d := mustAllow(t, l, "k", r)
						if want := (Decision{Allowed: true, Remaining: math.MaxInt}); d != want {
							t.Fatalf("rule %+v: got %+v, want %+v", r, d, want)
						}
					}
				}
				// Nothing was counted.
				if d := mustAllow(t, l, "k", Rule{Limit: 1, Window: time.Minute}); !d.Allowed {
					t.Fatalf("unlimited calls were counted: %+v", d)
				}
			},
		},
		{
			name: "non-positive window is an error",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				for _, r := range []Rule{{Limit: 1}, {Limit: 1, Window: -time.Second}} {
					_, err := l.Allow(t.Context(), "k", r)
					if !errors.Is(err, ErrInvalidRule) {
						t.Fatalf("rule %+v: err = %v, want ErrInvalidRule", r, err)
					}
				}
			},
		},
		{
			name: "concurrent callers never exceed the limit",
			run: func(t *testing.T, l Limiter, clk *fakeClock) {
				const goroutines, calls = 50, 10
				r := Rule{Limit: 100, Window: time.Minute}
				var allowed atomic.Int64
				errs := make(chan error, goroutines*calls)
				var wg sync.WaitGroup
				for range goroutines {
					wg.Go(func() {
						for range calls {
							d, err := l.Allow(t.Context(), "k", r)
							if err != nil {
								errs <- err
								continue
							}
							if d.Allowed {
								allowed.Add(1)
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("Allow: %v", err)
				}
				if got := allowed.Load(); got != int64(r.Limit) {
					t.Fatalf("allowed %d of %d concurrent calls, want exactly %d", got, goroutines*calls, r.Limit)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			tt.run(t, newLimiter(t, clk.Now), clk)
		})
	}
}

func TestMemoryLimiter(t *testing.T) {
	testLimiter(t, func(t *testing.T, now func() time.Time) Limiter {
		return NewMemory(now)
	})
}

func TestSQLiteLimiter(t *testing.T) {
	testLimiter(t, func(t *testing.T, now func() time.Time) Limiter {
		return NewSQL(openSQLite(t), now)
	})
}

func TestPostgresLimiter(t *testing.T) {
	testLimiter(t, func(t *testing.T, now func() time.Time) Limiter {
		return NewSQL(openPostgres(t), now)
	})
}

// openSQLite opens a fresh SQLite database file holding the rate_limits
// table, closed when the test ends.
func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ratelimit.db")
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(t.Context(), createTable); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return db
}

// openPostgres opens a pool on a fresh schema of the database named by
// ONBOARD_TEST_POSTGRES_URL, holding the rate_limits table; the schema is
// dropped when the test ends. The test is skipped when the variable is unset.
func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set: skipping PostgreSQL tests (set it to e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", postgresEnv)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })

	schema := "rl_" + randomHex(t)
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	db, err := sql.Open("pgx", withSearchPath(t, dsn, schema))
	if err != nil {
		t.Fatalf("open postgres schema %s: %v", schema, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(t.Context(), createTable); err != nil {
		t.Fatalf("create table in schema %s: %v", schema, err)
	}
	return db
}

// withSearchPath adds search_path=schema to a PostgreSQL URL or keyword/value
// connection string.
func withSearchPath(t *testing.T, dsn, schema string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// randomHex returns 16 random hex digits.
func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}
