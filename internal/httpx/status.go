package httpx

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/domain"
)

// Codes of errors that only the HTTP layer finds: the request itself, not the
// input it carries, is unacceptable.
const (
	CodeUnsupportedMedia domain.Code = "unsupported_media_type" // 415
	CodeTooLarge         domain.Code = "too_large"              // 413
)

// statuses is the one map from error codes to HTTP statuses, for the API and
// the pages alike.
var statuses = map[domain.Code]int{
	domain.EInvalid:      http.StatusUnprocessableEntity,
	domain.EBadRequest:   http.StatusBadRequest,
	domain.ENotFound:     http.StatusNotFound,
	domain.EGone:         http.StatusGone,
	domain.EConflict:     http.StatusConflict,
	domain.EUnauthorized: http.StatusUnauthorized,
	domain.EForbidden:    http.StatusForbidden,
	domain.ERateLimited:  http.StatusTooManyRequests,
	domain.EUnavailable:  http.StatusServiceUnavailable,
	domain.EInternal:     http.StatusInternalServerError,
	CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	CodeTooLarge:         http.StatusRequestEntityTooLarge,
}

// Status returns the HTTP status of an error code; a code it does not know is
// a 500.
func Status(code domain.Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
