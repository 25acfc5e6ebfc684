package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Envelope is one message ready to send.
type Envelope struct {
	// MessageID is the full Message-ID header value, angle brackets
	// included, e.g. "<abc@host>". It is sent exactly as given; when empty
	// a random one is generated.
	MessageID string
	// From is the From address, optionally with a display name.
	From string
	// To is the single recipient address.
	To string
	// Subject is the one-line subject.
	Subject string
	// Text is the text/plain body.
	Text string
	// HTML is the optional text/html alternative.
	HTML string
}

// Sender delivers one message.
type Sender interface {
	// Send delivers e or returns why it could not. Errors for which a retry
	// cannot help match ErrPermanent with errors.Is.
	Send(ctx context.Context, e Envelope) error
}

// ErrPermanent marks a delivery error that retrying cannot fix, such as an
// invalid address or a recipient the server rejected with a 5xx reply.
// Test with errors.Is.
var ErrPermanent = errors.New("permanent delivery failure")

type permanentError struct{ err error }

func (p permanentError) Error() string        { return p.err.Error() }
func (p permanentError) Unwrap() error        { return p.err }
func (p permanentError) Is(target error) bool { return target == ErrPermanent }

// Permanent wraps err so that errors.Is(err, ErrPermanent) reports true,
// telling the Worker to abandon the message instead of retrying. Sender
// implementations outside this package can use it too. Permanent(nil) is
// nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// NewSender returns the Sender configured by rawURL:
//
//   - "" selects a LogSender (development: mail is logged, not sent);
//   - smtp://[user:pass@]host[:25] plain SMTP without TLS;
//   - smtp+starttls://[user:pass@]host[:587] SMTP with mandatory STARTTLS;
//   - smtps://[user:pass@]host[:465] SMTP over implicit TLS.
//
// Credentials, when present, are used for SMTP AUTH and may be URL-escaped.
// opts only apply to SMTP senders.
func NewSender(rawURL string, logger *slog.Logger, opts ...SMTPOption) (Sender, error) {
	if rawURL == "" {
		return NewLogSender(logger), nil
	}
	s, err := NewSMTPSender(rawURL, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// LogSender is the development Sender: it logs every message, full text
// body included, at Info level and sends nothing.
type LogSender struct {
	logger *slog.Logger
}

// NewLogSender returns a LogSender writing to logger (slog.Default() when
// nil).
func NewLogSender(logger *slog.Logger) *LogSender {
	if logger == nil {
		logger = slog.Default()
	}
	return &LogSender{logger: logger}
}

// Send logs e and returns nil.
func (s *LogSender) Send(ctx context.Context, e Envelope) error {
	s.logger.LogAttrs(ctx, slog.LevelInfo, "mail not sent (no SMTP configured)",
		slog.String("to", e.To),
		slog.String("subject", e.Subject),
		slog.String("message_id", e.MessageID),
		slog.String("text", e.Text),
	)
	return nil
}

// TLSMode is how an SMTPSender secures its connection.
type TLSMode int

// TLS modes, one per URL scheme.
const (
	// TLSNone is plain SMTP (scheme smtp).
	TLSNone TLSMode = iota
	// TLSStartTLS requires an upgrade with STARTTLS (scheme smtp+starttls).
	TLSStartTLS
	// TLSImplicit speaks TLS from the first byte (scheme smtps).
	TLSImplicit
)

// String returns the URL scheme of the mode.
func (m TLSMode) String() string {
	switch m {
	case TLSNone:
		return "smtp"
	case TLSStartTLS:
		return "smtp+starttls"
	case TLSImplicit:
		return "smtps"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// SMTPConfig is a parsed SMTP URL.
type SMTPConfig struct {
	Host     string  // host name or IP address, without brackets
	Port     int     // TCP port, defaulted from the scheme
	TLS      TLSMode // from the scheme
	Username string  // URL-decoded; empty means no authentication
	Password string  // URL-decoded
}

// String returns the configuration as a URL with the password redacted.
func (c SMTPConfig) String() string {
	u := url.URL{Scheme: c.TLS.String(), Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.Username != "" {
		u.User = url.UserPassword(c.Username, "xxxxx")
	}
	return u.String()
}

// ParseSMTPURL parses an smtp://, smtp+starttls:// or smtps:// URL, filling
// in the default port (25, 587 or 465) when it is omitted. Errors never
// contain the password.
func ParseSMTPURL(rawURL string) (SMTPConfig, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse errors echo the input; strip it to avoid leaking secrets.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return SMTPConfig{}, fmt.Errorf("parse SMTP URL: %w", err)
	}
	var cfg SMTPConfig
	defaultPort := 0
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		cfg.TLS, defaultPort = TLSNone, 25
	case "smtp+starttls":
		cfg.TLS, defaultPort = TLSStartTLS, 587
	case "smtps":
		cfg.TLS, defaultPort = TLSImplicit, 465
	case "":
		return SMTPConfig{}, fmt.Errorf("parse SMTP URL %q: missing scheme (want smtp, smtp+starttls or smtps)", u.Redacted())
	default:
		return SMTPConfig{}, fmt.Errorf("parse SMTP URL %q: unsupported scheme %q (want smtp, smtp+starttls or smtps)", u.Redacted(), u.Scheme)
	}
	if u.Opaque != "" {
		return SMTPConfig{}, fmt.Errorf("parse SMTP URL %q: missing host (write %s://host:port)", u.Redacted(), u.Scheme)
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return SMTPConfig{}, fmt.Errorf("parse SMTP URL %q: missing host", u.Redacted())
	}
	cfg.Port = defaultPort
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return SMTPConfig{}, fmt.Errorf("parse SMTP URL %q: invalid port %q", u.Redacted(), p)
		}
		cfg.Port = port
	}
	if u.Path != "" && u.Path != "/" {
		return SMTPConfig{}, fmt.Errorf("parse SMTP URL %q: unexpected path %q", u.Redacted(), u.Path)
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		if cfg.Username == "" {
			return SMTPConfig{}, fmt.Errorf("parse SMTP URL %q: empty username", u.Redacted())
		}
	}
	return cfg, nil
}

// DefaultSMTPTimeout bounds one SMTP delivery (connect, TLS, auth and data)
// unless WithTimeout says otherwise.
const DefaultSMTPTimeout = 10 * time.Second

// SMTPOption configures an SMTPSender.
type SMTPOption func(*SMTPSender)

// WithTimeout sets the connection timeout of an SMTPSender. Values <= 0
// are ignored.
func WithTimeout(d time.Duration) SMTPOption {
	return func(s *SMTPSender) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithTLSConfig sets the TLS client configuration used for STARTTLS and
// implicit TLS, e.g. to trust a private CA. Its ServerName defaults to the
// URL host. A nil config is ignored.
func WithTLSConfig(c *tls.Config) SMTPOption {
	return func(s *SMTPSender) {
		if c != nil {
			s.tlsConfig = c.Clone()
		}
	}
}

// WithHELO sets the name announced in EHLO/HELO (default: the host name).
func WithHELO(name string) SMTPOption {
	return func(s *SMTPSender) { s.helo = name }
}

// WithIdleConnections keeps up to n connections open between messages and
// reuses them (default DefaultIdleConnections; 0 opens a connection per
// message), closing one that has been idle for longer than idle (default
// DefaultIdleTimeout).
func WithIdleConnections(n int, idle time.Duration) SMTPOption {
	return func(s *SMTPSender) {
		s.maxIdle = max(n, 0)
		if idle > 0 {
			s.idleTimeout = idle
		}
	}
}

// Connection reuse defaults: as many idle connections as the mail worker
// sends in parallel by default, closed after 30 s without use (servers
// commonly drop idle clients after a minute or more).
const (
	DefaultIdleConnections = 4
	DefaultIdleTimeout     = 30 * time.Second
)

// SMTPSender delivers mail over SMTP with github.com/wneessen/go-mail. It
// keeps a few connections open and sends the next messages over them
// (MAIL, RCPT, DATA, RSET), instead of a new connection, greeting, EHLO,
// STARTTLS and AUTH per message. It is safe for concurrent use.
type SMTPSender struct {
	cfg         SMTPConfig
	timeout     time.Duration
	tlsConfig   *tls.Config
	helo        string
	maxIdle     int
	idleTimeout time.Duration

	mu   sync.Mutex
	idle []idleConn // most recently used last
}

// idleConn is an open connection waiting for the next message.
type idleConn struct {
	c     *gomail.Client
	since time.Time
}

// NewSMTPSender returns a sender for an smtp://, smtp+starttls:// or
// smtps:// URL (see ParseSMTPURL).
//
// Authentication: with smtp+starttls and smtps the strongest mechanism the
// server offers is chosen automatically (SCRAM, CRAM-MD5, PLAIN, LOGIN).
// With plain smtp, credentials are only accepted for a loopback host
// (localhost, 127.0.0.1, ::1, as go-mail enforces) and sent with AUTH PLAIN;
// any other host is rejected here rather than on every send.
func NewSMTPSender(rawURL string, opts ...SMTPOption) (*SMTPSender, error) {
	cfg, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	if cfg.TLS == TLSNone && cfg.Username != "" && !isLoopbackName(cfg.Host) {
		return nil, fmt.Errorf("SMTP URL %s: credentials over plain smtp:// are only sent to a loopback host; use smtp+starttls:// or smtps://", cfg)
	}
	s := &SMTPSender{cfg: cfg, timeout: DefaultSMTPTimeout, maxIdle: DefaultIdleConnections, idleTimeout: DefaultIdleTimeout}
	for _, o := range opts {
		o(s)
	}
	if s.tlsConfig == nil {
		s.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = cfg.Host
	}
	return s, nil
}

// Config returns the parsed SMTP configuration.
func (s *SMTPSender) Config() SMTPConfig { return s.cfg }

// Send delivers e over an idle connection, or a new one. The exchange is
// bounded by the sender's timeout; a ctx already done, or whose deadline
// leaves no time, stops it before it starts. A reused connection that turns
// out closed before the message was handed over (the server dropped it
// while idle) is replaced by a new one once.
func (s *SMTPSender) Send(ctx context.Context, e Envelope) error {
	msg, err := buildMsg(e)
	if err != nil {
		return fmt.Errorf("build message %s: %w", e.MessageID, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send mail %s: %w", e.MessageID, err)
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= 0 {
		return fmt.Errorf("send mail %s: %w", e.MessageID, context.DeadlineExceeded)
	}
	for try := 0; ; try++ {
		client, reused := s.take()
		if client == nil {
			timeout := s.timeout
			if deadline, ok := ctx.Deadline(); ok {
				timeout = min(timeout, time.Until(deadline))
			}
			client, err = gomail.NewClient(s.cfg.Host, s.clientOptions(max(timeout, time.Millisecond))...)
			if err != nil {
				return fmt.Errorf("configure SMTP client for %s: %w", s.cfg, err)
			}
			if err = client.DialWithContext(ctx); err != nil {
				return s.sendError(e, err)
			}
		}
		err = client.Send(msg)
		if err == nil {
			s.keep(client)
			return nil
		}
		_ = client.Close()
		if reused && try == 0 && notHandedOver(err) {
			continue
		}
		return s.sendError(e, err)
	}
}

func (s *SMTPSender) sendError(e Envelope, err error) error {
	err = fmt.Errorf("send mail %s via %s: %w", e.MessageID, s.cfg, err)
	if isPermanentSMTP(err) {
		return Permanent(err)
	}
	return err
}

// notHandedOver reports whether a send failed on a dead connection before
// any recipient was accepted: sending again cannot deliver twice.
func notHandedOver(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrConnCheck:
		return true
	case gomail.ErrSMTPMailFrom:
		return se.ErrorCode() == 0 // no SMTP reply: the connection failed
	}
	return false
}

// take returns the most recently used idle connection still fresh, closing
// the stale ones; nil when there is none.
func (s *SMTPSender) take() (*gomail.Client, bool) {
	s.mu.Lock()
	var stale []*gomail.Client
	var c *gomail.Client
	for len(s.idle) > 0 {
		last := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if time.Since(last.since) < s.idleTimeout {
			c = last.c
			break
		}
		stale = append(stale, last.c)
	}
	s.mu.Unlock()
	for _, sc := range stale {
		_ = sc.Close()
	}
	return c, c != nil
}

// keep puts a connection back for the next message, or closes it when
// enough are idle.
func (s *SMTPSender) keep(c *gomail.Client) {
	s.mu.Lock()
	if len(s.idle) < s.maxIdle {
		s.idle = append(s.idle, idleConn{c: c, since: time.Now()})
		c = nil
	}
	s.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// Close closes the idle connections (QUIT). Send may still be called; it
// opens new ones.
func (s *SMTPSender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	var errs []error
	for _, ic := range idle {
		if err := ic.c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *SMTPSender) clientOptions(timeout time.Duration) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(s.tlsConfig.Clone()),
	}
	switch s.cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if s.cfg.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if s.cfg.TLS == TLSNone {
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts,
			gomail.WithSMTPAuth(auth),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password),
		)
	}
	if s.helo != "" {
		opts = append(opts, gomail.WithHELO(s.helo))
	}
	return opts
}

// isLoopbackName reports whether go-mail allows unencrypted AUTH PLAIN to
// host.
func isLoopbackName(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// isPermanentSMTP reports whether err is a 5xx rejection of the recipient:
// retrying the same message cannot succeed. Other 5xx replies (MAIL FROM,
// AUTH, DATA) usually point at configuration and are left to retry.
func isPermanentSMTP(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	return se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp() && se.ErrorCode() >= 500
}

// buildMsg converts e into a go-mail message. It rejects values that could
// break the header block. A bad recipient or Message-ID is permanent (that
// message can never be sent); a bad From is not, since it is configuration
// that affects every message and may be fixed.
func buildMsg(e Envelope) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if e.MessageID == "" {
		m.SetMessageID()
	} else {
		id, err := bareMessageID(e.MessageID)
		if err != nil {
			return nil, Permanent(err)
		}
		m.SetMessageIDWithValue(id) // go-mail adds the angle brackets back
	}
	if err := m.From(e.From); err != nil {
		return nil, fmt.Errorf("invalid sender %q: %w", e.From, err)
	}
	if err := m.To(e.To); err != nil {
		return nil, Permanent(fmt.Errorf("invalid recipient %q: %w", e.To, err))
	}
	m.Subject(strings.Join(strings.Fields(e.Subject), " "))
	m.SetDate()
	m.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	return m, nil
}

// bareMessageID validates a Message-ID of the form "<left@right>" (the
// brackets are optional on input) and returns it without brackets.
func bareMessageID(v string) (string, error) {
	id := strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") {
		return "", fmt.Errorf("invalid Message-ID %q: want <left@right>", v)
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`<>()[]\,;:"`, r) {
			return "", fmt.Errorf("invalid Message-ID %q: character %q not allowed", v, r)
		}
	}
	return id, nil
}
