package sms

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type received struct {
	contentType, key, user, pass, body string
}

// gatewayServer is a real HTTP server that answers status and records requests.
func gatewayServer(t *testing.T, status int) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u, p, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, received{r.Header.Get("Content-Type"), r.Header.Get("Idempotency-Key"), u, p, string(b)})
		mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte("answer"))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func TestHTTPGateway(t *testing.T) {
	msg := Message{ID: "m1", To: "+393471234567", Body: `Acme: register "your" device: https://x/provision/abc`}
	for _, tc := range []struct {
		name      string
		cfg       HTTPConfig
		status    int
		wantErr   bool
		permanent bool
		wantBody  string
		wantType  string
	}{
		{"default JSON body", HTTPConfig{}, 200, false, false,
			`{"id":"m1","to":"+393471234567","body":"Acme: register \"your\" device: https://x/provision/abc"}`, "application/json"},
		{"form template with credentials", HTTPConfig{User: "acct", Password: "pw", Body: `To={{.To}}&Text={{urlquery .Body}}`,
			ContentType: "application/x-www-form-urlencoded", SuccessStatus: 201}, 201, false, false,
			"To=+393471234567&Text=Acme%3A+register+%22your%22+device%3A+https%3A%2F%2Fx%2Fprovision%2Fabc", "application/x-www-form-urlencoded"},
		{"other 2xx than the success status", HTTPConfig{SuccessStatus: 201}, 200, true, false, "", ""},
		{"server error is retried", HTTPConfig{}, 503, true, false, "", ""},
		{"too many requests is retried", HTTPConfig{}, 429, true, false, "", ""},
		{"refused is permanent", HTTPConfig{}, 400, true, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := gatewayServer(t, tc.status)
			cfg := tc.cfg
			cfg.URL = srv.URL
			g, err := NewHTTPGateway(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = g.Send(context.Background(), msg)
			if (err != nil) != tc.wantErr || errors.Is(err, ErrPermanent) != tc.permanent {
				t.Fatalf("Send = %v, want error %v (permanent %v)", err, tc.wantErr, tc.permanent)
			}
			reqs := got()
			if len(reqs) != 1 || reqs[0].key != "m1" {
				t.Fatalf("requests = %+v", reqs)
			}
			if tc.wantBody != "" && (reqs[0].body != tc.wantBody || reqs[0].contentType != tc.wantType) {
				t.Fatalf("body %q (%s), want %q (%s)", reqs[0].body, reqs[0].contentType, tc.wantBody, tc.wantType)
			}
			if reqs[0].user != tc.cfg.User || reqs[0].pass != tc.cfg.Password {
				t.Fatalf("credentials %q:%q", reqs[0].user, reqs[0].pass)
			}
		})
	}
}

func TestHTTPGatewayConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  HTTPConfig
		want string
	}{
		{"no scheme", HTTPConfig{URL: "gateway.example.com"}, "not http(s)"},
		{"bad template", HTTPConfig{URL: "https://g.example.com", Body: "{{.To"}, "body template"},
		{"unknown field", HTTPConfig{URL: "https://g.example.com", Body: "{{.Phone}}"}, "body template"},
		{"bad success status", HTTPConfig{URL: "https://g.example.com", SuccessStatus: 302}, "2xx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewHTTPGateway(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestHTTPGatewayUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	g, err := NewHTTPGateway(HTTPConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Send(context.Background(), Message{ID: "m", To: "+10000000000", Body: "x"}); err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("Send to a closed server = %v, want a retryable error", err)
	}
}
