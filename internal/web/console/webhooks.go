package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/httpx"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// The webhooks page (/admin/o/{org}/webhooks) manages an organization's
// webhook endpoints through the same service and validation as the admin
// API: list, create (the secret shown once), change, rotate the secret
// (shown once), delete, the recent deliveries of an endpoint and replays.
// Every change is audited with the back-office user as its author.

func (c *Console) webhookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/o/{org}/webhooks", c.inOrg(c.getWebhooks))
	mux.HandleFunc("POST /admin/o/{org}/webhooks", c.inOrg(c.postWebhook))
	mux.HandleFunc("GET /admin/o/{org}/webhooks/{id}", c.inOrg(c.getWebhook))
	mux.HandleFunc("POST /admin/o/{org}/webhooks/{id}", c.inOrg(c.postWebhookEdit))
	mux.HandleFunc("POST /admin/o/{org}/webhooks/{id}/secret", c.inOrg(c.postWebhookSecret))
	mux.HandleFunc("POST /admin/o/{org}/webhooks/{id}/delete", c.inOrg(c.postWebhookDelete))
	mux.HandleFunc("POST /admin/o/{org}/webhooks/{id}/replay", c.inOrg(c.postWebhookReplay))
}

// deliveriesShown is how many recent deliveries an endpoint's page lists.
const deliveriesShown = 50

// answerShown is how many characters of an answer a delivery row shows.
const answerShown = 120

// webhookRow is one endpoint of the list.
type webhookRow struct {
	store.WebhookEndpoint
	Path  string
	State string
	Types string
}

// webhooksData is the list page.
type webhooksData struct {
	Endpoints []webhookRow
	Create    form
	// Secret is the new endpoint's secret, shown once after a creation.
	Secret    string
	SecretFor string
}

// deliveryRow is one delivery of an endpoint's page.
type deliveryRow struct {
	store.WebhookDelivery
	Status  string
	Latency string
	Answer  string
	When    string
	Replay  form
}

// webhookData is an endpoint's page.
type webhookData struct {
	Endpoint   webhookRow
	Edit       form
	Rotate     form
	Delete     form
	Replay     form
	Deliveries []deliveryRow
	Secret     string
}

func (c *Console) webhookState(rq *req, ep store.WebhookEndpoint) string {
	switch {
	case ep.DisabledAt != nil:
		s := rq.T("console.webhooks.state_disabled")
		if ep.DisabledReason != "" {
			s += " (" + ep.DisabledReason + ")"
		}
		return s
	case ep.FailingSince != nil:
		return rq.T("console.webhooks.state_failing", "Since", ep.FailingSince.Format("2006-01-02 15:04")+" UTC")
	default:
		return rq.T("console.webhooks.state_enabled")
	}
}

func (c *Console) webhookRow(rq *req, ep store.WebhookEndpoint) webhookRow {
	types := rq.T("console.webhooks.all_types")
	if len(ep.EventTypes) > 0 {
		types = strings.Join(ep.EventTypes, ", ")
	}
	return webhookRow{WebhookEndpoint: ep, Path: rq.OrgPath("/webhooks/" + ep.ID), State: c.webhookState(rq, ep), Types: types}
}

// endpointFields are the fields of the creation and change forms.
func endpointFields(rq *req, prefix, url, desc string, types []string) []*field {
	opts := make([]option, len(events.Types))
	for i, t := range events.Types {
		opts[i] = option{Value: t, Label: t}
		for _, s := range types {
			if s == t {
				opts[i].Selected = true
			}
		}
	}
	return []*field{
		{Name: "url", ID: prefix + "url", Label: rq.T("console.webhooks.url"), Kind: "url", Value: url, Required: true,
			Hint: rq.T("console.webhooks.url_hint")},
		{Name: "event_types", ID: prefix + "types", Label: rq.T("console.webhooks.types"), Kind: "checkboxes", Options: opts,
			Hint: rq.T("console.webhooks.types_hint")},
		{Name: "description", ID: prefix + "description", Label: rq.T("console.webhooks.description"), Kind: "textarea", Value: desc},
	}
}

func (c *Console) webhooksData(rq *req, eps []store.WebhookEndpoint, url, desc string, types []string) webhooksData {
	d := webhooksData{Create: form{Action: rq.OrgPath("/webhooks"), Submit: rq.T("console.webhooks.create"),
		Fields: endpointFields(rq, "f-new-", url, desc, types)}}
	for _, ep := range eps {
		d.Endpoints = append(d.Endpoints, c.webhookRow(rq, ep))
	}
	return d
}

// actor is the context of a change made by the signed-in back-office user.
func actor(r *http.Request) *http.Request {
	rq := reqOf(r)
	return r.WithContext(webhooks.WithActor(r.Context(), rq.P.Admin().Actor()))
}

