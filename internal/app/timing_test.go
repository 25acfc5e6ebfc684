package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/config"
	"github.com/onboard-dev/onboard/internal/ratelimit"
	"github.com/onboard-dev/onboard/internal/testutil/dbtest"
	"github.com/onboard-dev/onboard/internal/testutil/smtptest"
)

// The endpoints that take an email address do the same work for a known and
// an unknown address inside the request: their answers are identical and
// their durations too. The test measures pairs of requests for a known and
// an unknown address against the running server, back to back in a random
// order, each sent when the server is idle (no job or mail in progress), and
// compares the two of each pair: a loaded machine slows both requests of a
// pair alike, so their difference keeps the work the server does, not the
// load (two medians of samples taken apart would differ by the load's ups
// and downs).
//
// timingPairs known/unknown pairs are measured per endpoint, after
// timingWarm pairs that are not counted. An attempt fails when the known
// address is slower (or faster) both by much and consistently: the median
// of the pairs' differences is more than timingSlack (0.3 ms), or
// timingRelative of the unknown address's 10th percentile when that is more
// (the request's own cost, which load inflates less than the median), and at
// least timingConsistent of the pairs differ that way (on equal work each
// way is as likely as the other: a share of 70 % of 30 pairs happens by
// chance about once in 25). The endpoint fails when timingAttempts attempts
// in a row do. The race detector slows every request down several times and
// unevenly: under it the test measures 30 pairs and allows 25 %, which
// still catches a known address doing more work in the request (an extra
// argon2 hash or a 5 ms sleep: 100 % and more, in every pair); the 0.3 ms
// target is measured by a run without it
// (go test ./internal/app -run TestEmailEndpointsTakeTheSameTime).
var (
	timingPairs, timingWarm = 100, 10
	timingRelative          = 0.10
)

func init() {
	if raceDetector {
		timingPairs, timingWarm, timingRelative = 30, 5, 0.25
	}
}

const (
	timingSlack      = 300 * time.Microsecond
	timingConsistent = 0.7
	timingAttempts   = 3
)

// timingPair is the duration of a request for the known and the unknown
// address, sent one after the other.
type timingPair struct{ known, unknown time.Duration }

// timingVerdict compares pairs: diff is the median of their differences
// (known minus unknown), allowed the difference allowed, share the part of
// the pairs that differ the way diff does; differ reports a difference both
// larger than allowed and consistent.
func timingVerdict(pairs []timingPair) (diff, allowed time.Duration, share float64, differ bool) {
	diffs, unknown := make([]time.Duration, len(pairs)), make([]time.Duration, len(pairs))
	for i, p := range pairs {
		diffs[i], unknown[i] = p.known-p.unknown, p.unknown
	}
	diff = median(diffs)
	slices.Sort(unknown)
	var fast time.Duration
	if len(unknown) > 0 {
		fast = unknown[len(unknown)/10]
	}
	allowed = max(timingSlack, time.Duration(timingRelative*float64(fast)))
	same := 0
	for _, d := range diffs {
		if (diff > 0 && d > 0) || (diff < 0 && d < 0) {
			same++
		}
	}
	if len(pairs) > 0 {
		share = float64(same) / float64(len(pairs))
	}
	return diff, allowed, share, max(diff, -diff) > allowed && share >= timingConsistent
}

func TestEmailEndpointsTakeTheSameTime(t *testing.T) {
	// Not parallel: it measures durations: other tests' load would blur them.
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		many := config.Rate{Rule: ratelimit.Rule{Limit: 100000, Window: time.Hour}}
		e := startAdmin(t, dsn, func(c *config.Config) {
			c.RateSignupIP, c.RateSignupEmail, c.RateLoginIP, c.RateLoginEmail = many, many, many, many
		})
		w := newB2BWorld(t, e, "")
		e.register("known@example.com", "customer_business")
		w.provision(t, endUser("prov@example.com", "lp-pin"))
		w.provision(t, endUser("reg@example.com", "lp-pin"))
		okStatus(t, e.do("POST", "/v2/registration/verify", map[string]any{"token": w.verifyLink(t, "reg@example.com", "Ada", "Lovelace", "lp-pin")}))
		okStatus(t, w.noGateway("reg@example.com", "493817"))

		cases := []struct {
			name, method, path string
			status             int
			body               func(email string) any
			known              string
			// unknownMail is the template text the unknown address gets,
			// "" when it gets nothing.
			knownMail, unknownMail string
		}{
			{"password reset", "POST", "/api/v1/password-resets", http.StatusAccepted,
				func(a string) any { return map[string]any{"email": a} }, "known@example.com", "/reset-password?token=", ""},
			{"signup", "POST", "/api/v1/signups", http.StatusAccepted,
				func(a string) any { return map[string]any{"email": a, "account_type": "customer_business"} }, "known@example.com",
				"/reset-password", "/register?token="},
			{"b2b provision", "POST", "/v2/registration/provision", http.StatusOK,
				func(a string) any {
					return map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email_address": a, "labelpartner": "lp-pin", "imported": true}
				}, "prov@example.com", "/v2/registration/verify?token=", ""},
			{"b2b reset", "PUT", "/v2/registration/resetpassword", http.StatusOK,
				func(a string) any { return map[string]any{"email_address": a} }, "reg@example.com", "/v2/registration/resetpassword?token=", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				unknown := "nobody-" + strings.ReplaceAll(c.name, " ", "-") + "@example.com"
				before := e.mails()
				differ := false
				for attempt := 1; attempt <= timingAttempts; attempt++ {
					var pairs []timingPair
					for i := range timingWarm + timingPairs {
						order := []string{c.known, unknown}
						if rand.IntN(2) == 0 {
							order[0], order[1] = order[1], order[0]
						}
						var got [2]timedResponse
						for j, addr := range order {
							e.waitIdle(t)
							got[j] = e.timed(t, c.method, c.path, c.body(addr))
							if got[j].status != c.status {
								t.Fatalf("%s for %s: status %d, want %d: %s", c.path, addr, got[j].status, c.status, got[j].body)
							}
						}
						if !bytes.Equal(got[0].body, got[1].body) || !sameHeaders(got[0].header, got[1].header) {
							t.Fatalf("answers differ:\n%v %s\n%v %s", got[0].header, got[0].body, got[1].header, got[1].body)
						}
						if i < timingWarm {
							continue
						}
						p := timingPair{known: got[0].took, unknown: got[1].took}
						if order[0] != c.known {
							p.known, p.unknown = p.unknown, p.known
						}
						pairs = append(pairs, p)
					}
					var diff, allowed time.Duration
					var share float64
					diff, allowed, share, differ = timingVerdict(pairs)
					t.Logf("attempt %d: known minus unknown, median of %d pairs %v (allowed %v), %.0f %% of the pairs that way (a difference counts from %.0f %%)",
						attempt, len(pairs), diff, allowed, 100*share, 100*timingConsistent)
					if !differ {
						break
					}
				}
				if differ {
					t.Fatalf("the known address's requests take a different time, %d attempts in a row", timingAttempts)
				}

				// Still right: the known address got its mail each time;
				// the unknown one got the notice it always gets, or nothing.
				e.waitIdle(t)
				msgs := e.smtp.Messages()[before:]
				if n := countMail(msgs, c.known, c.knownMail); n < timingWarm+timingPairs {
					t.Errorf("%s got %d mails with %q, want at least %d", c.known, n, c.knownMail, timingWarm+timingPairs)
				}
				if c.unknownMail == "" {
					if n := countMail(msgs, unknown, ""); n != 0 {
						t.Errorf("%s got %d mails, want none", unknown, n)
					}
				} else if n := countMail(msgs, unknown, c.unknownMail); n < timingWarm+timingPairs {
					t.Errorf("%s got %d mails with %q, want at least %d", unknown, n, c.unknownMail, timingWarm+timingPairs)
				}
			})
		}
	})
}

