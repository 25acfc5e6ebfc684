// Package funnel holds the onboarding funnel's steps and arithmetic: the
// buckets of durations between steps, medians read from them, conversion
// between steps, and the report the API and the console show. Steps are
// recorded by the flows when they happen (see store's Funnel* queries);
// this package knows nothing of SQL or HTTP.
package funnel

import (
	"math"
	"time"
)

// The steps, in funnel order. Later steps (a device provisioned, a thing
// activated) are appended when those areas exist.
const (
	StepSignupStarted         = "signup_started"
	StepLinkOpened            = "link_opened"
	StepRegistrationCompleted = "registration_completed"
	StepFirstSignIn           = "first_sign_in"
)

// Steps lists the steps in order.
var Steps = []string{StepSignupStarted, StepLinkOpened, StepRegistrationCompleted, StepFirstSignIn}

// bucketsPerOctave is how many buckets each doubling of seconds gets: a
// bucket's bounds are 19 % apart, so a median read from buckets is within
// about 9 % of the exact one.
const bucketsPerOctave = 4

// Bucket is the bucket of a duration between two steps.
func Bucket(d time.Duration) int {
	s := d.Seconds()
	if s < 0 {
		s = 0
	}
	return int(math.Floor(bucketsPerOctave * math.Log2(1+s)))
}

// BucketValue is the duration a bucket stands for: the geometric middle of
// its bounds.
func BucketValue(b int) time.Duration {
	s := math.Exp2((float64(b)+0.5)/bucketsPerOctave) - 1
	return time.Duration(s * float64(time.Second)).Round(time.Second)
}

// Median is the median duration of a histogram (bucket → count), or false
// when it is empty.
func Median(hist map[int]int64) (time.Duration, bool) {
	var total int64
	maxB := -1
	for b, n := range hist {
		total += n
		maxB = max(maxB, b)
	}
	if total == 0 {
		return 0, false
	}
	half := (total + 1) / 2
	var seen int64
	for b := 0; b <= maxB; b++ {
		seen += hist[b]
		if seen >= half {
			return BucketValue(b), true
		}
	}
	return BucketValue(maxB), true
}

// StepCount is one step's figure over a range or a day.
type StepCount struct {
	Step  string `json:"step"`
	Count int64  `json:"count"`
	// Conversion is Count divided by the step before's count (absent for
	// the first step and when the step before has none).
	Conversion *float64 `json:"conversion,omitempty"`
	// MedianSeconds is the median time since the step before, in seconds
	// (absent for the first step and when there is no duration).
	MedianSeconds *int64 `json:"median_seconds,omitempty"`
}

// Day is the figures of one day.
type Day struct {
	Date  string      `json:"date"`
	Steps []StepCount `json:"steps"`
}

// Report is the funnel of an organization over a range of days.
type Report struct {
	From  string      `json:"from"`
	To    string      `json:"to"`
	Steps []StepCount `json:"steps"`
	Days  []Day       `json:"days"`
}

// DateLayout is how days are written.
const DateLayout = "2006-01-02"

// Build makes a report from the summed counters: counts by day and step,
// and the duration histograms by step. Every day of the range is in Days,
// with zeros where nothing happened.
func Build(from, to time.Time, counts map[string]map[string]int64, hists map[string]map[int]int64) Report {
	r := Report{From: from.Format(DateLayout), To: to.Format(DateLayout), Days: []Day{}}
	totals := map[string]int64{}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		date := d.Format(DateLayout)
		day := Day{Date: date, Steps: make([]StepCount, 0, len(Steps))}
		for _, s := range Steps {
			n := counts[date][s]
			totals[s] += n
			day.Steps = append(day.Steps, StepCount{Step: s, Count: n})
		}
		r.Days = append(r.Days, day)
	}
	for i, s := range Steps {
		sc := StepCount{Step: s, Count: totals[s]}
		if i > 0 {
			if prev := totals[Steps[i-1]]; prev > 0 {
				c := math.Round(float64(sc.Count)/float64(prev)*1000) / 1000
				sc.Conversion = &c
			}
			if m, ok := Median(hists[s]); ok {
				secs := int64(m / time.Second)
				sc.MedianSeconds = &secs
			}
		}
		r.Steps = append(r.Steps, sc)
	}
	return r
}
