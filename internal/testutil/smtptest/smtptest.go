// Package smtptest runs a real SMTP server on the loopback interface for
// tests. It is built on github.com/emersion/go-smtp, accepts every message
// (unless configured otherwise) and records it, decoded, for assertions.
//
// Typical use:
//
//	srv := smtptest.Start(t)
//	// ... point the code under test at srv.URL() ...
//	msg := srv.WaitFor(t, 5*time.Second, smtptest.SentTo("ada@example.com"))
//	link := msg.Link("http://x/register?token=")
//
// The server can be stopped and restarted on the same port to simulate an
// outage, and can optionally require authentication, offer STARTTLS or speak
// implicit TLS with a throw-away self-signed certificate.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// restartWindow bounds how long Restart keeps retrying to bind the old port.
const restartWindow = 2 * time.Second

// Option configures a Server started by Start.
type Option func(*config)

type config struct {
	username, password string
	startTLS           bool
	implicitTLS        bool
	reject             map[string]bool
	rcptDelay          func() time.Duration
	onMessage          func(Message)
}

// WithOnMessage makes the server call f with every message it accepts, as
// it accepts it (benchmarks wait on this instead of polling Messages).
func WithOnMessage(f func(Message)) Option {
	return func(c *config) { c.onMessage = f }
}

// WithRcptDelay makes the server wait delay() before answering each RCPT
// TO, as a slow server does. A client that dies meanwhile has sent nothing:
// no message is recorded for it.
func WithRcptDelay(delay func() time.Duration) Option {
	return func(c *config) { c.rcptDelay = delay }
}

// WithAuth makes the server advertise AUTH PLAIN and require a successful
// login with exactly these credentials before it accepts MAIL FROM.
// Authentication over plaintext is allowed (the server only listens on
// loopback).
func WithAuth(username, password string) Option {
	return func(c *config) {
		c.username, c.password = username, password
	}
}

// WithStartTLS makes the server offer STARTTLS using a self-signed
// certificate for 127.0.0.1 and localhost. Clients must trust it through
// Server.ClientTLSConfig.
func WithStartTLS() Option {
	return func(c *config) { c.startTLS = true }
}

// WithImplicitTLS makes the server speak TLS from the first byte (the
// "smtps" style, usually port 465) using a self-signed certificate. Clients
// must trust it through Server.ClientTLSConfig.
func WithImplicitTLS() Option {
	return func(c *config) { c.implicitTLS = true }
}

// WithRejectRecipients makes the server answer RCPT TO for any of addrs with
// a permanent "550 5.1.1" error. Matching is case-insensitive.
func WithRejectRecipients(addrs ...string) Option {
	return func(c *config) {
		if c.reject == nil {
			c.reject = make(map[string]bool, len(addrs))
		}
		for _, a := range addrs {
			c.reject[strings.ToLower(a)] = true
		}
	}
}

// Server is a real SMTP server on 127.0.0.1 that records every message it
// accepts. All methods are safe for concurrent use.
type Server struct {
	cfg       config
	serverTLS *tls.Config // nil unless a TLS option was given
	clientTLS *tls.Config

	mu        sync.Mutex
	tb        testing.TB // used for server error logs; nil once cleaned up
	addr      string     // remembered across Stop/Restart
	srv       *smtp.Server
	ln        net.Listener
	serveDone chan struct{}
	msgs      []Message
	conns     int // SMTP sessions opened
}

// Start starts a server listening on 127.0.0.1 on a random free port. The
// server is stopped automatically when the test and its subtests finish.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{tb: t}
	for _, o := range opts {
		o(&s.cfg)
	}
	if s.cfg.startTLS && s.cfg.implicitTLS {
		t.Fatalf("smtptest: WithStartTLS and WithImplicitTLS are mutually exclusive")
	}
	if s.cfg.startTLS || s.cfg.implicitTLS {
		server, client, err := selfSignedTLS()
		if err != nil {
			t.Fatalf("smtptest: %v", err)
		}
		s.serverTLS, s.clientTLS = server, client
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	s.serve(l)

	t.Cleanup(func() {
		s.Stop()
		s.mu.Lock()
		s.tb = nil
		s.mu.Unlock()
	})
	return s
}

// Addr returns the listening address as "127.0.0.1:port". It stays the same
// across Stop and Restart.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL returns the address as a sender URL: "smtp://127.0.0.1:port" for a
// plain or STARTTLS server (use the smtp+starttls scheme to require the
// upgrade) and "smtps://127.0.0.1:port" for an implicit-TLS server.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.cfg.implicitTLS {
		scheme = "smtps"
	}
	return scheme + "://" + s.Addr()
}

