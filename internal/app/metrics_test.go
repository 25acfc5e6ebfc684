package app_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scrape reads the metrics page, waiting for the listener to come up.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /metrics: %d\n%s", res.StatusCode, body)
			}
			return string(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics listener: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsScrape runs a registration and reads the figures it left on
// the separate metrics listener, on both engines.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		maddr := freeAddr(t)
		e := start(t, dsn, func(c *config.Config) {
			c.MetricsAddr = maddr
			c.Version = "v9.9.9-test"
			c.RateSignupEmail = config.Rate{}
			c.RateSignupEmail.Limit, c.RateSignupEmail.Window = 1, time.Hour
		})
		e.register("metrics@example.com", "customer_personal")
		// A second start for the same address is refused by the per-address rule.
		r := e.do("POST", "/api/v1/signups", map[string]any{"email": "metrics@example.com", "account_type": "customer_personal"})
		expect(t, r, http.StatusTooManyRequests)
		// An unknown path is counted as unmatched, not by its path.
		e.do("GET", "/no/such/path-with-secret-token", nil)

		// The welcome mail goes out after the completion's answer.
		body := scrape(t, maddr)
		// The sends are counted before the outbox rows are marked sent: wait
		// for both.
		for deadline := time.Now().Add(10 * time.Second); !(strings.Contains(body, `outcome="sent"} 2`) &&
			strings.Contains(body, `onboard_outbox_depth{channel="mail",state="sent"} 2`)) && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			body = scrape(t, maddr)
		}
		for _, want := range []string{
			`onboard_http_requests_total{code="2xx",method="POST",route="POST /api/v1/signups"} 1`,
			`onboard_http_requests_total{code="4xx",method="POST",route="POST /api/v1/signups"} 1`,
			`onboard_http_requests_total{code="2xx",method="POST",route="POST /api/v1/signups/{token}"} 1`,
			`onboard_http_requests_total{code="4xx",method="GET",route="unmatched"} 1`,
			`onboard_http_request_duration_seconds_count{route="GET /api/v1/signups/{token}"} 1`,
			`onboard_ratelimit_refusals_total{rule="signup:email"} 1`,
			`onboard_hash_pool_size `,
			`onboard_hash_queue_length 0`,
			`onboard_hash_wait_seconds_count 1`,
			`onboard_outbox_sends_total{channel="mail",outcome="sent"} 2`,
			`onboard_outbox_send_duration_seconds_count 2`,
			`onboard_outbox_depth{channel="mail",state="sent"} 2`,
			`onboard_outbox_depth{channel="mail",state="queued"} 0`,
			`onboard_outbox_oldest_queued_age_seconds{channel="mail"} 0`,
			`onboard_outbox_scrape_ok 1`,
			`go_sql_open_connections{db_name="onboard"}`,
			`onboard_build_info{goversion="`,
			`version="v9.9.9-test"} 1`,
			`go_goroutines `,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		if strings.Contains(body, "path-with-secret-token") || strings.Contains(body, "metrics@example.com") {
			t.Error("a path or an address leaked into a label")
		}
		// The public port does not serve the metrics.
		if r := e.do("GET", "/metrics", nil); r.status == http.StatusOK {
			t.Errorf("GET /metrics on the public port: %d", r.status)
		}
	})
}

// TestMetricsOffByDefault: without -metrics-addr nothing listens and the
// public port has no /metrics.
func TestMetricsOffByDefault(t *testing.T) {
	t.Parallel()
	e := start(t, dbtest.SQLite(t))
	if r := e.do("GET", "/metrics", nil); r.status != http.StatusNotFound {
		t.Errorf("GET /metrics on the public port: %d, want 404", r.status)
	}
}
