// Package domain holds onboard's core types and its error vocabulary, free of HTTP and SQL.
package domain

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error; the API maps each code to one HTTP status in one place.
type Code string

// Error codes.
const (
	EInvalid      Code = "invalid"      // input broke a rule (422)
	EBadRequest   Code = "bad_request"  // input could not be understood (400)
	ENotFound     Code = "not_found"    // no such thing, or not yours (404)
	EGone         Code = "gone"         // a link that expired or was used (410)
	EConflict     Code = "conflict"     // the state changed under the request (409)
	EUnauthorized Code = "unauthorized" // no or bad credentials (401)
	EForbidden    Code = "forbidden"    // credentials fine, action not allowed (403)
	ERateLimited  Code = "rate_limited" // too many attempts (429)
	EUnavailable  Code = "unavailable"  // a dependency failed; retry later (503)
	EInternal     Code = "internal"     // our fault (500)
)

// FieldError names one invalid field of the input.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error a client is meant to see: a code, a stable slug for the
// problem type, a human detail, and optionally field errors.
type Error struct {
	Code       Code
	Slug       string // problem type slug, e.g. "validation-error"
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration // for ERateLimited
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%d field errors)", e.Code, e.Detail, len(e.Fields))
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

// Errorf returns an *Error with a code, slug and formatted detail.
func Errorf(code Code, slug, format string, args ...any) *Error {
	return &Error{Code: code, Slug: slug, Detail: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error carrying field errors.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: EInvalid, Slug: "validation-error", Detail: "The request has invalid fields.", Fields: fields}
}

// ErrorCode returns the code of err, EInternal for errors that are not *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// AsError returns err as an *Error, or nil when it is not one.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Store-level sentinel errors, translated into *Error by the flows.
var (
	// ErrNotFound is returned by stores when a row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate is returned by stores when a unique constraint is violated.
	ErrDuplicate = errors.New("duplicate")
)
