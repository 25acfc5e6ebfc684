package activity

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	valid := []struct {
		name string
		in   string
		want Message
	}{
		{"by id", `{"end_user_id":"0192-abc","measurement_received_at":"2026-05-04T10:00:00Z"}`,
			Message{EndUserID: "0192-abc", MeasurementReceivedAt: at}},
		{"by labelpartner and email", `{"labelpartner":"lp-pin","email":"Ada@Example.com","measurement_received_at":"2026-05-04T12:00:00+02:00"}`,
			Message{Labelpartner: "lp-pin", Email: "Ada@Example.com", MeasurementReceivedAt: at}},
		{"id wins, values trimmed", ` {"end_user_id":" x ","labelpartner":"lp","email":"","measurement_received_at":" 2026-05-04T10:00:00.5Z "} `,
			Message{EndUserID: "x", Labelpartner: "lp", MeasurementReceivedAt: at.Add(500 * time.Millisecond)}},
		{"unknown members ignored", `{"end_user_id":"x","measurement_received_at":"2026-05-04T10:00:00Z","meter":{"id":"E1"}}`,
			Message{EndUserID: "x", MeasurementReceivedAt: at}},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if got.EndUserID != tc.want.EndUserID || got.Labelpartner != tc.want.Labelpartner || got.Email != tc.want.Email ||
				!got.MeasurementReceivedAt.Equal(tc.want.MeasurementReceivedAt) {
				t.Fatalf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
	invalid := []struct {
		name, in, want string
	}{
		{"empty", ``, "not a JSON object"},
		{"array", `[{"end_user_id":"x"}]`, "not a JSON object"},
		{"not json", `end_user_id=x`, "not a JSON object"},
		{"truncated", `{"end_user_id":"x",`, "malformed"},
		{"two objects", `{"end_user_id":"x","measurement_received_at":"2026-05-04T10:00:00Z"}{}`, "data after"},
		{"id not a string", `{"end_user_id":7,"measurement_received_at":"2026-05-04T10:00:00Z"}`, "malformed"},
		{"nobody", `{"measurement_received_at":"2026-05-04T10:00:00Z"}`, "end_user_id"},
		{"email without labelpartner", `{"email":"a@example.com","measurement_received_at":"2026-05-04T10:00:00Z"}`, "end_user_id"},
		{"labelpartner without email", `{"labelpartner":"lp","measurement_received_at":"2026-05-04T10:00:00Z"}`, "end_user_id"},
		{"no time", `{"end_user_id":"x"}`, "measurement_received_at is required"},
		{"null time", `{"end_user_id":"x","measurement_received_at":null}`, "measurement_received_at is required"},
		{"time not RFC 3339", `{"end_user_id":"x","measurement_received_at":"04.05.2026 10:00"}`, "RFC 3339"},
		{"time without zone", `{"end_user_id":"x","measurement_received_at":"2026-05-04T10:00:00"}`, "RFC 3339"},
		{"time as number", `{"end_user_id":"x","measurement_received_at":1777888800}`, "malformed"},
		{"too large", `{"end_user_id":"` + strings.Repeat("x", MaxMessageSize) + `"}`, "larger than"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed naming %q", err, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {5, 32 * time.Second}, {6, time.Minute}, {31, time.Minute}} {
		if got := backoff(tc.attempt, time.Minute); got != tc.want {
			t.Errorf("backoff(%d) = %s, want %s", tc.attempt, got, tc.want)
		}
	}
}
