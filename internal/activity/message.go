package activity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// MaxMessageSize is the largest payload Parse accepts.
const MaxMessageSize = 8 << 10

// ErrMalformed marks a payload that is not a valid activity message; such a
// message is dropped, never retried.
var ErrMalformed = errors.New("malformed activity message")

// Message is one activity message: the end user, named by EndUserID or, when
// that is empty, by Labelpartner and Email, received a first measurement at
// MeasurementReceivedAt.
type Message struct {
	EndUserID             string    `json:"end_user_id,omitempty"`
	Labelpartner          string    `json:"labelpartner,omitempty"`
	Email                 string    `json:"email,omitempty"`
	MeasurementReceivedAt time.Time `json:"measurement_received_at"`
}

// wire is the payload as sent: a JSON object whose other members are
// ignored, so producers may add fields.
type wire struct {
	EndUserID             *string `json:"end_user_id"`
	Labelpartner          *string `json:"labelpartner"`
	Email                 *string `json:"email"`
	MeasurementReceivedAt *string `json:"measurement_received_at"`
}

// Parse decodes and checks a payload:
//
//	{"end_user_id": "…", "measurement_received_at": "2026-05-04T10:00:00Z"}
//	{"labelpartner": "…", "email": "…", "measurement_received_at": "…"}
//
// The time is RFC 3339. Every error wraps ErrMalformed. Whether the end
// user exists and the time is not in the future is for the recorder to say.
func Parse(data []byte) (Message, error) {
	if len(data) > MaxMessageSize {
		return Message{}, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxMessageSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Message{}, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var w wire
	if err := dec.Decode(&w); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Message{}, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	var m Message
	m.EndUserID, m.Labelpartner, m.Email = trimmed(w.EndUserID), trimmed(w.Labelpartner), trimmed(w.Email)
	if m.EndUserID == "" && (m.Labelpartner == "" || m.Email == "") {
		return Message{}, fmt.Errorf("%w: end_user_id, or labelpartner and email, are required", ErrMalformed)
	}
	if w.MeasurementReceivedAt == nil || strings.TrimSpace(*w.MeasurementReceivedAt) == "" {
		return Message{}, fmt.Errorf("%w: measurement_received_at is required", ErrMalformed)
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(*w.MeasurementReceivedAt))
	if err != nil {
		return Message{}, fmt.Errorf("%w: measurement_received_at is not an RFC 3339 time", ErrMalformed)
	}
	m.MeasurementReceivedAt = at
	return m, nil
}

func trimmed(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// Reply is the answer to a message sent as a request (core NATS only).
type Reply struct {
	Status string `json:"status"`          // "ok" or "error"
	State  string `json:"state,omitempty"` // the end user's state, when known
	Error  string `json:"error,omitempty"` // a stable code, e.g. "end-user-not-found"
	Detail string `json:"detail,omitempty"`
}
