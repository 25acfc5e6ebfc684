package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/flows"
	"github.com/onboard-dev/onboard/internal/store"
	"github.com/onboard-dev/onboard/internal/webhooks"
)

// Handlers of the events feed and the webhook endpoints (admin API).

// eventRoutes: /api/v1/admin/organizations/{org}/events and …/webhooks.
func (s *Server) eventRoutes() []Route {
	const base = "/api/v1/admin/organizations/{org}"
	return []Route{
		{"GET", base + "/events", s.admin(s.events(s.eventFeed))},
		{"GET", base + "/webhooks", s.admin(s.events(s.listWebhooks))},
		{"POST", base + "/webhooks", s.admin(s.events(s.createWebhook))},
		{"GET", base + "/webhooks/{id}", s.admin(s.events(s.getWebhook))},
		{"PATCH", base + "/webhooks/{id}", s.admin(s.events(s.patchWebhook))},
		{"DELETE", base + "/webhooks/{id}", s.admin(s.events(s.deleteWebhook))},
		{"POST", base + "/webhooks/{id}/secret", s.admin(s.events(s.rotateWebhookSecret))},
		{"GET", base + "/webhooks/{id}/deliveries", s.admin(s.events(s.listWebhookDeliveries))},
		{"POST", base + "/webhooks/{id}/replay", s.admin(s.events(s.replayWebhook))},
	}
}

// events answers 503 when the server was built without the events parts;
// otherwise the endpoints' changes are audited with the admin key (or
// back-office user) that made them as their actor.
func (s *Server) events(fn adminFunc) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, adm flows.Admin, org domain.Organization) error {
		if s.cfg.Webhooks == nil || s.cfg.Events == nil {
			return domain.Errorf(domain.EUnavailable, "events-unavailable", "Events are not available on this server.")
		}
		return fn(w, r.WithContext(webhooks.WithActor(r.Context(), adm.Actor())), adm, org)
	}
}

// EventFeed reads an organization's feed (events.Feed on the store).
type EventFeedFunc func(r *http.Request, org domain.Organization, after string, types []string, limit int) (events.FeedPage, error)

// FeedFromStore returns the feed of st.
func FeedFromStore(st *store.Store) EventFeedFunc {
	return func(r *http.Request, org domain.Organization, after string, types []string, limit int) (events.FeedPage, error) {
		return events.Feed(r.Context(), st, org, after, types, limit)
	}
}

func queryLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, domain.Invalid(domain.FieldError{Field: "limit", Message: "must be a whole number"})
	}
	return n, nil
}

func (s *Server) eventFeed(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	q := r.URL.Query()
	var types []string
	for _, t := range strings.Split(q.Get("types"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	page, err := s.cfg.Events(r, org, q.Get("after"), types, limit)
	if err != nil {
		return err
	}
	out := EventFeed{Events: make([]RawEvent, len(page.Events)), Next: page.Next}
	for i, e := range page.Events {
		out.Events[i] = RawEvent(e)
	}
	encode(w, http.StatusOK, out)
	return nil
}

func toWebhookView(e store.WebhookEndpoint, withSecret bool) Webhook {
	v := Webhook{ID: e.ID, URL: e.URL, EventTypes: e.EventTypes, Description: e.Description, Enabled: e.DisabledAt == nil,
		DisabledAt: e.DisabledAt, DisabledReason: e.DisabledReason, FailingSince: e.FailingSince, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if v.EventTypes == nil {
		v.EventTypes = []string{}
	}
	if e.PreviousExpiresAt != nil && e.PreviousSecret != "" && time.Now().Before(*e.PreviousExpiresAt) {
		v.PreviousSecretExpiresAt = e.PreviousExpiresAt
	}
	if withSecret {
		v.Secret = e.Secret
	}
	return v
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	eps, err := s.cfg.Webhooks.List(r.Context(), org)
	if err != nil {
		return err
	}
	out := WebhookList{Webhooks: make([]Webhook, len(eps))}
	for i, e := range eps {
		out.Webhooks[i] = toWebhookView(e, false)
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	var req CreateWebhookRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	e, err := s.cfg.Webhooks.Create(r.Context(), org, webhooks.EndpointInput{URL: req.URL, EventTypes: req.EventTypes, Description: req.Description})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	encode(w, http.StatusCreated, toWebhookView(e, true))
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	e, err := s.cfg.Webhooks.Get(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, toWebhookView(e, false))
	return nil
}

func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	var req PatchWebhookRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	e, err := s.cfg.Webhooks.Update(r.Context(), org, r.PathValue("id"), webhooks.EndpointPatch{
		URL: req.URL, EventTypes: req.EventTypes, Description: req.Description, Enabled: req.Enabled})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, toWebhookView(e, false))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	if err := s.cfg.Webhooks.Delete(r.Context(), org, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	e, err := s.cfg.Webhooks.RotateSecret(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	encode(w, http.StatusOK, toWebhookView(e, true))
	return nil
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	dels, atts, err := s.cfg.Webhooks.Deliveries(r.Context(), org, r.PathValue("id"), limit)
	if err != nil {
		return err
	}
	out := WebhookDeliveryList{Deliveries: make([]WebhookDelivery, len(dels))}
	for i, d := range dels {
		v := WebhookDelivery{ID: d.ID, EventID: d.EventID, State: d.State, Attempts: []WebhookAttempt{}, CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt}
		if d.State == store.DeliveryPending {
			next := d.NextAttemptAt
			v.NextAttemptAt = &next
		}
		for _, a := range atts[d.ID] {
			v.Attempts = append(v.Attempts, WebhookAttempt{Status: a.Status, LatencyMS: a.Latency.Milliseconds(), Response: a.Response,
				Error: a.Error, AttemptedAt: a.AttemptedAt})
		}
		out.Deliveries[i] = v
	}
	encode(w, http.StatusOK, out)
	return nil
}

func (s *Server) replayWebhook(w http.ResponseWriter, r *http.Request, _ flows.Admin, org domain.Organization) error {
	var req ReplayWebhookRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	n, err := s.cfg.Webhooks.Replay(r.Context(), org, r.PathValue("id"), webhooks.Replay{EventID: req.EventID, From: req.From, To: req.To})
	if err != nil {
		return err
	}
	encode(w, http.StatusAccepted, ReplayWebhookResult{Deliveries: n})
	return nil
}
