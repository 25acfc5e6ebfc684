package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// smsGateway is a real HTTP server standing for an SMS provider: it fails
// the first `failures` requests with 503, then accepts; it refuses (400)
// numbers in `refuse`.
type smsGateway struct {
	mu       sync.Mutex
	failures int
	refuse   map[string]bool
	accepted map[string]smsRequest // by Idempotency-Key
	tries    map[string]int
}

type smsRequest struct {
	To, Body, User, Password string
}

func startSMSGateway(t *testing.T, failures int, refuse ...string) (*smsGateway, string) {
	t.Helper()
	g := &smsGateway{failures: failures, refuse: map[string]bool{}, accepted: map[string]smsRequest{}, tries: map[string]int{}}
	for _, r := range refuse {
		g.refuse[r] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ To, Text string }
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &m); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		u, p, _ := r.BasicAuth()
		g.mu.Lock()
		defer g.mu.Unlock()
		g.tries[key]++
		switch {
		case g.refuse[m.To]:
			http.Error(w, "invalid number", http.StatusBadRequest)
		case g.failures > 0:
			g.failures--
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			if _, dup := g.accepted[key]; dup {
				t.Errorf("message %s delivered twice", key)
			}
			g.accepted[key] = smsRequest{To: m.To, Body: m.Text, User: u, Password: p}
			w.WriteHeader(http.StatusCreated)
		}
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL
}

func (g *smsGateway) snapshot() (map[string]smsRequest, map[string]int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	acc, tries := map[string]smsRequest{}, map[string]int{}
	for k, v := range g.accepted {
		acc[k] = v
	}
	for k, v := range g.tries {
		tries[k] = v
	}
	return acc, tries
}

// TestDeviceSetupSMS: an Android device's provisioning link goes by SMS
// through the outbox to a real HTTP gateway, which fails twice first; the
// SMS is delivered once. A refused number is abandoned, and SMS are rate
// limited per phone number.
func TestDeviceSetupSMS(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		gw, url := startSMSGateway(t, 2, "+15550000000")
		e := startDevices(t, dsn, func(c *config.Config) {
			c.SMSURL, c.SMSUser, c.SMSPassword = url, "acct", "sms-secret"
			c.SMSBody = `{"To":{{json .To}},"Text":{{json .Body}}}`
			c.SMSSuccessStatus = 201
		})
		owner := e.setupOwner("owner@example.com")
		setup := e.newDevice(owner, map[string]any{"platform": "android", "name": "Tablet", "phone": "+39 347 123 4567"})
		if setup["sms_sent"] != true {
			t.Fatalf("setup = %v", setup)
		}
		link := setup["provisioning_url"].(string)
		deadline := time.Now().Add(15 * time.Second)
		var acc map[string]smsRequest
		var tries map[string]int
		for {
			acc, tries = gw.snapshot()
			if len(acc) == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(acc) != 1 {
			t.Fatalf("accepted %v after tries %v", acc, tries)
		}
		for id, m := range acc {
			if m.To != "+393471234567" || !strings.Contains(m.Body, link) || m.User != "acct" || m.Password != "sms-secret" {
				t.Fatalf("sms = %+v, want the link %s", m, link)
			}
			if tries[id] != 3 {
				t.Fatalf("tries = %d, want 3 (two failures, then accepted)", tries[id])
			}
			// The outbox row: sent, body erased, attempts counted.
			waitFor(t, func() bool {
				var state, body string
				var attempts int
				err := e.app.Store().DB().QueryRow(`SELECT state, body, attempts FROM sms_outbox WHERE id = $1`, id).Scan(&state, &body, &attempts)
				return err == nil && state == "sent" && body == "" && attempts == 3
			})
		}
		// The link from the SMS provisions the device.
		expect(t, e.provision(setup["installation_code"].(string), map[string]any{"model": "Pixel", "os": "Android 16"}), http.StatusCreated)

		// A number the gateway refuses: abandoned, not retried.
		e.newDevice(owner, map[string]any{"platform": "android", "name": "Old phone", "phone": "+15550000000"})
		waitFor(t, func() bool {
			var n int
			err := e.app.Store().DB().QueryRow(`SELECT COUNT(*) FROM sms_outbox WHERE to_phone = '+15550000000' AND state = 'abandoned' AND body = '' AND last_error LIKE '%400%'`).Scan(&n)
			return err == nil && n == 1
		})

		// Rate limit per phone number (3 an hour).
		for i := 0; i < 2; i++ {
			e.newDevice(owner, map[string]any{"platform": "android", "name": "Spare", "phone": "+393471234567"})
		}
		r := e.do("POST", "/api/v1/setup/devices", map[string]any{"platform": "android", "name": "One too many", "phone": "+393471234567"}, bearerOf(owner)...)
		expect(t, r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
