package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/httpx"
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []domain.FieldError `json:"errors,omitempty"`
}

// ProblemBase prefixes problem type slugs.
const ProblemBase = "https://onboard.dev/problems/"

// writeError answers err as problem+json: *domain.Error as itself, anything
// else as a 500 whose cause is logged, never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
		de = domain.Errorf(domain.EInternal, "internal-error", "Something went wrong on our side. Try again later.")
	}
	status := httpx.Status(de.Code)
	if de.Code == domain.ERateLimited && de.RetryAfter > 0 {
		secs := int((de.RetryAfter + 999_999_999) / 1e9)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="onboard"`)
	}
	writeProblem(w, Problem{
		Type: ProblemBase + de.Slug, Title: http.StatusText(status), Status: status, Detail: de.Detail, Errors: de.Fields,
	})
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	if err := json.NewEncoder(w).Encode(p); err != nil {
		slog.Default().Debug("write problem", "err", err)
	}
}
