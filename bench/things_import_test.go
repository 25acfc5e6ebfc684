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
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/things"
)

var productFile struct {
	once sync.Once
	path string
	dir  string
}

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
	n := importRows(b)
	productFile.once.Do(func() {
		dir, err := os.MkdirTemp("", "onboard-product-bench-")
		if err != nil {
			b.Fatal(err)
		}
		productFile.dir, productFile.path = dir, filepath.Join(dir, "products.ndjson")
		writeProductFile(b, productFile.path, n)
	})
	b.Cleanup(func() { os.RemoveAll(productFile.dir) })
	forEachEngine(b, func(b *testing.B, dsn string) {
		s := startServer(b, dsn, 1)
		ctx := context.Background()
		key, _, err := flows.CreateAdminKey(ctx, s.app.Store(), flows.DefaultOrganization, "bench")
		if err != nil {
			b.Fatal(err)
		}
		client := &http.Client{} // no timeout: the import takes as long as it takes
		runtime.GC()
		b.ResetTimer()
		mem := startMemPeak()
		before := sampleCPU()
		start := time.Now()
		var created, unchanged int
		for range b.N {
			f, err := os.Open(productFile.path)
			if err != nil {
				b.Fatal(err)
			}
			req, err := http.NewRequest("POST", s.base+"/api/v1/admin/organizations/default/products/import", bufio.NewReaderSize(f, 256<<10))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-ndjson")
			req.Header.Set("Authorization", "Bearer "+key)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
			sc := bufio.NewScanner(res.Body)
			var last []byte
			lines := 0
			for sc.Scan() {
				lines++
				last = append(last[:0], sc.Bytes()...)
			}
			res.Body.Close()
			f.Close()
			if err := sc.Err(); err != nil {
				b.Fatal(err)
			}
			var sum struct {
				Summary *things.ImportSummary `json:"summary"`
			}
			if err := json.Unmarshal(last, &sum); err != nil || sum.Summary == nil || lines != n+1 || sum.Summary.Rejected != 0 {
				b.Fatalf("answer: %d lines, last %s", lines, bytes.TrimSpace(last))
			}
			created += sum.Summary.Created
			unchanged += sum.Summary.Unchanged
		}
		elapsed := time.Since(start)
		use := cpuBetween(before, sampleCPU(), strings.HasSuffix(b.Name(), "/postgres"))
		b.StopTimer()
		heap, rss := mem.end()
		if created != n || unchanged != n*(b.N-1) {
			b.Fatalf("created %d, unchanged %d over %d runs of %d rows", created, unchanged, b.N, n)
		}
		var count int
		if err := s.app.Store().DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM products`).Scan(&count); err != nil || count != n {
			b.Fatalf("products table holds %d rows (%v), want %d", count, err, n)
		}
		b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
		if use.ok && use.service > 0 {
			// CPU of this process (and of the PostgreSQL server on
			// postgres) per 1,000 rows, and the rate that CPU allows on
			// all the machine's cores: what the import would reach if
			// nothing else ran (others' CPU share is noise_pct).
			b.ReportMetric(float64(use.service.Milliseconds())*1000/float64(n*b.N), "cpu_ms/1k-rows")
			b.ReportMetric(float64(n*b.N)/(use.service.Seconds()/float64(runtime.NumCPU())), "cpu-bound-rows/s")
			b.ReportMetric(use.noisePct(), "noise_pct")
		}
		b.ReportMetric(0, "ns/op")
	})
}
