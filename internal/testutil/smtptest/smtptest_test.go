package smtptest_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// client builds a go-mail client for srv with the given extra options.
func client(t *testing.T, srv *smtptest.Server, opts ...gomail.Option) *gomail.Client {
	t.Helper()
	host, portStr, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		t.Fatalf("split addr: %v", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("parse port: %v", err)
	}
	base := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithTimeout(5 * time.Second),
	}
	c, err := gomail.NewClient(host, append(base, opts...)...)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

type testMail struct {
	from, to, subject, messageID, text, html string
	encoding                                 gomail.Encoding
}

func newMsg(t *testing.T, tm testMail) *gomail.Msg {
	t.Helper()
	var opts []gomail.MsgOption
	if tm.encoding != "" {
		opts = append(opts, gomail.WithEncoding(tm.encoding))
	}
	m := gomail.NewMsg(opts...)
	if err := m.From(tm.from); err != nil {
		t.Fatalf("from: %v", err)
	}
	if err := m.To(tm.to); err != nil {
		t.Fatalf("to: %v", err)
	}
	m.Subject(tm.subject)
	if tm.messageID != "" {
		m.SetMessageIDWithValue(tm.messageID)
	}
	m.SetDate()
	m.SetBodyString(gomail.TypeTextPlain, tm.text)
	if tm.html != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, tm.html)
	}
	return m
}

func send(t *testing.T, c *gomail.Client, m *gomail.Msg) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.DialAndSendWithContext(ctx, m)
}

func TestServerDecodesMessages(t *testing.T) {
	// A long token forces quoted-printable soft line breaks inside the URL.
	token := strings.Repeat("aB3-_", 30)
	link := "http://x/register?token=" + token + "&x=1"
	text := "Héllo Ada,\n\nOpen this link to finish:\n" + link + "\n\nIt expires in 24 hours.\n"
	html := `<p>Héllo Ada, <a href="` + strings.ReplaceAll(link, "&", "&amp;") + `">finish</a></p>`

	tests := []struct {
		name     string
		encoding gomail.Encoding
		html     string
		wantHTML string
	}{
		{name: "quoted-printable alternative", encoding: gomail.EncodingQP, html: html, wantHTML: html},
		{name: "base64 alternative", encoding: gomail.EncodingB64, html: html, wantHTML: html},
		{name: "quoted-printable text only", encoding: gomail.EncodingQP},
		{name: "base64 text only", encoding: gomail.EncodingB64},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t)
			to := fmt.Sprintf("ada%d@example.com", i)
			msgID := fmt.Sprintf("case%d.abc@onboard.test", i)
			m := newMsg(t, testMail{
				from: "onboard <no-reply@example.com>", to: to,
				subject:   "Finish creating your account – Ünïcode",
				messageID: msgID, text: text, html: tt.html, encoding: tt.encoding,
			})
			if err := send(t, client(t, srv), m); err != nil {
				t.Fatalf("send: %v", err)
			}
			got := srv.WaitFor(t, 5*time.Second, smtptest.SentTo(to))

			if got.From != "no-reply@example.com" {
				t.Errorf("From = %q, want envelope sender no-reply@example.com", got.From)
			}
			if len(got.To) != 1 || got.To[0] != to {
				t.Errorf("To = %q, want [%q]", got.To, to)
			}
			if want := "Finish creating your account – Ünïcode"; got.Subject != want {
				t.Errorf("Subject = %q, want %q", got.Subject, want)
			}
			if want := "<" + msgID + ">"; got.MessageID != want {
				t.Errorf("MessageID = %q, want %q", got.MessageID, want)
			}
			if got.Header.Get("Message-Id") != got.MessageID {
				t.Errorf("Header Message-Id = %q, want %q", got.Header.Get("Message-Id"), got.MessageID)
			}
			if got.Text != text {
				t.Errorf("Text = %q, want %q", got.Text, text)
			}
			if got.HTML != tt.wantHTML {
				t.Errorf("HTML = %q, want %q", got.HTML, tt.wantHTML)
			}
			if l := got.Link("http://x/register?token="); l != link {
				t.Errorf("Link = %q, want %q", l, link)
			}
			if len(got.Raw) == 0 || !strings.Contains(string(got.Raw), "Message-ID: <"+msgID+">") {
				t.Errorf("Raw does not contain the Message-ID header:\n%s", got.Raw)
			}
			if got.TLS || got.AuthUser != "" {
				t.Errorf("TLS = %v, AuthUser = %q; want plain unauthenticated", got.TLS, got.AuthUser)
			}
		})
	}
}

