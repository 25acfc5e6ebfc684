// Package httpx holds the small HTTP pieces the API and the pages share: the
// one map from error codes to HTTP statuses, the client address behind
// trusted proxies, and a response recorder for logs.
package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP finds the address rate limits count against: the peer, or, when
// the peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For (read from the right, so a client cannot forge it).
type ClientIP struct {
	Trusted []netip.Prefix
}

// Of returns the client address of r.
func (c ClientIP) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !c.trusted(a) {
			return a.Unmap().String()
		}
	}
	return host
}

func (c ClientIP) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// StatusRecorder remembers the status a handler wrote, for the request log.
type StatusRecorder struct {
	http.ResponseWriter
	Status int  // the status written (200 until one is)
	Wrote  bool // whether anything was written
}

// NewStatusRecorder wraps w.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
}

// WriteHeader records the first status.
func (r *StatusRecorder) WriteHeader(code int) {
	if !r.Wrote {
		r.Status, r.Wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write marks the response as written.
func (r *StatusRecorder) Write(b []byte) (int, error) {
	r.Wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the underlying writer.
func (r *StatusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
