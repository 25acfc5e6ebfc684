package httpapi

import (
	"net/http"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/funnel"
)

// FunnelStep is one step of the onboarding funnel over a range or a day.
type FunnelStep struct {
	// The step: signup_started, link_opened, registration_completed or first_sign_in (later steps are appended).
	Step string `json:"step" jsonschema:"enum=signup_started,enum=link_opened,enum=registration_completed,enum=first_sign_in"`
	// How many times the step happened.
	Count int64 `json:"count" jsonschema:"minimum=0"`
	// The count divided by the step before's count, to three decimals (over the range only; absent for the first step and when the step before has none).
	Conversion *float64 `json:"conversion,omitempty" jsonschema:"minimum=0"`
	// The median time since the step before, in seconds, within about 10 % (over the range only; absent for the first step and when there is none).
	MedianSeconds *int64 `json:"median_seconds,omitempty" jsonschema:"minimum=0"`
}

// FunnelDay is the funnel of one day.
type FunnelDay struct {
	// The day (UTC).
	Date string `json:"date" jsonschema:"pattern=^[0-9]{4}-[0-9]{2}-[0-9]{2}$"`
	// The counts of the day, steps in funnel order.
	Steps []FunnelStep `json:"steps"`
}

// Funnel is an organization's onboarding funnel over a range of days.
type Funnel struct {
	// The first day of the range (UTC).
	From string `json:"from" jsonschema:"pattern=^[0-9]{4}-[0-9]{2}-[0-9]{2}$"`
	// The last day of the range, included (UTC).
	To string `json:"to" jsonschema:"pattern=^[0-9]{4}-[0-9]{2}-[0-9]{2}$"`
	// The totals of the range, steps in funnel order, with the conversion and median time between steps.
	Steps []FunnelStep `json:"steps"`
	// Every day of the range, oldest first.
	Days []FunnelDay `json:"days"`
}

func funnelSteps(in []funnel.StepCount) []FunnelStep {
	out := make([]FunnelStep, 0, len(in))
	for _, s := range in {
		out = append(out, FunnelStep{Step: s.Step, Count: s.Count, Conversion: s.Conversion, MedianSeconds: s.MedianSeconds})
	}
	return out
}

// FunnelView is the API's view of a funnel report.
func FunnelView(r funnel.Report) Funnel {
	out := Funnel{From: r.From, To: r.To, Steps: funnelSteps(r.Steps), Days: make([]FunnelDay, 0, len(r.Days))}
	for _, d := range r.Days {
		out.Days = append(out.Days, FunnelDay{Date: d.Date, Steps: funnelSteps(d.Steps)})
	}
	return out
}

// getFunnel: GET /api/v1/admin/organizations/{org}/funnel?from=&to=&account_type=
func (s *Server) getFunnel(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
	q := r.URL.Query()
	rep, err := s.flows.Funnel(r.Context(), org, q.Get("from"), q.Get("to"), q.Get("account_type"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, FunnelView(rep))
	return nil
}