type timedResponse struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

// timed sends one JSON request and measures it until its body is read.
func (e *env) timed(t *testing.T, method, path string, body any) timedResponse {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(res.Body)
	took := time.Since(start)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return timedResponse{status: res.StatusCode, header: res.Header, body: b, took: took}
}

// waitIdle waits until no job is waiting and no mail is being delivered,
// and a little longer.
func (e *env) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := e.app.Store().DB().QueryRow(`SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'queued')
			+ (SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'processing'))`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			// Let the tail of a delivery (the SMTP session's end, the
			// test server's parsing) pass too.
			time.Sleep(3 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs and mails still waiting after 10s", n)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// sameHeaders compares the headers of two answers, except Date.
func sameHeaders(a, b http.Header) bool {
	a, b = a.Clone(), b.Clone()
	a.Del("Date")
	b.Del("Date")
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// countMail counts the messages to addr whose text contains substr.
func countMail(msgs []smtptest.Message, addr, substr string) int {
	n := 0
	for _, m := range msgs {
		if len(m.To) == 1 && strings.EqualFold(m.To[0], addr) && strings.Contains(m.Text, substr) {
			n++
		}
	}
	return n
}

// TestTimingVerdict checks the comparison of TestEmailEndpointsTakeTheSameTime
// on made-up pairs: the load of a machine (both requests of a pair slowed
// alike, or one of them now and then, either way) passes; a known address
// doing more work in every pair fails, even under load.
func TestTimingVerdict(t *testing.T) {
	const ms = time.Millisecond
	// pairs makes 30 pairs of 10 ms requests: slow(i) is added to both of
	// pair i, known(i) and unknown(i) to one of them.
	pairs := func(slow, known, unknown func(i int) time.Duration) []timingPair {
		var out []timingPair
		for i := range 30 {
			base := 10*ms + slow(i) + time.Duration(i%7)*50*time.Microsecond
			out = append(out, timingPair{known: base + known(i), unknown: base + unknown(i)})
		}
		return out
	}
	none := func(int) time.Duration { return 0 }
	jitter := func(i int) time.Duration { return time.Duration((i*37)%11) * 100 * time.Microsecond }
	for _, tc := range []struct {
		name   string
		pairs  []timingPair
		differ bool
	}{
		{"equal work", pairs(none, jitter, func(i int) time.Duration { return jitter(i + 5) }), false},
		{"load slows whole pairs", pairs(func(i int) time.Duration { return time.Duration(i%3) * 20 * ms }, jitter, none), false},
		{"load slows one request of a pair, either", pairs(none,
			func(i int) time.Duration { return time.Duration(i%2) * 30 * ms },
			func(i int) time.Duration { return time.Duration((i+1)%2) * 30 * ms }), false},
		{"a small difference", pairs(none, func(int) time.Duration { return 200 * time.Microsecond }, none), false},
		{"5 ms more for the known address", pairs(none, func(i int) time.Duration { return 5*ms + jitter(i) }, jitter), true},
		{"5 ms more for the known address under load", pairs(func(i int) time.Duration { return time.Duration(i%3) * 20 * ms },
			func(i int) time.Duration { return 5*ms + jitter(i) }, jitter), true},
		{"5 ms more for the unknown address", pairs(none, none, func(int) time.Duration { return 5 * ms }), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff, allowed, share, differ := timingVerdict(tc.pairs)
			if differ != tc.differ {
				t.Fatalf("median difference %v (allowed %v), %.0f %% of the pairs that way: differ %v, want %v", diff, allowed, 100*share, differ, tc.differ)
			}
		})
	}
}
