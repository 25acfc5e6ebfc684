package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/mail"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		raw     string
		want    mail.SMTPConfig
		wantErr string
	}{
		{raw: "smtp://mail.example.com", want: mail.SMTPConfig{Host: "mail.example.com", Port: 25, TLS: mail.TLSNone}},
		{raw: "smtp://mail.example.com:2525", want: mail.SMTPConfig{Host: "mail.example.com", Port: 2525, TLS: mail.TLSNone}},
		{raw: "smtp://relay@mail.example.com/", want: mail.SMTPConfig{Host: "mail.example.com", Port: 25, TLS: mail.TLSNone, Username: "relay"}},
		{raw: "smtp+starttls://user:pass@mail.example.com", want: mail.SMTPConfig{Host: "mail.example.com", Port: 587, TLS: mail.TLSStartTLS, Username: "user", Password: "pass"}},
		{raw: "smtp+starttls://user%40example.com:p%40ss%2Fw%3Ard@mail.example.com:2587", want: mail.SMTPConfig{Host: "mail.example.com", Port: 2587, TLS: mail.TLSStartTLS, Username: "user@example.com", Password: "p@ss/w:rd"}},
		{raw: "smtps://user:pass@mail.example.com", want: mail.SMTPConfig{Host: "mail.example.com", Port: 465, TLS: mail.TLSImplicit, Username: "user", Password: "pass"}},
		{raw: "SMTPS://mail.example.com:1465", want: mail.SMTPConfig{Host: "mail.example.com", Port: 1465, TLS: mail.TLSImplicit}},
		{raw: "smtp://[::1]:2525", want: mail.SMTPConfig{Host: "::1", Port: 2525, TLS: mail.TLSNone}},
		{raw: "http://mail.example.com", wantErr: `unsupported scheme "http"`},
		{raw: "mail.example.com:25", wantErr: "scheme"},
		{raw: "mail.example.com", wantErr: "missing scheme"},
		{raw: "smtp://", wantErr: "missing host"},
		{raw: "smtp://:25", wantErr: "missing host"},
		{raw: "smtp:mail.example.com", wantErr: "missing host"},
		{raw: "smtp://mail.example.com:0", wantErr: "invalid port"},
		{raw: "smtp://mail.example.com:70000", wantErr: "invalid port"},
		{raw: "smtp://user:secret@mail.example.com:abc", wantErr: "invalid port"},
		{raw: "smtp://mail.example.com/inbox", wantErr: "unexpected path"},
		{raw: "smtps://:secret@mail.example.com", wantErr: "empty username"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := mail.ParseSMTPURL(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSMTPURL(%q) error = %v, want one containing %q", tt.raw, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks the password: %v", err)
				}
				if _, err := mail.NewSender(tt.raw, nil); err == nil {
					t.Fatalf("NewSender(%q) succeeded, want error", tt.raw)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSMTPURL(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Fatalf("ParseSMTPURL(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
			if tt.want.Password != "" && strings.Contains(got.String(), tt.want.Password) {
				t.Fatalf("String() leaks the password: %s", got)
			}
		})
	}
}

func TestNewSenderKinds(t *testing.T) {
	tests := []struct {
		raw      string
		wantType string
	}{
		{raw: "", wantType: "*mail.LogSender"},
		{raw: "smtp://127.0.0.1:2525", wantType: "*mail.SMTPSender"},
		{raw: "smtp+starttls://u:p@mail.example.com", wantType: "*mail.SMTPSender"},
		{raw: "smtps://u:p@mail.example.com", wantType: "*mail.SMTPSender"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			s, err := mail.NewSender(tt.raw, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("NewSender(%q): %v", tt.raw, err)
			}
			switch s.(type) {
			case *mail.LogSender:
				if tt.wantType != "*mail.LogSender" {
					t.Fatalf("NewSender(%q) = LogSender, want %s", tt.raw, tt.wantType)
				}
			case *mail.SMTPSender:
				if tt.wantType != "*mail.SMTPSender" {
					t.Fatalf("NewSender(%q) = SMTPSender, want %s", tt.raw, tt.wantType)
				}
			default:
				t.Fatalf("NewSender(%q) = %T, want %s", tt.raw, s, tt.wantType)
			}
		})
	}
}