// ClientTLSConfig returns a TLS client configuration that trusts the
// server's self-signed certificate, or nil when the server was started
// without a TLS option. The returned value is a fresh clone.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Stop closes the listener and every open connection, then waits for the
// accept loop to exit. Clients get "connection refused" until Restart. Stop
// is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.serveDone
	s.srv, s.ln, s.serveDone = nil, nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	// srv.Close only closes listeners Serve has registered already; closing
	// ours too covers a Stop that races with the start of Serve.
	_ = srv.Close() // errors only report "already closed"
	_ = ln.Close()
	<-done
}

// Restart listens again on the same port after Stop (stopping first if the
// server is still running). Binding is retried for up to about two seconds
// because the kernel may not release the port immediately.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	addr := s.Addr()
	deadline := time.Now().Add(restartWindow)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			s.serve(l)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: restart: listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Messages returns a copy of every message received so far, in arrival
// order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// WaitFor polls until a received message satisfies match (nil matches any
// message) and returns the first such message. On timeout it fails the test
// with t.Fatalf, listing every message that did arrive.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, match func(Message) bool) Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages()
		for _, m := range msgs {
			if match == nil || match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, m := range msgs {
				fmt.Fprintf(&b, "\n  %d: from=%q to=%q subject=%q message-id=%q", i, m.From, m.To, m.Subject, m.MessageID)
			}
			if len(msgs) == 0 {
				b.WriteString(" none")
			}
			t.Fatalf("smtptest: no matching message after %v; received:%s", timeout, b.String())
			return Message{}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SentTo returns a WaitFor matcher for messages whose envelope recipients
// include addr (case-insensitive).
func SentTo(addr string) func(Message) bool {
	return func(m Message) bool {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				return true
			}
		}
		return false
	}
}

// WithMessageID returns a WaitFor matcher for the message whose Message-ID
// header equals id exactly (angle brackets included).
func WithMessageID(id string) func(Message) bool {
	return func(m Message) bool { return m.MessageID == id }
}

func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "smtptest.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = logAdapter{s}
	if s.cfg.startTLS {
		srv.TLSConfig = s.serverTLS
	}
	if s.cfg.implicitTLS {
		l = tls.NewListener(l, s.serverTLS)
	}

	done := make(chan struct{})
	s.mu.Lock()
	s.srv, s.ln, s.serveDone = srv, l, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
			s.logf("smtptest: serve: %v", err)
		}
	}()
}

// Connections returns how many SMTP connections clients have opened.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	if s.cfg.onMessage != nil {
		s.cfg.onMessage(m)
	}
}

// logf forwards to the owning test's log while the test is running; late log
// lines from connection goroutines after cleanup are dropped instead of
// panicking the test binary.
func (s *Server) logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tb != nil {
		s.tb.Logf(format, args...)
	}
}

type logAdapter struct{ s *Server }

func (a logAdapter) Printf(format string, v ...any) { a.s.logf("smtptest: "+format, v...) }
func (a logAdapter) Println(v ...any) {
	a.s.logf("smtptest: %s", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// session is one SMTP connection's state.
type session struct {
	srv      *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (ss *session) AuthMechanisms() []string {
	if ss.srv.cfg.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.srv.cfg.username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		if username != ss.srv.cfg.username || password != ss.srv.cfg.password {
			return smtp.ErrAuthFailed
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.cfg.username != "" && ss.authUser == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if d := ss.srv.cfg.rcptDelay; d != nil {
		time.Sleep(d())
	}
	if ss.srv.cfg.reject[strings.ToLower(to)] {
		return &smtp.SMTPError{
			Code:         550,
			EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message:      "No such user here",
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read message data: %w", err)
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m, err := parseMessage(raw)
	if err != nil {
		// Keep the message anyway so a test can inspect what went wrong.
		ss.srv.logf("smtptest: parse received message: %v", err)
	}
	m.From = ss.from
	m.To = append([]string(nil), ss.to...)
	m.TLS = isTLS
	m.AuthUser = ss.authUser
	ss.srv.record(m)
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// selfSignedTLS creates a throw-away certificate for 127.0.0.1/localhost and
// returns matching server and client configurations.
func selfSignedTLS() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{
		RootCAs:    pool,
		ServerName: "127.0.0.1",
		MinVersion: tls.VersionTLS12,
	}
	return server, client, nil
}
