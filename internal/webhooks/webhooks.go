// Package webhooks delivers onboard's events (internal/events) to the HTTPS
// endpoints organizations register through the admin API, signed per the
// Standard Webhooks specification, at least once, in order per subject,
// retried with exponential backoff and jitter. Every call goes through the
// outbound client (internal/outbound), which refuses internal addresses
// after DNS resolution.
package webhooks

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/events"
	"github.com/onboard-dev/onboard/internal/outbound"
	"github.com/onboard-dev/onboard/internal/store"
)

// Limits.
const (
	MaxDescription    = 500
	MaxEndpoints      = 20 // per organization
	RotationOverlap   = 24 * time.Hour
	MaxReplay         = 10000 // events replayed by one request
	DefaultListLimit  = 50
	MaxDeliveriesList = 500
)

// Service manages endpoints; Worker delivers.
type Service struct {
	st           *store.Store
	allowPrivate bool
	now          func() time.Time
	log          *slog.Logger
	// Wake, when set, is called after a replay queued deliveries.
	Wake func()
}

// New returns the endpoints service; allowPrivate accepts plain http and
// private addresses (development and tests, see outbound.Options).
func New(st *store.Store, allowPrivate bool, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, allowPrivate: allowPrivate, now: time.Now, log: logger}
}

// EndpointInput creates an endpoint.
type EndpointInput struct {
	URL         string
	EventTypes  []string // empty: every type
	Description string
}

// EndpointPatch changes an endpoint; nil fields stay.
type EndpointPatch struct {
	URL         *string
	EventTypes  *[]string
	Description *string
	Enabled     *bool
}

func (s *Service) check(f *[]domain.FieldError, url *string, types *[]string, desc *string) {
	if url != nil {
		if err := outbound.CheckURL(*url, s.allowPrivate); err != nil {
			*f = append(*f, domain.FieldError{Field: "url", Message: err.Error()})
		}
	}
	if types != nil {
		seen := map[string]bool{}
		for _, t := range *types {
			if !events.Known(t) {
				*f = append(*f, domain.FieldError{Field: "event_types", Message: fmt.Sprintf("%q is not an event type", t)})
			} else if seen[t] {
				*f = append(*f, domain.FieldError{Field: "event_types", Message: fmt.Sprintf("%q is given twice", t)})
			}
			seen[t] = true
		}
	}
	if desc != nil {
		*desc = strings.TrimSpace(*desc)
		if utf8.RuneCountInString(*desc) > MaxDescription || strings.ContainsFunc(*desc, domain.Invisible) || !utf8.ValidString(*desc) {
			*f = append(*f, domain.FieldError{Field: "description", Message: fmt.Sprintf("must be at most %d characters, without control or invisible characters", MaxDescription)})
		}
	}
}

type actorKey struct{}

// WithActor returns a context whose changes to endpoints are recorded in
// the audit log with actor as their author (e.g. "backoffice:<user id>"
// when a console user acts); without it the author is "admin".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "admin"
}

// Create registers an endpoint and returns it with its secret, which is
// shown this once.
func (s *Service) Create(ctx context.Context, org domain.Organization, in EndpointInput) (store.WebhookEndpoint, error) {
	var f []domain.FieldError
	s.check(&f, &in.URL, &in.EventTypes, &in.Description)
	if len(f) > 0 {
		return store.WebhookEndpoint{}, domain.Invalid(f...)
	}
	now := store.Timestamp(s.now())
	ep := store.WebhookEndpoint{ID: store.NewID(), OrgID: org.ID, URL: in.URL, Description: in.Description, EventTypes: in.EventTypes,
		Secret: NewSecret(), CreatedAt: now, UpdatedAt: now}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		eps, err := tx.WebhookEndpoints(ctx, org.ID)
		if err != nil {
			return err
		}
		if len(eps) >= MaxEndpoints {
			return domain.Errorf(domain.EConflict, "too-many-webhooks", "An organization has at most %d webhook endpoints.", MaxEndpoints)
		}
		if err := tx.InsertWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actorOf(ctx), Action: "webhook.created", SubjectID: ep.ID,
			Data: map[string]any{"url": ep.URL, "event_types": ep.EventTypes}, CreatedAt: now})
	})
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("create webhook: %w", err)
	}
	return ep, nil
}

// List returns an organization's endpoints.
func (s *Service) List(ctx context.Context, org domain.Organization) ([]store.WebhookEndpoint, error) {
	return s.st.WebhookEndpoints(ctx, org.ID)
}

// Get returns one endpoint.
func (s *Service) Get(ctx context.Context, org domain.Organization, id string) (store.WebhookEndpoint, error) {
	ep, err := s.st.WebhookEndpoint(ctx, org.ID, id)
	if err != nil {
		return ep, notFound(err)
	}
	return ep, nil
}

func notFound(err error) error {
	if store.IsNotFound(err) {
		return domain.Errorf(domain.ENotFound, "webhook-not-found", "There is no such webhook endpoint.")
	}
	return err
}