func (c *Console) getWebhooks(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	eps, err := c.cfg.Webhooks.List(r.Context(), rq.Org)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := view{Title: rq.T("console.webhooks.title"), Lead: rq.T("console.webhooks.lead"), Data: c.webhooksData(rq, eps, "", "", nil)}
	v.doneLead(r, "webhooks")
	c.render(w, r, http.StatusOK, "webhooks", v)
}

func (c *Console) postWebhook(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	url, desc, types := strings.TrimSpace(r.PostForm.Get("url")), r.PostForm.Get("description"), r.PostForm["event_types"]
	ep, err := c.cfg.Webhooks.Create(actor(r).Context(), rq.Org, webhooks.EndpointInput{URL: url, EventTypes: types, Description: desc})
	eps, lerr := c.cfg.Webhooks.List(r.Context(), rq.Org)
	if lerr != nil {
		c.fail(w, r, lerr)
		return
	}
	if err == nil {
		d := c.webhooksData(rq, eps, "", "", nil)
		d.Secret, d.SecretFor = ep.Secret, ep.URL
		c.render(w, r, http.StatusCreated, "webhooks", view{Title: rq.T("console.webhooks.title"), Lead: rq.T("console.webhooks.created"),
			Success: true, Data: d})
		return
	}
	de := domain.AsError(err)
	if de == nil || (de.Code != domain.EInvalid && de.Code != domain.EConflict) {
		c.fail(w, r, err)
		return
	}
	d := c.webhooksData(rq, eps, url, desc, types)
	errs := c.applyErrors(rq, d.Create.Fields, de)
	c.render(w, r, httpx.Status(de.Code), "webhooks", view{Title: rq.T("console.webhooks.title"), Errors: errs, Data: d})
}

// webhookData builds an endpoint's page, its forms holding the values
// given (those of the endpoint when nothing was posted).
func (c *Console) webhookData(r *http.Request, ep store.WebhookEndpoint, posted bool) (webhookData, error) {
	rq := reqOf(r)
	url, desc, types := ep.URL, ep.Description, ep.EventTypes
	enabled := ep.DisabledAt == nil
	if posted {
		url, desc, types = strings.TrimSpace(r.PostForm.Get("url")), r.PostForm.Get("description"), r.PostForm["event_types"]
		enabled = r.PostForm.Get("enabled") == "true"
	}
	path := rq.OrgPath("/webhooks/" + ep.ID)
	edit := endpointFields(rq, "f-ep-", url, desc, types)
	edit = append(edit, &field{Name: "enabled", ID: "f-ep-enabled", Label: rq.T("console.webhooks.enabled"), Kind: "checkbox", Checked: enabled,
		Hint: rq.T("console.webhooks.enabled_hint")})
	d := webhookData{
		Endpoint: c.webhookRow(rq, ep),
		Edit:     form{Action: path, Submit: rq.T("console.save"), Fields: edit},
		Rotate:   form{Action: path + "/secret", Submit: rq.T("console.webhooks.rotate")},
		Delete:   form{Action: path + "/delete", Submit: rq.T("console.webhooks.delete")},
		Replay: form{Action: path + "/replay", Submit: rq.T("console.webhooks.replay_range"), Fields: []*field{
			{Name: "from", ID: "f-replay-from", Label: rq.T("console.webhooks.from"), Kind: "datetime-local", Required: true,
				Hint: rq.T("console.webhooks.utc_hint"), Value: r.PostForm.Get("from")},
			{Name: "to", ID: "f-replay-to", Label: rq.T("console.webhooks.to"), Kind: "datetime-local", Required: true,
				Hint: rq.T("console.webhooks.utc_hint"), Value: r.PostForm.Get("to")},
		}},
	}
	ds, attempts, err := c.cfg.Webhooks.Deliveries(r.Context(), rq.Org, ep.ID, deliveriesShown)
	if err != nil {
		return d, err
	}
	for _, dl := range ds {
		row := deliveryRow{WebhookDelivery: dl, Status: rq.T("console.webhooks.delivery_" + dl.State), When: dl.CreatedAt.Format("2006-01-02 15:04:05"),
			Replay: form{Action: path + "/replay", Submit: rq.T("console.webhooks.replay_one"), Hidden: map[string]string{"event_id": dl.EventID}}}
		if as := attempts[dl.ID]; len(as) > 0 {
			last := as[len(as)-1]
			if last.Status > 0 {
				row.Status += " · HTTP " + strconv.Itoa(last.Status)
			} else if last.Error != "" {
				row.Status += " · " + clipText(last.Error, answerShown)
			}
			row.Latency = strconv.FormatInt(last.Latency.Milliseconds(), 10) + " ms"
			row.Answer = clipText(last.Response, answerShown)
		}
		d.Deliveries = append(d.Deliveries, row)
	}
	return d, nil
}

