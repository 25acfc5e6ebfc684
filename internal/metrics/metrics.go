// Package metrics exposes onboard's Prometheus metrics: HTTP requests by
// route pattern, the password-hash pool, the mail outbox, rate-limit
// refusals, the database pool, bulk imports and the build.
//
// Everything is registered on a registry passed in (never the global
// default registry) and served by [Metrics.Handler] on a listener of its
// own, never on the public port. docs/operations.md lists the metrics.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onboard-dev/onboard/internal/httpx"
	"github.com/onboard-dev/onboard/internal/ratelimit"
)

// Namespace prefixes every metric onboard defines.
const Namespace = "onboard"

// Metrics holds onboard's collectors on one registry.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	hashWait        prometheus.Histogram
	mailSends       *prometheus.CounterVec
	mailDuration    prometheus.Histogram
	mailAttempts    prometheus.Histogram
	rateRefusals    *prometheus.CounterVec
	importRows      *prometheus.CounterVec
}

// New registers onboard's collectors, the Go runtime and process
// collectors and onboard_build_info{version} on reg.
func New(reg *prometheus.Registry, version string) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by route pattern, method and status class (2xx, 4xx, …).",
		}, []string{"route", "method", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "hash", Name: "wait_seconds",
			Help:    "Time a password hash or verification waited for a slot of the hash pool.",
			Buckets: []float64{.0001, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		mailSends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "outbox", Name: "sends_total",
			Help: "Delivery attempts of the mail outbox, by outcome: sent, retry (failed, will be retried) or abandoned.",
		}, []string{"channel", "outcome"}),
		mailDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "outbox", Name: "send_duration_seconds",
			Help:    "Time of one SMTP delivery attempt.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		mailAttempts: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "outbox", Name: "attempts",
			Help:    "Attempt number of each delivery attempt (1 for the first).",
			Buckets: []float64{1, 2, 3, 5, 8, 13, 21},
		}),
		rateRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "ratelimit", Name: "refusals_total",
			Help: "Events refused by a rate limit, by rule (the key's first two parts, e.g. signup:ip).",
		}, []string{"rule"}),
		importRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "import", Name: "rows_total",
			Help: "End-user rows of bulk imports, by outcome: created, unchanged or rejected.",
		}, []string{"outcome"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; its labels name the build.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": goVersion()},
	})
	build.Set(1)
	reg.MustRegister(m.requests, m.requestDuration, m.hashWait, m.mailSends, m.mailDuration, m.mailAttempts,
		m.rateRefusals, m.importRows, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}

// Registry is the registry the metrics are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format. Serve it on
// its own listener.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("onboard metrics: /metrics\n"))
	})
	return mux
}

// Middleware counts and times the requests next answers. The route label
// is the ServeMux pattern that matched (r.Pattern after next returns, e.g.
// "POST /api/v1/signups/{token}"), never the path, so that the number of
// series is bounded and no token ends up in a label; "unmatched" when no
// pattern matched.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := httpx.NewStatusRecorder(w)
		defer func() {
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			m.requests.WithLabelValues(route, methodLabel(r.Method), statusClass(rec.Status)).Inc()
			m.requestDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// methodLabel keeps the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusClass returns "2xx", "4xx" and so on.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// ObserveHashWait records the time one hash waited for a pool slot.
func (m *Metrics) ObserveHashWait(d time.Duration) { m.hashWait.Observe(d.Seconds()) }

// HashPool is what the metrics read of the password-hash pool.
type HashPool interface {
	// PoolStats returns the pool's size, the computations running and
	// those waiting for a slot.
	PoolStats() (size, running, waiting int)
}

// WatchHashPool exports the pool's size, running and waiting computations.
func (m *Metrics) WatchHashPool(p HashPool) {
	gauge := func(name, help string, pick func(size, running, waiting int) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: "hash", Name: name, Help: help},
			func() float64 { return float64(pick(p.PoolStats())) })
	}
	m.reg.MustRegister(
		gauge("pool_size", "Password hashes that may run at once.", func(s, _, _ int) int { return s }),
		gauge("running", "Password hashes running now.", func(_, r, _ int) int { return r }),
		gauge("queue_length", "Password hashes waiting for a slot now.", func(_, _, w int) int { return w }),
	)
}

