package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/onboard-dev/onboard/internal/app"
	"github.com/onboard-dev/onboard/internal/auth"
	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// forEachEngine runs fn as the sub-benchmarks "sqlite" and "postgres", each
// with the DSN of an empty database. The postgres one is skipped, with a
// message, when ONBOARD_TEST_POSTGRES_URL is unset.
//
// The testing package calls a benchmark function several times (b.N = 1,
// then larger); every call gets a database and an app of its own, set up
// before the timer starts and torn down by b.Cleanup after the call.
func forEachEngine(b *testing.B, fn func(b *testing.B, dsn string)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) {
		dsn, err := ownBackends.watch(dbtest.Postgres(b), "onboard-bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(ownBackends.stop)
		fn(b, dsn)
	})
}

// server is an in-process onboard served over loopback TCP, and an HTTP
// client that keeps one connection per client goroutine.
type server struct {
	app    *app.App
	base   string
	client *http.Client
}

// benchConfig is the production default configuration with the rate limits
// off and dev mail (no SMTP: the LogSender logs each message). The argon2id
// parameters and the hash concurrency are left at their defaults.
func benchConfig(dsn, addr string) config.Config {
	cfg := config.Default()
	cfg.DB = dsn
	cfg.Addr = addr
	cfg.PublicURL = "http://" + addr
	cfg.SMTPURL = ""
	cfg.RateSignupIP = config.Rate{}
	cfg.RateSignupEmail = config.Rate{}
	cfg.RateLoginIP = config.Rate{}
	cfg.RateLoginEmail = config.Rate{}
	// A fixed key for secrets at rest: PostgreSQL refuses to start without
	// one (SQLite would create a key file beside the database).
	cfg.SecretKey = "bench1:YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMDE="
	return cfg
}

// startServer runs onboard on dsn until the end of the benchmark call.
// clients is the number of client goroutines that will send requests at
// once; the client keeps that many idle connections.
func startServer(b *testing.B, dsn string, clients int, mutate ...func(*config.Config)) *server {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := benchConfig(dsn, ln.Addr().String())
	for _, m := range mutate {
		m(&cfg)
	}
	if p := auth.DefaultParams(); cfg.Argon2Memory != uint(p.Memory) || cfg.Argon2Time != uint(p.Time) ||
		cfg.Argon2Threads != uint(p.Threads) || cfg.HashConcurrency != 0 {
		b.Fatalf("config.Default() no longer hashes with auth.DefaultParams() %+v at the default concurrency: %+v", p, cfg)
	}
	// The app logs every request and every dev mail; text-format them as in
	// production, but into io.Discard so no I/O is measured.
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.New(context.Background(), cfg, logger)
	if err != nil {
		ln.Close()
		b.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()

	tr := &http.Transport{
		Proxy:               nil, // loopback, never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients, // ≥ clients: every connection is kept and reused
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
	}
	s := &server{app: a, base: "http://" + ln.Addr().String(), client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				b.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			b.Error("app did not stop within 30s")
		}
		a.Close()
	})
	return s
}

// post sends body as JSON and returns the status and the response body.
func (s *server) post(path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	raw, err := io.ReadAll(res.Body) // read to EOF so the connection is reused
	res.Body.Close()
	if err != nil {
		return res.StatusCode, raw, fmt.Errorf("POST %s: read body: %w", path, err)
	}
	return res.StatusCode, raw, nil
}

// warm opens clients connections (all at once, so they are distinct and all
// stay in the idle pool) and checks that the app answers.
func (s *server) warm(b *testing.B, clients int) {
	b.Helper()
	var start sync.WaitGroup
	start.Add(1)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			start.Wait()
			res, err := s.client.Get(s.base + "/readyz")
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("GET /readyz: status %d", res.StatusCode)
			}
		})
	}
	start.Done()
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("warm-up: %v", err)
	}
}

