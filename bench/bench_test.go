// Package bench measures onboard end to end: the bare argon2id rate of the
// machine, registration completions per second, and signup starts per second
// with their latency, over real HTTP against an in-process app, on SQLite and
// on PostgreSQL. See README.md for the command and the figures.
package bench

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/domain"
)

// BenchmarkCompletion alternates bare argon2id measurements of bareWindow
// with chunks of completions lasting about chunkTime.
const (
	bareWindow = time.Second
	chunkTime  = 3 * time.Second
)

// signupClients is the number of concurrent clients of BenchmarkSignupStart.
const signupClients = 16

// reportNoise reports noise_pct, the share of the machine's CPU that other
// processes used while the benchmark measured.
func reportNoise(b *testing.B, uses ...cpuUse) {
	noise := 0.0
	for _, u := range uses {
		if !u.ok {
			return
		}
		noise = max(noise, u.noisePct())
	}
	b.ReportMetric(noise, "noise_pct")
}

// BenchmarkArgon2idBare is the machine's bare argon2id capacity: argon2.IDKey
// at auth.DefaultParams() on GOMAXPROCS goroutines, no pool, no service.
func BenchmarkArgon2idBare(b *testing.B) {
	p := auth.DefaultParams()
	password := []byte(benchPassword)
	salt := make([]byte, p.SaltLen)
	b.ReportAllocs()
	before := sampleCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) { // GOMAXPROCS goroutines
		for pb.Next() {
			argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
	b.StopTimer()
	use := cpuBetween(before, sampleCPU(), false)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	reportNoise(b, use)
}

// BenchmarkCompletion is registration completions per second:
// POST /api/v1/signups/{token} with a valid form, from 2×GOMAXPROCS clients,
// with the default argon2id parameters and hash concurrency. One operation is
// one completion (one argon2id hash, one transaction). The links are inserted
// into the store before the timer starts.
//
// pct_of_bare compares the rate with the bare argon2id rate of the machine
// (bare_hashes/s) measured in the same call just before: the share of the
// machine's hashing capacity the service turns into registrations. On a
// shared machine the speed of a core drifts by tens of per cent within
// seconds, so the timed part runs in chunks of about chunkTime, each preceded
// (timer stopped) by a bareWindow of bare hashing; bare_hashes/s is the mean
// of those windows. cpu_pct_of_bare is the same comparison made with CPU time
// (CPU per bare hash over the service's CPU per completion, PostgreSQL server
// included): below pct_of_bare's it says the service spends CPU beyond the
// hash, equal to it that the cores idle. noise_pct is the CPU share other
// processes took meanwhile.
func BenchmarkCompletion(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) {
		withPG := strings.HasPrefix(dsn, "postgres")
		clients := 2 * runtime.GOMAXPROCS(0)
		s := startServer(b, dsn, clients)
		st := s.app.Store()
		paths, bodies := pendingSignups(b, st, b.N)
		s.warm(b, clients)
		runtime.GC()

		bareCPU, use := cpuUse{ok: true}, cpuUse{ok: true}
		var bareHashes int
		var bareSum float64 // Σ rate × window, for the time-weighted mean rate
		b.ResetTimer()
		b.StopTimer()
		for done := 0; done < b.N; {
			bare := measureBare(bareWindow)
			bareCPU, bareHashes = bareCPU.add(bare.cpu), bareHashes+bare.hashes
			bareSum += bare.rate * bare.cpu.wall.Seconds()
			n := min(b.N-done, max(clients, int(bare.rate*chunkTime.Seconds())))

			before := sampleCPU()
			b.StartTimer()
			err := drive(n, clients, func(i int) error {
				status, body, err := s.post(paths[done+i], bodies[done+i])
				if err != nil {
					return err
				}
				return expectStatus("POST", "/api/v1/signups/{token}", status, http.StatusCreated, body)
			})
			b.StopTimer()
			use = use.add(cpuBetween(before, sampleCPU(), withPG))
			if err != nil {
				b.Fatalf("completion: %v", err)
			}
			done += n
		}

		rate := float64(b.N) / b.Elapsed().Seconds()
		bareRate := bareSum / bareCPU.wall.Seconds()
		b.ReportMetric(rate, "completions/s")
		b.ReportMetric(bareRate, "bare_hashes/s")
		b.ReportMetric(100*rate/bareRate, "pct_of_bare")
		if use.ok && bareCPU.ok {
			b.ReportMetric(100*bareCPU.msPer(bareHashes)/use.msPer(b.N), "cpu_pct_of_bare")
			b.ReportMetric(100*float64(use.others+bareCPU.others)/float64(use.capacity()+bareCPU.capacity()), "noise_pct")
		}
		checkRegistered(b, st, b.N)
	})
}

