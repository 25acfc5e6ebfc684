// Package tracing sends OpenTelemetry traces of onboard's HTTP requests,
// SQL statements and SMTP deliveries over OTLP/HTTP when the standard
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// variable is set. Otherwise [FromEnv] returns nil and every hook of this
// package is left unset: tracing then costs nothing.
//
// The exporter and the SDK read the other standard variables themselves
// (OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER, OTEL_BSP_*…).
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/onboard-dev/onboard/internal/httpx"
)

// Tracing is a configured tracer provider and its exporter.
type Tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint is set and OTEL_SDK_DISABLED is not "true".
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// FromEnv sets up tracing when [Enabled] says so, and returns nil (and no
// error) otherwise. version names the build in the resource.
func FromEnv(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	if !Enabled(getenv) {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "onboard"), attribute.String("service.version", version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{
		tp:     tp,
		tracer: tp.Tracer("github.com/onboard-dev/onboard"),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}, nil
}

// Shutdown sends the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// Tracer is the tracer of onboard's spans.
func (t *Tracing) Tracer() trace.Tracer { return t.tracer }

// Middleware starts a server span for every request, continuing the trace
// of an incoming traceparent header. The span is named after the route
// pattern that matched (known once next returns), never the path.
func (t *Tracing) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		rec := httpx.NewStatusRecorder(w)
		r2 := r.WithContext(ctx)
		next.ServeHTTP(rec, r2)
		route := r2.Pattern
		if route == "" {
			route = "unmatched"
		}
		span.SetName(route)
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", rec.Status))
		if rec.Status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.Status))
		}
	})
}

// Span starts a span named name under ctx and returns the context and a
// function ending it with err's outcome. It fits the hooks of the store
// and the mail worker.
func (t *Tracing) Span(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, func(error)) {
	ctx, span := t.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// QueryTracer returns a pgx tracer making a client span of every SQL
// statement run on PostgreSQL: its text (never its arguments), and its
// outcome.
func (t *Tracing) QueryTracer() pgx.QueryTracer { return queryTracer{t.tracer} }

type queryTracer struct{ tracer trace.Tracer }

type spanKey struct{}

func (q queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
		return ctx // statements outside a traced request or job: no root spans of their own
	}
	ctx, span := q.tracer.Start(ctx, sqlName(data.SQL), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.String("db.query.text", clip(data.SQL, 2000))))
	return context.WithValue(ctx, spanKey{}, span)
}

func (q queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span, ok := ctx.Value(spanKey{}).(trace.Span)
	if !ok {
		return
	}
	if data.Err == nil {
		span.SetAttributes(attribute.Int64("db.response.returned_rows", data.CommandTag.RowsAffected()))
	}
	endSpan(span, data.Err)
}

// endSpan ends span, marked failed with err when err is not nil.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// TraceBatchStart makes one client span of a batch of statements sent
// together (pgx.Batch, one round trip), named after its last statement,
// with the texts of all of them.
func (q queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if !trace.SpanFromContext(ctx).SpanContext().IsValid() || data.Batch == nil || len(data.Batch.QueuedQueries) == 0 {
		return ctx
	}
	texts := make([]string, len(data.Batch.QueuedQueries))
	for i, qq := range data.Batch.QueuedQueries {
		texts[i] = qq.SQL
	}
	ctx, span := q.tracer.Start(ctx, sqlName(texts[len(texts)-1]), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"),
			attribute.String("db.query.text", clip(strings.Join(texts, ";\n"), 2000)),
			attribute.Int("db.operation.batch.size", len(texts))))
	return context.WithValue(ctx, spanKey{}, span)
}

// TraceBatchQuery records the error of a statement of a batch.
func (q queryTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if span, ok := ctx.Value(spanKey{}).(trace.Span); ok && data.Err != nil {
		span.RecordError(data.Err)
	}
}

// TraceBatchEnd ends the span of a batch.
func (q queryTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	if span, ok := ctx.Value(spanKey{}).(trace.Span); ok {
		endSpan(span, data.Err)
	}
}

// sqlName is a span name for a statement: its first word and, for the
// common statements, the table ("SELECT users", "INSERT outbox").
func sqlName(q string) string {
	f := strings.Fields(q)
	if len(f) == 0 {
		return "SQL"
	}
	verb := strings.ToUpper(f[0])
	after := map[string]string{"SELECT": "FROM", "DELETE": "FROM", "INSERT": "INTO", "UPDATE": ""}
	kw, ok := after[verb]
	if !ok {
		return verb
	}
	if kw == "" && len(f) > 1 {
		return verb + " " + f[1]
	}
	for i := 1; i+1 < len(f); i++ {
		if strings.EqualFold(f[i], kw) {
			return verb + " " + strings.Trim(f[i+1], "(),")
		}
	}
	return verb
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ShutdownTimeout bounds the flush of buffered spans at exit.
const ShutdownTimeout = 5 * time.Second
