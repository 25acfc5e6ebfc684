package bench

// BenchmarkImport measures the bulk import of end users
// (POST /api/v1/b2b/end-users/import) over loopback HTTP: a generated NDJSON
// file of ONBOARD_BENCH_IMPORT_ROWS end users (default 1,000,000) is streamed
// to an in-process onboard, and the NDJSON answer is read as it comes. It
// reports rows per second, the peak Go heap in use (sampled every 20 ms),
// the peak resident set size of the process (VmHWM, reset before each run)
// and the CPU per 1,000 rows (see runImport).
// Run it once per engine:
//
//	ONBOARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test ./bench -run '^$' -bench BenchmarkImport -benchtime 1x -timeout 30m
//
// Targets: at least 50,000 rows/s on PostgreSQL and 20,000 on SQLite, with
// peaks under 256 MiB.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/b2b"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
)

func importRows(b *testing.B) int {
	if v := os.Getenv("ONBOARD_BENCH_IMPORT_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ONBOARD_BENCH_IMPORT_ROWS=%q: want a positive number", v)
		}
		return n
	}
	return 1_000_000
}

// writeImportFile writes n end users as NDJSON, about 300 bytes a line.
func writeImportFile(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		fmt.Fprintf(w, `{"email":"end.user%d@example.com","first_name":"Ada%d","last_name":"Lovelace","labelpartner":"bench-lp",`+
			`"create_verified_user":%t,"order":{"voucher_code":"V-%d"},"customer":{"customer_number":"C-%d","address":{"street":"Main Street %d","city":"Amsterdam"}},`+
			`"installation":{"meter_id":"E%010d"}}`+"\n", i, i, i%2 == 0, i, i, i%500, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// memPeak samples the heap in use until stopped.
type memPeak struct {
	stop chan struct{}
	done chan struct{}
	heap atomic.Uint64
}

func startMemPeak() *memPeak {
	// Reset the process's peak RSS (VmHWM) so this run's peak is measured.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	m := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > m.heap.Load() {
				m.heap.Store(ms.HeapInuse)
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memPeak) end() (heap uint64, rss uint64) {
	close(m.stop)
	<-m.done
	raw, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss = kb << 10
			}
		}
	}
	return m.heap.Load(), rss
}

// importBench is one bulk import benchmark: a generated NDJSON file
// streamed to an import endpoint, whose NDJSON answer ends with a summary.
type importBench struct {
	// file is the generated file's name; write writes n lines to it.
	file  string
	write func(b *testing.B, path string, n int)
	// path is the endpoint; setup prepares a started server and returns
	// the bearer token of the requests.
	path  string
	setup func(b *testing.B, s *server) (token string)
	// check, when set, checks the database after the runs.
	check func(b *testing.B, s *server, n int)
}

// importSummary is the last line of an import's answer.
type importSummary struct {
	Created   int `json:"created"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"`
}

// runImport generates the file once (ONBOARD_BENCH_IMPORT_ROWS lines) and,
// on each engine, streams it b.N times and checks the answers: the first
// run creates every line, the others find them unchanged. It reports rows
// per second, the peak Go heap and resident set size, and the CPU it took
// (this process, plus the PostgreSQL server on postgres) per 1,000 rows
// with the rate that CPU allows on all cores (cpu-bound-rows/s): on a
// shared machine the wall-clock rate says more about the neighbours
// (noise_pct) than about the import.
func runImport(b *testing.B, ib importBench) {
	n := importRows(b)
	dir, err := os.MkdirTemp("", "onboard-import-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, ib.file)
	start := time.Now()
	ib.write(b, path, n)
	b.Logf("generated %d lines in %v", n, time.Since(start).Round(time.Millisecond))
	forEachEngine(b, func(b *testing.B, dsn string) {
		s := startServer(b, dsn, 1)
		token := ib.setup(b, s)
		client := &http.Client{} // no timeout: the import takes as long as it takes
		runtime.GC()
		b.ResetTimer()
		mem := startMemPeak()
		before := sampleCPU()
		start := time.Now()
		var created, unchanged int
		for range b.N {
			sum := postImport(b, client, s.base+ib.path, token, path, n)
			created += sum.Created
			unchanged += sum.Unchanged
		}
		elapsed := time.Since(start)
		use := cpuBetween(before, sampleCPU(), strings.HasSuffix(b.Name(), "/postgres"))
		b.StopTimer()
		heap, rss := mem.end()
		if created != n || unchanged != n*(b.N-1) {
			b.Fatalf("created %d, unchanged %d over %d runs of %d rows", created, unchanged, b.N, n)
		}
		if ib.check != nil {
			ib.check(b, s, n)
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

// postImport streams the file at path to url and reads the answer: n line
// answers and a summary that rejects none.
func postImport(b *testing.B, client *http.Client, url, token, path string, n int) importSummary {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	req, err := http.NewRequest("POST", url, bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
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
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	var sum struct {
		Summary *importSummary `json:"summary"`
	}
	if err := json.Unmarshal(last, &sum); err != nil || sum.Summary == nil || lines != n+1 || sum.Summary.Rejected != 0 {
		b.Fatalf("answer: %d lines, last %s", lines, bytes.TrimSpace(last))
	}
	return *sum.Summary
}

func BenchmarkImport(b *testing.B) {
	runImport(b, importBench{file: "users.ndjson", write: writeImportFile, path: "/api/v1/b2b/end-users/import",
		setup: func(b *testing.B, s *server) string {
			ctx := context.Background()
			st := s.app.Store()
			org, err := st.OrganizationByName(ctx, flows.DefaultOrganization)
			if err != nil {
				b.Fatal(err)
			}
			if err := st.CreateLabelpartner(ctx, domain.Labelpartner{ID: store.NewID(), OrgID: org.ID, Name: "bench-lp",
				PasswordPolicy: domain.PolicyPincode, APIKeyHash: []byte(store.NewID()), CreatedAt: store.Now()}); err != nil {
				b.Fatal(err)
			}
			c, secret, err := b2b.CreateClient(ctx, st, org, b2b.ClientInput{Name: "bench", Kind: domain.ClientB2B, Labelpartners: []string{"bench-lp"}}, "bench", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {secret}}
			res, err := http.Post(s.base+"/api/v1/b2b/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				b.Fatal(err)
			}
			defer res.Body.Close()
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
				b.Fatalf("token: %v", err)
			}
			return tok.AccessToken
		}})
}
