// Package outbound is the one HTTP client through which onboard calls URLs
// that organizations configure: the Partner Provider plugin, labelpartners'
// token introspection, and any later webhook, SMS gateway or OpenID
// provider. An organization's admin chooses these URLs, and anonymous
// requests make onboard call them, so the client keeps them from reaching
// what only onboard can reach:
//
//   - Every connection is checked in the dialer, on the IP address actually
//     being connected to after DNS resolution (net.Dialer.ControlContext),
//     so a name that resolves, or later re-resolves (DNS rebinding), to an
//     internal address is refused like the address itself. Refused are
//     loopback, private (RFC 1918, fc00::/7), link-local, shared (CGNAT),
//     unspecified, multicast, broadcast, documentation, benchmarking and
//     other reserved ranges, their IPv4-mapped IPv6 forms, and the cloud
//     metadata addresses (see Classify).
//   - Only https URLs are called.
//   - No redirect is followed: a 3xx answer is an error (ErrRedirect). A
//     redirect could otherwise point the call at a refused address, turn it
//     into plain http, or carry a POSTed secret to another host.
//   - No proxy from the environment is used: the dialer check would then
//     judge the proxy's address instead of the destination.
//   - The answer is read whole, up to a size limit (ErrTooLarge beyond), and
//     the whole call has a time limit.
//
// Options.AllowPrivate lifts the address and https rules, for development
// and tests against servers on the local machine; the metadata addresses
// stay refused.
//
// CheckURL applies the same rules to a URL when it is configured, so that
// an admin API answers 422 at once for a plain http URL or a literal
// address of a refused kind.
package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Errors of Do, to be tested with errors.Is.
var (
	// ErrRefused: the destination is not one onboard may call.
	ErrRefused = errors.New("outbound: destination refused")
	// ErrRedirect: the server answered with a redirect, which is not followed.
	ErrRedirect = errors.New("outbound: redirect not followed")
	// ErrTooLarge: the answer is larger than the limit.
	ErrTooLarge = errors.New("outbound: answer too large")
)

// Defaults of Options.
const (
	DefaultMaxBody = 64 << 10
	DefaultTimeout = 30 * time.Second
	// DefaultMaxIdleConnsPerHost is as many idle connections per host as
	// the webhook worker sends requests at once by default, so that a
	// burst of deliveries to one receiver does not dial new connections.
	DefaultMaxIdleConnsPerHost = 32
)

// Options configure a Client.
type Options struct {
	// AllowPrivate lets the client call private, loopback and other
	// internal addresses, and plain http URLs (development and tests).
	AllowPrivate bool
	// MaxBody is the largest answer body read, in bytes; 0: DefaultMaxBody.
	MaxBody int64
	// Timeout bounds a whole call, answer included; 0: DefaultTimeout.
	// Callers usually set a shorter deadline on the request's context.
	Timeout time.Duration
	// TLS is the TLS configuration; nil: the system's roots, TLS 1.2 or
	// later.
	TLS *tls.Config
	// MaxIdleConnsPerHost is how many idle connections to one host are
	// kept for reuse; set it to the most requests sent to one host at once
	// (the webhook workers). 0: DefaultMaxIdleConnsPerHost.
	MaxIdleConnsPerHost int
}

// Client makes outbound HTTP calls under the rules of the package. It is
// safe for concurrent use.
type Client struct {
	opts Options
	hc   *http.Client
	// exempt, when valid, is one address and port allowed despite the
	// rules; only this package's tests set it.
	exempt netip.AddrPort
}

// New returns a Client.
func New(o Options) *Client {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	tlsCfg := o.TLS
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c := &Client{opts: o}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, ControlContext: c.control}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsCfg,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           max(100, o.MaxIdleConnsPerHost),
		MaxIdleConnsPerHost:    o.MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
	}
	c.hc = &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("%w (to %s)", ErrRedirect, req.URL.Redacted())
		},
	}
	return c
}

// AllowPrivate reports whether the client was built to allow private
// addresses and plain http.
func (c *Client) AllowPrivate() bool { return c.opts.AllowPrivate }

// control runs before every connection, with the resolved address.
func (c *Client) control(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not an IP address and port", ErrRefused, network, address)
	}
	if c.exempt.IsValid() && ap == c.exempt {
		return nil
	}
	if reason := Classify(ap.Addr()); reason != "" && (!c.opts.AllowPrivate || !allowedWhenPrivate(reason)) {
		return fmt.Errorf("%w: %s is a %s address", ErrRefused, ap.Addr(), reason)
	}
	return nil
}