// Update changes an endpoint. Enabling a disabled endpoint clears its
// failure record; its deliveries then resume.
func (s *Service) Update(ctx context.Context, org domain.Organization, id string, p EndpointPatch) (store.WebhookEndpoint, error) {
	var f []domain.FieldError
	s.check(&f, p.URL, p.EventTypes, p.Description)
	if len(f) > 0 {
		return store.WebhookEndpoint{}, domain.Invalid(f...)
	}
	var ep store.WebhookEndpoint
	now := store.Timestamp(s.now())
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if ep, err = tx.WebhookEndpoint(ctx, org.ID, id); err != nil {
			return notFound(err)
		}
		if p.URL != nil {
			ep.URL = *p.URL
		}
		if p.EventTypes != nil {
			ep.EventTypes = *p.EventTypes
		}
		if p.Description != nil {
			ep.Description = *p.Description
		}
		if p.Enabled != nil {
			switch {
			case *p.Enabled && ep.DisabledAt != nil:
				ep.DisabledAt, ep.DisabledReason, ep.FailingSince = nil, "", nil
			case !*p.Enabled && ep.DisabledAt == nil:
				ep.DisabledAt, ep.DisabledReason = &now, "disabled by an admin"
			}
		}
		ep.UpdatedAt = now
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actorOf(ctx), Action: "webhook.updated", SubjectID: ep.ID,
			Data: map[string]any{"url": ep.URL, "event_types": ep.EventTypes, "enabled": ep.DisabledAt == nil}, CreatedAt: now})
	})
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("update webhook: %w", err)
	}
	if s.Wake != nil {
		s.Wake()
	}
	return ep, nil
}

// Delete removes an endpoint and its deliveries.
func (s *Service) Delete(ctx context.Context, org domain.Organization, id string) error {
	now := store.Timestamp(s.now())
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteWebhookEndpoint(ctx, org.ID, id); err != nil {
			return notFound(err)
		}
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actorOf(ctx), Action: "webhook.deleted", SubjectID: id, CreatedAt: now})
	})
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return nil
}

// RotateSecret gives an endpoint a new secret, returned this once; the
// old one keeps signing (beside the new one) for RotationOverlap.
func (s *Service) RotateSecret(ctx context.Context, org domain.Organization, id string) (store.WebhookEndpoint, error) {
	var ep store.WebhookEndpoint
	now := store.Timestamp(s.now())
	secret := NewSecret()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if ep, err = tx.WebhookEndpoint(ctx, org.ID, id); err != nil {
			return notFound(err)
		}
		until := now.Add(RotationOverlap)
		if err := tx.RotateWebhookSecret(ctx, ep, secret, until, now); err != nil {
			return err
		}
		ep.PreviousSecret, ep.PreviousExpiresAt, ep.Secret, ep.UpdatedAt = ep.Secret, &until, secret, now
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actorOf(ctx), Action: "webhook.secret_rotated", SubjectID: ep.ID, CreatedAt: now})
	})
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("rotate webhook secret: %w", err)
	}
	return ep, nil
}

// Deliveries lists an endpoint's newest deliveries with their attempts.
func (s *Service) Deliveries(ctx context.Context, org domain.Organization, id string, limit int) ([]store.WebhookDelivery, map[string][]store.WebhookAttempt, error) {
	if limit == 0 {
		limit = DefaultListLimit
	}
	if limit < 1 || limit > MaxDeliveriesList {
		return nil, nil, domain.Invalid(domain.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxDeliveriesList)})
	}
	if _, err := s.Get(ctx, org, id); err != nil {
		return nil, nil, err
	}
	return s.st.WebhookDeliveries(ctx, org.ID, id, limit)
}

// Replay is a request to deliver again one event, or the events that
// occurred in [From, To).
type Replay struct {
	EventID  string
	From, To *time.Time
}

// Replay queues new deliveries to an endpoint and returns how many. A
// range replays the events of the types the endpoint receives; one event is
// replayed whatever its type.
func (s *Service) Replay(ctx context.Context, org domain.Organization, id string, r Replay) (int, error) {
	var f []domain.FieldError
	switch {
	case r.EventID != "" && (r.From != nil || r.To != nil):
		f = append(f, domain.FieldError{Field: "event_id", Message: "give either event_id or from and to, not both"})
	case r.EventID == "" && (r.From == nil || r.To == nil):
		f = append(f, domain.FieldError{Field: "from", Message: "give event_id, or from and to"})
	case r.EventID == "" && !r.From.Before(*r.To):
		f = append(f, domain.FieldError{Field: "to", Message: "must be after from"})
	}
	if len(f) > 0 {
		return 0, domain.Invalid(f...)
	}
	now := store.Timestamp(s.now())
	n := 0
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		ep, err := tx.WebhookEndpoint(ctx, org.ID, id)
		if err != nil {
			return notFound(err)
		}
		var evs []store.StoredEvent
		if r.EventID != "" {
			e, err := tx.Event(ctx, org.ID, r.EventID)
			if store.IsNotFound(err) {
				return domain.Invalid(domain.FieldError{Field: "event_id", Message: "is not an event of this organization (or no longer kept)"})
			}
			if err != nil {
				return err
			}
			evs = []store.StoredEvent{e}
		} else {
			all, err := tx.EventsBetween(ctx, org.ID, *r.From, *r.To, MaxReplay+1)
			if err != nil {
				return err
			}
			if len(all) > MaxReplay {
				return domain.Invalid(domain.FieldError{Field: "to", Message: fmt.Sprintf("the range holds more than %d events; replay a shorter one", MaxReplay)})
			}
			for _, e := range all {
				if events.Matches(ep.EventTypes, e.Type) {
					evs = append(evs, e)
				}
			}
		}
		for _, e := range evs {
			if err := tx.InsertWebhookDelivery(ctx, store.WebhookDelivery{ID: store.NewID(), EndpointID: ep.ID, OrgID: org.ID, EventID: e.ID,
				Seq: e.Seq, Subject: e.Subject, NextAttemptAt: now, CreatedAt: now}); err != nil {
				return err
			}
		}
		n = len(evs)
		return tx.AddAudit(ctx, domain.AuditEntry{OrgID: org.ID, Actor: actorOf(ctx), Action: "webhook.replayed", SubjectID: ep.ID,
			Data: map[string]any{"deliveries": n}, CreatedAt: now})
	})
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	if s.Wake != nil && n > 0 {
		s.Wake()
	}
	return n, nil
}