// clipText is s cut to n characters, with an ellipsis when cut.
func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func (c *Console) showWebhook(w http.ResponseWriter, r *http.Request, status int, ep store.WebhookEndpoint, v view, secret string) {
	rq := reqOf(r)
	d, err := c.webhookData(r, ep, false)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Secret = secret
	v.Title, v.Data = rq.T("console.webhooks.endpoint_title"), d
	c.render(w, r, status, "webhook", v)
}

func (c *Console) endpoint(w http.ResponseWriter, r *http.Request) (store.WebhookEndpoint, bool) {
	ep, err := c.cfg.Webhooks.Get(r.Context(), reqOf(r).Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return ep, false
	}
	return ep, true
}

func (c *Console) getWebhook(w http.ResponseWriter, r *http.Request) {
	ep, ok := c.endpoint(w, r)
	if !ok {
		return
	}
	v := view{}
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	v.doneLead(r, "webhook", "N", n)
	c.showWebhook(w, r, http.StatusOK, ep, v, "")
}

func (c *Console) postWebhookEdit(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	ep, ok := c.endpoint(w, r)
	if !ok {
		return
	}
	url, desc, types := strings.TrimSpace(r.PostForm.Get("url")), r.PostForm.Get("description"), r.PostForm["event_types"]
	if types == nil {
		types = []string{}
	}
	enabled := r.PostForm.Get("enabled") == "true"
	_, err := c.cfg.Webhooks.Update(actor(r).Context(), rq.Org, ep.ID, webhooks.EndpointPatch{URL: &url, EventTypes: &types,
		Description: &desc, Enabled: &enabled})
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/webhooks/"+ep.ID+"?done=saved"), http.StatusSeeOther)
		return
	}
	c.refuse(w, r, err, c.endpointPage(w, r, ep, true))
}

func (c *Console) postWebhookSecret(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	ep, err := c.cfg.Webhooks.RotateSecret(actor(r).Context(), rq.Org, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.showWebhook(w, r, http.StatusOK, ep, view{Lead: rq.T("console.webhooks.rotated"), Success: true}, ep.Secret)
}

func (c *Console) postWebhookDelete(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	if err := c.cfg.Webhooks.Delete(actor(r).Context(), rq.Org, r.PathValue("id")); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, rq.OrgPath("/webhooks?done=deleted"), http.StatusSeeOther)
}

// consoleTimes are the forms a datetime-local field sends, read as UTC.
var consoleTimes = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339}

func parseConsoleTime(s string) (*time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	for _, layout := range consoleTimes {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return &t, true
		}
	}
	return nil, false
}

func (c *Console) postWebhookReplay(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if !c.posted(w, r) {
		return
	}
	ep, ok := c.endpoint(w, r)
	if !ok {
		return
	}
	rp := webhooks.Replay{EventID: strings.TrimSpace(r.PostForm.Get("event_id"))}
	var bad []domain.FieldError
	var okFrom, okTo bool
	rp.From, okFrom = parseConsoleTime(r.PostForm.Get("from"))
	rp.To, okTo = parseConsoleTime(r.PostForm.Get("to"))
	if !okFrom {
		bad = append(bad, domain.FieldError{Field: "from", Message: "must be a date and time"})
	}
	if !okTo {
		bad = append(bad, domain.FieldError{Field: "to", Message: "must be a date and time"})
	}
	var err error
	n := 0
	if len(bad) > 0 {
		err = domain.Invalid(bad...)
	} else {
		n, err = c.cfg.Webhooks.Replay(actor(r).Context(), rq.Org, ep.ID, rp)
	}
	if err == nil {
		http.Redirect(w, r, rq.OrgPath("/webhooks/"+ep.ID+"?done=replayed&n="+strconv.Itoa(n)), http.StatusSeeOther)
		return
	}
	c.refuse(w, r, err, c.endpointPage(w, r, ep, false))
}

// endpointPage builds an endpoint's page again for a refused form: the
// fields of its edit form (edit) or of its replay form, and how to show it.
func (c *Console) endpointPage(w http.ResponseWriter, r *http.Request, ep store.WebhookEndpoint, edit bool) func() ([]*field, func(int, []string), error) {
	return func() ([]*field, func(int, []string), error) {
		d, err := c.webhookData(r, ep, edit)
		if err != nil {
			return nil, nil, err
		}
		fields := d.Replay.Fields
		if edit {
			fields = d.Edit.Fields
		}
		return fields, func(status int, errs []string) {
			c.render(w, r, status, "webhook", view{Title: reqOf(r).T("console.webhooks.endpoint_title"), Errors: errs, Data: d})
		}, nil
	}
}
