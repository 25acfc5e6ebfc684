package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onboard-dev/onboard/internal/ratelimit"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	return string(b)
}

func TestRuleName(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"signup:ip:203.0.113.7", "signup:ip"},
		{"signup:ip:2001:db8::1", "signup:ip"},
		{"signup:email:0b7c-org:a@example.com", "signup:email"},
		{"b2b:provision:ip:10.0.0.1", "b2b:provision:ip"},
		{"b2b:login:fail:org:a@example.com", "b2b:login:fail"},
		{"invite:account:new:acc-1", "invite:account"},
		{"email-change:user:u1", "email-change:user"},
		{"weird", "other"},
		{"a:b:c:d", "other"},
		{"Signup:IP:x", "other"},
	} {
		if got := RuleName(tc.key); got != tc.want {
			t.Errorf("RuleName(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestMiddlewareLabelsByPattern(t *testing.T) {
	m := New(prometheus.NewRegistry(), "v1")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("POST /things", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	srv := httptest.NewServer(m.Middleware(mux))
	defer srv.Close()
	for _, p := range []string{"/things/1", "/things/2", "/secret-path"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	res, err := http.Post(srv.URL+"/things", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	body := scrape(t, m)
	for _, want := range []string{
		`onboard_http_requests_total{code="2xx",method="GET",route="GET /things/{id}"} 2`,
		`onboard_http_requests_total{code="4xx",method="POST",route="POST /things"} 1`,
		`onboard_http_requests_total{code="4xx",method="GET",route="unmatched"} 1`,
		`onboard_http_request_duration_seconds_count{route="GET /things/{id}"} 2`,
		`onboard_build_info{goversion="go`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if strings.Contains(body, "secret-path") || strings.Contains(body, `/things/1"`) {
		t.Error("a raw path became a label")
	}
}

type pool struct{ size, running, waiting int }

func (p pool) PoolStats() (int, int, int) { return p.size, p.running, p.waiting }

func TestCollectors(t *testing.T) {
	m := New(prometheus.NewRegistry(), "v1")
	m.WatchHashPool(pool{4, 3, 7})
	m.ObserveHashWait(20 * time.Millisecond)
	m.ObserveMail(MailAttempt{Attempt: 1, Duration: time.Millisecond, Outcome: "sent"})
	m.ObserveMail(MailAttempt{Attempt: 3, Duration: time.Millisecond, Outcome: "retry"})
	m.ObserveImport(5, 2, 1)
	m.WatchOutbox(func(context.Context) (OutboxStats, error) {
		return OutboxStats{ByState: map[string]int{"queued": 3, "sent": 9}, OldestQueued: time.Now().Add(-90 * time.Second)}, nil
	}, time.Second)
	lim := m.Limiter(ratelimit.NewMemory(nil))
	rule := ratelimit.Rule{Limit: 1, Window: time.Hour}
	for range 3 {
		if _, err := lim.Allow(context.Background(), "login:ip:192.0.2.1", rule); err != nil {
			t.Fatal(err)
		}
	}
	body := scrape(t, m)
	for _, want := range []string{
		"onboard_hash_pool_size 4", "onboard_hash_running 3", "onboard_hash_queue_length 7",
		"onboard_hash_wait_seconds_count 1",
		`onboard_outbox_sends_total{channel="mail",outcome="sent"} 1`,
		`onboard_outbox_sends_total{channel="mail",outcome="retry"} 1`,
		"onboard_outbox_attempts_sum 4",
		`onboard_import_rows_total{outcome="created"} 5`,
		`onboard_import_rows_total{outcome="rejected"} 1`,
		`onboard_outbox_depth{channel="mail",state="queued"} 3`,
		`onboard_outbox_depth{channel="mail",state="processing"} 0`,
		`onboard_outbox_scrape_ok 1`,
		`onboard_ratelimit_refusals_total{rule="login:ip"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if !strings.Contains(body, `onboard_outbox_oldest_queued_age_seconds{channel="mail"} 9`) {
		t.Errorf("oldest age not about 90 s:\n%s", grepLines(body, "oldest"))
	}
}

func TestOutboxScrapeFailure(t *testing.T) {
	m := New(prometheus.NewRegistry(), "v1")
	m.WatchOutbox(func(context.Context) (OutboxStats, error) { return OutboxStats{}, errors.New("down") }, time.Second)
	body := scrape(t, m)
	if !strings.Contains(body, "onboard_outbox_scrape_ok 0") || strings.Contains(body, "onboard_outbox_depth{") {
		t.Errorf("a failed read should show scrape_ok 0 and no depth:\n%s", grepLines(body, "outbox"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDashboardNamesExist: every onboard_* metric the Grafana dashboard in
// docs/ queries is one this package exports.
func TestDashboardNamesExist(t *testing.T) {
	raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	m := New(prometheus.NewRegistry(), "v1")
	m.WatchHashPool(pool{1, 0, 0})
	m.WatchOutbox(func(context.Context) (OutboxStats, error) { return OutboxStats{}, nil }, time.Second)
	m.ObserveMail(MailAttempt{Attempt: 1, Outcome: "sent"})
	m.ObserveImport(1, 0, 0)
	m.ObserveHashWait(time.Millisecond)
	lim := m.Limiter(ratelimit.NewMemory(nil))
	for range 2 {
		_, _ = lim.Allow(context.Background(), "a:ip:x", ratelimit.Rule{Limit: 1, Window: time.Hour})
	}
	m.Middleware(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	body := scrape(t, m)
	names := regexp.MustCompile(`onboard_[a-z_]+`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range names.FindAllString(tg.Expr, -1) {
				n++
				base := strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_total")
				if !strings.Contains(body, base) {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, name)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d onboard metrics in the dashboard", n)
	}
}
