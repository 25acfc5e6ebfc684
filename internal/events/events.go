// Package events is what onboard tells the platform: one event per change,
// written by Emit in the transaction of the change (no event without the
// change, no change without its event), then given its position in commit
// order by the Dispatcher, which also fans it out to the organization's
// webhook endpoints (internal/webhooks) and marks it for NATS JetStream
// (Publisher). The same JSON goes to webhooks, NATS and the feed.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/store"
)

// Event is the envelope every consumer receives.
type Event struct {
	ID           string          `json:"id"`           // UUIDv7
	Type         string          `json:"type"`         // e.g. "customer.created"
	Organization string          `json:"organization"` // the organization's name
	OccurredAt   time.Time       `json:"occurred_at"`  // RFC 3339, UTC
	Subject      string          `json:"subject"`      // id of what the event is about
	Data         json.RawMessage `json:"data"`         // the type's data (see the *Data types)
}

// Data is the data of one event type.
type Data interface {
	// EventType is the type of the events that carry this data.
	EventType() string
}

// Emit writes an event about subject to tx, the transaction of the change:
// the events of a transaction are written together when it commits (one
// INSERT), so none is written when it rolls back.
func Emit(ctx context.Context, tx *store.Tx, org domain.Organization, at time.Time, subject string, d Data) (Event, error) {
	row, e, err := build(org, at, subject, d)
	if err != nil {
		return Event{}, err
	}
	tx.QueueEvent(row)
	return e, nil
}

// Row builds the row of an event about subject without writing it, for
// writers that store many events at once in the transaction of their
// change (the bulk import).
func Row(org domain.Organization, at time.Time, subject string, d Data) (store.StoredEvent, error) {
	row, _, err := build(org, at, subject, d)
	return row, err
}

func build(org domain.Organization, at time.Time, subject string, d Data) (store.StoredEvent, Event, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return store.StoredEvent{}, Event{}, fmt.Errorf("emit %s: %w", d.EventType(), err)
	}
	e := Event{ID: store.NewID(), Type: d.EventType(), Organization: org.Name, OccurredAt: store.Timestamp(at), Subject: subject, Data: raw}
	body, err := json.Marshal(e)
	if err != nil {
		return store.StoredEvent{}, Event{}, fmt.Errorf("emit %s: %w", e.Type, err)
	}
	return store.StoredEvent{ID: e.ID, OrgID: org.ID, Type: e.Type, Subject: subject, Body: string(body), OccurredAt: e.OccurredAt}, e, nil
}

// Parse reads an event's JSON.
func Parse(body []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("parse event: %w", err)
	}
	return e, nil
}

// Event types.
const (
	TypeCustomerCreated       = "customer.created"
	TypePartnerUserCreated    = "partner.user_created"
	TypeDataRecipientPending  = "data_recipient.pending"
	TypeDataRecipientApproved = "data_recipient.approved"
	TypeDataRecipientRejected = "data_recipient.rejected"
	TypeUserCreated           = "user.created"
	TypeUserTypeChanged       = "user.type_changed"
	TypeUserRemoved           = "user.removed"
	TypeUserEmailChanged      = "user.email_changed"
	TypeUserPasswordChanged   = "user.password_changed"
	TypeAgreementAccepted     = "agreement.accepted"
	TypeAccountDeleted        = "account.deleted"
	TypeInvitationAccepted    = "invitation.accepted"
	TypeEndUserProvisioned    = "end_user.provisioned"
	TypeEndUserRegistered     = "end_user.registered"
	TypeEndUserActive         = "end_user.active"
)

// Types lists every event type.
var Types = []string{
	TypeCustomerCreated, TypePartnerUserCreated, TypeDataRecipientPending, TypeDataRecipientApproved,
	TypeDataRecipientRejected, TypeUserCreated, TypeUserTypeChanged, TypeUserRemoved, TypeUserEmailChanged,
	TypeUserPasswordChanged, TypeAgreementAccepted, TypeAccountDeleted, TypeInvitationAccepted,
	TypeEndUserProvisioned, TypeEndUserRegistered, TypeEndUserActive,
}

// Known reports whether t is an event type.
func Known(t string) bool { return slices.Contains(Types, t) }

// CustomerCreated: a customer account (business or personal) was created,
// by self-registration or by the back office. Subject: the account id.
type CustomerCreated struct {
	AccountID string `json:"account_id"`
	Type      string `json:"type" jsonschema:"enum=business,enum=personal"` // business | personal
	Name      string `json:"name"`
	Origin    string `json:"origin" jsonschema:"enum=self_registration,enum=back_office,enum=partner_provider"` // self_registration | back_office
}

// PartnerUserCreated: a user was created in a partner account. Subject: the
// user id.
type PartnerUserCreated struct {
	AccountID string `json:"account_id"`
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	UserType  string `json:"user_type"`
}