func TestNewSenderCredentialsNeedTLS(t *testing.T) {
	tests := []struct {
		raw     string
		wantErr bool
	}{
		{raw: "smtp://u:p@mail.example.com", wantErr: true},
		{raw: "smtp://u:p@10.1.2.3:25", wantErr: true},
		{raw: "smtp://mail.example.com"},
		{raw: "smtp://u:p@localhost:1025"},
		{raw: "smtp://u:p@127.0.0.1:1025"},
		{raw: "smtp://u:p@[::1]:1025"},
		{raw: "smtp+starttls://u:p@mail.example.com"},
		{raw: "smtps://u:p@mail.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := mail.NewSender(tt.raw, nil)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "smtp+starttls://") {
					t.Fatalf("NewSender(%q) error = %v, want one pointing to a TLS scheme", tt.raw, err)
				}
				if strings.Contains(err.Error(), ":p@") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSender(%q): %v", tt.raw, err)
			}
		})
	}
}

func TestLogSenderLogsFullText(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	s, err := mail.NewSender("", logger)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	link := "http://x/register?token=abc123&lang=en"
	e := mail.Envelope{
		MessageID: "<1@x>", From: "a@example.com", To: "ada@example.com", Subject: "Finish",
		Text: "Hello\n\nOpen:\n" + link + "\n\nBye\n", HTML: "<p>html</p>",
	}
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log output is not one JSON record: %v\n%s", err, buf.String())
	}
	want := map[string]string{"level": "INFO", "to": e.To, "subject": e.Subject, "text": e.Text, "message_id": e.MessageID}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %q", k, rec[k], v)
		}
	}
	if !strings.Contains(buf.String(), link) {
		t.Errorf("log does not contain the link: %s", buf.String())
	}
}

func TestSMTPSenderDelivers(t *testing.T) {
	text := "Hello Ada,\n\nOpen this link to finish creating your account:\n" +
		"http://x/register?token=" + strings.Repeat("Tk_-9", 25) + "\n\nÜmlauts survive.\n"
	html := `<p>Hello Ada, <a href="http://x/register?token=abc&amp;x=1">finish</a> – ü</p>`

	tests := []struct {
		name     string
		opts     []smtptest.Option
		url      func(srv *smtptest.Server) string
		html     string
		wantTLS  bool
		wantUser string
	}{
		{
			name: "plain smtp",
			url:  func(srv *smtptest.Server) string { return srv.URL() },
			html: html,
		},
		{
			name: "plain smtp text only",
			url:  func(srv *smtptest.Server) string { return srv.URL() },
		},
		{
			name:     "plain smtp with auth on loopback, escaped password",
			opts:     []smtptest.Option{smtptest.WithAuth("relay", "p@ss/w:rd")},
			url:      func(srv *smtptest.Server) string { return "smtp://relay:p%40ss%2Fw%3Ard@" + srv.Addr() },
			html:     html,
			wantUser: "relay",
		},
		{
			name:     "starttls with auth",
			opts:     []smtptest.Option{smtptest.WithStartTLS(), smtptest.WithAuth("user", "secret")},
			url:      func(srv *smtptest.Server) string { return "smtp+starttls://user:secret@" + srv.Addr() },
			html:     html,
			wantTLS:  true,
			wantUser: "user",
		},
		{
			name:     "implicit tls with auth",
			opts:     []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.WithAuth("user", "secret")},
			url:      func(srv *smtptest.Server) string { return "smtps://user:secret@" + srv.Addr() },
			html:     html,
			wantTLS:  true,
			wantUser: "user",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts...)
			s, err := mail.NewSMTPSender(tt.url(srv), mail.WithTLSConfig(srv.ClientTLSConfig()), mail.WithTimeout(5*time.Second))
			if err != nil {
				t.Fatalf("NewSMTPSender: %v", err)
			}
			e := mail.Envelope{
				MessageID: "<01HXYZ.abc@onboard.example.com>",
				From:      "onboard <no-reply@example.com>",
				To:        "ada@example.com",
				Subject:   "Finish creating your Äcme account",
				Text:      text,
				HTML:      tt.html,
			}
			if err := s.Send(context.Background(), e); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.WaitFor(t, 5*time.Second, smtptest.SentTo(e.To))

			if got.MessageID != e.MessageID {
				t.Errorf("Message-ID = %q, want exactly %q", got.MessageID, e.MessageID)
			}
			if !bytes.Contains(got.Raw, []byte("\r\nMessage-ID: "+e.MessageID+"\r\n")) && !bytes.HasPrefix(got.Raw, []byte("Message-ID: "+e.MessageID+"\r\n")) {
				t.Errorf("raw message lacks the header line %q:\n%s", "Message-ID: "+e.MessageID, got.Raw)
			}
			if got.Subject != e.Subject {
				t.Errorf("Subject = %q, want %q", got.Subject, e.Subject)
			}
			from, err := netmail.ParseAddress(got.Header.Get("From"))
			if err != nil || from.Address != "no-reply@example.com" || from.Name != "onboard" {
				t.Errorf("From header = %q (%v), want onboard <no-reply@example.com>", got.Header.Get("From"), err)
			}
			if got.From != "no-reply@example.com" {
				t.Errorf("envelope sender = %q, want no-reply@example.com", got.From)
			}
			if to := got.Header.Get("To"); !strings.Contains(to, e.To) {
				t.Errorf("To header = %q, want %q", to, e.To)
			}
			if d, err := got.Header.Date(); err != nil || time.Since(d) > time.Minute || time.Until(d) > time.Minute {
				t.Errorf("Date header = %q (%v), want about now", got.Header.Get("Date"), err)
			}
			if strings.TrimRight(got.Text, "\n") != strings.TrimRight(text, "\n") {
				t.Errorf("Text = %q, want %q", got.Text, text)
			}
			if strings.TrimRight(got.HTML, "\n") != tt.html {
				t.Errorf("HTML = %q, want %q", got.HTML, tt.html)
			}
			ct := got.Header.Get("Content-Type")
			if tt.html != "" && !strings.HasPrefix(ct, "multipart/alternative") {
				t.Errorf("Content-Type = %q, want multipart/alternative", ct)
			}
			if tt.html == "" && !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			if got.TLS != tt.wantTLS || got.AuthUser != tt.wantUser {
				t.Errorf("TLS = %v, AuthUser = %q; want %v, %q", got.TLS, got.AuthUser, tt.wantTLS, tt.wantUser)
			}
		})
	}
}

