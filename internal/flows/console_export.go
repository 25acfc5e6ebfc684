package flows

import "github.com/onboard-dev/onboard/internal/domain"

// ValidEmail checks an email address as every flow does (trimmed, one plain
// address, at most 254 characters) and returns it trimmed, or the error of
// field.
func ValidEmail(field, raw string) (string, *domain.FieldError) { return validEmail(field, raw) }
