package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/funnel"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// funnelSignups is how many signups the measured organization had in the
// year; each of funnelOtherOrgs other organizations had a tenth of that.
const (
	funnelSignups   = 10_000_000
	funnelOtherOrgs = 9
)

// funnelYear is the year the generated signups fall in.
var funnelYear = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type funnelKey struct {
	day, accountType, step string
}

type funnelBucketKey struct {
	funnelKey
	bucket int
}

// simulateFunnel plays n signups through the funnel, spread over the year
// and the account types, with the conversions and times of a plausible
// onboarding, and returns the counters the flows would have written: each
// step on the day it happened, each duration in its bucket.
func simulateFunnel(n int, seed uint64) (map[funnelKey]int64, map[funnelBucketKey]int64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	counts := map[funnelKey]int64{}
	buckets := map[funnelBucketKey]int64{}
	logNormal := func(median time.Duration) time.Duration {
		return time.Duration(float64(median) * math.Exp(rng.NormFloat64()))
	}
	type stage struct {
		step   string
		pass   float64
		median time.Duration
	}
	stages := []stage{
		{funnel.StepLinkOpened, 0.8, 10 * time.Minute},
		{funnel.StepRegistrationCompleted, 0.85, 4 * time.Minute},
		{funnel.StepFirstSignIn, 0.95, 2 * time.Second},
	}
	for range n {
		at := funnelYear.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		t := domain.AccountTypes[rng.IntN(len(domain.AccountTypes))]
		counts[funnelKey{at.Format(funnel.DateLayout), t, funnel.StepSignupStarted}]++
		for _, s := range stages {
			if rng.Float64() >= s.pass {
				break
			}
			d := logNormal(s.median)
			at = at.Add(d)
			k := funnelKey{at.Format(funnel.DateLayout), t, s.step}
			counts[k]++
			buckets[funnelBucketKey{k, funnel.Bucket(d)}]++
		}
	}
	return counts, buckets
}

// insertRows writes rows in batches of multi-row INSERTs in one transaction.
func insertRows(ctx context.Context, st *store.Store, head string, cols int, rows [][]any) error {
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	const batch = 1000
	for i := 0; i < len(rows); i += batch {
		part := rows[i:min(i+batch, len(rows))]
		var sb strings.Builder
		sb.WriteString(head)
		args := make([]any, 0, len(part)*cols)
		for j, r := range part {
			if j > 0 {
				sb.WriteString(",")
			}
			sb.WriteString("(")
			for c := range cols {
				if c > 0 {
					sb.WriteString(",")
				}
				fmt.Fprintf(&sb, "$%d", len(args)+c+1)
			}
			sb.WriteString(")")
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// loadFunnel writes the counters of n simulated signups of orgID.
func loadFunnel(ctx context.Context, st *store.Store, orgID string, n int, seed uint64) (int, int, error) {
	counts, buckets := simulateFunnel(n, seed)
	hists := map[funnelKey]map[int]int64{}
	for k, c := range buckets {
		if hists[k.funnelKey] == nil {
			hists[k.funnelKey] = map[int]int64{}
		}
		hists[k.funnelKey][k.bucket] = c
	}
	var daily [][]any
	for k, c := range counts {
		daily = append(daily, []any{orgID, k.day, k.accountType, k.step, c, funnel.FormatHistogram(hists[k])})
	}
	if err := insertRows(ctx, st, "INSERT INTO funnel_daily (org_id, day, account_type, step, count, durations) VALUES ", 6, daily); err != nil {
		return 0, 0, err
	}
	return len(daily), len(buckets), nil
}

// BenchmarkFunnelYear answers the funnel of a year of an organization with
// 10,000,000 signups (beside nine organizations with 1,000,000 each) on
// PostgreSQL, as GET …/funnel does: the counters summed by the database and
// the report built with its medians. ms/op is one year's answer.
func BenchmarkFunnelYear(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, dbtest.Postgres(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var org domain.Organization
	for i := range funnelOtherOrgs + 1 {
		o, err := flows.EnsureOrganization(ctx, st, fmt.Sprintf("org%d", i), fmt.Sprintf("Org %d", i))
		if err != nil {
			b.Fatal(err)
		}
		n := funnelSignups / 10
		if i == 0 {
			org, n = o, funnelSignups
		}
		start := time.Now()
		d, h, err := loadFunnel(ctx, st, o.ID, n, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.Logf("%d signups → %d counter rows holding %d duration buckets, generated and loaded in %v", n, d, h, time.Since(start).Round(time.Millisecond))
		}
	}
	if _, err := st.DB().ExecContext(ctx, "ANALYZE funnel_daily"); err != nil {
		b.Fatal(err)
	}
	to := funnelYear.AddDate(0, 0, 364)
	for _, tc := range []struct{ name, accountType string }{{"all", ""}, {"one_type", domain.AccountCustomerBusiness}} {
		b.Run(tc.name, func(b *testing.B) {
			var worst time.Duration
			var rep funnel.Report
			for b.Loop() {
				t0 := time.Now()
				counts, hists, err := st.FunnelFigures(ctx, org.ID, funnelYear, to, tc.accountType)
				if err != nil {
					b.Fatal(err)
				}
				rep = funnel.Build(funnelYear, to, counts, hists)
				worst = max(worst, time.Since(t0))
			}
			if tc.accountType == "" && rep.Steps[0].Count != funnelSignups {
				b.Fatalf("the year counts %d signups started, want %d", rep.Steps[0].Count, funnelSignups)
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst_ms")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.Logf("%s: %d days, steps %v", tc.name, len(rep.Days), counts(rep.Steps))
		})
	}
}

func counts(steps []funnel.StepCount) []string {
	var out []string
	for _, s := range steps {
		m := ""
		if s.MedianSeconds != nil {
			m = fmt.Sprintf(" (median %ds)", *s.MedianSeconds)
		}
		out = append(out, fmt.Sprintf("%s=%d%s", s.Step, s.Count, m))
	}
	return out
}
