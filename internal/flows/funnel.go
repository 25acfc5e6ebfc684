package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/funnel"
)

// MaxFunnelDays is the longest range the funnel answers at once (a leap year).
const MaxFunnelDays = 366

// DefaultFunnelDays is the range without from: the last 30 days.
const DefaultFunnelDays = 30

// Funnel returns the onboarding funnel of org from day from to day to
// (inclusive, "YYYY-MM-DD" UTC; "" to is today, "" from is 29 days before
// to), of one account type or (accountType "") all.
func (s *Service) Funnel(ctx context.Context, org domain.Organization, from, to, accountType string) (funnel.Report, error) {
	var fields []domain.FieldError
	parse := func(name, v string, def time.Time) time.Time {
		if v = strings.TrimSpace(v); v == "" {
			return def
		}
		t, err := time.Parse(funnel.DateLayout, v)
		if err != nil {
			fields = append(fields, domain.FieldError{Field: name, Message: "must be a date written YYYY-MM-DD"})
		}
		return t
	}
	today := s.now().UTC().Truncate(24 * time.Hour)
	end := parse("to", to, today)
	start := parse("from", from, end.AddDate(0, 0, -(DefaultFunnelDays-1)))
	if accountType != "" && !slices.Contains(domain.AccountTypes, accountType) {
		fields = append(fields, domain.FieldError{Field: "account_type", Message: "must be one of " + strings.Join(domain.AccountTypes, ", ")})
	}
	if len(fields) == 0 {
		switch days := int(end.Sub(start).Hours()/24) + 1; {
		case days < 1:
			fields = append(fields, domain.FieldError{Field: "from", Message: "must not be after to"})
		case days > MaxFunnelDays:
			fields = append(fields, domain.FieldError{Field: "from", Message: fmt.Sprintf("must be at most %d days before to", MaxFunnelDays-1)})
		}
	}
	if len(fields) > 0 {
		return funnel.Report{}, domain.Invalid(fields...)
	}
	counts, hists, err := s.store.FunnelFigures(ctx, org.ID, start, end, accountType)
	if err != nil {
		return funnel.Report{}, fmt.Errorf("funnel: %w", err)
	}
	return funnel.Build(start, end, counts, hists), nil
}
