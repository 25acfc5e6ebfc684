package app_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
)

// otlpReceiver is a real OTLP/HTTP trace endpoint: it decodes the protobuf
// export requests and keeps the spans' names and trace ids.
type otlpReceiver struct {
	mu    sync.Mutex
	spans map[string][]string // name → trace ids (hex)
	srv   *httptest.Server
}

func startOTLP(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{spans: map[string][]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != "POST" || req.URL.Path != "/v1/traces" {
			http.NotFound(w, req)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		raw, _ := io.ReadAll(body)
		var ex collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &ex); err != nil {
			t.Errorf("OTLP body does not decode: %v", err)
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		for _, rs := range ex.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					r.spans[sp.Name] = append(r.spans[sp.Name], string(sp.TraceId))
				}
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *otlpReceiver) has(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans[name])
}

func (r *otlpReceiver) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n := range r.spans {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestTracingOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, a signup start
// sends a server span named after its route, with its transaction (and on
// PostgreSQL its statements) in the same trace, and the mail's SMTP span.
func TestTracingOTLP(t *testing.T) {
	// Not parallel: it sets the process environment (t.Setenv), which the
	// apps of parallel tests would read too.
	recv := startOTLP(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.srv.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		e := start(t, dsn)
		e.startSignup("traced@example.com", "customer_personal")
		want := []string{"POST /api/v1/signups", "db.transaction", "smtp.send"}
		if store.IsPostgresDSN(dsn) {
			want = append(want, "INSERT jobs")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			missing := slices.DeleteFunc(slices.Clone(want), func(n string) bool { return len(recv.has(n)) > 0 })
			if len(missing) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("spans %q never arrived; got %q", missing, recv.names())
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The transaction runs inside the request's trace.
		req := recv.has("POST /api/v1/signups")
		if !slices.ContainsFunc(recv.has("db.transaction"), func(id string) bool { return slices.Contains(req, id) }) {
			t.Error("no transaction span in the request's trace")
		}
		for _, n := range recv.names() {
			if strings.Contains(n, "traced@example.com") || strings.Contains(n, "token=") {
				t.Errorf("a span name holds personal data: %q", n)
			}
		}
	})
}
