package httpapi

import (
	"encoding/json"
	"time"

	"github.com/invopop/jsonschema"
)

// Payloads of the events feed and the webhook endpoints (admin API).

// EventFeed is a page of the feed, in commit order.
type EventFeed struct {
	// The events after the cursor.
	Events []RawEvent `json:"events"`
	// The cursor to pass as `after` for the next page (the same cursor when the page is empty).
	Next string `json:"next"`
}

// Event is an event: the same JSON in webhook bodies, NATS messages and the feed. Its `data` depends on its `type` (see the *Data schemas).
type Event struct {
	// The event id, a UUIDv7; also the webhook-id header and the Nats-Msg-Id.
	ID string `json:"id"`
	// The event type.
	Type string `json:"type" jsonschema:"enum=customer.created,enum=partner.user_created,enum=data_recipient.pending,enum=data_recipient.approved,enum=data_recipient.rejected,enum=user.created,enum=user.type_changed,enum=user.removed,enum=user.email_changed,enum=user.password_changed,enum=agreement.accepted,enum=account.deleted,enum=invitation.accepted,enum=end_user.provisioned,enum=end_user.registered,enum=end_user.active"`
	// The organization's name.
	Organization string `json:"organization"`
	// When the change was made (UTC).
	OccurredAt time.Time `json:"occurred_at"`
	// The id of what the event is about (the account, user or end user); webhooks deliver the events of one subject in order.
	Subject string `json:"subject"`
	// The type's data: customer.created CustomerCreatedData; partner.user_created PartnerUserCreatedData; data_recipient.* DataRecipientData; user.created UserCreatedData; user.type_changed UserTypeChangedData; user.removed UserRemovedData; user.email_changed UserEmailChangedData; user.password_changed UserPasswordChangedData; agreement.accepted AgreementAcceptedData; account.deleted AccountDeletedData; invitation.accepted InvitationAcceptedData; end_user.* EndUserData.
	Data EventData `json:"data"`
}

// RawEvent is an event's JSON as stored, written out unchanged.
type RawEvent json.RawMessage

// MarshalJSON writes the event as it is.
func (r RawEvent) MarshalJSON() ([]byte, error) { return r, nil }

// JSONSchema is the schema of Event.
func (RawEvent) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Ref: "#/$defs/Event"} }

// EventData is an event's data, written out unchanged.
type EventData json.RawMessage

// MarshalJSON writes the data as it is.
func (d EventData) MarshalJSON() ([]byte, error) { return d, nil }

// JSONSchema is one of the data schemas, by the event's type.
func (EventData) JSONSchema() *jsonschema.Schema {
	s := &jsonschema.Schema{}
	for _, name := range []string{"CustomerCreatedData", "PartnerUserCreatedData", "DataRecipientData", "UserCreatedData", "UserTypeChangedData",
		"UserRemovedData", "UserEmailChangedData", "UserPasswordChangedData", "AgreementAcceptedData", "AccountDeletedData",
		"InvitationAcceptedData", "EndUserData"} {
		s.OneOf = append(s.OneOf, &jsonschema.Schema{Ref: "#/$defs/" + name})
	}
	return s
}

// CreateWebhookRequest is a new webhook endpoint.
type CreateWebhookRequest struct {
	// An https URL whose host is not a loopback, private, link-local or metadata address.
	URL string `json:"url" jsonschema:"format=uri,maxLength=2000"`
	// The event types sent to the endpoint; empty or absent: every type.
	EventTypes []string `json:"event_types,omitempty" jsonschema:"nullable"`
	// A note for the admins.
	Description string `json:"description,omitempty" jsonschema:"maxLength=500"`
}

// PatchWebhookRequest is changes to a webhook endpoint; absent members stay.
type PatchWebhookRequest struct {
	// A new https URL.
	URL *string `json:"url,omitempty" jsonschema:"format=uri,maxLength=2000"`
	// The event types sent to the endpoint; empty: every type.
	EventTypes *[]string `json:"event_types,omitempty"`
	// A note for the admins.
	Description *string `json:"description,omitempty" jsonschema:"maxLength=500"`
	// Disable, or enable again (which clears the failure record).
	Enabled *bool `json:"enabled,omitempty"`
}

// Webhook is a webhook endpoint.
type Webhook struct {
	// Opaque id; do not parse it.
	ID string `json:"id"`
	// The https URL events are POSTed to.
	URL string `json:"url" jsonschema:"format=uri"`
	// The event types sent to the endpoint; empty: every type.
	EventTypes []string `json:"event_types"`
	// A note for the admins.
	Description string `json:"description"`
	// False once disabled: by an admin, by a 410 answer, or after failing for days.
	Enabled bool `json:"enabled"`
	// When it was disabled.
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	// Why it was disabled.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// Since when every attempt has failed.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// Until when the secret replaced by the last rotation still signs (beside the new one).
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
	// The signing secret (`whsec_` and base64), present only in the answers that create it: store it then.
	Secret string `json:"secret,omitempty" jsonschema:"pattern=^whsec_[A-Za-z0-9+/=]+$"`
}

// WebhookList is the organization's webhook endpoints, oldest first.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}

// WebhookAttempt is one attempt of a delivery.
type WebhookAttempt struct {
	// The HTTP status; 0 when no answer came (see error).
	Status int `json:"status"`
	// How long the attempt took.
	LatencyMS int64 `json:"latency_ms"`
	// The first bytes of the answer.
	Response string `json:"response"`
	// What went wrong.
	Error       string    `json:"error,omitempty"`
	AttemptedAt time.Time `json:"attempted_at"`
}

// WebhookDelivery is one event's delivery to the endpoint.
type WebhookDelivery struct {
	// Opaque id; do not parse it.
	ID string `json:"id"`
	// The event.
	EventID string `json:"event_id"`
	// pending (waiting for an attempt), processing, delivered, or failed (given up).
	State string `json:"state" jsonschema:"enum=pending,enum=processing,enum=delivered,enum=failed"`
	// Every attempt, oldest first.
	Attempts []WebhookAttempt `json:"attempts"`
	// When it is tried next (pending only).
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// WebhookDeliveryList is the endpoint's newest deliveries, newest first.
type WebhookDeliveryList struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
}

// ReplayWebhookRequest is either one event (`event_id`) or the events that occurred in [`from`, `to`).
type ReplayWebhookRequest struct {
	// One event to deliver again, whatever its type.
	EventID string `json:"event_id,omitempty"`
	// Start of a range (inclusive).
	From *time.Time `json:"from,omitempty"`
	// End of a range (exclusive).
	To *time.Time `json:"to,omitempty"`
}

// ReplayWebhookResult is how many deliveries were queued.
type ReplayWebhookResult struct {
	Deliveries int `json:"deliveries"`
}