func TestMessageLink(t *testing.T) {
	const prefix = "http://x/register?token="
	tests := []struct {
		name string
		text string
		want string
	}{
		{name: "on its own line", text: "Open:\nhttp://x/register?token=abc\nbye", want: prefix + "abc"},
		{name: "at start of text", text: "http://x/register?token=abc def", want: prefix + "abc"},
		{name: "end of text", text: "go to http://x/register?token=abc", want: prefix + "abc"},
		{name: "trailing period dropped", text: "Visit http://x/register?token=abc.", want: prefix + "abc"},
		{name: "angle brackets", text: "Visit <http://x/register?token=abc>.", want: prefix + "abc"},
		{name: "parentheses", text: "(see http://x/register?token=abc)", want: prefix + "abc"},
		{name: "first of two", text: "http://x/register?token=one and http://x/register?token=two", want: prefix + "one"},
		{name: "query string kept", text: "http://x/register?token=a&b=c\n", want: prefix + "a&b=c"},
		{name: "embedded in another url is skipped", text: "https://r/?u=http://x/register?token=no http://x/register?token=yes", want: prefix + "yes"},
		{name: "other prefix only", text: "http://x/reset?token=abc", want: ""},
		{name: "empty text", text: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (smtptest.Message{Text: tt.text}).Link(prefix); got != tt.want {
				t.Errorf("Link(%q) in %q = %q, want %q", prefix, tt.text, got, tt.want)
			}
		})
	}
	if got := (smtptest.Message{Text: "http://x"}).Link(""); got != "" {
		t.Errorf("Link(\"\") = %q, want empty", got)
	}
}

func TestStopRestartKeepsPort(t *testing.T) {
	srv := smtptest.Start(t)
	addr := srv.Addr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("Addr = %q, want 127.0.0.1:port", addr)
	}
	if want := "smtp://" + addr; srv.URL() != want {
		t.Fatalf("URL = %q, want %q", srv.URL(), want)
	}
	mk := func(n int) *gomail.Msg {
		return newMsg(t, testMail{from: "a@example.com", to: "b@example.com", subject: fmt.Sprintf("m%d", n), text: "hi"})
	}

	if err := send(t, client(t, srv), mk(1)); err != nil {
		t.Fatalf("send before stop: %v", err)
	}
	srv.Stop()
	srv.Stop() // idempotent
	if err := send(t, client(t, srv), mk(2)); err == nil {
		t.Fatal("send while stopped succeeded, want connection error")
	}
	srv.Restart(t)
	if srv.Addr() != addr {
		t.Fatalf("Addr after restart = %q, want %q", srv.Addr(), addr)
	}
	if err := send(t, client(t, srv), mk(3)); err != nil {
		t.Fatalf("send after restart: %v", err)
	}

	msgs := srv.Messages()
	var subjects []string
	for _, m := range msgs {
		subjects = append(subjects, m.Subject)
	}
	if strings.Join(subjects, ",") != "m1,m3" {
		t.Fatalf("subjects = %q, want [m1 m3]", subjects)
	}
	// Messages returns a copy.
	msgs[0].Subject = "changed"
	if srv.Messages()[0].Subject != "m1" {
		t.Fatal("Messages did not return a copy")
	}
}