// Response is an answer read whole.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Do sends req and reads the answer. It refuses a URL that is not https
// (unless private destinations are allowed) and, in the dialer, every
// refused address; it does not follow redirects (ErrRedirect) and fails an
// answer larger than the limit (ErrTooLarge). Any status is returned as an
// answer: callers decide what a non-2xx status means.
func (c *Client) Do(req *http.Request) (*Response, error) {
	if err := c.checkScheme(req.URL); err != nil {
		return nil, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer res.Body.Close()
	if res.ContentLength > c.opts.MaxBody {
		return nil, fmt.Errorf("%s %s: %w (%d bytes announced, at most %d)", req.Method, req.URL.Redacted(), ErrTooLarge, res.ContentLength, c.opts.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, c.opts.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Redacted(), err)
	}
	if int64(len(body)) > c.opts.MaxBody {
		return nil, fmt.Errorf("%s %s: %w (more than %d bytes)", req.Method, req.URL.Redacted(), ErrTooLarge, c.opts.MaxBody)
	}
	return &Response{StatusCode: res.StatusCode, Header: res.Header, Body: body}, nil
}

func (c *Client) checkScheme(u *url.URL) error {
	switch {
	case u == nil || u.Host == "":
		return fmt.Errorf("%w: not an absolute URL", ErrRefused)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && c.opts.AllowPrivate:
		return nil
	}
	return fmt.Errorf("%w: %s URLs are not called, only https", ErrRefused, u.Scheme)
}

// CheckURL checks a URL when it is configured, under the client's rules.
func (c *Client) CheckURL(raw string) error { return CheckURL(raw, c.opts.AllowPrivate) }

// URLError says what is wrong with a configured URL; its message is meant
// for the field error of the setting.
type URLError struct{ Message string }

func (e *URLError) Error() string { return e.Message }

// MaxURLLength is the longest URL CheckURL accepts.
const MaxURLLength = 2000

// CheckURL checks a URL that onboard is to call later: absolute, at most
// MaxURLLength characters, https (or http when allowPrivate), a host, no
// user name or password in it, and a host that is not a literal address of
// a refused kind (see Classify) nor a form of an IPv4 address other than
// dotted decimal. Host names are not resolved here: the dialer judges the
// addresses they resolve to at each call.
func CheckURL(raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLength {
		return &URLError{fmt.Sprintf("must be at most %d characters", MaxURLLength)}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return &URLError{"must be an absolute https URL"}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowPrivate {
			return &URLError{"must be an https URL: plain http is refused"}
		}
	default:
		return &URLError{"must be an absolute https URL"}
	}
	if u.User != nil {
		return &URLError{"must not contain a user name or password"}
	}
	host := u.Hostname()
	if host == "" {
		return &URLError{"must name a host"}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if reason := Classify(a); reason != "" && (!allowPrivate || !allowedWhenPrivate(reason)) {
			return &URLError{fmt.Sprintf("must not point at a %s address (%s)", reason, a)}
		}
		return nil
	}
	if looksNumeric(host) {
		return &URLError{"must name its host by a DNS name or a dotted-decimal IPv4 or an IPv6 address"}
	}
	return nil
}

// looksNumeric reports whether a host that is not an IP address could still
// be read as one by some resolvers: "2130706433", "0x7f.1", "127.1".
func looksNumeric(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if strings.HasPrefix(strings.ToLower(last), "0x") {
		return true
	}
	return strings.Trim(last, "0123456789") == ""
}

// HTTPClient returns an *http.Client under the same rules, for libraries
// that take one (the OpenID Connect relying party): the dialer's address
// check, no redirects, no proxy, the time limit, the scheme rule and the
// answer size limit (a larger body fails to read with ErrTooLarge).
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{Transport: ruledTransport{c}, Timeout: c.hc.Timeout, CheckRedirect: c.hc.CheckRedirect}
}

type ruledTransport struct{ c *Client }

func (t ruledTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.c.checkScheme(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	res, err := t.c.hc.Transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if res.ContentLength > t.c.opts.MaxBody {
		res.Body.Close()
		return nil, fmt.Errorf("%s %s: %w (%d bytes announced, at most %d)", req.Method, req.URL.Redacted(), ErrTooLarge, res.ContentLength, t.c.opts.MaxBody)
	}
	res.Body = &limitedBody{rc: res.Body, left: t.c.opts.MaxBody}
	return res, nil
}

// limitedBody fails a read past the size limit.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
