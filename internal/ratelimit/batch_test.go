package ratelimit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAllowAllMatchesAllowInOrder plays one script of two-key checks on
// SQL.AllowAll and, on a second database, on one Allow per check in order
// (the behaviour AllowAll promises), and compares every decision and the
// stored counts.
func TestAllowAllMatchesAllowInOrder(t *testing.T) {
	ip := Rule{Limit: 5, Window: time.Minute}
	email := Rule{Limit: 3, Window: time.Hour}
	steps := []struct {
		name    string
		advance time.Duration
		email   string
	}{
		{"first", 0, "a"}, {"second", time.Second, "a"}, {"third", time.Second, "a"},
		{"email full", time.Second, "a"}, {"other email", time.Second, "b"},
		{"ip full", time.Second, "c"}, {"still full", 10 * time.Second, "c"},
		{"next minute", time.Minute, "c"}, {"unlimited email", 0, ""},
	}
	for _, eng := range sqlEngines() {
		t.Run(eng.name, func(t *testing.T) {
			clk := newFakeClock()
			batch, each := NewSQL(eng.open(t), clk.Now), NewSQL(eng.open(t), clk.Now)
			for _, st := range steps {
				clk.Advance(st.advance)
				rule := email
				if st.email == "" {
					rule = Rule{}
				}
				checks := []Check{{Key: "signup:ip:1", Rule: ip}, {Key: "signup:email:" + st.email, Rule: rule}}
				got, gi, err := AllowAll(t.Context(), batch, checks...)
				if err != nil {
					t.Fatalf("%s: AllowAll: %v", st.name, err)
				}
				want, wi, err := allowEach(t.Context(), each, checks)
				if err != nil {
					t.Fatalf("%s: Allow in order: %v", st.name, err)
				}
				if got != want || gi != wi {
					t.Fatalf("%s: AllowAll = %+v (check %d), Allow in order = %+v (check %d)", st.name, got, gi, want, wi)
				}
			}
			for _, key := range []string{"signup:ip:1", "signup:email:a", "signup:email:b", "signup:email:c"} {
				g, w := windowCounts(t, batch.db, key), windowCounts(t, each.db, key)
				if len(g) != len(w) {
					t.Fatalf("%s: windows %v, want %v", key, g, w)
				}
				for ws, n := range w {
					if g[ws] != n {
						t.Fatalf("%s: windows %v, want %v", key, g, w)
					}
				}
			}
		})
	}
}

// TestAllowAllExactAcrossNodes runs AllowAll from three limiters (three
// nodes) on one PostgreSQL database at once: a limit of 60 lets exactly 60
// through in total.
func TestAllowAllExactAcrossNodes(t *testing.T) {
	db := openPostgres(t)
	clk := newFakeClock()
	nodes := []*SQL{NewSQL(db, clk.Now), NewSQL(db, clk.Now), NewSQL(db, clk.Now)}
	ip := Rule{Limit: 60, Window: time.Minute}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 24 {
		wg.Go(func() {
			for i := range 10 {
				checks := []Check{{Key: "signup:ip:9", Rule: ip}, {Key: "signup:email:" + string(rune('a'+g)) + string(rune('a'+i)), Rule: Rule{Limit: 5, Window: time.Hour}}}
				d, _, err := AllowAll(t.Context(), nodes[g%3], checks...)
				if err != nil {
					t.Errorf("AllowAll: %v", err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 60 {
		t.Fatalf("allowed %d of 240 from three nodes, want 60", got)
	}
	if got := windowCounts(t, db, "signup:ip:9"); len(got) != 1 || got[baseTime().Unix()] != 60 {
		t.Fatalf("ip windows %v, want 60 in the current one", got)
	}
}
