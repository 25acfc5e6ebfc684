package bench

// BenchmarkProductImport measures the bulk import of products
// (POST /api/v1/admin/organizations/{org}/products/import) over loopback
// HTTP: a generated NDJSON file of ONBOARD_BENCH_IMPORT_ROWS products
// (default 1,000,000; one in four with a connection token, every one with
// metadata) is streamed to an in-process onboard with an admin key, and the
// NDJSON answer is read as it comes. It reports rows per second and the
// peak Go heap and resident set size, and the CPU it took (this process,
// plus the PostgreSQL server on postgres) per 1,000 rows with the rate
// that CPU allows on all cores (cpu-bound-rows/s): on a shared machine the
// wall-clock rate says more about the neighbours (noise_pct) than about
// the import. Run it once per engine:
//
//	ONBOARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test ./bench -run '^$' -bench BenchmarkProductImport -benchtime 1x -timeout 30m
//
// Target: at least 50,000 rows/s on PostgreSQL.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/onboard-dev/onboard/internal/flows"
)

// writeProductFile writes n products as NDJSON, about 120 bytes a line.
func writeProductFile(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		if i%4 == 0 {
			fmt.Fprintf(w, `{"serial_number":"HP-%08d","model":"Heat pump X200","connection_token":"TK-%08d-7Q4M","metadata":{"batch":"B-%d"}}`+"\n", i, i, i/10000)
		} else {
			fmt.Fprintf(w, `{"serial_number":"HP-%08d","model":"Heat pump X200","metadata":{"batch":"B-%d"}}`+"\n", i, i/10000)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkProductImport(b *testing.B) {
	runImport(b, importBench{file: "products.ndjson", write: writeProductFile, path: "/api/v1/admin/organizations/default/products/import",
		setup: func(b *testing.B, s *server) string {
			key, _, err := flows.CreateAdminKey(context.Background(), s.app.Store(), flows.DefaultOrganization, "bench")
			if err != nil {
				b.Fatal(err)
			}
			return key
		},
		check: func(b *testing.B, s *server, n int) {
			var count int
			if err := s.app.Store().DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM products`).Scan(&count); err != nil || count != n {
				b.Fatalf("products table holds %d rows (%v), want %d", count, err, n)
			}
		}})
}