func TestSMTPSenderErrors(t *testing.T) {
	valid := mail.Envelope{MessageID: "<e@x.example>", From: "a@example.com", To: "b@example.com", Subject: "s", Text: "t"}
	with := func(f func(*mail.Envelope)) mail.Envelope {
		e := valid
		f(&e)
		return e
	}
	tests := []struct {
		name          string
		opts          []smtptest.Option
		stopped       bool
		url           func(srv *smtptest.Server) string
		env           mail.Envelope
		wantPermanent bool
		wantErr       string
	}{
		{name: "server down", stopped: true, env: valid, wantErr: "send mail <e@x.example>"},
		{name: "recipient rejected", opts: []smtptest.Option{smtptest.WithRejectRecipients("b@example.com")}, env: valid, wantPermanent: true, wantErr: "550"},
		{name: "message id without at", env: with(func(e *mail.Envelope) { e.MessageID = "<nope>" }), wantPermanent: true, wantErr: "invalid Message-ID"},
		{name: "message id with header injection", env: with(func(e *mail.Envelope) { e.MessageID = "<a@b>\r\nBcc: x@y" }), wantPermanent: true, wantErr: "invalid Message-ID"},
		{name: "bad recipient", env: with(func(e *mail.Envelope) { e.To = "not an address" }), wantPermanent: true, wantErr: "invalid recipient"},
		{name: "bad sender is configuration, not permanent", env: with(func(e *mail.Envelope) { e.From = "nope" }), wantErr: "invalid sender"},
		{name: "wrong password", opts: []smtptest.Option{smtptest.WithAuth("u", "right")}, url: func(srv *smtptest.Server) string { return "smtp://u:wrong@" + srv.Addr() }, env: valid, wantErr: "send mail"},
		{name: "starttls required but not offered", url: func(srv *smtptest.Server) string { return "smtp+starttls://" + srv.Addr() }, env: valid, wantErr: "STARTTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts...)
			u := srv.URL()
			if tt.url != nil {
				u = tt.url(srv)
			}
			if tt.stopped {
				srv.Stop()
			}
			s, err := mail.NewSMTPSender(u, mail.WithTimeout(5*time.Second))
			if err != nil {
				t.Fatalf("NewSMTPSender: %v", err)
			}
			err = s.Send(context.Background(), tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Send error = %v, want one containing %q", err, tt.wantErr)
			}
			if got := errors.Is(err, mail.ErrPermanent); got != tt.wantPermanent {
				t.Fatalf("errors.Is(err, ErrPermanent) = %v, want %v (err: %v)", got, tt.wantPermanent, err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Fatalf("server received %d messages, want 0", n)
			}
		})
	}
}