// BenchmarkSignupStart is POST /api/v1/signups (a new address each time, so
// each one creates a signup and queues a registration mail) from 16 clients,
// with rate limits off. One operation is one request; p50_ms and p99_ms are
// the request latencies seen by the clients. cpu_ms/op is the service's CPU
// per start (this process — server, mail worker and the clients — plus the
// PostgreSQL server on postgres), util_pct the share of the machine's CPU it
// used, noise_pct the share others used.
func BenchmarkSignupStart(b *testing.B) {
	forEachEngine(b, func(b *testing.B, dsn string) {
		withPG := strings.HasPrefix(dsn, "postgres")
		// ONBOARD_BENCH_SHARED_LIMITS=1 keeps the signup limits on, counted in
		// the database (-rate-store db), with limits too high to refuse: the
		// cost of shared limits. Every request comes from one address.
		s := startServer(b, dsn, signupClients, func(c *config.Config) {
			if os.Getenv("ONBOARD_BENCH_SHARED_LIMITS") == "1" {
				c.RateStore = "db"
				c.RateSignupIP.Limit, c.RateSignupIP.Window = 1_000_000_000, time.Minute
				c.RateSignupEmail.Limit, c.RateSignupEmail.Window = 5, time.Hour
			}
		})
		st := s.app.Store()
		bodies := make([][]byte, b.N)
		for i := range bodies {
			bodies[i] = fmt.Appendf(nil, `{"email":"start-%d@bench.example.com","account_type":%q}`,
				i, accountTypes[i%len(accountTypes)])
		}
		lat := make([]time.Duration, b.N)
		s.warm(b, signupClients)
		runtime.GC()

		before := sampleCPU()
		b.ResetTimer()
		err := drive(b.N, signupClients, func(i int) error {
			t0 := time.Now()
			status, body, err := s.post("/api/v1/signups", bodies[i])
			lat[i] = time.Since(t0)
			if err != nil {
				return err
			}
			return expectStatus("POST", "/api/v1/signups", status, http.StatusAccepted, body)
		})
		b.StopTimer()
		use := cpuBetween(before, sampleCPU(), withPG)
		if err != nil {
			b.Fatalf("signup start: %v", err)
		}

		slices.Sort(lat)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "starts/s")
		b.ReportMetric(ms(percentile(lat, 0.50)), "p50_ms")
		b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
		if use.ok {
			b.ReportMetric(use.msPer(b.N), "cpu_ms/op")
			b.ReportMetric(use.utilPct(), "util_pct")
		}
		reportNoise(b, use)
		// A start queues a job that creates the signup and its mail: wait
		// for the job worker to finish them (outside the timed part).
		// jobs_left_pct is the share of the starts whose job was still
		// queued when the last start was answered (near 0 when the worker
		// keeps up); all_cpu_ms/op the CPU per start until every job is
		// done, the worker's included, and all_pg_cpu_ms/op the PostgreSQL
		// server's part of it.
		b.ReportMetric(100*float64(count(b, st, `SELECT COUNT(*) FROM jobs`))/float64(b.N), "jobs_left_pct")
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			got := count(b, st, `SELECT COUNT(*) FROM signups WHERE state = $1`, domain.SignupPending)
			if got == b.N {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("pending signups = %d a minute after %d starts", got, b.N)
			}
		}
		if all := cpuBetween(before, sampleCPU(), withPG); all.ok {
			b.ReportMetric(all.msPer(b.N), "all_cpu_ms/op")
			if withPG {
				b.ReportMetric(all.pgMsPer(b.N), "all_pg_cpu_ms/op")
			}
		}
	})
}
