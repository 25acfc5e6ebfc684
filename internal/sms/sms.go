// Package sms sends text messages: a Gateway interface, an HTTP gateway
// (URL, credentials, body template, success status), a log-only gateway
// for the embedded default, and a Worker that drains the SMS outbox with
// retries, like the mail worker drains the mail outbox.
package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"text/template"
	"time"
)

// Message is one text message.
type Message struct {
	// ID is the outbox row's id; the HTTP gateway sends it as the
	// Idempotency-Key header (and offers it to the body template), so that
	// a gateway can drop a message it receives twice.
	ID   string
	To   string // E.164
	Body string
}

// Gateway sends text messages.
type Gateway interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a failure that retrying cannot fix (the gateway
// refused the message); the worker abandons the message.
var ErrPermanent = errors.New("permanent failure")

// HTTPConfig configures an HTTPGateway.
type HTTPConfig struct {
	URL string
	// User and Password are sent as HTTP basic credentials when User is set.
	User     string
	Password string
	// Body is a Go text/template of the request body with .ID, .To and
	// .Body; the function json writes a value as a JSON string. Empty: a
	// JSON object {"id", "to", "body"}.
	Body string
	// ContentType of the request; default application/json.
	ContentType string
	// SuccessStatus is the status that means accepted; 0: any 2xx.
	SuccessStatus int
	// Timeout bounds one request; default 10s.
	Timeout time.Duration
	// Client sends the requests; nil: a client with Timeout.
	Client *http.Client
}

// DefaultBody is the body template when none is configured.
const DefaultBody = `{"id":{{json .ID}},"to":{{json .To}},"body":{{json .Body}}}`

// HTTPGateway posts each message to an SMS provider's HTTP API.
type HTTPGateway struct {
	cfg  HTTPConfig
	body *template.Template
}

// NewHTTPGateway checks the configuration and returns a gateway.
func NewHTTPGateway(cfg HTTPConfig) (*HTTPGateway, error) {
	if !strings.HasPrefix(cfg.URL, "https://") && !strings.HasPrefix(cfg.URL, "http://") {
		return nil, fmt.Errorf("sms gateway: URL %q is not http(s)", cfg.URL)
	}
	if cfg.Body == "" {
		cfg.Body = DefaultBody
	}
	if cfg.ContentType == "" {
		cfg.ContentType = "application/json"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.SuccessStatus != 0 && (cfg.SuccessStatus < 200 || cfg.SuccessStatus > 299) {
		return nil, fmt.Errorf("sms gateway: success status %d is not a 2xx status", cfg.SuccessStatus)
	}
	t, err := template.New("sms").Option("missingkey=error").Funcs(template.FuncMap{"json": jsonString}).Parse(cfg.Body)
	if err != nil {
		return nil, fmt.Errorf("sms gateway: body template: %w", err)
	}
	if err := t.Execute(io.Discard, Message{ID: "x", To: "+10000000000", Body: "x"}); err != nil {
		return nil, fmt.Errorf("sms gateway: body template: %w", err)
	}
	return &HTTPGateway{cfg: cfg, body: t}, nil
}

func jsonString(v string) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Send posts one message. A status other than the success status is an
// error; a 4xx other than 408 and 429 is permanent (ErrPermanent).
func (g *HTTPGateway) Send(ctx context.Context, m Message) error {
	var body bytes.Buffer
	if err := g.body.Execute(&body, m); err != nil {
		return fmt.Errorf("sms %s: body: %w: %w", m.ID, err, ErrPermanent)
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL, &body)
	if err != nil {
		return fmt.Errorf("sms %s: %w", m.ID, err)
	}
	req.Header.Set("Content-Type", g.cfg.ContentType)
	req.Header.Set("Idempotency-Key", m.ID)
	if g.cfg.User != "" {
		req.SetBasicAuth(g.cfg.User, g.cfg.Password)
	}
	res, err := g.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("sms %s: %w", m.ID, err)
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 200))
	okStatus := res.StatusCode >= 200 && res.StatusCode <= 299
	if g.cfg.SuccessStatus != 0 {
		okStatus = res.StatusCode == g.cfg.SuccessStatus
	}
	if okStatus {
		return nil
	}
	err = fmt.Errorf("sms %s: gateway answered %d: %s", m.ID, res.StatusCode, strings.TrimSpace(string(snippet)))
	if res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusRequestTimeout && res.StatusCode != http.StatusTooManyRequests {
		return fmt.Errorf("%w: %w", err, ErrPermanent)
	}
	return err
}

// LogGateway writes each message's recipient and id to the log instead of
// sending it (the embedded default, for development). The body is not
// logged: it holds a provisioning link.
type LogGateway struct{ Log *slog.Logger }

// Send logs the message.
func (g LogGateway) Send(ctx context.Context, m Message) error {
	g.Log.InfoContext(ctx, "sms (not sent: no gateway configured)", "id", m.ID, "to", m.To, "chars", len([]rune(m.Body)))
	return nil
}