func TestAuthAndTLS(t *testing.T) {
	tests := []struct {
		name     string
		opts     []smtptest.Option
		client   func(srv *smtptest.Server) []gomail.Option
		scheme   string
		wantErr  bool
		wantTLS  bool
		wantUser string
	}{
		{
			name: "plain auth on loopback",
			opts: []smtptest.Option{smtptest.WithAuth("user", "p@ss")},
			client: func(*smtptest.Server) []gomail.Option {
				return []gomail.Option{gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername("user"), gomail.WithPassword("p@ss")}
			},
			scheme: "smtp", wantUser: "user",
		},
		{
			name: "wrong password",
			opts: []smtptest.Option{smtptest.WithAuth("user", "p@ss")},
			client: func(*smtptest.Server) []gomail.Option {
				return []gomail.Option{gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername("user"), gomail.WithPassword("nope")}
			},
			scheme: "smtp", wantErr: true,
		},
		{
			name: "auth required",
			opts: []smtptest.Option{smtptest.WithAuth("user", "p@ss")},
			client: func(*smtptest.Server) []gomail.Option {
				return nil
			},
			scheme: "smtp", wantErr: true,
		},
		{
			name: "starttls with auth",
			opts: []smtptest.Option{smtptest.WithStartTLS(), smtptest.WithAuth("user", "p@ss")},
			client: func(srv *smtptest.Server) []gomail.Option {
				return []gomail.Option{
					gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(srv.ClientTLSConfig()),
					gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername("user"), gomail.WithPassword("p@ss"),
				}
			},
			scheme: "smtp", wantTLS: true, wantUser: "user",
		},
		{
			name: "starttls untrusted certificate",
			opts: []smtptest.Option{smtptest.WithStartTLS()},
			client: func(*smtptest.Server) []gomail.Option {
				return []gomail.Option{gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(&tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})}
			},
			scheme: "smtp", wantErr: true,
		},
		{
			name: "implicit tls",
			opts: []smtptest.Option{smtptest.WithImplicitTLS()},
			client: func(srv *smtptest.Server) []gomail.Option {
				return []gomail.Option{gomail.WithSSL(), gomail.WithTLSConfig(srv.ClientTLSConfig())}
			},
			scheme: "smtps", wantTLS: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts...)
			if !strings.HasPrefix(srv.URL(), tt.scheme+"://") {
				t.Errorf("URL = %q, want scheme %q", srv.URL(), tt.scheme)
			}
			m := newMsg(t, testMail{from: "a@example.com", to: "b@example.com", subject: "s", text: "hi"})
			err := send(t, client(t, srv, tt.client(srv)...), m)
			if tt.wantErr {
				if err == nil {
					t.Fatal("send succeeded, want error")
				}
				if n := len(srv.Messages()); n != 0 {
					t.Fatalf("server recorded %d messages, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			got := srv.WaitFor(t, 5*time.Second, nil)
			if got.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
			if got.AuthUser != tt.wantUser {
				t.Errorf("AuthUser = %q, want %q", got.AuthUser, tt.wantUser)
			}
		})
	}
}

func TestRejectRecipients(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithRejectRecipients("Gone@Example.com"))
	bad := newMsg(t, testMail{from: "a@example.com", to: "gone@example.com", subject: "s", text: "hi"})
	err := send(t, client(t, srv), bad)
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("send to rejected recipient: err = %v, want a 550 error", err)
	}
	good := newMsg(t, testMail{from: "a@example.com", to: "ok@example.com", subject: "s", text: "hi"})
	if err := send(t, client(t, srv), good); err != nil {
		t.Fatalf("send to accepted recipient: %v", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].To[0] != "ok@example.com" {
		t.Fatalf("messages = %+v, want only the accepted one", msgs)
	}
}

// fatalRecorder captures Fatalf instead of stopping the goroutine.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
}

func TestWaitForTimeoutListsMessages(t *testing.T) {
	srv := smtptest.Start(t)
	m := newMsg(t, testMail{from: "a@example.com", to: "b@example.com", subject: "arrived", text: "hi"})
	if err := send(t, client(t, srv), m); err != nil {
		t.Fatalf("send: %v", err)
	}
	srv.WaitFor(t, 5*time.Second, smtptest.SentTo("B@example.com")) // case-insensitive match

	rec := &fatalRecorder{TB: t}
	start := time.Now()
	got := srv.WaitFor(rec, 50*time.Millisecond, smtptest.SentTo("nobody@example.com"))
	if time.Since(start) < 50*time.Millisecond {
		t.Errorf("WaitFor returned before its timeout")
	}
	if got.Subject != "" {
		t.Errorf("WaitFor returned %+v on timeout, want zero Message", got)
	}
	if !strings.Contains(rec.msg, "no matching message") || !strings.Contains(rec.msg, `subject="arrived"`) {
		t.Errorf("Fatalf message = %q, want it to list the received message", rec.msg)
	}
	if !smtptest.WithMessageID("<x@y>")(smtptest.Message{MessageID: "<x@y>"}) {
		t.Error("WithMessageID did not match an equal id")
	}
}