// DataRecipient: a data recipient registered and waits for approval
// (data_recipient.pending), or was approved or rejected. Subject: the
// account id.
type DataRecipient struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Reason    string `json:"reason,omitempty"` // rejections only
	typ       string
}

// DataRecipientPending returns the data of data_recipient.pending.
func DataRecipientPending(accountID, name string) DataRecipient {
	return DataRecipient{AccountID: accountID, Name: name, typ: TypeDataRecipientPending}
}

// DataRecipientApproved returns the data of data_recipient.approved.
func DataRecipientApproved(accountID, name string) DataRecipient {
	return DataRecipient{AccountID: accountID, Name: name, typ: TypeDataRecipientApproved}
}

// DataRecipientRejected returns the data of data_recipient.rejected.
func DataRecipientRejected(accountID, name, reason string) DataRecipient {
	return DataRecipient{AccountID: accountID, Name: name, Reason: reason, typ: TypeDataRecipientRejected}
}

// UserCreated: a user was created in any account. Subject: the user id.
type UserCreated struct {
	UserID      string `json:"user_id"`
	AccountID   string `json:"account_id"`
	AccountKind string `json:"account_kind" jsonschema:"enum=customer,enum=partner,enum=data_recipient"` // customer | partner | data_recipient
	Email       string `json:"email"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	UserType    string `json:"user_type"`
}

// UserTypeChanged: a user's user type changed. Subject: the user id.
type UserTypeChanged struct {
	UserID           string `json:"user_id"`
	AccountID        string `json:"account_id"`
	UserType         string `json:"user_type"`
	PreviousUserType string `json:"previous_user_type"`
}

// UserRemoved: a user was removed from their account. Subject: the user id.
type UserRemoved struct {
	UserID    string `json:"user_id"`
	AccountID string `json:"account_id"`
}

// UserEmailChanged: a user confirmed a new email address. Subject: the user
// id.
type UserEmailChanged struct {
	UserID    string `json:"user_id"`
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
}

// UserPasswordChanged: a user's password changed or was reset; no secret
// is carried. Subject: the user id.
type UserPasswordChanged struct {
	UserID    string `json:"user_id"`
	AccountID string `json:"account_id"`
	Reset     bool   `json:"reset"` // through a reset link
}

// AgreementAccepted: a user accepted a version of an agreement. Subject:
// the user id.
type AgreementAccepted struct {
	UserID    string `json:"user_id"`
	AccountID string `json:"account_id"`
	Agreement string `json:"agreement"`
	Version   int    `json:"version"`
}

// AccountDeleted: an account and its users were deleted; ids only.
// Subject: the account id.
type AccountDeleted struct {
	AccountID   string   `json:"account_id"`
	AccountKind string   `json:"account_kind" jsonschema:"enum=customer,enum=partner,enum=data_recipient"`
	UserIDs     []string `json:"user_ids"`
}

// InvitationAccepted: an invited person accepted and became a user.
// Subject: the user id.
type InvitationAccepted struct {
	InvitationID string `json:"invitation_id"`
	UserID       string `json:"user_id"`
	AccountID    string `json:"account_id"`
}

// EndUser: a B2B end user was provisioned, registered or became active.
// Subject: the end user id.
type EndUser struct {
	EndUserID    string `json:"end_user_id"`
	Labelpartner string `json:"labelpartner"`
	Email        string `json:"email"`
	State        string `json:"state" jsonschema:"enum=provisioned,enum=registered,enum=active"` // provisioned | registered | active
	typ          string
}

// EndUserEvent returns the data of end_user.<state>.
func EndUserEvent(state, endUserID, labelpartner, email string) EndUser {
	return EndUser{EndUserID: endUserID, Labelpartner: labelpartner, Email: email, State: state, typ: "end_user." + state}
}

// EventType implements Data.
func (CustomerCreated) EventType() string { return TypeCustomerCreated }

// EventType implements Data.
func (PartnerUserCreated) EventType() string { return TypePartnerUserCreated }

// EventType implements Data.
func (d DataRecipient) EventType() string { return d.typ }

// EventType implements Data.
func (UserCreated) EventType() string { return TypeUserCreated }

// EventType implements Data.
func (UserTypeChanged) EventType() string { return TypeUserTypeChanged }

// EventType implements Data.
func (UserRemoved) EventType() string { return TypeUserRemoved }

// EventType implements Data.
func (UserEmailChanged) EventType() string { return TypeUserEmailChanged }

// EventType implements Data.
func (UserPasswordChanged) EventType() string { return TypeUserPasswordChanged }

// EventType implements Data.
func (AgreementAccepted) EventType() string { return TypeAgreementAccepted }

// EventType implements Data.
func (AccountDeleted) EventType() string { return TypeAccountDeleted }

// EventType implements Data.
func (InvitationAccepted) EventType() string { return TypeInvitationAccepted }

// EventType implements Data.
func (d EndUser) EventType() string { return d.typ }