// WatchDB exports database/sql's pool statistics of db (open, in use and
// idle connections, waits and closes) with the label db_name=name.
func (m *Metrics) WatchDB(name string, db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// MailAttempt is the outcome of one delivery attempt of the outbox.
type MailAttempt struct {
	Attempt  int           // 1 for the first attempt
	Duration time.Duration // time spent sending
	Outcome  string        // sent, retry or abandoned
}

// ObserveMail records one delivery attempt of the mail outbox.
func (m *Metrics) ObserveMail(a MailAttempt) {
	m.mailSends.WithLabelValues("mail", a.Outcome).Inc()
	m.mailDuration.Observe(a.Duration.Seconds())
	m.mailAttempts.Observe(float64(a.Attempt))
}

// ObserveImport records the outcome of a bulk import.
func (m *Metrics) ObserveImport(created, unchanged, rejected int) {
	m.importRows.WithLabelValues("created").Add(float64(created))
	m.importRows.WithLabelValues("unchanged").Add(float64(unchanged))
	m.importRows.WithLabelValues("rejected").Add(float64(rejected))
}

// OutboxStats is the state of an outbox, read at scrape time.
type OutboxStats struct {
	// ByState counts the rows in each state (queued, processing, sent,
	// abandoned).
	ByState map[string]int
	// OldestQueued is the creation time of the oldest message not yet
	// delivered nor abandoned; zero when there is none.
	OldestQueued time.Time
}

// OutboxReader reads the outbox's state; it is called on every scrape.
type OutboxReader func(ctx context.Context) (OutboxStats, error)

// WatchOutbox exports the depth of the mail outbox by state and the age of
// its oldest undelivered message, read from the database on each scrape
// (bounded by timeout). The outbox is shared: every node reports the same
// figures.
func (m *Metrics) WatchOutbox(read OutboxReader, timeout time.Duration) {
	m.reg.MustRegister(&outboxCollector{read: read, timeout: timeout})
}

var (
	outboxDepthDesc = prometheus.NewDesc(Namespace+"_outbox_depth",
		"Outbox messages by channel and state (the database's figure, the same on every node).", []string{"channel", "state"}, nil)
	outboxOldestDesc = prometheus.NewDesc(Namespace+"_outbox_oldest_queued_age_seconds",
		"Age of the oldest message neither delivered nor abandoned; 0 when there is none.", []string{"channel"}, nil)
	outboxUpDesc = prometheus.NewDesc(Namespace+"_outbox_scrape_ok",
		"1 when the outbox figures could be read at this scrape, else 0.", nil, nil)
)

type outboxCollector struct {
	read    OutboxReader
	timeout time.Duration
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxOldestDesc
	ch <- outboxUpDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(outboxUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxUpDesc, prometheus.GaugeValue, 1)
	for _, state := range []string{"queued", "processing", "sent", "abandoned"} {
		ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(st.ByState[state]), "mail", state)
	}
	age := 0.0
	if !st.OldestQueued.IsZero() {
		age = max(time.Since(st.OldestQueued).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, age, "mail")
}

// Limiter is a rate limiter as the flows use it.
type Limiter interface {
	Allow(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Decision, error)
	Peek(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Decision, error)
}

// Limiter wraps l so that every refused Allow is counted by rule.
func (m *Metrics) Limiter(l Limiter) Limiter { return countingLimiter{l: l, m: m} }

type countingLimiter struct {
	l Limiter
	m *Metrics
}

func (c countingLimiter) Allow(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Decision, error) {
	d, err := c.l.Allow(ctx, key, r)
	if err == nil && !d.Allowed {
		c.m.rateRefusals.WithLabelValues(RuleName(key)).Inc()
	}
	return d, err
}

// AllowAll decides several checks as ratelimit.AllowAll does (in one round
// trip when the wrapped limiter can) and counts a refusal by its rule.
func (c countingLimiter) AllowAll(ctx context.Context, checks []ratelimit.Check) (ratelimit.Decision, int, error) {
	d, i, err := ratelimit.AllowAll(ctx, c.l, checks...)
	if err == nil && !d.Allowed && i >= 0 && i < len(checks) {
		c.m.rateRefusals.WithLabelValues(RuleName(checks[i].Key)).Inc()
	}
	return d, i, err
}

func (c countingLimiter) Peek(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Decision, error) {
	return c.l.Peek(ctx, key, r)
}

// RuleName is the rule part of a rate-limit key, so that no address, email
// or id ends up in a label: its leading words up to and including the
// first that names what is counted (ip, email, fail, user, account), at most
// three ("signup:ip:203.0.113.7" → "signup:ip",
// "b2b:login:fail:<org>:<email>" → "b2b:login:fail").
func RuleName(key string) string {
	parts := strings.SplitN(key, ":", 4)
	var out []string
	for _, p := range parts[:min(len(parts), 3)] {
		if !isWord(p) {
			break
		}
		out = append(out, p)
		switch p {
		case "ip", "email", "fail", "user", "account":
			return strings.Join(out, ":")
		}
	}
	return "other"
}

// isWord reports whether s is a lowercase word such as "signup" or "b2b".
func isWord(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
