package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := ClientIP{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	cases := []struct {
		name   string
		c      ClientIP
		remote string
		xff    []string
		want   string
	}{
		{"direct peer", proxies, "203.0.113.5:1234", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", proxies, "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", proxies, "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged left hop skipped", proxies, "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies", proxies, "10.1.2.3:80", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several header lines", proxies, "10.1.2.3:80", []string{"198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"garbage stops the walk", proxies, "10.1.2.3:80", []string{"198.51.100.1, junk"}, "10.1.2.3"},
		{"all trusted", proxies, "10.1.2.3:80", []string{"10.4.4.4"}, "10.1.2.3"},
		{"ipv6 loopback proxy", proxies, "[::1]:80", []string{"2001:db8::7"}, "2001:db8::7"},
		{"no proxies configured", ClientIP{}, "10.1.2.3:80", []string{"198.51.100.1"}, "10.1.2.3"},
		{"mapped v4", proxies, "[::ffff:10.1.2.3]:80", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := c.c.Of(r); got != c.want {
				t.Fatalf("Of = %q, want %q", got, c.want)
			}
		})
	}
}

func TestStatusRecorder(t *testing.T) {
	w := httptest.NewRecorder()
	rec := NewStatusRecorder(w)
	if rec.Status != http.StatusOK || rec.Wrote {
		t.Fatalf("fresh recorder = %+v", rec)
	}
	rec.WriteHeader(http.StatusTeapot)
	rec.WriteHeader(http.StatusInternalServerError)
	if _, err := rec.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if rec.Status != http.StatusTeapot || !rec.Wrote || w.Code != http.StatusTeapot || rec.Unwrap() != w {
		t.Fatalf("recorder = %+v, underlying %d", rec, w.Code)
	}
}
