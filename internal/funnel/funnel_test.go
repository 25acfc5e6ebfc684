package funnel

import (
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 10 * time.Second, time.Minute, 90 * time.Minute, 26 * time.Hour, 30 * 24 * time.Hour} {
		got := BucketValue(Bucket(d))
		if d == 0 {
			if got > time.Second {
				t.Errorf("bucket of 0 stands for %v", got)
			}
			continue
		}
		if ratio := float64(got+time.Second) / float64(d+time.Second); ratio < 0.85 || ratio > 1.15 {
			t.Errorf("%v → bucket %d → %v (ratio %.2f)", d, Bucket(d), got, ratio)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		hist map[int]int64
		want time.Duration
		ok   bool
	}{
		{"empty", map[int]int64{}, 0, false},
		{"one", map[int]int64{Bucket(time.Hour): 1}, BucketValue(Bucket(time.Hour)), true},
		{"lower middle", map[int]int64{Bucket(time.Minute): 2, Bucket(time.Hour): 2}, BucketValue(Bucket(time.Minute)), true},
		{"majority", map[int]int64{Bucket(time.Minute): 1, Bucket(time.Hour): 5}, BucketValue(Bucket(time.Hour)), true},
	}
	for _, tt := range tests {
		got, ok := Median(tt.hist)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Median = %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBuild(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := Build(from, from.AddDate(0, 0, 2), map[string]map[string]int64{
		"2026-03-01": {StepSignupStarted: 4, StepLinkOpened: 3},
		"2026-03-02": {StepRegistrationCompleted: 2, StepFirstSignIn: 1},
	}, map[string]map[int]int64{StepLinkOpened: {Bucket(time.Minute): 3}})
	if len(r.Days) != 3 || r.Days[2].Steps[0].Count != 0 || r.Days[0].Steps[0].Count != 4 {
		t.Fatalf("days %+v", r.Days)
	}
	want := []int64{4, 3, 2, 1}
	for i, s := range r.Steps {
		if s.Step != Steps[i] || s.Count != want[i] {
			t.Fatalf("step %d = %+v", i, s)
		}
	}
	if r.Steps[0].Conversion != nil || *r.Steps[1].Conversion != 0.75 || *r.Steps[3].Conversion != 0.5 {
		t.Fatalf("conversions %+v", r.Steps)
	}
	if r.Steps[1].MedianSeconds == nil || r.Steps[2].MedianSeconds != nil {
		t.Fatalf("medians %+v", r.Steps)
	}
}

func TestHistogramText(t *testing.T) {
	s := ""
	for _, b := range []int{12, 3, 12, 40} {
		s = AddToHistogram(s, b)
	}
	if s != "3:1 12:2 40:1" {
		t.Fatalf("histogram %q", s)
	}
	h := map[int]int64{12: 1}
	ParseHistogram(s+" junk 7:x", h)
	if h[12] != 3 || h[3] != 1 || h[40] != 1 || len(h) != 3 {
		t.Fatalf("parsed %v", h)
	}
}
