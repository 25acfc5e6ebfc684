package ratelimit

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// sqlEngines lists the databases the SQL-specific tests run on.
func sqlEngines() []struct {
	name string
	open func(t *testing.T) *sql.DB
} {
	return []struct {
		name string
		open func(t *testing.T) *sql.DB
	}{
		{"sqlite", openSQLite},
		{"postgres", openPostgres},
	}
}

// windowCounts returns key's stored rows as window_start → count.
func windowCounts(t *testing.T, db *sql.DB, key string) map[int64]int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT window_start, count FROM rate_limits WHERE key = $1`, key)
	if err != nil {
		t.Fatalf("query rows: %v", err)
	}
	defer rows.Close()
	got := make(map[int64]int64)
	for rows.Next() {
		var ws, n int64
		if err := rows.Scan(&ws, &n); err != nil {
			t.Fatalf("scan: %v", err)
		}
		got[ws] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return got
}

func TestSQL(t *testing.T) {
	start := baseTime().Unix()
	tests := []struct {
		name string
		run  func(t *testing.T, db *sql.DB, s *SQL, clk *fakeClock)
	}{
		{
			name: "stores allowed events only",
			run: func(t *testing.T, db *sql.DB, s *SQL, clk *fakeClock) {
				r := Rule{Limit: 3, Window: time.Minute}
				if got := countAllowed(t, s, "k", r, 5); got != 3 {
					t.Fatalf("allowed %d of 5, want 3", got)
				}
				clk.Advance(time.Minute)
				mustAllow(t, s, "k", r)
				got := windowCounts(t, db, "k")
				want := map[int64]int64{start: 3, start + 60: 1}
				if len(got) != len(want) || got[start] != want[start] || got[start+60] != want[start+60] {
					t.Fatalf("stored windows %v, want %v", got, want)
				}
			},
		},
		{
			name: "sub-second window is rounded up to one second",
			run: func(t *testing.T, db *sql.DB, s *SQL, clk *fakeClock) {
				r := Rule{Limit: 1, Window: 300 * time.Millisecond}
				mustAllow(t, s, "k", r)
				clk.Advance(500 * time.Millisecond)
				d := mustAllow(t, s, "k", r)
				if d.Allowed || d.RetryAfter != time.Second {
					t.Fatalf("half a second later got %+v, want refused with RetryAfter 1s", d)
				}
				clk.Advance(d.RetryAfter)
				if d := mustAllow(t, s, "k", r); !d.Allowed {
					t.Fatalf("refused after RetryAfter: %+v", d)
				}
			},
		},
		{
			name: "sweep deletes old windows only",
			run: func(t *testing.T, db *sql.DB, s *SQL, clk *fakeClock) {
				r := Rule{Limit: 5, Window: time.Minute}
				for range 3 {
					mustAllow(t, s, "a", r)
					mustAllow(t, s, "b", r)
					clk.Advance(time.Minute)
				}
				clk.Advance(-30 * time.Second) // windows start-0, +60, +120; now +150
				n, err := s.Sweep(t.Context(), 2*time.Minute)
				if err != nil {
					t.Fatalf("Sweep: %v", err)
				}
				if n != 2 {
					t.Fatalf("Sweep deleted %d rows, want 2 (window %d of both keys)", n, start)
				}
				for _, key := range []string{"a", "b"} {
					got := windowCounts(t, db, key)
					if len(got) != 2 || got[start+60] != 1 || got[start+120] != 1 {
						t.Fatalf("key %s: windows left %v, want %d and %d", key, got, start+60, start+120)
					}
				}
				if _, err := s.Sweep(t.Context(), 0); err == nil {
					t.Fatal("Sweep(0) succeeded, want an error")
				}
			},
		},
		{
			name: "limits above the column range are capped",
			run: func(t *testing.T, db *sql.DB, s *SQL, clk *fakeClock) {
				d := mustAllow(t, s, "k", Rule{Limit: math.MaxInt, Window: time.Minute})
				if want := (Decision{Allowed: true, Remaining: math.MaxInt32 - 1}); d != want {
					t.Fatalf("got %+v, want %+v", d, want)
				}
			},
		},
		{
			name: "cancelled context fails",
			run: func(t *testing.T, db *sql.DB, s *SQL, clk *fakeClock) {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				_, err := s.Allow(ctx, "k", Rule{Limit: 1, Window: time.Minute})
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Allow with cancelled context: err = %v, want context.Canceled", err)
				}
			},
		},
		{
			name: "missing table errors with context",
			run: func(t *testing.T, db *sql.DB, s *SQL, clk *fakeClock) {
				if _, err := db.ExecContext(t.Context(), `DROP TABLE rate_limits`); err != nil {
					t.Fatalf("drop table: %v", err)
				}
				_, err := s.Allow(t.Context(), "k", Rule{Limit: 1, Window: time.Minute})
				if err == nil || !strings.Contains(err.Error(), `ratelimit: sql allow "k"`) {
					t.Fatalf("Allow without table: err = %v, want a wrapped error", err)
				}
				_, err = s.Sweep(t.Context(), time.Hour)
				if err == nil || !strings.Contains(err.Error(), "ratelimit: sql sweep") {
					t.Fatalf("Sweep without table: err = %v, want a wrapped error", err)
				}
			},
		},
	}
	for _, eng := range sqlEngines() {
		t.Run(eng.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					clk := newFakeClock()
					db := eng.open(t)
					tt.run(t, db, NewSQL(db, clk.Now), clk)
				})
			}
		})
	}
}

func TestSQLUnlimitedTouchesNoStorage(t *testing.T) {
	// A nil *sql.DB would panic on any use.
	s := NewSQL(nil, nil)
	for _, limit := range []int{0, -1} {
		d, err := s.Allow(t.Context(), "k", Rule{Limit: limit, Window: time.Minute})
		if err != nil || !d.Allowed {
			t.Fatalf("limit %d: got (%+v, %v), want allowed", limit, d, err)
		}
	}
}
