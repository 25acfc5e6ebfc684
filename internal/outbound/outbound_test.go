package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server is a real HTTPS server on 127.0.0.1 that counts the connections
// it accepts and the requests it answers.
type server struct {
	*httptest.Server
	conns, hits atomic.Int32
}

func startServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// addrPort is the server's address, as the dialer sees it.
func (s *server) addrPort() netip.AddrPort {
	ap := s.Listener.Addr().(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func (s *server) port() string { return fmt.Sprint(s.addrPort().Port()) }

// client returns a Client that trusts the test servers' certificate.
func client(s *server, o Options) *Client {
	o.TLS = &tls.Config{RootCAs: s.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, MinVersion: tls.VersionTLS12}
	return New(o)
}

func get(t *testing.T, c *Client, url string) (*Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"code":"X"}`))
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

func ok(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"name":"ok"}`) }

// TestRefusedAtDial: a real server on the loopback interface is never
// connected to, whatever form the URL gives its address in, including a
// host name that resolves to it.
func TestRefusedAtDial(t *testing.T) {
	s := startServer(t, ok)
	c := client(s, Options{})
	for _, url := range []string{
		"https://127.0.0.1:" + s.port() + "/p",
		"https://localhost:" + s.port() + "/p",
		"https://[::ffff:127.0.0.1]:" + s.port() + "/p",
		"https://[::1]:" + s.port() + "/p",
		"https://0.0.0.0:" + s.port() + "/p",
		"https://169.254.169.254:" + s.port() + "/latest/meta-data/",
	} {
		_, err := get(t, c, url)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: error %v, want ErrRefused", url, err)
		}
	}
	if n := s.conns.Load(); n != 0 {
		t.Fatalf("the server accepted %d connections", n)
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	var hits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer plain.Close()
	c := New(Options{})
	for _, url := range []string{plain.URL + "/p", "http://crm.example.com/p", "ftp://crm.example.com/p"} {
		if _, err := get(t, c, url); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: error %v, want ErrRefused", url, err)
		}
	}
	// With private destinations allowed, plain http on the loopback works.
	dev := New(Options{AllowPrivate: true})
	res, err := get(t, dev, plain.URL+"/p")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("allow-private: %v %v", res, err)
	}
	if hits.Load() != 1 {
		t.Fatalf("%d hits, want 1", hits.Load())
	}
}

func TestAllowPrivate(t *testing.T) {
	s := startServer(t, ok)
	c := client(s, Options{AllowPrivate: true})
	res, err := get(t, c, s.URL+"/p")
	if err != nil || res.StatusCode != 200 || string(res.Body) != `{"name":"ok"}` {
		t.Fatalf("answer %v, %v", res, err)
	}
	// The metadata addresses stay refused.
	for _, url := range []string{"https://169.254.169.254/latest/meta-data/", "http://169.254.169.254/", "https://[fd00:ec2::254]/"} {
		if _, err := get(t, c, url); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: error %v, want ErrRefused", url, err)
		}
	}
}

// TestRedirectNotFollowed: a server the client may call redirects to
// another server on the loopback interface; the redirect is not followed.
func TestRedirectNotFollowed(t *testing.T) {
	target := startServer(t, ok)
	for _, to := range []string{target.URL + "/p", "https://localhost:" + target.port() + "/p", "http://127.0.0.1:" + target.port() + "/p", "https://169.254.169.254/"} {
		for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			first := startServer(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, code) })
			c := client(first, Options{})
			c.exempt = first.addrPort()
			if _, err := get(t, c, first.URL+"/p"); !errors.Is(err, ErrRedirect) {
				t.Errorf("%d to %s: error %v, want ErrRedirect", code, to, err)
			}
			if first.hits.Load() != 1 {
				t.Fatalf("the first server was not called")
			}
		}
	}
	// Not with private destinations allowed either.
	first := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	if _, err := get(t, client(first, Options{AllowPrivate: true}), first.URL); !errors.Is(err, ErrRedirect) {
		t.Errorf("allow-private: error %v, want ErrRedirect", err)
	}
	if target.conns.Load() != 0 {
		t.Fatalf("the redirect target was connected to %d times", target.conns.Load())
	}
}

func TestAnswerSizeLimit(t *testing.T) {
	const limit = 1000
	for _, tc := range []struct {
		name   string
		size   int
		length bool // announce Content-Length
		err    error
	}{
		{"at the limit", limit, true, nil},
		{"at the limit, chunked", limit, false, nil},
		{"one byte over", limit + 1, true, ErrTooLarge},
		{"one byte over, chunked", limit + 1, false, ErrTooLarge},
		{"far over, chunked", 10 << 20, false, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.length {
					w.Header().Set("Content-Length", fmt.Sprint(tc.size))
				}
				body := strings.Repeat("x", tc.size)
				for len(body) > 0 {
					n := min(len(body), 4096)
					if _, err := w.Write([]byte(body[:n])); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					body = body[n:]
				}
			})
			c := client(s, Options{MaxBody: limit})
			c.exempt = s.addrPort()
			res, err := get(t, c, s.URL+"/p")
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil && len(res.Body) != tc.size {
				t.Fatalf("body of %d bytes, want %d", len(res.Body), tc.size)
			}
		})
	}
}

func TestTimeLimit(t *testing.T) {
	s := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.Write([]byte("slow"))
		w.(http.Flusher).Flush()
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	c := client(s, Options{Timeout: 300 * time.Millisecond})
	c.exempt = s.addrPort()
	start := time.Now()
	if _, err := get(t, c, s.URL+"/p"); err == nil {
		t.Fatal("a slow answer was accepted")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the call took %v", d)
	}
}

// TestNoProxyFromEnvironment: a proxy named in the environment is not used,
// so the dialer judges the real destination.
func TestNoProxyFromEnvironment(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxied.Add(1) }))
	defer proxy.Close()
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("HTTP_PROXY", proxy.URL)
	s := startServer(t, ok)
	if _, err := get(t, client(s, Options{}), "https://localhost:"+s.port()+"/p"); !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v, want ErrRefused", err)
	}
	if proxied.Load() != 0 {
		t.Fatal("the request went through the proxy")
	}
}

// TestIdleConnectionsKept: a second burst of as many concurrent requests as
// MaxIdleConnsPerHost to one host reuses the first burst's connections
// instead of dialing new ones (with the former limit of 4, 12 of 16 were
// made again).
func TestIdleConnectionsKept(t *testing.T) {
	const burst = 16
	var inFlight atomic.Int32
	release := make(chan struct{})
	s := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		// Hold each burst until all of its requests are in flight, so that
		// every one of them needs a connection of its own.
		if inFlight.Add(1) == burst {
			inFlight.Store(0)
			close(release)
		} else {
			<-release
		}
		ok(w, r)
	})
	c := client(s, Options{AllowPrivate: true, MaxIdleConnsPerHost: burst})
	for round := range 2 {
		release = make(chan struct{})
		done := make(chan error, burst)
		for range burst {
			go func() {
				_, err := get(t, c, s.URL+"/p")
				done <- err
			}()
		}
		for range burst {
			if err := <-done; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	if got := s.conns.Load(); got != burst {
		t.Errorf("%d connections for two bursts of %d requests, want %d", got, burst, burst)
	}
}
