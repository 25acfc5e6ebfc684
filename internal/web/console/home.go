package console

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/funnel"
)

// Ranges the home page's funnel offers, in days.
var funnelRanges = []int{7, 30, 90, 365}

// bar is one step's bar of the funnel chart.
type bar struct {
	Label, Figure, Detail string
	Y, Width, TextY       int
}

// chart is the home page's server-rendered SVG funnel chart.
type chart struct {
	Report   funnel.Report
	Bars     []bar
	Width    int
	Height   int
	Started  string // polyline points of signups started per day
	Complete string // polyline points of registrations completed per day
	DailyMax int64
	Range    form
	Labels   []string
}

// funnelChart lays the report out: a bar per step (width by count) with its
// conversion and median time, and a line per day for the first and third
// steps.
func funnelChart(rq *req, rep funnel.Report) chart {
	c := chart{Report: rep, Width: 640, Height: 48*len(rep.Steps) + 8}
	var top int64 = 1
	for _, s := range rep.Steps {
		top = max(top, s.Count)
	}
	for i, s := range rep.Steps {
		label := rq.T("console.funnel.step." + s.Step)
		c.Labels = append(c.Labels, label)
		detail := ""
		if s.Conversion != nil {
			detail = rq.T("console.funnel.conversion", "Percent", strconv.FormatFloat(*s.Conversion*100, 'f', 1, 64))
		}
		if s.MedianSeconds != nil {
			detail += " " + rq.T("console.funnel.median", "Time", (time.Duration(*s.MedianSeconds)*time.Second).String())
		}
		w := int(float64(s.Count) / float64(top) * 400)
		c.Bars = append(c.Bars, bar{Label: label, Figure: strconv.FormatInt(s.Count, 10), Detail: detail, Y: 8 + 48*i, Width: max(w, 2), TextY: 8 + 48*i + 20})
	}
	for _, d := range rep.Days {
		c.DailyMax = max(c.DailyMax, d.Steps[0].Count, d.Steps[2].Count)
	}
	n := len(rep.Days)
	for i, d := range rep.Days {
		x := 40
		if n > 1 {
			x = 40 + i*580/(n-1)
		}
		y := func(v int64) int {
			if c.DailyMax == 0 {
				return 150
			}
			return 150 - int(float64(v)/float64(c.DailyMax)*130)
		}
		c.Started += fmt.Sprintf("%d,%d ", x, y(d.Steps[0].Count))
		c.Complete += fmt.Sprintf("%d,%d ", x, y(d.Steps[2].Count))
	}
	return c
}

// getHome is the organization's home page: its onboarding funnel over a
// chosen range, as a chart and a table.
func (c *Console) getHome(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	q := r.URL.Query()
	days, _ := strconv.Atoi(q.Get("days"))
	if days == 0 {
		days = 30
	}
	ok := false
	for _, d := range funnelRanges {
		ok = ok || d == days
	}
	accountType := q.Get("account_type")
	v := view{Title: rq.Org.DisplayName, Lead: rq.T("console.home.lead")}
	if !ok {
		c.message(w, r, http.StatusUnprocessableEntity, "page.bad_form.title", "page.bad_form.lead")
		return
	}
	to := time.Now().UTC()
	rep, err := c.flows.Funnel(r.Context(), rq.Org, to.AddDate(0, 0, -(days-1)).Format(funnel.DateLayout), to.Format(funnel.DateLayout), accountType)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ch := funnelChart(rq, rep)
	rangeField := &field{Name: "days", ID: "f-days", Label: rq.T("console.funnel.range"), Kind: "select", Value: strconv.Itoa(days), Required: true}
	for _, d := range funnelRanges {
		rangeField.Options = append(rangeField.Options, option{Value: strconv.Itoa(d), Label: rq.T("console.funnel.last_days", "N", d)})
	}
	typeField := &field{Name: "account_type", ID: "f-account_type", Label: rq.T("console.funnel.account_type"), Kind: "select", Value: accountType, Required: true,
		Options: []option{{Value: "", Label: rq.T("console.funnel.all_types")}}}
	for _, t := range domain.AccountTypes {
		typeField.Options = append(typeField.Options, option{Value: t, Label: rq.T("console.account_type." + t)})
	}
	ch.Range = form{Action: rq.OrgPath("/"), Fields: []*field{rangeField, typeField}, Submit: rq.T("console.funnel.show")}
	v.Data = ch
	c.render(w, r, http.StatusOK, "home", v)
}
