package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// directoryCustomers is how many customers the paged organization has;
// every name is shared by four of them (ties on the sort key).
const directoryCustomers = 1_000_000

// loadDirectory generates the customers in the database itself (a
// generated series), then has the statistics brought up to date.
func loadDirectory(ctx context.Context, st *store.Store, orgID string) error {
	var q string
	if st.Engine() == store.Postgres {
		q = fmt.Sprintf(`INSERT INTO accounts (id, org_id, kind, type, name, properties, status, origin, created_at, updated_at)
			SELECT 'acct' || lpad(i::text, 8, '0'), $1, 'customer', 'business', 'customer ' || lpad((i %% %d)::text, 7, '0'),
				'{}', 'active', 'back_office', now(), now()
			FROM generate_series(1, %d) AS i`, directoryCustomers/4, directoryCustomers)
	} else {
		q = fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
			INSERT INTO accounts (id, org_id, kind, type, name, properties, status, origin, created_at, updated_at)
			SELECT 'acct' || substr('00000000' || i, -8), $1, 'customer', 'business', 'customer ' || substr('0000000' || (i %% %d), -7),
				'{}', 'active', 'back_office', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00' FROM s`,
			directoryCustomers, directoryCustomers/4)
	}
	if _, err := st.DB().ExecContext(ctx, q, orgID); err != nil {
		return fmt.Errorf("generate customers: %w", err)
	}
	_, err := st.DB().ExecContext(ctx, "ANALYZE")
	return err
}

// BenchmarkDirectoryPaging pages through 1,000,000 customers of an
// organization as the console's customer list does (25 a page, by name,
// keyset cursor): the first page, one in the middle and the last but one
// cost the same. On PostgreSQL it also reports the buffers the page read
// (EXPLAIN ANALYZE, BUFFERS), a figure free of the machine's noise;
// cpu_ms/op is the CPU of this process (and of the PostgreSQL server) per
// page, less noisy than ns/op on a busy machine.
//
//	go test -run '^$' -bench DirectoryPaging -benchtime 200x ./bench/
func BenchmarkDirectoryPaging(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) {
		ctx := context.Background()
		st, err := store.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		org := domain.Organization{ID: store.NewID(), Name: "big", DisplayName: "Big", Onboarding: domain.DefaultOnboarding(), CreatedAt: store.Now()}
		if err := st.CreateOrganization(ctx, org); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := loadDirectory(ctx, st, org.ID); err != nil {
			b.Fatal(err)
		}
		b.Logf("%d customers generated in %s", directoryCustomers, time.Since(start).Round(time.Second))
		at := func(offset int) store.Cursor {
			var c store.Cursor
			if offset == 0 {
				return c
			}
			if err := st.DB().QueryRowContext(ctx, `SELECT name, id FROM accounts WHERE org_id = $1 AND kind = 'customer'
				ORDER BY name, id LIMIT 1 OFFSET $2`, org.ID, offset-1).Scan(&c.Key, &c.ID); err != nil {
				b.Fatal(err)
			}
			return c
		}
		for _, pos := range []struct {
			name   string
			offset int
			back   bool
		}{{"first", 0, false}, {"middle", directoryCustomers / 2, false}, {"deep", directoryCustomers - 50, false}, {"deep-back", directoryCustomers - 50, true}} {
			cur := at(pos.offset)
			cur.Back = pos.back
			b.Run(pos.name, func(b *testing.B) {
				before := sampleCPU()
				for b.Loop() {
					p, err := st.DirectoryAccounts(ctx, org.ID, domain.KindCustomer, "", cur, 25)
					if err != nil {
						b.Fatal(err)
					}
					if len(p.Items) != 25 {
						b.Fatalf("%d customers on the page", len(p.Items))
					}
				}
				use := cpuBetween(before, sampleCPU(), st.Engine() == store.Postgres)
				if use.ok {
					b.ReportMetric(use.msPer(b.N), "cpu_ms/op")
					b.ReportMetric(use.noisePct(), "noise_%")
				}
				if st.Engine() == store.Postgres {
					b.ReportMetric(float64(pageBuffers(b, st, org.ID, cur)), "buffers/op")
				}
			})
		}
	})
}

// pageBuffers is how many buffers PostgreSQL touched for the page's query
// (the keyset query of store.DirectoryAccounts without the users count).
func pageBuffers(b *testing.B, st *store.Store, orgID string, cur store.Cursor) int {
	q, args := `SELECT a.id, a.name FROM accounts a WHERE a.org_id = $1 AND a.kind = 'customer'`, []any{orgID}
	order := "ASC"
	if cur.ID != "" {
		op := ">"
		if cur.Back {
			op, order = "<", "DESC"
		}
		q += " AND (a.name, a.id) " + op + " ($2, $3)"
		args = append(args, cur.Key, cur.ID)
	}
	q += " ORDER BY a.name " + order + ", a.id " + order + " LIMIT 26"
	var raw string
	if err := st.DB().QueryRow("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q, args...).Scan(&raw); err != nil {
		b.Fatal(err)
	}
	var plan []struct {
		Plan struct {
			NodeType string `json:"Node Type"`
			Hit      int    `json:"Shared Hit Blocks"`
			Read     int    `json:"Shared Read Blocks"`
			Plans    []struct {
				NodeType  string `json:"Node Type"`
				IndexName string `json:"Index Name"`
			} `json:"Plans"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(raw), &plan); err != nil || len(plan) == 0 {
		b.Fatalf("explain: %v %s", err, raw)
	}
	p := plan[0].Plan
	if len(p.Plans) == 0 || p.Plans[0].IndexName != "accounts_directory" {
		b.Fatalf("the page is not read from accounts_directory: %s", raw)
	}
	return p.Hit + p.Read
}
