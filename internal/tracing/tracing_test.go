package tracing

import (
	"context"
	"testing"
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