func TestSMTPSenderTimeout(t *testing.T) {
	// A server that accepts connections but never sends a greeting.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()

	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
	}{
		{name: "sender timeout", timeout: 200 * time.Millisecond, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}},
		{name: "context deadline", timeout: time.Minute, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}},
		{name: "context already cancelled", timeout: time.Minute, ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := mail.NewSMTPSender("smtp://"+l.Addr().String(), mail.WithTimeout(tt.timeout))
			if err != nil {
				t.Fatalf("NewSMTPSender: %v", err)
			}
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err = s.Send(ctx, mail.Envelope{MessageID: "<t@x>", From: "a@example.com", To: "b@example.com", Subject: "s", Text: "t"})
			if err == nil {
				t.Fatal("Send to a silent server succeeded")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("Send took %v, want it bounded by the 200ms timeout", d)
			}
			if errors.Is(err, mail.ErrPermanent) {
				t.Fatalf("timeout reported as permanent: %v", err)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", mail.Permanent(nil), false},
		{"plain", base, false},
		{"marked", mail.Permanent(base), true},
		{"wrapped marked", errors.Join(errors.New("ctx"), mail.Permanent(base)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, mail.ErrPermanent); got != tt.want {
				t.Fatalf("errors.Is(%v, ErrPermanent) = %v, want %v", tt.err, got, tt.want)
			}
			if tt.want && !errors.Is(tt.err, base) {
				t.Fatalf("Permanent hides the original error")
			}
		})
	}
	if mail.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
}

// TestSMTPSenderReusesConnections: messages go over one connection while it
// stays open; a connection the server dropped is replaced without losing the
// message; without idle connections every message opens one.
func TestSMTPSenderReusesConnections(t *testing.T) {
	env := func(i int) mail.Envelope {
		return mail.Envelope{MessageID: fmt.Sprintf("<reuse-%d@x>", i), From: "a@example.com", To: "b@example.com", Subject: "s", Text: "t"}
	}
	for _, tt := range []struct {
		name      string
		opts      []mail.SMTPOption
		restart   bool // the server drops every connection after the third message
		wait      time.Duration
		wantConns int
	}{
		{name: "reused", wantConns: 1},
		{name: "server dropped the connection", restart: true, wantConns: 2},
		{name: "idle too long", opts: []mail.SMTPOption{mail.WithIdleConnections(2, 50*time.Millisecond)}, wait: 100 * time.Millisecond, wantConns: 6},
		{name: "no idle connections", opts: []mail.SMTPOption{mail.WithIdleConnections(0, 0)}, wantConns: 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t)
			s, err := mail.NewSMTPSender(srv.URL(), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			for i := range 6 {
				if i == 3 && tt.restart {
					srv.Restart(t)
				}
				if err := s.Send(context.Background(), env(i)); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				time.Sleep(tt.wait)
			}
			if got := len(srv.Messages()); got != 6 {
				t.Fatalf("%d messages received, want 6", got)
			}
			if got := srv.Connections(); got != tt.wantConns {
				t.Fatalf("%d connections for 6 messages, want %d", got, tt.wantConns)
			}
		})
	}
}

// TestSMTPSenderConcurrentReuse: parallel sends each get a connection of
// their own, and at most the idle limit stays open.
func TestSMTPSenderConcurrentReuse(t *testing.T) {
	srv := smtptest.Start(t)
	s, err := mail.NewSMTPSender(srv.URL(), mail.WithIdleConnections(2, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				errs <- s.Send(context.Background(), mail.Envelope{MessageID: fmt.Sprintf("<c-%d-%d@x>", g, i),
					From: "a@example.com", To: "b@example.com", Subject: "s", Text: "t"})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.Messages()); got != 40 {
		t.Fatalf("%d messages, want 40", got)
	}
	if c := srv.Connections(); c > 20 {
		t.Fatalf("%d connections for 40 messages from 4 senders: not reused", c)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