// drive runs the operations 0..n-1 on clients goroutines, each taking the
// next index until all are taken. It stops at the first error and returns it.
func drive(n, clients int, op func(i int) error) error {
	var next atomic.Int64
	var failed atomic.Bool
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := op(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// expectStatus is the error for a response whose status is not want.
func expectStatus(method, path string, got, want int, body []byte) error {
	if got == want {
		return nil
	}
	const max = 500
	s := string(body)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Errorf("%s %s: status %d, want %d; body: %s", method, path, got, want, s)
}

// bareRun is a measurement of the bare argon2id rate.
type bareRun struct {
	rate   float64 // hashes per second, all goroutines together
	hashes int
	cpu    cpuUse
}

// measureBare measures the bare argon2id rate of this machine at
// auth.DefaultParams(): argon2.IDKey on GOMAXPROCS goroutines for about d,
// no pool, no service. Each goroutine's rate is its own count over its own
// time, so a goroutine finishing late does not count as idle cores.
func measureBare(d time.Duration) bareRun {
	p := auth.DefaultParams()
	password := []byte(benchPassword)
	salt := make([]byte, p.SaltLen)
	procs := runtime.GOMAXPROCS(0)
	rates := make([]float64, procs)
	counts := make([]int, procs)
	before := sampleCPU()
	var wg sync.WaitGroup
	for g := range procs {
		wg.Go(func() {
			start := time.Now()
			n := 0
			for n < 2 || time.Since(start) < d {
				argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				n++
			}
			rates[g] = float64(n) / time.Since(start).Seconds()
			counts[g] = n
		})
	}
	wg.Wait()
	r := bareRun{cpu: cpuBetween(before, sampleCPU(), false)}
	for g := range procs {
		r.rate += rates[g]
		r.hashes += counts[g]
	}
	return r
}

// percentile returns the nearest-rank q-quantile (0 < q ≤ 1) of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ---- registration links without mail ----

const benchPassword = "correct horse battery staple 42"

var accountTypes = []string{domain.AccountCustomerPersonal, domain.AccountCustomerBusiness}

// pendingSignups inserts n pending signups straight into the store (as
// StartSignup would, minus the mail) and returns, for each, the path and a
// valid completion body for POST /api/v1/signups/{token}. Account types
// alternate between personal and business.
func pendingSignups(b *testing.B, st *store.Store, n int) (paths []string, bodies [][]byte) {
	b.Helper()
	ctx := context.Background()
	org, err := st.OrganizationByName(ctx, "default")
	if err != nil {
		b.Fatal(err)
	}
	all, err := st.CurrentAgreements(ctx, org.ID)
	if err != nil {
		b.Fatal(err)
	}
	// The body of each account type: every current agreement that targets it.
	tmpl := map[string][]byte{}
	for _, typ := range accountTypes {
		ids := []string{}
		for _, a := range all {
			if a.Targets(typ) {
				ids = append(ids, a.ID)
			}
		}
		if len(ids) == 0 {
			b.Fatalf("no agreement targets %s", typ)
		}
		customer := map[string]any{}
		if typ == domain.AccountCustomerBusiness {
			customer["name"] = "Analytical Engines Ltd"
		}
		raw, err := json.Marshal(map[string]any{
			"user":                map[string]any{"first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0000"},
			"customer":            customer,
			"password":            benchPassword,
			"accepted_agreements": ids,
		})
		if err != nil {
			b.Fatal(err)
		}
		tmpl[typ] = raw
	}
	now := time.Now()
	paths, bodies = make([]string, n), make([][]byte, n)
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for i := range n {
			token, hash, err := auth.NewToken()
			if err != nil {
				return err
			}
			typ := accountTypes[i%len(accountTypes)]
			su := domain.Signup{
				ID: store.NewID(), OrgID: org.ID, Email: fmt.Sprintf("complete-%d@bench.example.com", i), AccountType: typ,
				TokenHash: hash, State: domain.SignupPending, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
			}
			if err := tx.CreateSignup(ctx, su); err != nil {
				return err
			}
			paths[i] = "/api/v1/signups/" + token
			bodies[i] = tmpl[typ]
		}
		return nil
	})
	if err != nil {
		b.Fatalf("insert signups: %v", err)
	}
	return paths, bodies
}

// count runs a SELECT COUNT(*) query.
func count(b *testing.B, st *store.Store, query string, args ...any) int {
	b.Helper()
	var n int
	if err := st.DB().QueryRow(query, args...).Scan(&n); err != nil {
		b.Fatalf("%s: %v", query, err)
	}
	return n
}

// checkRegistered fails unless the app created n users whose passwords are
// hashed with the default argon2id parameters, and consumed n signups.
func checkRegistered(b *testing.B, st *store.Store, n int) {
	b.Helper()
	if got := count(b, st, `SELECT COUNT(*) FROM users`); got != n {
		b.Fatalf("users = %d after %d completions", got, n)
	}
	if got := count(b, st, `SELECT COUNT(*) FROM signups WHERE state = $1`, domain.SignupCompleted); got != n {
		b.Fatalf("completed signups = %d after %d completions", got, n)
	}
	p := auth.DefaultParams()
	prefix := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, p.Memory, p.Time, p.Threads)
	var hashes []string
	rows, err := st.DB().Query(`SELECT password_hash FROM users`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			b.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	if i := slices.IndexFunc(hashes, func(h string) bool { return !strings.HasPrefix(h, prefix) }); i >= 0 {
		b.Fatalf("password hash %q is not argon2id at the default parameters (%s…)", hashes[i], prefix)
	}
}
