package tracing

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing set", nil, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{"disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, false},
		{"only a service name", map[string]string{"OTEL_SERVICE_NAME": "x"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			if got := Enabled(getenv); got != tc.want {
				t.Fatalf("Enabled = %v, want %v", got, tc.want)
			}
			tr, err := FromEnv(context.Background(), getenv, "test")
			if err != nil {
				t.Fatal(err)
			}
			if (tr != nil) != tc.want {
				t.Fatalf("FromEnv gave %v, want tracing %v", tr, tc.want)
			}
			if tr != nil {
				_ = tr.Shutdown(context.Background())
			}
		})
	}
}

func TestSQLName(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT id, name FROM organizations WHERE id = $1": "SELECT organizations",
		"INSERT INTO outbox (id) VALUES ($1)":              "INSERT outbox",
		"UPDATE outbox SET state = 'sent' WHERE id = $1":   "UPDATE outbox",
		"DELETE FROM rate_limits WHERE window_start < $1":  "DELETE rate_limits",
		"begin":                                "BEGIN",
		"":                                     "SQL",
		"WITH x AS (SELECT 1) SELECT * FROM x": "WITH",
		"select count(*) from users":           "SELECT users",
	} {
		if got := sqlName(q); got != want {
			t.Errorf("sqlName(%q) = %q, want %q", q, got, want)
		}
	}
}

// TestBatchSpan: a batch of statements sent together (pgx.Batch) under a
// traced request makes one client span, named after its last statement,
// with the texts of all of them and its error.
func TestBatchSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	q := queryTracer{tp.Tracer("test")}
	ctx, root := tp.Tracer("test").Start(context.Background(), "request")
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`)
	b.Queue(`INSERT INTO rate_limits (key) VALUES ($1)`, "k")
	bctx := q.TraceBatchStart(ctx, nil, pgx.TraceBatchStartData{Batch: b})
	q.TraceBatchQuery(bctx, nil, pgx.TraceBatchQueryData{SQL: b.QueuedQueries[1].SQL, Err: errors.New("boom")})
	q.TraceBatchEnd(bctx, nil, pgx.TraceBatchEndData{Err: errors.New("boom")})
	root.End()
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the batch's and the request's", len(spans))
	}
	s := spans[0]
	if s.Name() != "INSERT rate_limits" || s.Status().Code != codes.Error {
		t.Errorf("batch span %q, status %v; want INSERT rate_limits, an error", s.Name(), s.Status())
	}
	var text string
	for _, a := range s.Attributes() {
		if a.Key == "db.query.text" {
			text = a.Value.AsString()
		}
	}
	if !strings.Contains(text, "set_config") || !strings.Contains(text, "INSERT INTO rate_limits") {
		t.Errorf("db.query.text %q, want both statements", text)
	}
	// Outside a traced request, no span.
	if q.TraceBatchStart(context.Background(), nil, pgx.TraceBatchStartData{Batch: b}) != context.Background() {
		t.Error("a batch outside a traced request got a span")
	}
}
